"""The typed client (clients/python) against the live application under uvicorn, on both
backends: every method that exists on the server, errors as ``SelpoError``, and an integrator's
path from creating a shipment to cancelling it, its webhooks checked with the client's helper.

The retry policy (429/503, ``Retry-After``, the idempotency key kept across attempts) is
checked on a scripted transport, where the server's answers can be chosen.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.notify.delivery import deliver_due
from selpo.notify.sms import LogSmsGateway
from selpo.notify.transport import make_http_client
from selpo.shipment import service as shipment_service
from selpo.shipment.examples import SHIPMENT as EXAMPLE_SHIPMENT
from selpo_client import (
    Item,
    NewPlace,
    NewScan,
    NewShipment,
    Parcel,
    QuoteRequest,
    Recipient,
    SelpoClient,
    SelpoError,
    SelpoTransportError,
    Shipment,
    ShipmentChange,
    parse_webhook,
    parse_webhook_batch,
    parse_webhook_events,
    verify_webhook_signature,
)
from selpo_client.errors import InvalidSignature
from tests.client.conftest import Live
from tests.conftest import TEST_NOW
from tests.fixtures.builders import PESTYAKI_INDEX, admin_headers, shipment_payload
from tests.fixtures.receiver import Receiver

PEPPER = "client-test-pepper"
PESTYAKI = (56.7086, 42.66954)  # the Pestyaki office (its settlement centre)


def new_shipment(order: str, *, cod_kop: int = 0) -> NewShipment:
    """A typed shipment to Pestyaki."""
    return NewShipment(
        external_order_id=order,
        destination_index=PESTYAKI_INDEX,
        recipient=Recipient(name="Иванова Мария Петровна", phone="+79161234567"),
        parcel=Parcel(
            weight_g=1200,
            length_mm=300,
            width_mm=200,
            height_mm=100,
            declared_value_kop=150000,
            cod_kop=cod_kop,
        ),
        items=[Item(sku="SKU-1", name="Чайник", quantity=1, price_kop=150000)],
    )


def _pdf_pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF")
    return len(PdfReader(io.BytesIO(pdf)).pages)


def _ready_for_pickup(factory: sessionmaker[Session], live: Live, number: str) -> None:
    """Walk a shipment to the office's shelf through the services (as the hub and the clerk)."""
    with session_scope(factory) as session:
        for code in ("handed_over", "departed_hub", "arrived_at_office"):
            live.clock.advance(timedelta(hours=4))
            shipment_service.record_scan(
                session,
                tracking_number=number,
                code=code,
                occurred_at=live.clock.now(),
                now=live.clock.now(),
                office_index=PESTYAKI_INDEX,
            )
        shipment = shipment_service.get_shipment(
            session, marketplace_id=None, tracking_number=number
        )
        shipment_service.make_ready_for_pickup(
            session,
            shipment=shipment,
            now=live.clock.now(),
            policy=shipment_service.PickupPolicy(pepper=PEPPER),
            cell_code="S-01",
        )


# ------------------------------------------------------------------------------ shipments


def test_create_get_and_the_idempotency_key(selpo: SelpoClient) -> None:
    created = selpo.create_shipment(new_shipment("CL-1", cod_kop=50000), idempotency_key="CL-1")
    assert isinstance(created, Shipment)
    assert created.status == "created"
    assert created.parcel.cod_kop == 50000
    assert created.recipient["phone"].endswith("4567")
    assert [e.code for e in created.events] == ["created"]
    again = selpo.create_shipment(new_shipment("CL-1", cod_kop=50000), idempotency_key="CL-1")
    assert again.tracking_number == created.tracking_number  # the first answer, once
    fetched = selpo.get_shipment(created.tracking_number)
    assert fetched.external_order_id == "CL-1"
    assert fetched.created_at.tzinfo is not None
    # a plain dict is accepted too (validated by the client's model first)
    from_dict = selpo.create_shipment(shipment_payload(external_order_id="CL-DICT"))
    assert from_dict.tracking_number != created.tracking_number


