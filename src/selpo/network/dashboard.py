"""What the regional dashboard shows besides the period's KPIs (``network.kpi``): the offices on
the map by status, the timetable's hubs and routes, the stored planning scenarios and the
stored simulation runs side by side (docs/dashboard.md).

Queries and small rules only; the pages in ``selpo.web.pages.region`` render them. Every map
query can be cut to a district or a bounding box in SQL, so the map stays usable when the
network is the country's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput, NotFound
from selpo.models import (
    District,
    Hub,
    MarketplaceConnection,
    Plan,
    PostOffice,
    Route,
    RouteStop,
    SimulationRun,
)

# How an office shows on the map, in order of precedence.
SERVING = "serving"  # an active marketplace connection
PLANNED = "planned"  # chosen by the plan shown, or a connection planned
NOT_CONNECTED = "not_connected"
CLOSED = "closed"  # closed or temporarily closed
OFFICE_STATUSES = (SERVING, PLANNED, NOT_CONNECTED, CLOSED)
# Plans whose chosen offices are offices to connect (a coverage curve chooses none).
PLAN_KINDS_ON_MAP = ("connect", "modernise", "median")
DEFAULT_RADIUS_KM = 10.0  # the planning default (PlanCreate.radius_km)
MAP_LIMIT = 20_000  # offices in one answer; a larger view is cut (``truncated``)


def office_status(*, status: str, serving: bool, planned: bool) -> str:
    """The map colour of an office: closed, else serving, else planned, else not connected."""
    if status != "open":
        return CLOSED
    if serving:
        return SERVING
    if planned:
        return PLANNED
    return NOT_CONNECTED


# ---------------------------------------------------------------------------- map extent


@dataclass(frozen=True)
class BBox:
    """A latitude/longitude box."""

    south: float
    west: float
    north: float
    east: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        """``west,south,east,north`` (Leaflet's ``toBBoxString`` order)."""
        try:
            west, south, east, north = (float(part) for part in text.split(","))
        except ValueError:
            raise InvalidInput("bbox is west,south,east,north in degrees", field="bbox") from None
        if not (-90 <= south <= north <= 90 and -180 <= west <= 180 and -180 <= east <= 180):
            raise InvalidInput("bbox is west,south,east,north in degrees", field="bbox")
        return cls(south=south, west=west, north=north, east=east)

    def holds(self, lat: Any, lon: Any) -> ColumnElement[bool]:
        """SQL: the point is inside (a box across the antimeridian has west > east)."""
        inside_lat = lat.between(self.south, self.north)
        if self.west <= self.east:
            return inside_lat & lon.between(self.west, self.east)  # type: ignore[no-any-return]
        return inside_lat & ((lon >= self.west) | (lon <= self.east))  # type: ignore[no-any-return]

    def as_list(self) -> list[float]:
        """[[south, west], [north, east]] flattened: south, west, north, east."""
        return [self.south, self.west, self.north, self.east]


def extent(session: Session, *, district_id: int | None = None) -> BBox | None:
    """The box around the offices of the region (or of one district)."""
    query = select(
        func.min(PostOffice.lat),
        func.min(PostOffice.lon),
        func.max(PostOffice.lat),
        func.max(PostOffice.lon),
    )
    if district_id is not None:
        query = query.where(PostOffice.district_id == district_id)
    south, west, north, east = session.execute(query).one()
    if south is None:
        return None
    return BBox(south=south, west=west, north=north, east=east)


# ---------------------------------------------------------------------------- plans on the map


@dataclass(frozen=True)
class PlanOption:
    """A stored plan one can show on the map."""

    id: int
    name: str
    kind: str
    created_at: datetime


@dataclass(frozen=True)
class PlanOnMap:
    """The plan shown: the offices it connects and its coverage radius."""

    id: int
    name: str
    kind: str
    radius_km: float
    indexes: frozenset[str]


def plan_options(session: Session) -> list[PlanOption]:
    """Stored plans that choose offices, newest first."""
    query = (
        select(Plan.id, Plan.name, Plan.kind, Plan.created_at)
        .where(Plan.kind.in_(PLAN_KINDS_ON_MAP))
        .order_by(Plan.id.desc())
    )
    return [PlanOption(*row) for row in session.execute(query)]


def _radius_km(plan: Plan) -> float:
    for source in (plan.parameters, plan.result.get("parameters") or {}):
        value = source.get("radius_km") if isinstance(source, dict) else None
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return DEFAULT_RADIUS_KM


def _chosen(plan: Plan) -> list[str]:
    return [str(c["index"]) for c in plan.result.get("chosen") or [] if "index" in c]


def plan_on_map(session: Session, plan_id: int | None = None) -> PlanOnMap | None:
    """The plan asked for, or by default the latest ``connect`` plan (``None``: there is none)."""
    if plan_id is None:
        plan = session.scalars(
            select(Plan).where(Plan.kind == "connect").order_by(Plan.id.desc()).limit(1)
        ).first()
        if plan is None:
            return None
    else:
        found = session.get(Plan, plan_id)
        if found is None:
            raise NotFound(f"Плана №{plan_id} нет.", field="plan")
        if found.kind not in PLAN_KINDS_ON_MAP:
            raise InvalidInput(
                f"План №{plan_id} ({found.kind}) не выбирает отделений.", field="plan"
            )
        plan = found
    return PlanOnMap(
        id=plan.id,
        name=plan.name,
        kind=plan.kind,
        radius_km=_radius_km(plan),
        indexes=frozenset(_chosen(plan)),
    )


# ---------------------------------------------------------------------------- map layers


@dataclass(frozen=True)
class MapOffice:
    """An office as a point of the map."""

    index: str
    name: str
    lat: float
    lon: float
    status: str
    district_id: int


@dataclass(frozen=True)
class MapOffices:
    """The offices of a view, the count by status, and whether the view was cut."""

    offices: list[MapOffice]
    counts: dict[str, int]
    truncated: bool


def _office_filter(district_id: int | None, bbox: BBox | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if district_id is not None:
        conditions.append(PostOffice.district_id == district_id)
    if bbox is not None:
        conditions.append(bbox.holds(PostOffice.lat, PostOffice.lon))
    return conditions


def map_offices(
    session: Session,
    *,
    plan: PlanOnMap | None,
    district_id: int | None = None,
    bbox: BBox | None = None,
    limit: int = MAP_LIMIT,
) -> MapOffices:
    """Offices with their map status (``office_status``), by index."""
    where = _office_filter(district_id, bbox)
    rows = list(
        session.execute(
            select(
                PostOffice.id,
                PostOffice.index.label("office_index"),
                PostOffice.name,
                PostOffice.lat,
                PostOffice.lon,
                PostOffice.status,
                PostOffice.district_id,
            )
            .where(*where)
            .order_by(PostOffice.index)
            .limit(limit + 1)
        )
    )
    truncated = len(rows) > limit
    rows = rows[:limit]
    connections = session.execute(
        select(MarketplaceConnection.post_office_id, MarketplaceConnection.status)
        .join(PostOffice, MarketplaceConnection.post_office_id == PostOffice.id)
        .where(MarketplaceConnection.status.in_(("active", "planned")), *where)
    )
    active: set[int] = set()
    planned: set[int] = set()
    for office_id, status in connections:
        (active if status == "active" else planned).add(office_id)
    chosen = plan.indexes if plan is not None else frozenset()
    offices = [
        MapOffice(
            index=row.office_index,
            name=row.name,
            lat=row.lat,
            lon=row.lon,
            status=office_status(
                status=row.status,
                serving=row.id in active,
                planned=row.id in planned or row.office_index in chosen,
            ),
            district_id=row.district_id,
        )
        for row in rows
    ]
    counts = dict.fromkeys(OFFICE_STATUSES, 0)
    for office in offices:
        counts[office.status] += 1
    return MapOffices(offices=offices, counts=counts, truncated=truncated)


@dataclass(frozen=True)
class MapHub:
    """The sorting centre or a district hub."""

    code: str
    name: str
    kind: str
    lat: float
    lon: float
    district_id: int | None


def map_hubs(
    session: Session, *, district_id: int | None = None, bbox: BBox | None = None
) -> list[MapHub]:
    """Hubs of the timetable (those of a district: its hubs and the sorting centre)."""
    query = select(Hub.code, Hub.name, Hub.kind, Hub.lat, Hub.lon, Hub.district_id)
    if district_id is not None:
        query = query.where((Hub.district_id == district_id) | (Hub.district_id.is_(None)))
    if bbox is not None:
        query = query.where(bbox.holds(Hub.lat, Hub.lon))
    return [MapHub(*row) for row in session.execute(query.order_by(Hub.code))]


@dataclass(frozen=True)
class MapRoute:
    """A route as a line: its hub, then its stops in order."""

    code: str
    hub: str
    weekdays: str
    synthetic: bool
    offices: list[str]
    points: list[tuple[float, float]]  # (lat, lon), the hub first


def map_routes(
    session: Session, *, district_id: int | None = None, bbox: BBox | None = None
) -> list[MapRoute]:
    """Routes from their hub through their stops (of a district's hubs; touching a box)."""
    query = select(
        Route.id, Route.code, Route.weekdays, Route.synthetic, Hub.code, Hub.lat, Hub.lon
    ).join(Hub, Route.hub_id == Hub.id)
    if district_id is not None:
        query = query.where(Hub.district_id == district_id)
    if bbox is not None:
        touching = (
            select(RouteStop.route_id)
            .join(PostOffice, RouteStop.post_office_id == PostOffice.id)
            .where(bbox.holds(PostOffice.lat, PostOffice.lon))
        )
        query = query.where(Route.id.in_(touching) | bbox.holds(Hub.lat, Hub.lon))
    heads = list(session.execute(query.order_by(Route.code)))
    if not heads:
        return []
    stops: dict[int, list[tuple[str, float, float]]] = {}
    stop_query = (
        select(RouteStop.route_id, PostOffice.index, PostOffice.lat, PostOffice.lon)
        .join(PostOffice, RouteStop.post_office_id == PostOffice.id)
        .where(RouteStop.route_id.in_(query.with_only_columns(Route.id).order_by(None)))
        .order_by(RouteStop.route_id, RouteStop.seq)
    )
    for route_id, index, lat, lon in session.execute(stop_query):
        stops.setdefault(route_id, []).append((index, lat, lon))
    return [
        MapRoute(
            code=code,
            hub=hub,
            weekdays=weekdays,
            synthetic=synthetic,
            offices=[index for index, _, _ in stops.get(route_id, [])],
            points=[(hub_lat, hub_lon), *((lat, lon) for _, lat, lon in stops.get(route_id, []))],
        )
        for route_id, code, weekdays, synthetic, hub, hub_lat, hub_lon in heads
    ]


# ---------------------------------------------------------------------------- planning scenarios


@dataclass(frozen=True)
class PlanLine:
    """A stored planning scenario as one row of the scenarios page.

    For a district's supervisor ``added`` counts the district's offices only and the
    region-wide coverage figures are ``None``.
    """

    id: int
    name: str
    kind: str
    marketplace: str | None
    status: str
    added: int
    covered_before: float | None
    covered_after: float | None
    total_population: float | None
    gap: float
    radius_km: float | None
    created_at: datetime

    @property
    def gain(self) -> float | None:
        if self.covered_before is None or self.covered_after is None:
            return None
        return self.covered_after - self.covered_before


def plan_lines(session: Session, *, district_id: int | None = None) -> list[PlanLine]:
    """Every stored scenario, newest first."""
    own: set[str] | None = None
    if district_id is not None:
        own = set(
            session.scalars(select(PostOffice.index).where(PostOffice.district_id == district_id))
        )
    lines = []
    for plan in session.scalars(select(Plan).order_by(Plan.id.desc())):
        chosen = _chosen(plan)
        whole = own is None
        lines.append(
            PlanLine(
                id=plan.id,
                name=plan.name,
                kind=plan.kind,
                marketplace=plan.marketplace_code,
                status=plan.status,
                added=len(chosen) if own is None else sum(1 for i in chosen if i in own),
                covered_before=plan.covered_before if whole else None,
                covered_after=plan.covered_after if whole else None,
                total_population=plan.total_population if whole else None,
                gap=plan.gap,
                radius_km=_radius_km(plan) if plan.kind in ("connect", "modernise") else None,
                created_at=plan.created_at,
            )
        )
    return lines


# ---------------------------------------------------------------------------- simulation runs

# The figures compared between runs, with their unit: the simulation report's KPI columns
# (docs/simulation.md) and two storage figures summed from its office rows.
RUN_FIGURES: tuple[tuple[str, str], ...] = (
    ("connected_offices", "count"),
    ("orders", "count"),
    ("served", "count"),
    ("unserved", "count"),
    ("unserved_share", "share"),
    ("shipments", "count"),
    ("reached_office", "count"),
    ("on_time_share", "share"),
    ("days_to_deliver_p50", "days"),
    ("days_to_deliver_p90", "days"),
    ("delivered", "count"),
    ("unclaimed_share", "share"),
    ("cash_collected_kop", "kop"),
    ("overflow_offices", "count"),
    ("overflow_parcels", "count"),
)
REGION_AREA = "(region)"


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RunOffice:
    """An office's storage in a run: its cells, the most parcels at once, overflow."""

    index: str
    district: str
    cells: int
    peak_parcels: int
    peak_use: float | None
    overflow: int


def _run_offices(run: SimulationRun, district: str | None) -> list[RunOffice]:
    offices = []
    for row in run.offices:
        if district is not None and row.get("district") != district:
            continue
        offices.append(
            RunOffice(
                index=str(row.get("office_index", "")),
                district=str(row.get("district", "")),
                cells=int(_number(row.get("cells")) or 0),
                peak_parcels=int(_number(row.get("peak_parcels")) or 0),
                peak_use=_number(row.get("peak_use")),
                overflow=int(_number(row.get("overflow")) or 0),
            )
        )
    return offices


@dataclass(frozen=True)
class RunColumn:
    """A stored simulation run and its figures (of the region, or of one district)."""

    id: int
    label: str
    kind: str
    comparison: str | None
    plan_id: int | None
    seed: int
    days: int
    scale: float
    start: date
    connected_offices: int
    created_at: datetime
    values: dict[str, float | None]

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=max(self.days, 1) - 1)


def _area_row(run: SimulationRun, district: str | None) -> dict[str, Any]:
    if district is None:
        return dict(run.region)
    for row in run.districts:
        if row.get("area") == district:
            return dict(row)
    return {}


def _column(run: SimulationRun, district: str | None) -> RunColumn:
    row = _area_row(run, district)
    offices = _run_offices(run, district)
    values: dict[str, float | None] = {key: _number(row.get(key)) for key, _ in RUN_FIGURES}
    values["connected_offices"] = float(run.connected_offices) if district is None else None
    values["overflow_offices"] = float(sum(1 for o in offices if o.overflow))
    values["overflow_parcels"] = float(sum(o.overflow for o in offices))
    return RunColumn(
        id=run.id,
        label=run.label,
        kind=run.kind,
        comparison=run.comparison,
        plan_id=run.plan_id,
        seed=run.seed,
        days=run.days,
        scale=run.scale,
        start=run.start,
        connected_offices=run.connected_offices,
        created_at=run.created_at,
        values=values,
    )


@dataclass(frozen=True)
class ComparedFigure:
    """One figure across the runs of a comparison, and each run's difference from the first."""

    key: str
    unit: str
    values: list[float | None]
    differences: list[float | None]  # one per run after the first


@dataclass(frozen=True)
class Comparison:
    """Runs shown side by side (those sharing a ``comparison`` value; a lone run alone)."""

    name: str | None
    runs: list[RunColumn]
    figures: list[ComparedFigure]


def compare(name: str | None, runs: Sequence[RunColumn]) -> Comparison:
    """The figures of the runs in columns, the first run being the base of the differences."""
    figures = []
    for key, unit in RUN_FIGURES:
        values = [run.values.get(key) for run in runs]
        base = values[0] if values else None
        differences = [
            None if base is None or value is None else value - base for value in values[1:]
        ]
        figures.append(ComparedFigure(key=key, unit=unit, values=values, differences=differences))
    return Comparison(name=name, runs=list(runs), figures=figures)


def comparisons(session: Session, *, district: str | None = None) -> list[Comparison]:
    """The stored runs that share a ``comparison`` value, side by side; the newest
    comparison first, its runs in the order they were made (the first is the base)."""
    groups: dict[str, list[RunColumn]] = {}
    query = (
        select(SimulationRun)
        .where(SimulationRun.comparison.is_not(None))
        .order_by(SimulationRun.id)
    )
    for run in session.scalars(query):
        groups.setdefault(str(run.comparison), []).append(_column(run, district))
    newest_first = sorted(groups, key=lambda k: max(r.id for r in groups[k]), reverse=True)
    return [compare(name, groups[name]) for name in newest_first]


def runs(session: Session, *, district: str | None = None) -> list[RunColumn]:
    """Every stored run, the newest first (for a supervisor: their district's figures)."""
    query = select(SimulationRun).order_by(SimulationRun.id.desc())
    return [_column(run, district) for run in session.scalars(query)]


@dataclass(frozen=True)
class RunDetail:
    """A run with its district table and its offices' storage."""

    run: RunColumn
    region: dict[str, float | None] | None
    districts: list[tuple[str, dict[str, float | None]]]
    offices: list[RunOffice]
    statuses: dict[str, int]


def run_detail(session: Session, run_id: int, *, district: str | None = None) -> RunDetail:
    """One stored run (for a supervisor: their district's row and offices only)."""
    run = session.get(SimulationRun, run_id)
    if run is None:
        raise NotFound(f"Прогона №{run_id} нет.", field="run_id")
    rows = [
        (str(row.get("area", "")), {key: _number(row.get(key)) for key, _ in RUN_FIGURES})
        for row in run.districts
        if district is None or row.get("area") == district
    ]
    offices = sorted(
        _run_offices(run, district),
        key=lambda o: (-o.overflow, -(o.peak_use or 0.0), o.index),
    )
    return RunDetail(
        run=_column(run, district),
        region=_column(run, None).values if district is None else None,
        districts=rows,
        offices=offices,
        statuses=dict(run.statuses) if district is None else {},
    )


def simulated_history(session: Session) -> RunColumn | None:
    """The latest simulated history loaded into this database, if any (the banner)."""
    run = session.scalars(
        select(SimulationRun)
        .where(SimulationRun.kind == "history")
        .order_by(SimulationRun.id.desc())
        .limit(1)
    ).first()
    return _column(run, None) if run is not None else None


def district_names(session: Session) -> dict[int, str]:
    """Every district by id."""
    return {row.id: row.name for row in session.execute(select(District.id, District.name))}
