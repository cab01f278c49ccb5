"""The regional dashboard: Russian, server-rendered pages for the regional manager and the
district supervisors — the network of one region on a map, the period's figures per district,
the planning scenarios and the simulation runs side by side.

A thin shell over the read models of ``selpo.reporting``: parse the request,
check who may see what (``auth.dashboard_scope``), call, render. The sign-in is the
workstation's (``/office/login``; the session cookie is sent to ``/region`` too). A manager sees
their regions, one at a time (``?region=CODE`` chooses among several; another region is a 403);
a supervisor sees the map of their district's region but the figures, popups and scenario rows
of their own district only; a clerk or a dispatcher gets a 403 page. Times are shown in the
region's zone. The map's data comes as
JSON from ``/region/api/...`` (offices by status, one office's figures, hubs, routes), cut by
district or bounding box on the server.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from selpo.config import Settings
from selpo.deps import MAX_ROW_ID, ClockDep, ReadSessionDep, RowId, SessionDep, SettingsDep
from selpo.errors import DomainError, Forbidden, InvalidInput, NotFound
from selpo.kit.display import local_day
from selpo.kit.request_id import request_id_of
from selpo.models import District, Region, StaffJob
from selpo.network.errors import PostOfficeNotFound
from selpo.office import auth
from selpo.office.auth import Workstation
from selpo.office.errors import SessionExpired
from selpo.office.rules import STATUS_RU
from selpo.reporting import collection, kpi, layers, plans, runs, workload
from selpo.web.day_input import parse_day
from selpo.web.pages.office import SESSION_COOKIE, clear_session_cookie, rollback_request
from selpo.web.rendering import templates

PREFIX = "/region"
API = f"{PREFIX}/api"
PROBLEM_JSON = "application/problem+json"

# Russian names of the figures a simulation run keeps (reporting.runs.RUN_FIGURES).
RUN_FIGURE_LABELS = {
    "connected_offices": "Отделений обслуживают маркетплейсы",
    "orders": "Заказов",
    "served": "Заказов к отделению в пределах досягаемости",
    "unserved": "Заказов без отделения рядом",
    "unserved_share": "Доля заказов без отделения",
    "shipments": "Посылок создано",
    "reached_office": "Дошло до отделения",
    "on_time_share": "Вовремя",
    "days_to_deliver_p50": "Срок доставки, медиана",
    "days_to_deliver_p90": "Срок доставки, 90 %",
    "delivered": "Выдано",
    "unclaimed_share": "Невостребовано",
    "cash_collected_kop": "Наложенный платёж собран",
    "overflow_offices": "Отделений с переполнением",
    "overflow_parcels": "Посылок без свободной ячейки",
}
STATUS_LABELS = {
    layers.SERVING: "обслуживает маркетплейсы",
    layers.PLANNED: "в плане подключения",
    layers.NOT_CONNECTED: "не подключено",
    layers.CLOSED: "закрыто",
}
PLAN_KIND_LABELS = {
    "connect": "подключение",
    "modernise": "модернизация",
    "median": "p-медиана",
    "curve": "кривая охвата",
}
JOB_KIND_LABELS = {"plan": "план подключения", "simulation": "моделирование"}
JOB_STATUS_LABELS = {
    "queued": "в очереди",
    "running": "идёт",
    "done": "готово",
    "failed": "не удалось",
}
PLAN_STATUS_LABELS = {"optimal": "оптимально", "feasible": "допустимо"}
RUN_KIND_LABELS = {"history": "история", "scenario": "сценарий"}


class JobRunner(Protocol):
    """The port the dashboard starts its background jobs through (``selpo.staff_jobs``,
    wired by ``app.py`` on ``app.state.staff_jobs``)."""

    def enqueue(
        self,
        session: Session,
        *,
        kind: str,
        region_id: int,
        parameters: dict[str, Any],
        by: str,
        now: datetime,
    ) -> StaffJob:
        """Check the parameters (a Russian 422) and queue the job."""
        ...

    def start(self, job_id: int) -> None: ...


def _headers(settings: Settings) -> dict[str, str]:
    """No caching, and only this server's scripts, styles, data (plus the tile server's
    images when one is configured)."""
    images = "'self' data:"
    if settings.map_tile_url:
        parts = urlsplit(settings.map_tile_url.replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.netloc:
            host = parts.netloc
            if "{s}" in settings.map_tile_url:
                host = "*." + host.split(".", 1)[1] if "." in host else host
            images += f" {parts.scheme}://{host}"
    return {
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            f"default-src 'self'; img-src {images}; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API + "/")


def _login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    if request.method != "GET":
        target = PREFIX
    response = RedirectResponse(f"/office/login?next={quote(target)}", status_code=303)
    clear_session_cookie(response)
    return response


def _problem(request: Request, exc: DomainError) -> Response:
    return JSONResponse(
        {**exc.problem(), "request_id": request_id_of(request)},
        status_code=exc.status_code,
        media_type=PROBLEM_JSON,
        headers={"Cache-Control": "no-store"},
    )


def _error_page(request: Request, exc: DomainError) -> Response:
    settings: Settings = request.app.state.settings
    response = templates.TemplateResponse(
        request,
        "region/error.html",
        {"message": exc.message, "status": exc.status_code},
        status_code=exc.status_code,
    )
    response.headers.update(_headers(settings))
    return response


class RegionRoute(APIRoute):
    """Refusals become Russian pages (or problem JSON under /region/api), rolled back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SessionExpired as exc:
                await rollback_request(request)
                return _problem(request, exc) if _is_api(request) else _login_redirect(request)
            except RequestValidationError:
                refusal = InvalidInput("Неверный адрес или параметры запроса.", field="request")
                return (
                    _problem(request, refusal)
                    if _is_api(request)
                    else _error_page(request, refusal)
                )
            except DomainError as exc:
                await rollback_request(request)
                return _problem(request, exc) if _is_api(request) else _error_page(request, exc)

        return guarded