def test_a_batch_reports_each_item_and_the_list_pages_to_the_end(selpo: SelpoClient) -> None:
    good = [new_shipment(f"CLB-{n}") for n in range(5)]
    bad = shipment_payload(external_order_id="CLB-BAD", destination_index="000000")
    result = selpo.create_batch([*good, bad])
    assert (result.created, result.failed) == (5, 1)
    failed = result.results[5]
    assert failed.status_code == 422
    assert failed.shipment is None
    assert failed.error is not None
    assert failed.error["status"] == 422
    numbers = [r.shipment.tracking_number for r in result.results[:5] if r.shipment]
    assert len(numbers) == 5

    page = selpo.list_shipments(limit=2)
    assert len(page.items) == 2
    assert page.next_cursor is not None
    listed = [s.tracking_number for s in selpo.iter_shipments(page_size=2)]
    assert listed == numbers  # every page, oldest first, nothing twice
    assert [s.tracking_number for s in selpo.iter_shipments(status="cancelled")] == []


def test_a_hub_records_scans_in_a_batch_and_a_retry_records_nothing_twice(
    live: Live, selpo: SelpoClient, session_factory: sessionmaker[Session]
) -> None:
    created = selpo.create_batch([new_shipment(f"CL-SCAN-{n}") for n in range(3)])
    numbers = [r.shipment.tracking_number for r in created.results if r.shipment]
    with session_scope(session_factory) as session:
        secret = admin_headers(session, now=TEST_NOW)["Authorization"].removeprefix("Bearer ")
    live.clock.advance(timedelta(hours=4))
    at = live.clock.now() - timedelta(hours=1)
    scans = [
        NewScan(scan_id=f"HUB-{n}", tracking_number=number, code="handed_over", occurred_at=at)
        for n, number in enumerate(numbers)
    ]
    bad = {"scan_id": "HUB-X", "tracking_number": numbers[0], "code": "teleported"}
    with SelpoClient(live.base_url, api_key=secret) as hub:
        result = hub.record_scans([*scans, {**bad, "occurred_at": at.isoformat()}])
        assert (result.recorded, result.repeated, result.failed) == (3, 0, 1)
        assert [r.status for r in result.results[:3]] == ["handed_over"] * 3
        assert result.results[3].error is not None
        assert result.results[3].error["errors"][0]["field"] == "code"
        again = hub.record_scans(scans)
        assert (again.recorded, again.repeated) == (0, 3)
    assert [e.code for e in selpo.get_shipment(numbers[0]).events] == ["created", "handed_over"]
    with pytest.raises(SelpoError) as refused:
        selpo.record_scans(scans)  # a marketplace's key may not scan
    assert refused.value.status == 403


def test_patch_cancel_and_the_409_with_what_may_change(selpo: SelpoClient) -> None:
    created = selpo.create_shipment(new_shipment("CL-PATCH", cod_kop=10000))
    changed = selpo.update_shipment(
        created.tracking_number,
        ShipmentChange.model_validate(
            {"recipient": {"phone": "+79161230000"}, "parcel": {"cod_kop": 0}}
        ),
    )
    assert changed.parcel.cod_kop == 0
    assert changed.recipient["phone"].endswith("0000")
    updated = [e for e in changed.events if e.code == "updated"]
    assert updated
    assert updated[0].changed == ["parcel.cod_kop", "recipient.phone"]
    with pytest.raises(SelpoError) as refused:
        selpo.update_shipment(created.tracking_number, {"parcel": {"cod_kop": 999_999_00}})
    assert refused.value.status == 422
    cancelled = selpo.cancel_shipment(created.tracking_number)
    assert cancelled.status == "cancelled"
    with pytest.raises(SelpoError) as late:
        selpo.update_shipment(created.tracking_number, {"options": {"fitting": True}})
    assert late.value.status == 409
    assert late.value.request_id
    with pytest.raises(SelpoError) as twice:
        selpo.cancel_shipment(created.tracking_number)
    assert twice.value.status == 409


