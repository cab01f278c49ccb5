"""``SelpoClient``: selpo's marketplace API over httpx (synchronous), typed with pydantic.

Every refusal raises :class:`SelpoError` with the server's problem details. Retries are
bounded (``max_retries``) and honour ``Retry-After``:

- a 429 is retried for every call: the rate limit refuses a request before any work is done;
- a 503 and a lost connection are retried only for calls that are safe to repeat: reads,
  computations (quotes, labels) and writes that carry an ``Idempotency-Key``. Every POST a
  client may retry sends one (a fresh one per call unless ``idempotency_key=`` is given; give
  your own, derived from your order id, to make a retry across restarts of your process safe).

Added with the other parts of issue 15 (coded from the agreed contract; the server side may
not be deployed where you run this yet): ``places`` in ``NewShipment``/``Shipment`` (added
with places), ``create_handover``/``get_handover``/``list_handovers``/``handover_pdf`` (added
with hand-over acts), ``payouts``/``payouts_csv`` (added with payouts), ``sandbox_advance``
(added with the sandbox).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel

from selpo_client.errors import SelpoError, SelpoTransportError
from selpo_client.models import (
    BatchResult,
    CodReport,
    CustomerReturn,
    Handover,
    NewReturn,
    NewScan,
    NewShipment,
    Payouts,
    PickupPoint,
    PickupPointPage,
    Quote,
    QuoteRequest,
    RegisteredReturn,
    ReturnLine,
    ReturnPage,
    ScanBatchResult,
    Shipment,
    ShipmentChange,
    ShipmentPage,
    ShipmentSummary,
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
    WebhookSubscriptionChange,
    WebhookSubscriptionCreated,
)

__all__ = ["SelpoClient"]

M = TypeVar("M", bound=BaseModel)
Body = BaseModel | Mapping[str, Any]
LabelFormat = Literal["a6", "a4"]
USER_AGENT = "selpo-client-python/0.1"
MAX_BATCH = 1000
MAX_LABELS = 500


def _json(body: Body) -> Any:
    """A request body as JSON: a model without its ``None`` fields, a mapping as given."""
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json", exclude_none=True, by_alias=True)
    return dict(body)


def _iso(moment: datetime | date) -> str:
    return moment.isoformat()


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the ``None`` ones; booleans as ``true``/``false``."""
    params: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, (datetime, date)):
            params[name] = _iso(value)
        else:
            params[name] = value
    return params


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare here; fall back to the client's own back-off


def problem_error(response: httpx.Response) -> SelpoError:
    """A ``SelpoError`` from an error response (problem+json, or anything else)."""
    problem: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            problem = parsed
    except ValueError:
        pass
    detail = problem.get("detail")
    title = problem.get("title")
    request_id = problem.get("request_id") or response.headers.get("X-Request-Id")
    return SelpoError(
        status=response.status_code,
        title=title if isinstance(title, str) else response.reason_phrase,
        detail=detail if isinstance(detail, str) else response.text[:500],
        request_id=request_id if isinstance(request_id, str) else None,
        problem=problem,
        retry_after=_retry_after(response),
    )


