"""The way back's API for the operator: a run's return leg (JSON or PDF), loading it (the
manifest the driver signs), the hub's acceptance against it, and the line-haul acts to the
marketplaces' warehouses. A thin shell over ``return_legs``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from selpo.deps import ClockDep, SessionDep
from selpo.errors import problem_responses
from selpo.kit.openapi import example_answer, example_body
from selpo.logistics import return_leg_examples as examples
from selpo.logistics import return_legs
from selpo.logistics.return_leg_pdf import render_return_leg, render_warehouse_act
from selpo.logistics.return_leg_schemas import (
    HubAcceptanceRead,
    HubAcceptanceRequest,
    ReturnLegRead,
    WarehouseActRead,
    WarehouseActRequest,
)
from selpo.marketplace.deps import AdminDep

router = APIRouter(prefix="/v1", tags=["operations"])


def _pdf_or(example: Any) -> dict[int | str, dict[str, Any]]:
    """The JSON answer's example (its nulls kept), or the same as PDF (``?format=pdf``)."""
    responses = example_answer(example)
    responses[200]["content"]["application/pdf"] = {}
    return responses


Output = Annotated[Literal["json", "pdf"], Query(alias="format", description="json or pdf")]


def _leg_pdf(leg: ReturnLegRead) -> Response:
    name = leg.id.replace(":", "").replace("@", "_")
    return Response(
        render_return_leg(leg),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="return_leg_{name}.pdf"'},
    )


@router.get(
    "/route-runs/{run_id}/return-leg",
    response_model=ReturnLegRead,
    responses={**_pdf_or(examples.RETURN_LEG), **problem_responses(401, 403, 404, 422, 429, 503)},
)
def get_return_leg(
    run_id: str, session: SessionDep, _admin: AdminDep, output: Output = "json"
) -> ReturnLegRead | Response:
    """A run's way back as loaded, or a preview (`stored: false`): what its offices have
    ready by the van's calls, oldest first, within the van's capacity, and what waits for
    lack of room (`waiting`, it goes on the next run). `?format=pdf` to print."""
    route_id, departure = return_legs.parse_leg_id(run_id)
    leg = return_legs.get_leg(session, route_id=route_id, departure=departure)
    return _leg_pdf(leg) if output == "pdf" else leg


@router.post(
    "/route-runs/{run_id}/return-leg",
    response_model=ReturnLegRead,
    responses={**_pdf_or(examples.RETURN_LEG), **problem_responses(401, 403, 404, 422, 429, 503)},
)
def load_return_leg(
    run_id: str, session: SessionDep, clock: ClockDep, _admin: AdminDep, output: Output = "json"
) -> ReturnLegRead | Response:
    """Load the run's way back now (the manifest the driver signs); a leg already loaded is
    answered as it is. Without this the worker loads it once the van has made its last
    call."""
    route_id, departure = return_legs.parse_leg_id(run_id)
    leg = return_legs.load_leg(session, route_id=route_id, departure=departure, now=clock.now())
    return _leg_pdf(leg) if output == "pdf" else leg


@router.post(
    "/route-runs/{run_id}/return-leg/acceptance",
    response_model=HubAcceptanceRead,
    responses={
        **example_answer(examples.HUB_ACCEPTANCE),
        **problem_responses(401, 403, 404, 409, 413, 422, 429, 503),
    },
    openapi_extra=example_body(examples.HUB_ACCEPTANCE_REQUEST),
)
def accept_return_leg(
    run_id: str,
    body: HubAcceptanceRequest,
    session: SessionDep,
    clock: ClockDep,
    _admin: AdminDep,
) -> HubAcceptanceRead:
    """The hub's acceptance of a loaded return leg against its manifest: what is scanned is
    at the hub; `missing` (on the leg, not scanned) and `extra` (scanned, not on the leg)
    are reported. 409 if the leg is not loaded yet."""
    route_id, departure = return_legs.parse_leg_id(run_id)
    return return_legs.accept_at_hub(
        session, route_id=route_id, departure=departure, barcodes=body.barcodes, now=clock.now()
    )


@router.post(
    "/warehouse-acts",
    response_model=list[WarehouseActRead],
    responses={
        **example_answer([examples.WAREHOUSE_ACT]),
        **problem_responses(401, 403, 404, 413, 422, 429),
    },
    openapi_extra=example_body(examples.WAREHOUSE_ACT_REQUEST),
)
def create_warehouse_acts(
    body: WarehouseActRequest, session: SessionDep, clock: ClockDep, _admin: AdminDep
) -> list[WarehouseActRead]:
    """The line-haul from a district hub: everything at the hub for the marketplaces'
    warehouses (or one warehouse) is delivered, one act per warehouse and marketplace,
    numbered without gaps per year. Shipments end `returned` (`shipment.status_changed`
    webhooks). An empty list when nothing is at the hub."""
    return return_legs.deliver_to_warehouses(
        session, hub=body.hub, warehouse=body.warehouse, now=clock.now()
    )


@router.get(
    "/warehouse-acts/{number}",
    response_model=WarehouseActRead,
    responses={**_pdf_or(examples.WAREHOUSE_ACT), **problem_responses(401, 403, 404, 422, 429)},
)
def get_warehouse_act(
    number: Annotated[str, Path(max_length=32)],
    session: SessionDep,
    _admin: AdminDep,
    output: Output = "json",
) -> WarehouseActRead | Response:
    """A warehouse act; `?format=pdf` to print it for signing."""
    act = return_legs.get_warehouse_act(session, number=number)
    if output == "pdf":
        return Response(
            render_warehouse_act(act),
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{act.number}.pdf"'},
        )
    return act
