"""The logistics API: quotes for marketplaces; the timetable, route runs and manifests for the
operator. A thin shell over ``timetables``, ``promises`` and ``manifests``.

A route run is named ``<route_id>@<departure>``, the departure in ISO 8601 with an offset
(UTC ``Z`` as the API writes it), e.g. ``DH-<index>-V01@2026-11-26T05:00:00Z``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import PlainTextResponse

from selpo.deps import ClockDep, SessionDep, SettingsDep
from selpo.errors import problem_responses
from selpo.kit.moments import Day
from selpo.kit.openapi import example_answer, example_body
from selpo.logistics import examples, manifests, promises, timetables
from selpo.logistics.manifest_pdf import render_manifest
from selpo.logistics.schemas import (
    ManifestRead,
    QuoteRead,
    QuoteRequest,
    RouteRead,
    RouteRunRead,
    RouteWrite,
    TimetableReport,
    WarehouseRead,
)
from selpo.logistics.tariff import DEFAULT_TARIFF, Tariff, load_tariff
from selpo.marketplace.deps import AdminDep, MarketplaceDep, PrincipalDep

router = APIRouter(prefix="/v1", tags=["logistics"])

PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}, "application/json": {"example": examples.MANIFEST}}}
}


@router.post(
    "/quotes",
    response_model=QuoteRead,
    responses={**example_answer(examples.QUOTE), **problem_responses(401, 413, 422, 429, 503)},
    openapi_extra=example_body(examples.QUOTE_REQUEST),
)
def create_quote(
    request: QuoteRequest,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: MarketplaceDep,
) -> QuoteRead:
    """Price and delivery window for a parcel to a post office.

    `earliest` is when the parcel can first be collected (route timetables and opening hours);
    `latest` the promise (at least two days later, and never before the date it would have if
    its first van were full); `promised_date` the office's local date of `latest`.
    """
    assert principal.marketplace_id is not None
    return promises.quote(
        session,
        marketplace_id=principal.marketplace_id,
        request=request,
        now=clock.now(),
        tariff=_tariff(settings.tariff_file),
    )


@lru_cache(maxsize=4)
def _tariff(path: Path | None) -> Tariff:
    return DEFAULT_TARIFF if path is None else load_tariff(path)


@router.get(
    "/route-runs",
    response_model=list[RouteRunRead],
    tags=["operations"],
    responses={**example_answer(examples.ROUTE_RUNS), **problem_responses(401, 403, 422, 429)},
)
def list_route_runs(
    session: SessionDep,
    _admin: AdminDep,
    day: Annotated[Day, Query(alias="date", description="Local date, YYYY-MM-DD")],
    hub: Annotated[
        str | None,
        Query(description="District hub code (DH- and its postal index) or the postal index"),
    ] = None,
) -> list[RouteRunRead]:
    """The route runs leaving on a day, with what their manifests hold so far."""
    return manifests.list_route_runs(session, day=day, hub=hub)


@router.get(
    "/route-runs/{run_id}/manifest",
    response_model=ManifestRead,
    responses={**PDF, **problem_responses(401, 403, 404, 422, 429)},
    tags=["operations"],
)
def get_manifest(
    run_id: str,
    session: SessionDep,
    clock: ClockDep,
    _admin: AdminDep,
    output: Annotated[
        Literal["json", "pdf"], Query(alias="format", description="json or pdf")
    ] = "json",
) -> ManifestRead | Response:
    """A run's manifest as planned (or a preview, `stored: false`); `?format=pdf` to print."""
    route_id, departure = manifests.parse_run_id(run_id)
    manifest = manifests.get_manifest(
        session, route_id=route_id, departure=departure, now=clock.now()
    )
    if output == "pdf":
        return _pdf(manifest)
    return manifest