def test_extend_storage_once(
    live: Live, selpo: SelpoClient, session_factory: sessionmaker[Session]
) -> None:
    created = selpo.create_shipment(new_shipment("CL-STORE"))
    _ready_for_pickup(session_factory, live, created.tracking_number)
    ready = selpo.get_shipment(created.tracking_number)
    assert ready.status == "ready_for_pickup"
    assert ready.storage_deadline is not None
    extended = selpo.extend_storage(created.tracking_number)
    assert extended.storage_extended
    assert extended.storage_deadline is not None
    assert extended.storage_deadline > ready.storage_deadline
    with pytest.raises(SelpoError) as again:
        selpo.extend_storage(created.tracking_number)
    assert again.value.status == 409


def test_labels_one_and_in_bulk(selpo: SelpoClient) -> None:
    result = selpo.create_batch([new_shipment(f"CL-LBL-{n}") for n in range(5)])
    numbers = [r.shipment.tracking_number for r in result.results if r.shipment]
    assert _pdf_pages(selpo.label(numbers[0])) == 1
    assert _pdf_pages(selpo.labels(numbers, format="a6")) == 5
    assert _pdf_pages(selpo.labels(numbers, format="a4")) == 2  # four to a page
    with pytest.raises(ValueError, match="1 to 500"):
        selpo.labels([])


def test_refusals_are_selpo_errors_with_the_problem(live: Live, selpo: SelpoClient) -> None:
    theirs = selpo.create_shipment(new_shipment("CL-OWN"))
    with live.client(live.yandex) as yandex, pytest.raises(SelpoError) as foreign:
        yandex.get_shipment(theirs.tracking_number)
    assert foreign.value.status == 404  # a foreign number is not found, not forbidden
    assert foreign.value.title
    assert foreign.value.detail
    assert foreign.value.problem["status"] == 404
    with pytest.raises(SelpoError) as invalid:
        selpo.get_shipment("12345")
    assert invalid.value.status == 422
    assert invalid.value.errors[0]["field"] == "tracking_number"
    with SelpoClient(live.base_url, api_key="sk_live_nothing") as stranger:
        with pytest.raises(SelpoError) as unauthorized:
            stranger.list_shipments()
    assert unauthorized.value.status == 401
    assert unauthorized.value.request_id is not None
    with pytest.raises(ValueError, match="1 to 1000"):
        selpo.create_batch([])


def test_cod_report(selpo: SelpoClient) -> None:
    report = selpo.cod_report(TEST_NOW.date())
    assert report.marketplace == "OZON"
    assert report.date == TEST_NOW.date()
    assert report.collected_kop == 0
    assert report.tracking_numbers == []


# ----------------------------------------------------------------- pickup points and quotes


def test_pickup_points_search_pages_and_csv(selpo: SelpoClient) -> None:
    near = selpo.search_pickup_points(*PESTYAKI, radius_km=30, limit=5)
    assert near
    assert len(near) <= 5
    distances = [p.distance_m for p in near]
    assert all(d is not None for d in distances)
    assert distances == sorted(distances)  # type: ignore[type-var]
    fitting = selpo.search_pickup_points(
        *PESTYAKI, radius_km=30, limit=50, weight_g=1200, length_mm=300, width_mm=200, height_mm=100
    )
    assert all(p.fits for p in fitting)
    cash = selpo.search_pickup_points(*PESTYAKI, radius_km=60, limit=50, payment="cash")
    assert cash
    assert all(p.accepts_cash for p in cash)

    first = selpo.list_pickup_points(limit=3)
    assert len(first.items) == 3
    assert first.next_cursor is not None
    every = list(selpo.iter_pickup_points(page_size=200))
    indexes = [p.index for p in every]
    assert indexes == sorted(indexes)
    assert len(set(indexes)) == len(indexes)
    assert indexes[:3] == [p.index for p in first.items]

    rows = list(csv.DictReader(io.StringIO(selpo.pickup_points_csv())))
    assert sorted(r["index"] for r in rows) == indexes  # the whole list in one CSV
    one = selpo.get_pickup_point(PESTYAKI_INDEX)
    assert one.index == PESTYAKI_INDEX
    assert "OZON" in one.marketplaces
    with pytest.raises(SelpoError) as missing:
        selpo.get_pickup_point("000000")
    assert missing.value.status == 404