router = APIRouter(prefix=PREFIX, route_class=RegionRoute, include_in_schema=False)


# ---------------------------------------------------------------------------- who is looking


@dataclass
class Viewer:
    """One request to the dashboard: who, which region and district they see, when, on which
    transaction."""

    request: Request
    db: Session
    workstation: Workstation
    region: Region
    regions: list[Region]  # the regions this viewer may choose among
    district_id: int | None  # None: the whole region (a manager)
    district_name: str | None
    now: datetime
    settings: Settings
    # The figures' session: the standby when SELPO_READ_DATABASE_URL names one (they tolerate
    # a little lag); who is looking, plans and jobs (which follow the viewer's own writes) are
    # read through ``db``, on the primary.
    figures: Session

    @property
    def manager(self) -> bool:
        return self.district_id is None

    @property
    def region_id(self) -> int:
        return self.region.id

    @property
    def region_name(self) -> str:
        return self.region.name

    @property
    def tz(self) -> str:
        """The region's time zone: the dashboard's dates and times are in it."""
        return self.region.timezone

    @property
    def today(self) -> date:
        return local_day(self.now, self.tz)

    @property
    def choosing(self) -> bool:
        """Whether this viewer has several regions (the selector, ``region=`` in links)."""
        return len(self.regions) > 1

    def at(self, path: str, **params: object) -> str:
        """A dashboard address in this viewer's region (``region=`` when they have several)."""
        query = {k: str(v) for k, v in params.items() if v is not None and v != ""}
        if self.choosing:
            query = {"region": self.region.code, **query}
        return f"{path}?{urlencode(query)}" if query else path

    def may_see(self, district_id: int) -> bool:
        """Whether this viewer may see figures of a district."""
        return self.district_id is None or self.district_id == district_id


