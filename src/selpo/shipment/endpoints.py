"""The marketplace's shipment API: a thin shell over the shipment service.

Writes take an ``Idempotency-Key`` (``shipment.idempotency.answer_once``); creation gets
its promised dates from the provider the app was composed with (``PromisesDep``), so this
module imports nothing above shipments.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from selpo.deps import ClockDep, SessionDep, SettingsDep
from selpo.errors import InvalidInput, problem_responses
from selpo.kit.moments import Day, Moment
from selpo.kit.openapi import example_answer, example_body
from selpo.marketplace.deps import AdminDep, MarketplaceDep
from selpo.network import regions
from selpo.shipment import service
from selpo.shipment.examples import (
    BATCH_REQUEST,
    BATCH_RESULT,
    COD_REPORT,
    OFFICE,
    SHIPMENT,
    SHIPMENT_CANCELLED,
    SHIPMENT_CREATE,
    SHIPMENT_EXTENDED,
    SHIPMENT_HANDED_OVER,
    SHIPMENT_PAGE,
    SHIPMENT_UPDATED,
    TRACKING_EVENT_BATCH,
    TRACKING_EVENT_BATCH_RESULT,
    TRACKING_EVENT_CREATE,
)
from selpo.shipment.idempotency import Answer, answer_once
from selpo.shipment.schemas import (
    BatchResult,
    CodReport,
    ShipmentCreate,
    ShipmentPage,
    ShipmentPatch,
    ShipmentRead,
    TrackingEventBatchResult,
    TrackingEventCreate,
)
from selpo.shipment.tracking import InvalidTrackingNumber, parse_tracking_number

router = APIRouter(prefix="/v1", tags=["shipments"])
MAX_BATCH = 1000


def promise_provider(request: Request) -> service.PromiseProvider:
    """The promise provider the app was composed with (``app.state.promises``)."""
    provider: service.PromiseProvider = request.app.state.promises
    return provider


PromisesDep = Annotated[service.PromiseProvider, Depends(promise_provider)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry a write safely: the first answer, once"),
]


def _tracking(value: str) -> str:
    try:
        return parse_tracking_number(value)
    except InvalidTrackingNumber as exc:
        raise InvalidInput(str(exc), field="tracking_number") from None


_RECIPIENT = {"name": "Иванова Мария Петровна", "phone": "+79161234567"}
_ITEMS = [{"sku": "SKU-1", "name": "Кресло", "quantity": 1, "price_kop": 150000}]
CREATE_EXAMPLES: dict[str, Any] = {
    "one_place": {
        "summary": "A parcel of one place",
        "value": {
            "external_order_id": "ORD-1001",
            "destination_index": OFFICE,
            "recipient": _RECIPIENT,
            "parcel": {
                "weight_g": 1200,
                "length_mm": 300,
                "width_mm": 200,
                "height_mm": 100,
                "declared_value_kop": 150000,
                "cod_kop": 0,
            },
            "items": _ITEMS,
        },
    },
    "places": {
        "summary": "An order of two places (weight and size come from the places)",
        "value": {
            "external_order_id": "ORD-1002",
            "destination_index": OFFICE,
            "recipient": _RECIPIENT,
            "parcel": {"declared_value_kop": 150000, "cod_kop": 0},
            "items": _ITEMS,
            "places": [
                {
                    "weight_g": 4000,
                    "length_mm": 400,
                    "width_mm": 300,
                    "height_mm": 200,
                    "external_place_id": "BOX-1",
                },
                {"weight_g": 2000, "length_mm": 300, "width_mm": 200, "height_mm": 100},
            ],
        },
    },
}


@router.post(
    "/shipments",
    status_code=201,
    response_model=ShipmentRead,
    responses={
        **example_answer(SHIPMENT, status=201),
        **problem_responses(400, 401, 409, 413, 422, 429, 503),
    },
    openapi_extra=example_body(SHIPMENT_CREATE),
)
def create_shipment(
    shipment_in: Annotated[ShipmentCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    session: SessionDep,
    clock: ClockDep,
    principal: MarketplaceDep,
    promises: PromisesDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create a shipment addressed to a post office (retry safely with Idempotency-Key)."""
    marketplace = service.caller(session, principal.marketplace_id)
    now = clock.now()

    def create() -> Answer:
        read = service.create_one(
            session, marketplace=marketplace, shipment_in=shipment_in, now=now, promises=promises
        )
        return Answer(201, read.model_dump(mode="json"))

    answer = answer_once(
        session,
        marketplace_id=marketplace.id,
        key=idempotency_key,
        request=shipment_in.model_dump(mode="json"),
        now=now,
        run=create,
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.post(
    "/shipments/batch",
    response_model=BatchResult,
    responses={**example_answer(BATCH_RESULT), **problem_responses(400, 401, 413, 422, 429, 503)},
    openapi_extra=example_body(BATCH_REQUEST),
)
def create_shipments_batch(
    payload: list[dict[str, Any]],
    session: SessionDep,
    clock: ClockDep,
    principal: MarketplaceDep,
    promises: PromisesDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create up to 1,000 shipments; each gets its own result, a bad one fails alone."""
    if not 1 <= len(payload) <= MAX_BATCH:
        raise InvalidInput(f"a batch holds 1 to {MAX_BATCH} shipments", field="body")
    marketplace = service.caller(session, principal.marketplace_id)
    now = clock.now()

    def create() -> Answer:
        result = service.create_batch(
            session, marketplace=marketplace, payload=payload, now=now, promises=promises
        )
        return Answer(200, result.model_dump(mode="json"))

    answer = answer_once(
        session,
        marketplace_id=marketplace.id,
        key=idempotency_key,
        request=payload,
        now=now,
        run=create,
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.get(
    "/shipments",
    response_model=ShipmentPage,
    responses={**example_answer(SHIPMENT_PAGE), **problem_responses(401, 422, 429)},
)
def list_shipments(
    session: SessionDep,
    principal: MarketplaceDep,
    status: str | None = None,
    updated_since: Annotated[Moment | None, Query(description="ISO 8601 with offset")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ShipmentPage:
    """List this marketplace's shipments, oldest first, with a cursor to the next page."""
    if updated_since is not None and updated_since.tzinfo is None:
        raise InvalidInput("updated_since needs a UTC offset", field="updated_since")
    assert principal.marketplace_id is not None
    return service.list_shipments(
        session,
        marketplace_id=principal.marketplace_id,
        status=status,
        updated_since=updated_since,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/shipments/{tracking_number}",
    response_model=ShipmentRead,
    responses={**example_answer(SHIPMENT), **problem_responses(401, 404, 422, 429)},
)
def get_shipment(
    tracking_number: str, session: SessionDep, principal: MarketplaceDep
) -> ShipmentRead:
    """One shipment with its tracking events."""
    shipment = service.get_shipment(
        session, marketplace_id=principal.marketplace_id, tracking_number=_tracking(tracking_number)
    )
    return service.read_shipment(session, shipment)


PATCH_EXAMPLES: dict[str, Any] = {
    "phone": {
        "summary": "A new phone of the recipient (allowed until the parcel is issued)",
        "value": {"recipient": {"phone": "+79161234568"}},
    },
    "before_hand_over": {
        "summary": "Another office, no COD and fitting (only before the hand-over)",
        "value": {
            "destination_index": regions.data_example("office_index"),
            "parcel": {"cod_kop": 0},
            "options": {"fitting": True},
        },
    },
}


@router.patch(
    "/shipments/{tracking_number}",
    response_model=ShipmentRead,
    responses={
        **example_answer(SHIPMENT_UPDATED),
        **problem_responses(400, 401, 404, 409, 413, 422, 429),
    },
)
def update_shipment(
    tracking_number: str,
    patch: Annotated[ShipmentPatch, Body(openapi_examples=PATCH_EXAMPLES)],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: MarketplaceDep,
    promises: PromisesDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Change the recipient, the COD, the destination or the options of a shipment: all of
    them until it is handed over, then the recipient's phone until it is issued (409 says
    what may still change). Only the fields sent change; retry safely with Idempotency-Key."""
    number = _tracking(tracking_number)
    assert principal.marketplace_id is not None
    marketplace_id = principal.marketplace_id
    now = clock.now()

    def change() -> Answer:
        shipment = service.update_shipment(
            session,
            marketplace_id=marketplace_id,
            tracking_number=number,
            patch=patch,
            now=now,
            promises=promises,
            policy=service.PickupPolicy(
                pepper=settings.pickup_code_pepper, base_url=settings.public_base_url
            ),
        )
        return Answer(200, service.read_shipment(session, shipment).model_dump(mode="json"))

    answer = answer_once(
        session,
        marketplace_id=marketplace_id,
        key=idempotency_key,
        request={
            "tracking_number": number,
            "patch": patch.model_dump(mode="json", exclude_unset=True),
        },
        now=now,
        run=change,
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.post(
    "/shipments/{tracking_number}/cancel",
    response_model=ShipmentRead,
    responses={**example_answer(SHIPMENT_CANCELLED), **problem_responses(401, 404, 409, 422, 429)},
)
def cancel_shipment(
    tracking_number: str, session: SessionDep, clock: ClockDep, principal: MarketplaceDep
) -> ShipmentRead:
    """Cancel a shipment that has not been handed over yet."""
    shipment = service.get_shipment(
        session, marketplace_id=principal.marketplace_id, tracking_number=_tracking(tracking_number)
    )
    service.cancel_shipment(session, shipment=shipment, now=clock.now())
    return service.read_shipment(session, shipment)


@router.post(
    "/shipments/{tracking_number}/extend-storage",
    response_model=ShipmentRead,
    responses={**example_answer(SHIPMENT_EXTENDED), **problem_responses(401, 404, 409, 422, 429)},
)
def extend_storage(
    tracking_number: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: MarketplaceDep,
) -> ShipmentRead:
    """Extend the storage period once."""
    shipment = service.get_shipment(
        session, marketplace_id=principal.marketplace_id, tracking_number=_tracking(tracking_number)
    )
    service.extend_storage(
        session, shipment=shipment, now=clock.now(), base_url=settings.public_base_url
    )
    return service.read_shipment(session, shipment)


@router.get(
    "/shipments/{tracking_number}/label",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}},
        **problem_responses(401, 404, 422, 429),
    },
)
def get_label(tracking_number: str, session: SessionDep, principal: MarketplaceDep) -> Response:
    """The shipping label as a PDF with a Code 128 barcode."""
    shipment = service.get_shipment(
        session, marketplace_id=principal.marketplace_id, tracking_number=_tracking(tracking_number)
    )
    pdf = service.label_pdf(session, shipment)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{shipment.tracking_number}.pdf"'},
    )


@router.post(
    "/tracking-events",
    status_code=201,
    response_model=ShipmentRead,
    tags=["operations"],
    responses={
        **example_answer(SHIPMENT_HANDED_OVER, status=201),
        **problem_responses(401, 403, 404, 409, 413, 422, 429),
    },
    openapi_extra=example_body(TRACKING_EVENT_CREATE),
)
def record_tracking_event(
    event_in: TrackingEventCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _admin: AdminDep,
) -> ShipmentRead:
    """Record a scan from a hub or an office system (operator key); an arrival at an office
    that is not the destination is recorded as ``missorted``."""
    shipment = service.record_scan(
        session,
        tracking_number=_tracking(event_in.tracking_number),
        code=event_in.code,
        occurred_at=event_in.occurred_at,
        now=clock.now(),
        office_index=event_in.office_index,
        actor=event_in.actor,
        raw=event_in.raw,
        max_skew=timedelta(minutes=settings.scan_clock_skew_minutes),
    )
    return service.read_shipment(session, shipment)


@router.post(
    "/tracking-events/batch",
    response_model=TrackingEventBatchResult,
    tags=["operations"],
    responses={
        **example_answer(TRACKING_EVENT_BATCH_RESULT),
        **problem_responses(401, 403, 413, 422, 429),
    },
    openapi_extra=example_body(TRACKING_EVENT_BATCH),
)
def record_tracking_events_batch(
    payload: list[dict[str, Any]],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _admin: AdminDep,
) -> Any:
    """Record up to 1,000 scans of a hub or an office system at once (operator key).

    Each scan is judged on its own as ``POST /v1/tracking-events`` judges it and gets its own
    result: 201 recorded, 200 recorded before (its ``scan_id`` is already among the parcel's
    events: a retried batch records nothing twice), else the status and problem of its
    refusal; the good scans are recorded even when others are refused."""
    if not 1 <= len(payload) <= MAX_BATCH:
        raise InvalidInput(f"a batch holds 1 to {MAX_BATCH} scans", field="body")
    result = service.record_scan_batch(
        session,
        payload=payload,
        now=clock.now(),
        max_skew=timedelta(minutes=settings.scan_clock_skew_minutes),
    )
    return JSONResponse(result.model_dump(mode="json"))


@router.get(
    "/reports/cod",
    response_model=CodReport,
    tags=["reports"],
    responses={**example_answer(COD_REPORT), **problem_responses(401, 422, 429)},
)
def cod_report(
    session: SessionDep,
    principal: MarketplaceDep,
    day: Annotated[
        Day, Query(alias="date", description="A date, YYYY-MM-DD, in each office's own zone")
    ],
) -> CodReport:
    """Cash on delivery collected for this marketplace on a day, reconciled against what is due."""
    return service.cod_report(
        session, marketplace=service.caller(session, principal.marketplace_id), day=day
    )
