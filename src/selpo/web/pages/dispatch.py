"""The district hub dispatcher's pages: the day's route runs, their printable manifests, and
each run's return leg (what the van brings back from the offices, what waits for room).

On the workstation's page framework (``PageRoute``: a missing session goes to the sign-in, a
refusal is a Russian page, rolled back) with its sign-in. A dispatcher sees the district hubs of
their regions, a supervisor the hubs of their district, a clerk the hub that is their own office;
a manifest of any other hub is refused. Times are in the hub's region's zone. The headers
(the page CSP, ``no-store``) come from ``web/headers.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from selpo.deps import ClockDep
from selpo.errors import Forbidden
from selpo.kit.display import local_day
from selpo.logistics import manifests, return_legs
from selpo.logistics.manifest_pdf import render_manifest
from selpo.logistics.return_leg_pdf import render_return_leg
from selpo.logistics.return_leg_schemas import ReturnLegRead
from selpo.logistics.schemas import ManifestRead, RouteRunRead
from selpo.models import Hub, Region
from selpo.office import auth
from selpo.web.day_input import parse_day
from selpo.web.pages.office import DbDep, PageRoute, WorkstationDep
from selpo.web.rendering import templates

PREFIX = "/office/dispatch"

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)


def _hubs(db: DbDep, workstation: auth.Workstation) -> list[Hub]:
    hubs = auth.dispatch_hubs(db, workstation)
    if not hubs:
        raise Forbidden("Вы не диспетчер районного узла.")
    return hubs


def _zones(db: DbDep, hubs: list[Hub]) -> dict[int, str]:
    """The time zone of each hub's region, by region id."""
    ids = {hub.region_id for hub in hubs}
    query = select(Region.id, Region.timezone).where(Region.id.in_(ids))
    return dict(db.execute(query).all())


def _manifest(
    db: DbDep, workstation: auth.Workstation, run_id: str, clock: ClockDep
) -> ManifestRead:
    """A run's manifest, if its hub is one this account dispatches."""
    mine = {hub.code for hub in _hubs(db, workstation)}
    route_id, departure = manifests.parse_run_id(run_id)
    sheet = manifests.get_manifest(db, route_id=route_id, departure=departure, now=clock.now())
    if sheet.hub not in mine:
        raise Forbidden("Этот рейс не вашего узла.")
    return sheet


def _with_preview(db: DbDep, run: RouteRunRead, clock: ClockDep) -> RouteRunRead:
    """A run whose manifest is not made yet counts the parcels its preview would load (what
    the manifest page shows), not zero."""
    if run.manifest != "none":
        return run
    preview = manifests.get_manifest(
        db, route_id=run.route_id, departure=run.departure, now=clock.now()
    )
    return run.model_copy(update={"parcels": preview.parcels, "litres": preview.litres})


@router.get("")
def route_runs(
    request: Request,
    db: DbDep,
    clock: ClockDep,
    workstation: WorkstationDep,
    day: Annotated[str, Query(alias="date", max_length=32)] = "",
) -> Response:
    """Рейсы дня по узлам диспетчера."""
    hubs = _hubs(db, workstation)
    zones = _zones(db, hubs)
    # The default day is today where the first hub is (a dispatcher's regions may differ).
    zone = zones[hubs[0].region_id]
    shown: date = parse_day(day, field="date") if day else local_day(clock.now(), zone)
    runs = {
        hub.code: [
            _with_preview(db, run, clock)
            for run in manifests.list_route_runs(db, day=shown, hub=hub.code)
        ]
        for hub in hubs
    }
    return templates.TemplateResponse(
        request,
        "dispatch/runs.html",
        {
            "hubs": hubs,
            "runs": runs,
            "day": shown,
            "zones": zones,
            "tz": zone,
            "who": workstation.clerk,
            "csrf": workstation.csrf_token,
        },
    )


@router.get("/{run_id}")
def manifest(
    request: Request, run_id: str, db: DbDep, clock: ClockDep, workstation: WorkstationDep
) -> Response:
    """Погрузочная ведомость рейса, для печати."""
    sheet = _manifest(db, workstation, run_id, clock)
    return templates.TemplateResponse(
        request,
        "dispatch/manifest.html",
        {"m": sheet, "tz": sheet.timezone, "who": workstation.clerk},
    )


@router.get("/{run_id}/pdf")
def manifest_pdf(run_id: str, db: DbDep, clock: ClockDep, workstation: WorkstationDep) -> Response:
    """Погрузочная ведомость рейса в PDF (вход — как на странице рейса)."""
    sheet = _manifest(db, workstation, run_id, clock)
    filename = f"manifest-{sheet.route_id}-{sheet.departure:%Y%m%d-%H%M}.pdf"
    return Response(
        render_manifest(sheet),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _return_leg(db: DbDep, workstation: auth.Workstation, run_id: str) -> ReturnLegRead:
    """A run's return leg, if its hub is one this account dispatches."""
    mine = {hub.code for hub in _hubs(db, workstation)}
    route_id, departure = return_legs.parse_leg_id(run_id)
    leg = return_legs.get_leg(db, route_id=route_id, departure=departure)
    if leg.hub not in mine:
        raise Forbidden("Этот рейс не вашего узла.")
    return leg


@router.get("/{run_id}/return")
def return_leg(request: Request, run_id: str, db: DbDep, workstation: WorkstationDep) -> Response:
    """Обратный рейс: что машина забирает из отделений, что ждёт следующего рейса."""
    leg = _return_leg(db, workstation, run_id)
    return templates.TemplateResponse(
        request,
        "dispatch/return_leg.html",
        {"m": leg, "tz": leg.timezone, "who": workstation.clerk},
    )


@router.get("/{run_id}/return/pdf")
def return_leg_pdf(run_id: str, db: DbDep, workstation: WorkstationDep) -> Response:
    """Накладная обратного рейса в PDF."""
    leg = _return_leg(db, workstation, run_id)
    filename = f"return-{leg.route_id}-{leg.departure:%Y%m%d-%H%M}.pdf"
    return Response(
        render_return_leg(leg),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
