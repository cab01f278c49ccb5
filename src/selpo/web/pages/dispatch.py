"""The district hub dispatcher's pages: the day's route runs and their printable manifests.

Same sign-in as the workstation (the session cookie lives under /office): a supervisor sees
the hubs of their district, a clerk the hub that is their own office.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from selpo.deps import ClockDep, SessionDep, SettingsDep
from selpo.errors import Forbidden
from selpo.kit.moments import Day
from selpo.logistics import manifests
from selpo.models import Hub
from selpo.office import auth
from selpo.web.pages.office import SESSION_COOKIE

router = APIRouter(prefix="/office/dispatch", include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M")


templates.env.filters["local"] = _local


def _hubs(session: SessionDep, workstation: auth.Workstation) -> list[Hub]:
    clerk = workstation.clerk
    query = select(Hub).where(Hub.kind == "district_hub").order_by(Hub.code)
    if clerk.role == "supervisor":
        query = query.where(Hub.district_id == clerk.district_id)
    elif clerk.role == "clerk":
        query = query.where(Hub.post_office_id == clerk.post_office_id)
    else:  # a regional manager dispatches no hub
        return []
    return list(session.scalars(query))


@router.get("", response_class=HTMLResponse)
def route_runs(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    day: Annotated[Day | None, Query(alias="date")] = None,
) -> Response:
    """Рейсы дня по узлам диспетчера."""
    workstation = auth.resolve(session, request.cookies.get(SESSION_COOKIE), now=clock.now())
    if workstation is None:
        return RedirectResponse("/office/login", status_code=303)
    hubs = _hubs(session, workstation)
    if not hubs:
        raise Forbidden("Вы не диспетчер районного узла.")
    zone = settings.timezone
    today = day or clock.now().astimezone(ZoneInfo(zone)).date()
    runs = {hub.code: manifests.list_route_runs(session, day=today, hub=hub.code) for hub in hubs}
    return templates.TemplateResponse(
        request,
        "dispatch/runs.html",
        {"hubs": hubs, "runs": runs, "day": today, "zone": zone, "who": workstation.clerk},
    )


@router.get("/{run_id}", response_class=HTMLResponse)
def manifest(
    request: Request, run_id: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Погрузочная ведомость рейса, для печати."""
    workstation = auth.resolve(session, request.cookies.get(SESSION_COOKIE), now=clock.now())
    if workstation is None:
        return RedirectResponse("/office/login", status_code=303)
    route_id, departure = manifests.parse_run_id(run_id)
    sheet = manifests.get_manifest(session, route_id=route_id, departure=departure, now=clock.now())
    if sheet.hub not in {hub.code for hub in _hubs(session, workstation)}:
        raise Forbidden("Этот рейс не вашего узла.")
    return templates.TemplateResponse(
        request,
        "dispatch/manifest.html",
        {"m": sheet, "zone": sheet.timezone or settings.timezone, "who": workstation.clerk},
    )