def _viewer(
    request: Request,
    db: SessionDep,
    figures: ReadSessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    region: Annotated[str, Query(max_length=16)] = "",
) -> Viewer:
    request.state.db = db  # for the rollback of a refused request
    workstation = auth.resolve(db, request.cookies.get(SESSION_COOKIE), now=clock.now())
    if workstation is None:
        raise SessionExpired()
    scope = auth.dashboard_scope(db, workstation, region_code=region or None)
    district_name = None
    if scope.district_id is not None:
        district = db.get(District, scope.district_id)
        district_name = district.name if district is not None else None
    return Viewer(
        request=request,
        db=db,
        workstation=workstation,
        region=scope.region,
        regions=scope.regions,
        district_id=scope.district_id,
        district_name=district_name,
        now=clock.now(),
        settings=settings,
        figures=figures,
    )


ViewerDep = Annotated[Viewer, Depends(_viewer)]


def _period(viewer: Viewer, first: str, last: str) -> kpi.Period:
    """The period asked for (days as ДД.ММ.ГГГГ, or ISO in links); by default the last 7 days
    ending today (the region's zone)."""
    end = parse_day(last, field="to") if last else viewer.today
    start = parse_day(first, field="from") if first else None
    if start is None:
        return kpi.Period.ending(end)
    return kpi.Period(start, end)


def _int(value: str, field: str) -> int | None:
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{field}: нужно целое число.", field=field) from None
    if abs(number) > MAX_ROW_ID:  # beyond any INTEGER column
        raise InvalidInput(f"{field}: нет такого номера.", field=field)
    return number


def _district(viewer: Viewer, asked: str) -> int | None:
    """The district to show: a supervisor's own; for a manager the one asked for, if any."""
    wanted = _int(asked, "district")
    if viewer.district_id is not None:
        if wanted is not None and wanted != viewer.district_id:
            raise Forbidden("Нет доступа: показатели другого района вам не видны.")
        return viewer.district_id
    if wanted is not None:
        district = viewer.db.get(District, wanted)
        if district is None:
            raise InvalidInput(f"Района №{wanted} нет.", field="district")
        if district.region_id != viewer.region_id:
            raise Forbidden("Нет доступа: это район другого региона.", field="district")
    return wanted


def _page(viewer: Viewer, template: str, *, active: str, **context: Any) -> Response:
    response = templates.TemplateResponse(
        viewer.request,
        template,
        {
            "clerk": viewer.workstation.clerk,
            "csrf": viewer.workstation.csrf_token,
            "viewer": viewer,
            "tz": viewer.tz,
            "now": viewer.now,
            "active": active,
            "history": runs.simulated_history(viewer.db, region_id=viewer.region_id),
            "run_labels": RUN_FIGURE_LABELS,
            "status_labels": STATUS_LABELS,
            "plan_kinds": PLAN_KIND_LABELS,
            "plan_statuses": PLAN_STATUS_LABELS,
            "run_kinds": RUN_KIND_LABELS,
            "shipment_statuses": STATUS_RU,
            "job_kinds": JOB_KIND_LABELS,
            "job_statuses": JOB_STATUS_LABELS,
            **context,
        },
    )
    response.headers.update(_headers(viewer.settings))
    return response


def _json(body: Any) -> Response:
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------------------- pages


@router.get("")
def map_page(
    viewer: ViewerDep,
    first: Annotated[str, Query(alias="from")] = "",
    last: Annotated[str, Query(alias="to")] = "",
    plan: str = "",
) -> Response:
    """The network on a map: offices by status, coverage, hubs and routes."""
    period = _period(viewer, first, last)
    plan_id = _int(plan, "plan")
    shown = (
        None if plan_id == 0 else plans.plan_on_map(viewer.db, plan_id, region_id=viewer.region_id)
    )
    bounds = layers.extent(
        viewer.db, region_id=viewer.region_id, district_id=viewer.district_id
    ) or layers.extent(viewer.db, region_id=viewer.region_id)
    return _page(
        viewer,
        "region/map.html",
        active="map",
        period=period,
        plan=shown,
        plans=plans.plan_options(viewer.db, region_id=viewer.region_id),
        next_offices=plans.next_offices(
            viewer.db, region_id=viewer.region_id, district_id=viewer.district_id
        ),
        bounds=bounds.as_list() if bounds is not None else [],
        tile_url=viewer.settings.map_tile_url or "",
        tile_attribution=viewer.settings.map_tile_attribution,
    )