class SelpoClient:
    """A client of selpo's marketplace API.

    >>> with SelpoClient("https://selpo.example", api_key="sk_live_…") as selpo:
    ...     shipment = selpo.create_shipment(new_shipment)

    ``max_retries`` bounds the retries of one call (0: never retry); a wait asked by
    ``Retry-After`` longer than ``max_wait_s`` is not waited for (the error is raised).
    ``transport`` and ``sleep`` let tests put the client on an in-process app or a fake clock.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_wait_s: float = 30.0,
        backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        default_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if api_key is not None:
            default_headers["Authorization"] = f"Bearer {api_key}"
        default_headers.update(headers or {})
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=default_headers,
            timeout=timeout,
            transport=transport,
            trust_env=False,
        )
        self.max_retries = max_retries
        self.max_wait_s = max_wait_s
        self.backoff_s = backoff_s
        self._sleep = sleep

    # ------------------------------------------------------------------------ plumbing

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> SelpoClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> httpx.Response:
        """Send one request (retrying as the module says); raise ``SelpoError`` on 4xx/5xx.

        ``idempotent``: whether repeating the request is safe (a 503 or a lost connection is
        then retried). The same ``X-Request-Id`` goes with every attempt of one call.
        """
        sent_headers = {"X-Request-Id": uuid.uuid4().hex, **(headers or {})}
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, json=json, params=params, headers=sent_headers
                )
            except httpx.TransportError as exc:
                if idempotent and attempt < self.max_retries:
                    self._sleep(self.backoff_s * 2**attempt)
                    attempt += 1
                    continue
                raise SelpoTransportError(f"{method} {path}: {exc}") from exc
            if response.is_success:
                return response
            retryable = response.status_code == 429 or (response.status_code == 503 and idempotent)
            wait = _retry_after(response)
            if wait is None:
                wait = self.backoff_s * 2**attempt
            if retryable and attempt < self.max_retries and wait <= self.max_wait_s:
                self._sleep(wait)
                attempt += 1
                continue
            raise problem_error(response)

    def _get(self, path: str, model: type[M], **params: Any) -> M:
        response = self.request("GET", path, params=_params(**params), idempotent=True)
        return model.model_validate(response.json())

    def _post(
        self,
        path: str,
        model: type[M],
        body: Any,
        *,
        idempotency_key: str | None = None,
        keyed: bool = True,
        params: Mapping[str, Any] | None = None,
    ) -> M:
        response = self._post_raw(
            path, body, idempotency_key=idempotency_key, keyed=keyed, params=params
        )
        return model.model_validate(response.json())

    def _post_raw(
        self,
        path: str,
        body: Any,
        *,
        idempotency_key: str | None = None,
        keyed: bool = True,
        params: Mapping[str, Any] | None = None,
        accept: str | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        if keyed:
            headers["Idempotency-Key"] = idempotency_key or uuid.uuid4().hex
        if accept is not None:
            headers["Accept"] = accept
        return self.request(
            "POST",
            path,
            json=body,
            params=params,
            headers=headers,
            idempotent=keyed if idempotent is None else idempotent,
        )

    # ----------------------------------------------------------------------- shipments

    def create_shipment(
        self, shipment: NewShipment | Body, *, idempotency_key: str | None = None
    ) -> Shipment:
        """``POST /v1/shipments``: a new shipment (with ``places``: an order of several places).

        Retried safely under one ``Idempotency-Key``: a retry gets the first answer.
        """
        if not isinstance(shipment, BaseModel):
            shipment = NewShipment.model_validate(shipment)
        return self._post(
            "/v1/shipments", Shipment, _json(shipment), idempotency_key=idempotency_key
        )

    def create_shipments(
        self, shipments: Sequence[NewShipment | Body], *, idempotency_key: str | None = None
    ) -> BatchResult:
        """``POST /v1/shipments/batch``: up to 1,000 shipments; each has its own result (a bad
        one fails alone, its problem in ``results[i].error``)."""
        if not 1 <= len(shipments) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} shipments")
        body = [_json(s) for s in shipments]
        return self._post("/v1/shipments/batch", BatchResult, body, idempotency_key=idempotency_key)

    create_batch = create_shipments

    def record_scans(self, scans: Sequence[NewScan | Body]) -> ScanBatchResult:
        """``POST /v1/tracking-events/batch`` (operator key): up to 1,000 scans of a hub or an
        office system; each has its own result (a bad one fails alone). Each scan carries its
        ``scan_id``, so the batch is retried safely: a scan recorded before answers 200."""
        if not 1 <= len(scans) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} scans")
        body = [_json(s if isinstance(s, BaseModel) else NewScan.model_validate(s)) for s in scans]
        response = self._post_raw("/v1/tracking-events/batch", body, keyed=False, idempotent=True)
        return ScanBatchResult.model_validate(response.json())

    def get_shipment(self, tracking_number: str) -> Shipment:
        """``GET /v1/shipments/{n}``: the shipment with its events (a place's number finds its
        order once places exist)."""
        return self._get(f"/v1/shipments/{tracking_number}", Shipment)

    def list_shipments(
        self,
        *,
        status: str | None = None,
        updated_since: datetime | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> ShipmentPage:
        """``GET /v1/shipments``: one page, oldest first; ``next_cursor`` leads to the next."""
        return self._get(
            "/v1/shipments",
            ShipmentPage,
            status=status,
            updated_since=updated_since,
            cursor=cursor,
            limit=limit,
        )

    def iter_shipments(
        self,
        *,
        status: str | None = None,
        updated_since: datetime | None = None,
        page_size: int = 100,
    ) -> Iterator[ShipmentSummary]:
        """Every shipment matching, page after page (the cursor followed to the end)."""
        cursor: str | None = None
        while True:
            page = self.list_shipments(
                status=status, updated_since=updated_since, cursor=cursor, limit=page_size
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def update_shipment(
        self,
        tracking_number: str,
        change: ShipmentChange | Body,
        *,
        idempotency_key: str | None = None,
    ) -> Shipment:
        """``PATCH /v1/shipments/{n}``: change the recipient, COD, destination or options (all
        before the hand-over, then the phone until issued; 409 says what may still change)."""
        if not isinstance(change, BaseModel):
            change = ShipmentChange.model_validate(change)
        response = self.request(
            "PATCH",
            f"/v1/shipments/{tracking_number}",
            json=_json(change),
            headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex},
            idempotent=True,
        )
        return Shipment.model_validate(response.json())

    patch_shipment = update_shipment

    def cancel_shipment(self, tracking_number: str) -> Shipment:
        """``POST /v1/shipments/{n}/cancel``: cancel before the hand-over (else 409)."""
        return self._post(f"/v1/shipments/{tracking_number}/cancel", Shipment, None, keyed=False)

    def recall_shipment(
        self, tracking_number: str, *, idempotency_key: str | None = None
    ) -> Shipment:
        """``POST /v1/shipments/{n}/recall``: call a parcel back before it is issued (it goes
        back to the warehouse on the next run; a created one is cancelled; issued: 409)."""
        return self._post(
            f"/v1/shipments/{tracking_number}/recall",
            Shipment,
            None,
            idempotency_key=idempotency_key,
        )

    def extend_storage(self, tracking_number: str) -> Shipment:
        """``POST /v1/shipments/{n}/extend-storage``: keep the parcel at the office longer
        (once; 409 otherwise)."""
        return self._post(
            f"/v1/shipments/{tracking_number}/extend-storage", Shipment, None, keyed=False
        )

    def label(self, tracking_number: str) -> bytes:
        """``GET /v1/shipments/{n}/label``: the label as a PDF."""
        return self.request(
            "GET",
            f"/v1/shipments/{tracking_number}/label",
            headers={"Accept": "application/pdf"},
            idempotent=True,
        ).content

    def labels(self, tracking_numbers: Sequence[str], *, format: LabelFormat = "a6") -> bytes:
        """``POST /v1/labels``: up to 500 labels in one PDF, in the order given (``a6``: one a
        page for thermal printers; ``a4``: four a page). A read: safe to retry."""
        if not 1 <= len(tracking_numbers) <= MAX_LABELS:
            raise ValueError(f"1 to {MAX_LABELS} tracking numbers a request")
        return self._post_raw(
            "/v1/labels",
            {"tracking_numbers": list(tracking_numbers), "format": format},
            keyed=False,
            accept="application/pdf",
            idempotent=True,
        ).content

    def cod_report(self, day: date) -> CodReport:
        """``GET /v1/reports/cod?date=``: cash on delivery collected on a day."""
        return self._get("/v1/reports/cod", CodReport, date=day)

    # ------------------------------------------------------------------- pickup points

    def search_pickup_points(
        self,
        lat: float,
        lon: float,
        *,
        radius_km: float | None = None,
        limit: int | None = None,
        **filters: Any,
    ) -> list[PickupPoint]:
        """``GET /v1/pickup-points?lat=&lon=``: the nearest offices, nearest first.

        ``filters``: ``weight_g``/``length_mm``/``width_mm``/``height_mm`` (all four: only the
        offices the parcel fits), ``payment="cash"|"card"``, ``fitting``, ``marketplace``,
        ``region``, ``open_on`` (a date), ``open_at`` (an aware datetime), ``fits_only``.
        """
        page = self._get(
            "/v1/pickup-points",
            PickupPointPage,
            lat=lat,
            lon=lon,
            radius_km=radius_km,
            limit=limit,
            **filters,
        )
        return page.items

    def list_pickup_points(
        self, *, cursor: str | None = None, limit: int | None = None, **filters: Any
    ) -> PickupPointPage:
        """``GET /v1/pickup-points``: one page of the filtered list by index (up to 1,000)."""
        return self._get(
            "/v1/pickup-points", PickupPointPage, cursor=cursor, limit=limit, **filters
        )

    def iter_pickup_points(self, *, page_size: int = 1000, **filters: Any) -> Iterator[PickupPoint]:
        """Every pickup point matching the filters, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_pickup_points(cursor=cursor, limit=page_size, **filters)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def pickup_points_csv(self, **filters: Any) -> str:
        """``GET /v1/pickup-points`` with ``Accept: text/csv``: every matching office as one
        CSV (for a nightly sync)."""
        return self.request(
            "GET",
            "/v1/pickup-points",
            params=_params(**filters),
            headers={"Accept": "text/csv"},
            idempotent=True,
        ).text

    def get_pickup_point(self, index: str, **parcel: Any) -> PickupPoint:
        """``GET /v1/pickup-points/{index}`` (``weight_g`` … ``height_mm``: whether it fits)."""
        return self._get(f"/v1/pickup-points/{index}", PickupPoint, **parcel)

    # -------------------------------------------------------------------------- quotes

    def quote(self, request: QuoteRequest | Body) -> Quote:
        """``POST /v1/quotes``: price and delivery window (a computation: safe to retry)."""
        if not isinstance(request, BaseModel):
            request = QuoteRequest.model_validate(request)
        response = self._post_raw("/v1/quotes", _json(request), keyed=False, idempotent=True)
        return Quote.model_validate(response.json())

    # ------------------------------------------------------------------------ webhooks

    def subscribe_webhook(
        self, url: str, events: Iterable[str] = ("*",), *, batch_max: int | None = None
    ) -> WebhookSubscriptionCreated:
        """``POST /v1/webhooks``: subscribe an https URL; the answer's ``secret`` (for the
        signatures) is shown this once. ``batch_max`` (1 to 100, the server's default 1): up
        to that many events per POST (``parse_webhook_batch`` reads them)."""
        body: dict[str, Any] = {"url": url, "events": list(events)}
        if batch_max is not None:
            body["batch_max"] = batch_max
        return self._post("/v1/webhooks", WebhookSubscriptionCreated, body, keyed=False)

    def update_webhook(
        self,
        subscription_id: int,
        *,
        batch_max: int | None = None,
        events: Iterable[str] | None = None,
    ) -> WebhookSubscription:
        """``PATCH /v1/webhooks/{id}``: change the events per POST and/or the event types (the
        whole new list); only what is given changes. Setting the same values twice is
        harmless, so it is retried like a read."""
        change = WebhookSubscriptionChange(
            batch_max=batch_max, events=None if events is None else list(events)
        )
        response = self.request(
            "PATCH", f"/v1/webhooks/{subscription_id}", json=change.body(), idempotent=True
        )
        return WebhookSubscription.model_validate(response.json())

    def list_webhooks(self) -> list[WebhookSubscription]:
        """``GET /v1/webhooks``: the active subscriptions (without secrets)."""
        response = self.request("GET", "/v1/webhooks", idempotent=True)
        return [WebhookSubscription.model_validate(i) for i in response.json()["items"]]

    def delete_webhook(self, subscription_id: int) -> None:
        """``DELETE /v1/webhooks/{id}``: stop a subscription."""
        self.request("DELETE", f"/v1/webhooks/{subscription_id}", idempotent=True)

    def webhook_events(self) -> list[WebhookEventType]:
        """``GET /v1/webhooks/events``: the catalogue of event types with their schemas."""
        response = self.request("GET", "/v1/webhooks/events", idempotent=True)
        return [WebhookEventType.model_validate(i) for i in response.json()["items"]]

    def webhook_deliveries(
        self, subscription_id: int, *, status: str | None = None, limit: int | None = None
    ) -> list[WebhookDelivery]:
        """``GET /v1/webhooks/{id}/deliveries``: the latest deliveries, newest first."""
        response = self.request(
            "GET",
            f"/v1/webhooks/{subscription_id}/deliveries",
            params=_params(status=status, limit=limit),
            idempotent=True,
        )
        return [WebhookDelivery.model_validate(i) for i in response.json()["items"]]

    def replay_webhooks(self, subscription_id: int, since: datetime) -> int:
        """``POST /v1/webhooks/{id}/replay?since=``: queue again the events since then (same
        ids, so a receiver that dedupes by ``event_id`` sees no double); how many."""
        if since.tzinfo is None:
            raise ValueError("since needs a time zone")
        response = self._post_raw(
            f"/v1/webhooks/{subscription_id}/replay",
            None,
            keyed=False,
            params={"since": _iso(since)},
            idempotent=True,  # queueing the same events again twice changes nothing more
        )
        requeued: int = response.json()["requeued"]
        return requeued

    # ------------------------------------------------- hand-over acts (added with acts)

    def create_handover(
        self,
        warehouse: str,
        tracking_numbers: Sequence[str] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Handover:
        """``POST /v1/handovers``: a numbered act of these shipments (or of every shipment
        created and not yet on an act, from that warehouse). Added with hand-over acts."""
        body: dict[str, Any] = {"warehouse": warehouse}
        if tracking_numbers is not None:
            body["tracking_numbers"] = list(tracking_numbers)
        return self._post("/v1/handovers", Handover, body, idempotency_key=idempotency_key)

    def get_handover(self, handover_id: int) -> Handover:
        """``GET /v1/handovers/{id}``. Added with hand-over acts."""
        return self._get(f"/v1/handovers/{handover_id}", Handover)

    def list_handovers(
        self, *, since: date | datetime | None = None, until: date | datetime | None = None
    ) -> list[Handover]:
        """``GET /v1/handovers?from=&to=``: the acts made on those days (the server answers
        ``{"from", "to", "handovers": [...]}``), oldest first."""
        params = _params(**{"from": since, "to": until})
        response = self.request("GET", "/v1/handovers", params=params, idempotent=True)
        body = response.json()
        if isinstance(body, list):
            items = body
        else:
            items = body["handovers"] if "handovers" in body else body["items"]
        return [Handover.model_validate(i) for i in items]

    def handover_pdf(self, handover_id: int) -> bytes:
        """``GET /v1/handovers/{id}/pdf``: the act to print and sign. Added with hand-over acts."""
        return self.request(
            "GET",
            f"/v1/handovers/{handover_id}/pdf",
            headers={"Accept": "application/pdf"},
            idempotent=True,
        ).content

    # ---------------------------------------------------------- payouts (added with money)

    def payouts(self, since: date, until: date) -> Payouts:
        """``GET /v1/payouts?from=&to=``: per day, collected, fee, to transfer, the shipments
        behind it. Added with payouts."""
        return self._get("/v1/payouts", Payouts, **{"from": since, "to": until})

    def payouts_csv(self, since: date, until: date) -> str:
        """The same as CSV (``Accept: text/csv``). Added with payouts."""
        return self.request(
            "GET",
            "/v1/payouts",
            params=_params(**{"from": since, "to": until}),
            headers={"Accept": "text/csv"},
            idempotent=True,
        ).text

    # ------------------------------------------------------ buyers' returns (issue 16)

    def register_return(
        self,
        tracking_number: str,
        external_return_id: str,
        reason: str,
        items: Iterable[tuple[int, int]],
        *,
        cash_refund: bool | None = None,
        idempotency_key: str | None = None,
    ) -> RegisteredReturn:
        """``POST /v1/returns``: register a buyer's return of an issued order (``items``:
        (position, units)); the answer's ``return_code`` is given this once."""
        body = NewReturn(
            tracking_number=tracking_number,
            external_return_id=external_return_id,
            reason=reason,
            items=[ReturnLine(position=p, quantity=q) for p, q in items],
            cash_refund=cash_refund,
        ).body()
        return self._post(
            "/v1/returns",
            RegisteredReturn,
            body,
            idempotency_key=idempotency_key or f"return-{external_return_id}",
        )

    def get_return(self, return_id: int) -> CustomerReturn:
        """``GET /v1/returns/{id}``."""
        return self._get(f"/v1/returns/{return_id}", CustomerReturn)

    def returns(
        self, *, status: str | None = None, cursor: str | None = None, limit: int = 100
    ) -> ReturnPage:
        """``GET /v1/returns?status=``: a page of the marketplace's returns, oldest first."""
        return self._get("/v1/returns", ReturnPage, status=status, cursor=cursor, limit=limit)

    # ------------------------------------------------------ sandbox (added with sandbox)

    def sandbox_advance(self, tracking_number: str, status: str) -> Shipment:
        """``POST /v1/sandbox/shipments/{n}/advance``: walk a test-key shipment to ``status``
        through the intermediate ones, with the same webhooks (a live key: 403). Added with
        the sandbox."""
        return self._post(
            f"/v1/sandbox/shipments/{tracking_number}/advance",
            Shipment,
            {"status": status},
            keyed=False,
        )
