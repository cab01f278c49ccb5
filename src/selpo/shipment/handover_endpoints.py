"""Hand-over acts (``/v1/handovers``): a thin shell over ``shipment.handover``.

The marketplace makes, reads, lists and prints its acts; the operator (admin key) reads any
act and closes the hub's acceptance of it.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from fastapi.responses import JSONResponse

from selpo.deps import ClockDep, RowId, SessionDep, SettingsDep
from selpo.errors import problem_responses
from selpo.kit.moments import Day
from selpo.marketplace.deps import AdminDep, MarketplaceDep, PrincipalDep
from selpo.network import regions
from selpo.shipment import handover, service
from selpo.shipment.handover_schemas import (
    AcceptanceCreate,
    HandoverCreate,
    HandoverPage,
    HandoverRead,
)
from selpo.shipment.idempotency import Answer, answer_once

router = APIRouter(prefix="/v1", tags=["hand-over acts"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retry a write safely: the first answer, once"),
]


def _numbers() -> list[str]:
    numbers = regions.data_example("tracking_numbers")
    return [str(n) for n in numbers] if isinstance(numbers, list) else []


CREATE_EXAMPLES: dict[str, Any] = {
    "named": {
        "summary": "These shipments, handed over at the Podolsk warehouse",
        "value": {"warehouse": "W-PODOLSK", "tracking_numbers": _numbers()},
    },
    "everything_waiting": {
        "summary": "Every shipment of yours still created (up to 5,000)",
        "value": {"warehouse": "W-PODOLSK"},
    },
}
ACCEPTANCE_EXAMPLES: dict[str, Any] = {
    "scanned_list": {
        "summary": "What the sorting centre scanned from the truck",
        "value": {
            "tracking_numbers": _numbers(),
            "hub": regions.data_example("hub_code"),
            "accepted_at": "2026-12-07T21:40:00+03:00",
        },
    },
    "scanned_already": {
        "summary": "The parcels came through POST /v1/tracking-events: close with what was seen",
        "value": {"tracking_numbers": []},
    },
}


@router.post(
    "/handovers",
    status_code=201,
    response_model=HandoverRead,
    responses=problem_responses(400, 401, 404, 409, 413, 422, 429),
)
def create_handover(
    request: Annotated[HandoverCreate, Body(openapi_examples=CREATE_EXAMPLES)],
    session: SessionDep,
    clock: ClockDep,
    principal: MarketplaceDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Make a numbered hand-over act for the parcels a warehouse gives the driver: the named
    shipments, or every one of yours still `created`. Making it hands them over (their
    `handed_over` event and webhooks). 404 lists numbers that are not your shipments, 409
    those that are cancelled, past the hand-over or on an open act; retry safely with
    Idempotency-Key."""
    marketplace = service.caller(session, principal.marketplace_id)
    now = clock.now()

    def make() -> Answer:
        act = handover.create_handover(session, marketplace=marketplace, request=request, now=now)
        return Answer(201, handover.read_handover(session, act).model_dump(mode="json"))

    answer = answer_once(
        session,
        marketplace_id=marketplace.id,
        key=idempotency_key,
        request={"handover": request.model_dump(mode="json")},
        now=now,
        run=make,
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.get(
    "/handovers",
    response_model=HandoverPage,
    response_model_by_alias=True,
    responses=problem_responses(401, 422, 429),
)
def list_handovers(
    session: SessionDep,
    clock: ClockDep,
    principal: MarketplaceDep,
    first: Annotated[
        Day | None,
        Query(alias="from", description="First day, YYYY-MM-DD (the warehouse's); default to-30"),
    ] = None,
    last: Annotated[
        Day | None,
        Query(
            alias="to",
            description="Last day, YYYY-MM-DD; default today in the easternmost zone, so an "
            "act just made is in whatever the warehouse's zone",
        ),
    ] = None,
) -> Any:
    """Your acts made from `from` to `to` (both included, at most 366 days), oldest first,
    with their totals and the hub's findings (the lines: `GET /v1/handovers/{id}`)."""
    assert principal.marketplace_id is not None
    # Acts are filed by the warehouse's day, up to UTC+14 ahead of UTC's.
    to = last or (clock.now().astimezone(UTC) + timedelta(hours=14)).date()
    page = handover.list_handovers(
        session,
        marketplace_id=principal.marketplace_id,
        first=first or to - timedelta(days=30),
        last=to,
    )
    return JSONResponse(page.model_dump(mode="json", by_alias=True))


@router.get(
    "/handovers/{handover_id}",
    response_model=HandoverRead,
    responses=problem_responses(401, 404, 422, 429),
)
def get_handover(handover_id: RowId, session: SessionDep, principal: PrincipalDep) -> HandoverRead:
    """One act with its lines and the hub's acceptance (your own; the operator's key: any)."""
    act = handover.get_handover(
        session, marketplace_id=principal.marketplace_id, handover_id=handover_id
    )
    return handover.read_handover(session, act)


@router.get(
    "/handovers/{handover_id}/pdf",
    response_class=Response,
    responses={
        200: {
            "description": "The act as an A4 PDF in Russian: the numbered parcels, the totals "
            "and the signature lines of the warehouse and the driver",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 404, 422, 429),
    },
)
def get_handover_pdf(handover_id: RowId, session: SessionDep, principal: PrincipalDep) -> Response:
    """The printable act (A4, Russian) for the warehouse and the driver to sign."""
    act = handover.get_handover(
        session, marketplace_id=principal.marketplace_id, handover_id=handover_id
    )
    return Response(
        handover.print_handover(session, act),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{act.number}.pdf"'},
    )


@router.post(
    "/handovers/{handover_id}/acceptance",
    response_model=HandoverRead,
    tags=["operations"],
    responses=problem_responses(401, 403, 404, 409, 413, 422, 429),
)
def accept_handover(
    handover_id: RowId,
    acceptance: Annotated[AcceptanceCreate, Body(openapi_examples=ACCEPTANCE_EXAMPLES)],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    _admin: AdminDep,
) -> HandoverRead:
    """Close the hub's acceptance of an act (operator key) with the numbers it scanned:
    answers `missing` and `extra`, status `accepted` or `accepted_with_discrepancies`.
    Parcels the hub already scanned (`arrived_at_sorting_centre` / `arrived_at_hub`) count
    as seen. Once per act (409 after)."""
    act = handover.accept_handover(
        session,
        handover_id=handover_id,
        acceptance=acceptance,
        now=clock.now(),
        max_skew=timedelta(minutes=settings.scan_clock_skew_minutes),
    )
    return handover.read_handover(session, act)