@router.get("/kpi")
def kpi_page(
    viewer: ViewerDep,
    first: Annotated[str, Query(alias="from")] = "",
    last: Annotated[str, Query(alias="to")] = "",
    district: str = "",
) -> Response:
    """The period's figures: per district and the region, or per office of one district."""
    period = _period(viewer, first, last)
    district_id = _district(viewer, district)
    figures = kpi.network_kpi(
        viewer.figures, period, region_id=viewer.region_id, district_id=district_id
    )
    collected = collection.collection_figures(
        viewer.db, period, region_id=viewer.region_id, district_id=district_id
    )
    return _page(
        viewer,
        "region/kpi.html",
        active="kpi",
        period=period,
        kpi=figures,
        collected=collected,
        district_id=district_id,
        district_name=figures.districts[0].name if district_id and figures.districts else None,
        districts=sorted(
            layers.district_names(viewer.db, region_id=viewer.region_id).items(),
            key=lambda d: d[1],
        ),
    )


@router.get("/scenarios")
def scenarios_page(viewer: ViewerDep) -> Response:
    """Stored planning scenarios, and simulation runs side by side."""
    return _page(
        viewer,
        "region/scenarios.html",
        active="scenarios",
        plans=plans.plan_lines(
            viewer.db, region_id=viewer.region_id, district_id=viewer.district_id
        ),
        comparisons=runs.comparisons(
            viewer.db, region_id=viewer.region_id, district=viewer.district_name
        ),
        runs=runs.runs(viewer.db, region_id=viewer.region_id, district=viewer.district_name),
        next_offices=plans.next_offices(
            viewer.db, region_id=viewer.region_id, district_id=viewer.district_id
        ),
        jobs=plans.jobs(viewer.db, region_id=viewer.region_id) if viewer.manager else [],
        today=viewer.today,
    )


def _runner(viewer: Viewer) -> JobRunner:
    runner: JobRunner = viewer.request.app.state.staff_jobs
    return runner


def _manager_only(viewer: Viewer) -> None:
    if not viewer.manager:
        raise Forbidden("Нет доступа: планы и моделирование запускает руководитель региона.")


def _start(viewer: Viewer, kind: str, parameters: dict[str, Any]) -> Response:
    runner = _runner(viewer)
    job = runner.enqueue(
        viewer.db,
        kind=kind,
        region_id=viewer.region_id,
        parameters=parameters,
        by=viewer.workstation.clerk.login,
        now=viewer.now,
    )
    viewer.db.commit()  # the background runner reads the row in a transaction of its own
    runner.start(job.id)
    return RedirectResponse(viewer.at("/region/scenarios") + f"#job-{job.id}", status_code=303)


def _number(text: str, field: str, label: str) -> float:
    try:
        return float(text.replace(",", ".").replace("\u00a0", "").replace(" ", ""))
    except ValueError:
        raise InvalidInput(f"{label}: нужно число.", field=field) from None