@router.post(
    "/route-runs/{run_id}/manifest",
    response_model=ManifestRead,
    responses={**PDF, **problem_responses(401, 403, 404, 409, 422, 429)},
    tags=["operations"],
)
def build_manifest(
    run_id: str,
    session: SessionDep,
    clock: ClockDep,
    _admin: AdminDep,
    output: Annotated[
        Literal["json", "pdf"], Query(alias="format", description="json or pdf")
    ] = "json",
) -> ManifestRead | Response:
    """Plan (or re-plan) a run's manifest: parcels that do not fit roll to the next run."""
    route_id, departure = manifests.parse_run_id(run_id)
    manifest = manifests.build_manifest(
        session, route_id=route_id, departure=departure, now=clock.now()
    )
    if output == "pdf":
        return _pdf(manifest)
    return manifest


def _pdf(manifest: ManifestRead) -> Response:
    name = manifest.id.replace(":", "").replace("@", "_")
    return Response(
        render_manifest(manifest),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="manifest_{name}.pdf"'},
    )


@router.get(
    "/routes",
    response_model=list[RouteRead],
    tags=["operations"],
    responses={**example_answer([examples.ROUTE]), **problem_responses(401, 403, 422, 429)},
)
def list_routes(
    session: SessionDep,
    _admin: AdminDep,
    hub: Annotated[str | None, Query(description="District hub code or postal index")] = None,
) -> list[RouteRead]:
    """The route timetable, with stops."""
    return timetables.list_routes(session, hub=hub)


@router.get(
    "/routes.csv",
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {
                "text/csv": {"example": examples.ROUTES_CSV},
                "text/plain": {"example": examples.ROUTES_CSV},
            }
        },
        **problem_responses(401, 403, 429),
    },
    tags=["operations"],
)
def export_routes(session: SessionDep, _admin: AdminDep) -> PlainTextResponse:
    """The route timetable as CSV (the format `selpo timetable import-routes` reads)."""
    return PlainTextResponse(timetables.export_routes(session), media_type="text/csv")


@router.get(
    "/routes/{route_id}",
    response_model=RouteRead,
    tags=["operations"],
    responses={**example_answer(examples.ROUTE), **problem_responses(401, 403, 404, 422, 429)},
)
def get_route(route_id: str, session: SessionDep, _admin: AdminDep) -> RouteRead:
    """One route."""
    return timetables.get_route(session, route_id)


@router.put(
    "/routes/{route_id}",
    response_model=RouteRead,
    tags=["operations"],
    responses={
        **example_answer({**examples.ROUTE, "weekdays": ["mon", "wed", "fri"], "synthetic": False}),
        **problem_responses(401, 403, 409, 413, 422, 429),
    },
    openapi_extra=example_body(examples.ROUTE_WRITE),
)
def put_route(
    route_id: str, body: RouteWrite, session: SessionDep, clock: ClockDep, _admin: AdminDep
) -> RouteRead:
    """Create or replace a route (it becomes the operator's, not synthetic)."""
    return timetables.put_route(session, route_id, body, now=clock.now())


@router.delete(
    "/routes/{route_id}",
    status_code=204,
    tags=["operations"],
    responses=problem_responses(401, 403, 404, 422, 429),
)
def delete_route(route_id: str, session: SessionDep, clock: ClockDep, _admin: AdminDep) -> Response:
    """Remove a route from the timetable (manifests already planned stay)."""
    timetables.delete_route(session, route_id, now=clock.now())
    return Response(status_code=204)


@router.get(
    "/timetable",
    response_model=TimetableReport,
    tags=["operations"],
    responses={**example_answer(examples.TIMETABLE), **problem_responses(401, 403, 429)},
)
def timetable_summary(session: SessionDep, _admin: AdminDep) -> TimetableReport:
    """What the timetable holds: routes, stops, offices served and not."""
    return timetables.timetable_report(session)


@router.get(
    "/warehouses",
    response_model=list[WarehouseRead],
    responses={**example_answer(examples.WAREHOUSES), **problem_responses(401, 429)},
)
def list_warehouses(session: SessionDep, _principal: PrincipalDep) -> list[WarehouseRead]:
    """The warehouses a quote can start from, and their trucks to the sorting centre."""
    return timetables.list_warehouses(session)