def test_quote(selpo: SelpoClient) -> None:
    quote = selpo.quote(
        QuoteRequest(
            destination_index=PESTYAKI_INDEX,
            weight_g=1200,
            length_mm=300,
            width_mm=200,
            height_mm=100,
            declared_value_kop=150000,
        )
    )
    assert quote.price_kop > 0
    assert quote.currency == "RUB"
    assert quote.earliest <= quote.latest
    assert quote.price.zone >= 1


# ------------------------------------------------------------------------------- webhooks


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def _deliver(factory: sessionmaker[Session], live: Live, sms_log: Path) -> int:
    with make_http_client(allow_hosts=frozenset({"127.0.0.1"})) as http:
        report = deliver_due(
            factory,
            now=live.clock.now(),
            http=http,
            sms_gateway=LogSmsGateway(sms_log),
            rng=random.Random(7),
        )
    return report.sent


def test_webhooks_subscribe_deliver_replay_and_verify(
    live: Live,
    selpo: SelpoClient,
    receiver: Receiver,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    catalogue = {e.type: e for e in selpo.webhook_events()}
    assert {"shipment.created", "shipment.cancelled", "shipment.updated"} <= set(catalogue)
    assert catalogue["shipment.cancelled"].payload_schema["type"] == "object"

    subscription = selpo.subscribe_webhook(receiver.url, ["shipment.created", "shipment.cancelled"])
    assert subscription.secret
    assert subscription.active
    assert [s.id for s in selpo.list_webhooks()] == [subscription.id]

    created = selpo.create_shipment(new_shipment("CL-HOOK"))
    selpo.cancel_shipment(created.tracking_number)
    assert _deliver(session_factory, live, tmp_path / "sms.log") >= 2
    assert len(receiver.accepted) == 2
    events = []
    for request in receiver.accepted:
        header = request.headers["x-selpo-signature"]
        assert verify_webhook_signature(subscription.secret, header, request.body, now=TEST_NOW)
        assert not verify_webhook_signature("another secret", header, request.body, now=TEST_NOW)
        assert not verify_webhook_signature(
            subscription.secret, header, request.body + b" ", now=TEST_NOW
        )
        assert not verify_webhook_signature(  # a captured request replayed an hour later
            subscription.secret, header, request.body, now=TEST_NOW + timedelta(hours=1)
        )
        events.append(parse_webhook(subscription.secret, header, request.body, now=TEST_NOW))
    assert sorted((e.type, e.data["tracking_number"]) for e in events) == [
        ("shipment.cancelled", created.tracking_number),
        ("shipment.created", created.tracking_number),
    ]
    with pytest.raises(InvalidSignature):
        parse_webhook("wrong", receiver.accepted[0].headers["x-selpo-signature"], b"{}")

    deliveries = selpo.webhook_deliveries(subscription.id)
    assert {d.status for d in deliveries} == {"sent"}
    assert sorted(d.event_id for d in deliveries) == sorted(e.event_id for e in events)
    assert selpo.webhook_deliveries(subscription.id, status="dead") == []

    assert selpo.replay_webhooks(subscription.id, since=TEST_NOW - timedelta(hours=1)) == 2
    with pytest.raises(ValueError, match="time zone"):
        selpo.replay_webhooks(subscription.id, since=TEST_NOW.replace(tzinfo=None))
    selpo.delete_webhook(subscription.id)
    assert selpo.list_webhooks() == []
    with pytest.raises(SelpoError) as gone:
        selpo.webhook_deliveries(subscription.id + 1000)
    assert gone.value.status == 404


def test_batched_webhooks_subscribe_change_and_parse(
    live: Live,
    selpo: SelpoClient,
    receiver: Receiver,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    subscription = selpo.subscribe_webhook(receiver.url, ["shipment.created"], batch_max=50)
    assert subscription.batch_max == 50
    changed = selpo.update_webhook(
        subscription.id, events=["shipment.created", "shipment.cancelled"]
    )
    assert (changed.batch_max, changed.events) == (50, ["shipment.created", "shipment.cancelled"])
    assert [s.batch_max for s in selpo.list_webhooks()] == [50]

    created = [selpo.create_shipment(new_shipment(f"CL-BATCH-{n}")) for n in range(3)]
    selpo.cancel_shipment(created[0].tracking_number)
    assert _deliver(session_factory, live, tmp_path / "sms.log") >= 4
    (request,) = receiver.accepted  # one POST of four events
    header = request.headers["x-selpo-signature"]
    assert request.headers["x-selpo-event-type"] == "batch"
    batch = parse_webhook_batch(subscription.secret, header, request.body, now=TEST_NOW)
    assert [(e.type, e.data["tracking_number"]) for e in batch.events] == [
        *(("shipment.created", c.tracking_number) for c in created),
        ("shipment.cancelled", created[0].tracking_number),
    ]
    either = parse_webhook_events(subscription.secret, header, request.body, now=TEST_NOW)
    assert [e.event_id for e in either] == [e.event_id for e in batch.events]
    with pytest.raises(InvalidSignature):
        parse_webhook_batch("wrong", header, request.body, now=TEST_NOW)

    # Back to one event per POST: parse_webhook_events reads that shape too.
    assert selpo.update_webhook(subscription.id, batch_max=1).batch_max == 1
    selpo.cancel_shipment(created[1].tracking_number)
    _deliver(session_factory, live, tmp_path / "sms.log")
    single = receiver.accepted[-1]
    (alone,) = parse_webhook_events(
        subscription.secret, single.headers["x-selpo-signature"], single.body, now=TEST_NOW
    )
    assert (alone.type, alone.data["tracking_number"]) == (
        "shipment.cancelled",
        created[1].tracking_number,
    )

    with pytest.raises(ValidationError):
        selpo.update_webhook(subscription.id, batch_max=101)  # refused before it is sent
    other = live.client(live.yandex)
    with pytest.raises(SelpoError) as theirs:
        other.update_webhook(subscription.id, batch_max=5)
    other.close()
    assert theirs.value.status == 404
    with pytest.raises(SelpoError) as refused:
        selpo.request(
            "PATCH", f"/v1/webhooks/{subscription.id}", json={"batch_max": 0}, idempotent=True
        )
    assert refused.value.status == 422


# ------------------------------------------------------------- the integrator, end to end


def test_an_integrator_from_create_to_cancel(
    live: Live,
    selpo: SelpoClient,
    receiver: Receiver,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    """Create → webhook subscription → label → pickup-point search → patch → cancel, each
    step checked by what the next sees; every webhook arrives signed."""
    subscription = selpo.subscribe_webhook(receiver.url)  # every event

    near = selpo.search_pickup_points(
        *PESTYAKI,
        radius_km=40,
        marketplace="OZON",
        weight_g=1200,
        length_mm=300,
        width_mm=200,
        height_mm=100,
    )
    assert PESTYAKI_INDEX in [p.index for p in near]
    order = new_shipment("INT-1", cod_kop=150000).model_copy(
        update={"destination_index": near[0].index}
    )
    created = selpo.create_shipment(order, idempotency_key="INT-1")
    assert created.destination_index == near[0].index

    assert _pdf_pages(selpo.label(created.tracking_number)) == 1
    assert _pdf_pages(selpo.labels([created.tracking_number], format="a4")) == 1

    changed = selpo.update_shipment(
        created.tracking_number, {"recipient": {"name": "Петрова Анна"}, "parcel": {"cod_kop": 0}}
    )
    assert changed.parcel.cod_kop == 0
    assert changed.recipient["name"] != created.recipient["name"]
    assert [s.tracking_number for s in selpo.iter_shipments(status="created")] == [
        created.tracking_number
    ]

    cancelled = selpo.cancel_shipment(created.tracking_number)
    assert cancelled.status == "cancelled"
    assert [e.code for e in cancelled.events] == ["created", "updated", "cancelled"]

    assert _deliver(session_factory, live, tmp_path / "sms.log") >= 4
    assert len(receiver.accepted) == 4
    bodies = [
        parse_webhook(subscription.secret, r.headers["x-selpo-signature"], r.body, now=TEST_NOW)
        for r in receiver.accepted
    ]
    by_type = {b.type: b for b in bodies}  # sent in parallel: in any order
    assert sorted(by_type) == [
        "shipment.cancelled",
        "shipment.created",
        "shipment.status_changed",
        "shipment.updated",
    ]
    assert by_type["shipment.updated"].data["changed"] == ["parcel.cod_kop", "recipient.name"]
    assert by_type["shipment.status_changed"].data["status"] == "cancelled"
    assert all(b.data["external_order_id"] == "INT-1" for b in bodies)


# ------------------------------------------------------- retries, on a scripted transport


class Script:
    """A transport that answers from a list and records each request it got."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _problem(status: int, *, retry_after: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/problem+json", "X-Request-Id": "rid-1"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    body = {"type": "about:blank", "title": "Nope", "status": status, "detail": "try later"}
    return httpx.Response(status, headers=headers, content=json.dumps(body).encode())


def _scripted(script: Script, **options: float) -> tuple[SelpoClient, list[float]]:
    slept: list[float] = []
    client = SelpoClient(
        "http://selpo.test",
        api_key="sk_live_x",
        transport=httpx.MockTransport(script),
        sleep=slept.append,
        **options,  # type: ignore[arg-type]
    )
    return client, slept


def _page() -> httpx.Response:
    return httpx.Response(200, json={"items": [], "next_cursor": None})


def test_a_429_is_retried_after_retry_after_with_the_same_keys() -> None:
    created = shipment_payload()
    script = Script(_problem(429, retry_after="2"), _problem(503, retry_after="1"), _page())
    client, slept = _scripted(script)
    assert client.list_shipments().items == []
    assert slept == [2.0, 1.0]
    assert len({r.headers["X-Request-Id"] for r in script.requests}) == 1

    script = Script(_problem(429, retry_after="3"), httpx.Response(400, json={}))
    client, slept = _scripted(script)
    with pytest.raises(SelpoError):
        client.create_shipment(created)
    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert len(keys) == 2
    assert keys[0] == keys[1]
    assert len(keys[0]) >= 16
    assert slept == [3.0]


def test_retries_are_bounded_and_only_for_calls_safe_to_repeat() -> None:
    script = Script(*[_problem(503, retry_after="1")] * 3)
    client, slept = _scripted(script, max_retries=2)
    with pytest.raises(SelpoError) as exhausted:
        client.get_shipment("15565012345678")
    assert exhausted.value.status == 503
    assert exhausted.value.retry_after == 1.0
    assert exhausted.value.request_id == "rid-1"
    assert len(script.requests) == 3
    assert slept == [1.0, 1.0]

    script = Script(_problem(503, retry_after="1"))  # a cancel carries no key: not repeated
    client, slept = _scripted(script)
    with pytest.raises(SelpoError):
        client.cancel_shipment("15565012345678")
    assert len(script.requests) == 1
    assert slept == []

    script = Script(_problem(429, retry_after="120"))  # longer than the client will wait
    client, slept = _scripted(script, max_wait_s=30)
    with pytest.raises(SelpoError) as too_long:
        client.list_shipments()
    assert too_long.value.status == 429
    assert slept == []

    script = Script(httpx.ConnectError("refused"), _page())
    client, slept = _scripted(script, backoff_s=0.25)
    assert client.list_shipments().next_cursor is None
    assert slept == [0.25]
    script = Script(httpx.ConnectError("refused"))
    client, _ = _scripted(script)
    with pytest.raises(SelpoTransportError):
        client.cancel_shipment("15565012345678")


def test_every_post_a_client_may_retry_sends_an_idempotency_key() -> None:
    script = Script(*[httpx.Response(400, json={"status": 400}) for _ in range(4)])
    client, _ = _scripted(script, max_retries=0)
    for call in (
        lambda: client.create_shipment(shipment_payload()),
        lambda: client.create_batch([shipment_payload()]),
        lambda: client.update_shipment("15565012345678", {"parcel": {"cod_kop": 0}}),
        lambda: client.create_handover("W-PODOLSK"),
    ):
        with pytest.raises(SelpoError):
            call()
    keys = [r.headers.get("Idempotency-Key") for r in script.requests]
    assert all(keys)
    assert len(set(keys)) == 4
    assert [r.headers["Authorization"] for r in script.requests] == ["Bearer sk_live_x"] * 4


# ------------------------------------- the methods of issue 15's other parts, on the contract


def _answering(body: Any, *, status: int = 200) -> tuple[SelpoClient, Script]:
    script = Script(httpx.Response(status, json=body))
    client, _ = _scripted(script)
    return client, script


def test_places_acts_payouts_and_the_sandbox_follow_the_agreed_shapes() -> None:
    """Requests and answers as CONTRACTS15 has them (the server parts arrive with their
    merges; the live tests for them are wired then)."""
    place = {
        "number": 2,
        "tracking_number": "15395026000021",
        "weight_g": 400,
        "length_mm": 200,
        "width_mm": 200,
        "height_mm": 100,
        "external_place_id": "BOX-2",
        "status": "created",
        "arrived_at": None,
    }
    order = new_shipment("PL-1").model_copy(
        update={"places": [NewPlace(weight_g=800, length_mm=300, width_mm=200, height_mm=100)]}
    )
    answer = {**json.loads(json.dumps(EXAMPLE_SHIPMENT)), "places": [place]}
    client, script = _answering(answer, status=201)
    created = client.create_shipment(order)
    assert created.places[0].tracking_number == "15395026000021"
    sent = json.loads(script.requests[0].content)
    assert sent["places"] == [
        {"weight_g": 800, "length_mm": 300, "width_mm": 200, "height_mm": 100}
    ]

    act = {
        "id": 3,
        "number": "H-2026-000003",
        "warehouse": "W-PODOLSK",
        "created_at": "2026-11-25T09:00:00Z",
        "status": "accepted_with_discrepancies",
        "count": 1,
        "places": 3,
        "weight_g": 1200,
        "declared_value_kop": 150000,
        "cod_kop": 0,
        "shipments": [
            {
                "tracking_number": "15395026000014",
                "external_order_id": "PL-1",
                "places": 3,
                "weight_g": 1200,
                "declared_value_kop": 150000,
                "cod_kop": 0,
            }
        ],
        "acceptance": {"accepted_at": "2026-11-25T15:00:00Z", "missing": [], "extra": []},
    }
    client, script = _answering(act, status=201)
    made = client.create_handover("W-PODOLSK", ["15395026000014"])
    assert made.acceptance is not None
    assert made.shipments[0].places == 3
    assert script.requests[0].url.path == "/v1/handovers"
    assert json.loads(script.requests[0].content) == {
        "warehouse": "W-PODOLSK",
        "tracking_numbers": ["15395026000014"],
    }
    client, script = _answering({"items": [act]})
    assert [a.id for a in client.list_handovers(since=TEST_NOW.date())] == [3]
    assert script.requests[0].url.params["from"] == "2026-11-25"

    totals = {
        "cash_kop": 100,
        "card_kop": 50,
        "collected_kop": 150,
        "fee_kop": 2,
        "to_transfer_kop": 148,
    }
    payouts = {
        "marketplace": "OZON",
        "from": "2026-11-25",
        "to": "2026-11-26",
        "currency": "RUB",
        "fee_rate": "0.0150",
        "days": [
            {
                "date": "2026-11-25",
                "closed": True,
                **totals,
                "shipments": [
                    {
                        "tracking_number": "15395026000014",
                        "external_order_id": "PL-1",
                        "office_index": PESTYAKI_INDEX,
                        "method": "cash",
                        "collected_kop": 150,
                        "fee_kop": 2,
                        "collected_at": "2026-11-25T12:00:00Z",
                    }
                ],
            }
        ],
        "totals": totals,
    }
    client, script = _answering(payouts)
    due = client.payouts(TEST_NOW.date(), TEST_NOW.date() + timedelta(days=1))
    assert due.from_ == TEST_NOW.date()
    assert due.days[0].shipments[0].method == "cash"
    assert due.totals.to_transfer_kop == 148
    assert dict(script.requests[0].url.params) == {"from": "2026-11-25", "to": "2026-11-26"}

    client, script = _answering({**EXAMPLE_SHIPMENT, "status": "ready_for_pickup"})
    advanced = client.sandbox_advance("15395026000014", "ready_for_pickup")
    assert advanced.status == "ready_for_pickup"
    assert script.requests[0].url.path == "/v1/sandbox/shipments/15395026000014/advance"
    assert json.loads(script.requests[0].content) == {"status": "ready_for_pickup"}