@router.post("/scenarios/plans")
def start_plan(
    viewer: ViewerDep,
    csrf: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=300)] = "",
    add: Annotated[str, Form(max_length=16)] = "",
    radius_km: Annotated[str, Form(max_length=16)] = "10",
    marketplace: Annotated[str, Form(max_length=32)] = "OZON",
) -> Response:
    """Start a plan «which offices to connect next» (``selpo plan connect --add N --save``) in
    the background."""
    auth.check_csrf(viewer.workstation, csrf)
    _manager_only(viewer)
    count = _number(add, "add", "Сколько отделений добавить")
    if count != int(count):
        raise InvalidInput("Сколько отделений добавить: нужно целое число.", field="add")
    parameters = {
        "name": name,
        "add": int(count),
        "radius_km": _number(radius_km, "radius_km", "Радиус"),
        "marketplace": marketplace.strip().upper() or "OZON",
    }
    return _start(viewer, "plan", parameters)


@router.post("/scenarios/simulations")
def start_simulation(
    viewer: ViewerDep,
    csrf: Annotated[str, Form()] = "",
    days: Annotated[str, Form(max_length=16)] = "7",
    scale: Annotated[str, Form(max_length=16)] = "0,1",
    seed: Annotated[str, Form(max_length=16)] = "1",
    plan: Annotated[str, Form(max_length=16)] = "",
    start: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Start a simulation (today's offices, or with a stored plan's offices) in the
    background."""
    auth.check_csrf(viewer.workstation, csrf)
    _manager_only(viewer)
    plan_id = _int(plan, "plan")
    if plan_id:
        plans.plan_on_map(viewer.db, plan_id, region_id=viewer.region_id)  # of this region
    whole_days = _number(days, "days", "Дней")
    whole_seed = _number(seed, "seed", "Зерно")
    parameters = {
        "days": int(whole_days),
        "scale": _number(scale, "scale", "Масштаб спроса"),
        "seed": int(whole_seed),
        "plan_id": plan_id or None,
        "start": parse_day(start, field="start") if start else viewer.today,
    }
    return _start(viewer, "simulation", parameters)


@router.get("/workload")
def workload_page(
    viewer: ViewerDep,
    first: Annotated[str, Query(alias="from")] = "",
    last: Annotated[str, Query(alias="to")] = "",
    district: str = "",
) -> Response:
    """The clerks' work per office: actions per hour on duty, waits, the busiest hours."""
    period = _period(viewer, first, last)
    district_id = _district(viewer, district)
    work = workload.workload(
        viewer.figures, period, region_id=viewer.region_id, district_id=district_id, now=viewer.now
    )
    return _page(
        viewer,
        "region/workload.html",
        active="workload",
        period=period,
        work=work,
        district_id=district_id,
        hour_span=workload.hour_span,
        districts=sorted(
            layers.district_names(viewer.db, region_id=viewer.region_id).items(),
            key=lambda d: d[1],
        ),
    )


@router.get("/workload.csv")
def workload_csv(
    viewer: ViewerDep,
    first: Annotated[str, Query(alias="from")] = "",
    last: Annotated[str, Query(alias="to")] = "",
    district: str = "",
) -> Response:
    """The same as CSV for a spreadsheet (UTF-8 with BOM, «;», a decimal comma)."""
    period = _period(viewer, first, last)
    district_id = _district(viewer, district)
    work = workload.workload(
        viewer.figures, period, region_id=viewer.region_id, district_id=district_id, now=viewer.now
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows(workload.csv_rows(work))
    name = f"workload-{viewer.region.code}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/scenarios/runs/{run_id}")
def run_page(viewer: ViewerDep, run_id: RowId) -> Response:
    """One simulation run: its districts' figures and its offices' storage."""
    return _page(
        viewer,
        "region/run.html",
        active="scenarios",
        detail=runs.run_detail(
            viewer.db, run_id, region_id=viewer.region_id, district=viewer.district_name
        ),
    )


@router.post("/logout")
def logout(viewer: ViewerDep, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session (the form carries the session's CSRF token)."""
    auth.check_csrf(viewer.workstation, csrf)
    auth.sign_out(viewer.workstation, now=viewer.now)
    response = RedirectResponse("/office/login", status_code=303)
    clear_session_cookie(response)
    return response


# ---------------------------------------------------------------------------- the map's data


def _bbox(text: str) -> layers.BBox | None:
    return layers.BBox.parse(text) if text else None


@router.get("/api/offices")
def offices_json(viewer: ViewerDep, plan: str = "", district: str = "", bbox: str = "") -> Response:
    """Offices of a view with their status; ``mine``: whether their figures may be opened."""
    plan_id = _int(plan, "plan")
    shown = (
        None if plan_id == 0 else plans.plan_on_map(viewer.db, plan_id, region_id=viewer.region_id)
    )
    found = layers.map_offices(
        viewer.figures,
        plan=shown,
        region_id=viewer.region_id,
        district_id=_int(district, "district"),
        bbox=_bbox(bbox),
    )
    return _json(
        {
            "plan": None
            if shown is None
            else {"id": shown.id, "name": shown.name, "kind": shown.kind},
            "radius_km": shown.radius_km if shown is not None else plans.DEFAULT_RADIUS_KM,
            "counts": found.counts,
            "truncated": found.truncated,
            "offices": [
                {
                    "index": o.index,
                    "name": o.name,
                    "lat": o.lat,
                    "lon": o.lon,
                    "status": o.status,
                    "mine": viewer.may_see(o.district_id),
                }
                for o in found.offices
            ],
        }
    )


@router.get("/api/offices/{index}")
def office_json(
    viewer: ViewerDep,
    index: str,
    first: Annotated[str, Query(alias="from")] = "",
    last: Annotated[str, Query(alias="to")] = "",
) -> Response:
    """One office's figures for the period (the popup)."""
    period = _period(viewer, first, last)
    try:
        office = kpi.office_kpi(viewer.figures, period, index=index, region_id=viewer.region_id)
    except PostOfficeNotFound:
        raise NotFound(f"Отделения с индексом {index} в регионе нет.", field="index") from None
    if not viewer.may_see(office.district_id):
        raise Forbidden("Нет доступа: показатели отделений другого района вам не видны.")
    names = layers.district_names(viewer.db, region_id=viewer.region_id)
    return _json(
        {
            "index": office.index,
            "name": office.name,
            "district": names.get(office.district_id, ""),
            "status": office.status,
            "marketplaces": office.marketplaces,
            "from": period.first.isoformat(),
            "to": period.last.isoformat(),
            "figures": office.figures.as_dict(),
        }
    )


@router.get("/api/jobs")
def jobs_json(viewer: ViewerDep) -> Response:
    """The region's background jobs with their progress (the scenarios page polls it)."""
    _manager_only(viewer)
    return _json({"jobs": [j.as_dict() for j in plans.jobs(viewer.db, region_id=viewer.region_id)]})


@router.get("/api/hubs")
def hubs_json(viewer: ViewerDep, district: str = "", bbox: str = "") -> Response:
    """The sorting centre and the district hubs."""
    hubs = layers.map_hubs(
        viewer.figures,
        region_id=viewer.region_id,
        district_id=_int(district, "district"),
        bbox=_bbox(bbox),
    )
    return _json(
        {
            "hubs": [
                {"code": h.code, "name": h.name, "kind": h.kind, "lat": h.lat, "lon": h.lon}
                for h in hubs
            ]
        }
    )


@router.get("/api/routes")
def routes_json(viewer: ViewerDep, district: str = "", bbox: str = "") -> Response:
    """Routes as lines from their hub through their stops."""
    routes = layers.map_routes(
        viewer.figures,
        region_id=viewer.region_id,
        district_id=_int(district, "district"),
        bbox=_bbox(bbox),
    )
    return _json(
        {
            "routes": [
                {
                    "code": r.code,
                    "hub": r.hub,
                    "weekdays": r.weekdays,
                    "synthetic": r.synthetic,
                    "offices": r.offices,
                    "points": [[round(lat, 5), round(lon, 5)] for lat, lon in r.points],
                }
                for r in routes
            ]
        }
    )
