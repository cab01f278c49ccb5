"""The marketplace's returns API and the recall: a thin shell over the returns services.

Writes take an ``Idempotency-Key`` (``shipment.idempotency.answer_once``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from selpo.deps import ClockDep, RowId, SessionDep, SettingsDep
from selpo.errors import InvalidInput, problem_responses
from selpo.kit.openapi import example_answer, example_body
from selpo.marketplace.deps import MarketplaceDep
from selpo.returns import recall, service
from selpo.returns.examples import (
    RETURN_ACCEPTED,
    RETURN_CREATE,
    RETURN_PAGE,
    RETURN_REGISTERED,
    SHIPMENT_RECALLED,
)
from selpo.returns.schemas import ReturnCreate, ReturnPage, ReturnRead, ReturnRegistered
from selpo.shipment import service as shipment_service
from selpo.shipment.idempotency import Answer, answer_once
from selpo.shipment.schemas import ShipmentRead
from selpo.shipment.tracking import InvalidTrackingNumber, parse_tracking_number

router = APIRouter(prefix="/v1")
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry a write safely: the first answer, once"),
]


def _tracking(value: str, field: str = "tracking_number") -> str:
    try:
        return parse_tracking_number(value)
    except InvalidTrackingNumber as exc:
        raise InvalidInput(str(exc), field=field) from None


@router.post(
    "/shipments/{tracking_number}/recall",
    tags=["shipments"],
    response_model=ShipmentRead,
    responses={
        **example_answer(SHIPMENT_RECALLED),
        **problem_responses(400, 401, 404, 409, 422, 429),
    },
)
def recall_shipment(
    tracking_number: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: MarketplaceDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Recall a parcel before it is issued: it is no longer offered (the recipient is told by
    SMS) and goes back on the next run from its office to the warehouse, where it ends
    `returned`; webhooks follow each step. A created parcel is cancelled; an issued one
    (or one already going back) is 409. Retry safely with Idempotency-Key."""
    number = _tracking(tracking_number)
    assert principal.marketplace_id is not None
    marketplace_id = principal.marketplace_id
    now = clock.now()

    def run() -> Answer:
        shipment = recall.recall(
            session,
            marketplace_id=marketplace_id,
            tracking_number=number,
            now=now,
            base_url=settings.public_base_url,
        )
        read = shipment_service.read_shipment(session, shipment)
        return Answer(200, read.model_dump(mode="json"))

    answer = answer_once(
        session,
        marketplace_id=marketplace_id,
        key=idempotency_key,
        request={"recall": number},
        now=now,
        run=run,
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.post(
    "/returns",
    tags=["returns"],
    status_code=201,
    response_model=ReturnRegistered,
    responses={
        **example_answer(RETURN_REGISTERED, status=201),
        **problem_responses(400, 401, 404, 409, 413, 422, 429),
    },
    openapi_extra=example_body(RETURN_CREATE),
)
def register_return(
    return_in: ReturnCreate,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: MarketplaceDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Register a buyer's return of an issued order (its lines and units, the reason, the
    marketplace's own return id) within the marketplace's return period; the answer carries
    the return code to show the buyer, given this once (a retry with the same
    Idempotency-Key gets the same answer)."""
    marketplace = shipment_service.caller(session, principal.marketplace_id)
    now = clock.now()
    body = return_in.model_copy(update={"tracking_number": _tracking(return_in.tracking_number)})

    def run() -> Answer:
        registered = service.register_return(
            session,
            marketplace=marketplace,
            return_in=body,
            now=now,
            pepper=settings.pickup_code_pepper,
        )
        return Answer(201, registered.model_dump(mode="json"))

    answer = answer_once(
        session,
        marketplace_id=marketplace.id,
        key=idempotency_key,
        request={"return": body.model_dump(mode="json")},
        now=now,
        run=run,
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.get(
    "/returns",
    tags=["returns"],
    response_model=ReturnPage,
    responses={**example_answer(RETURN_PAGE), **problem_responses(401, 422, 429)},
)
def list_returns(
    session: SessionDep,
    principal: MarketplaceDep,
    status: Annotated[
        str | None, Query(description="registered, accepted, in_transit or delivered")
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ReturnPage:
    """This marketplace's returns, oldest first, optionally of one status, with a cursor."""
    assert principal.marketplace_id is not None
    return service.list_returns(
        session,
        marketplace_id=principal.marketplace_id,
        status=status,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/returns/{return_id}",
    tags=["returns"],
    response_model=ReturnRead,
    responses={**example_answer(RETURN_ACCEPTED), **problem_responses(401, 404, 422, 429)},
)
def get_return(return_id: RowId, session: SessionDep, principal: MarketplaceDep) -> ReturnRead:
    """One of this marketplace's returns."""
    assert principal.marketplace_id is not None
    return service.get_return(session, marketplace_id=principal.marketplace_id, return_id=return_id)
