"""What the regional dashboard's map shows: the offices by status, the timetable's hubs and
routes, the box around them (docs/dashboard.md).

Queries and small rules only; the pages in ``selpo.web.pages.region`` render them. Every map
query can be cut to a region, a district or a bounding box in SQL, so the map stays usable when
the network is the country's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.models import District, Hub, MarketplaceConnection, PostOffice, Route, RouteStop
from selpo.reporting.plans import PlanOnMap

# How an office shows on the map, in order of precedence.
SERVING = "serving"  # an active marketplace connection
PLANNED = "planned"  # chosen by the plan shown, or a connection planned
NOT_CONNECTED = "not_connected"
CLOSED = "closed"  # closed or temporarily closed
OFFICE_STATUSES = (SERVING, PLANNED, NOT_CONNECTED, CLOSED)
BBOX_MESSAGE = "Рамка карты — запад,юг,восток,север в градусах."
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
            raise InvalidInput(BBOX_MESSAGE, field="bbox") from None
        if not (-90 <= south <= north <= 90 and -180 <= west <= 180 and -180 <= east <= 180):
            raise InvalidInput(BBOX_MESSAGE, field="bbox")
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


def _of_region(region_id: int | None) -> list[ColumnElement[bool]]:
    """SQL: the office is in the region (no condition without one)."""
    if region_id is None:
        return []
    return [PostOffice.district_id.in_(select(District.id).where(District.region_id == region_id))]


def extent(
    session: Session, *, region_id: int | None = None, district_id: int | None = None
) -> BBox | None:
    """The box around the offices of a region (or of one district)."""
    query = select(
        func.min(PostOffice.lat),
        func.min(PostOffice.lon),
        func.max(PostOffice.lat),
        func.max(PostOffice.lon),
    )
    query = query.where(*_of_region(region_id))
    if district_id is not None:
        query = query.where(PostOffice.district_id == district_id)
    south, west, north, east = session.execute(query).one()
    if south is None:
        return None
    return BBox(south=south, west=west, north=north, east=east)


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


def _office_filter(
    region_id: int | None, district_id: int | None, bbox: BBox | None
) -> list[ColumnElement[bool]]:
    conditions = _of_region(region_id)
    if district_id is not None:
        conditions.append(PostOffice.district_id == district_id)
    if bbox is not None:
        conditions.append(bbox.holds(PostOffice.lat, PostOffice.lon))
    return conditions


def map_offices(
    session: Session,
    *,
    plan: PlanOnMap | None,
    region_id: int | None = None,
    district_id: int | None = None,
    bbox: BBox | None = None,
    limit: int = MAP_LIMIT,
) -> MapOffices:
    """Offices (of a region, a district, a box) with their map status (``office_status``),
    by index."""
    where = _office_filter(region_id, district_id, bbox)
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
    session: Session,
    *,
    region_id: int | None = None,
    district_id: int | None = None,
    bbox: BBox | None = None,
) -> list[MapHub]:
    """Hubs of the timetable (of a region; of a district: its hubs and the sorting centre)."""
    query = select(Hub.code, Hub.name, Hub.kind, Hub.lat, Hub.lon, Hub.district_id)
    if region_id is not None:
        query = query.where(Hub.region_id == region_id)
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
    session: Session,
    *,
    region_id: int | None = None,
    district_id: int | None = None,
    bbox: BBox | None = None,
) -> list[MapRoute]:
    """Routes from their hub through their stops (of a region's or a district's hubs;
    touching a box)."""
    query = select(
        Route.id, Route.code, Route.weekdays, Route.synthetic, Hub.code, Hub.lat, Hub.lon
    ).join(Hub, Route.hub_id == Hub.id)
    if region_id is not None:
        query = query.where(Hub.region_id == region_id)
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


def district_names(session: Session, *, region_id: int | None = None) -> dict[int, str]:
    """Every district (of a region) by id."""
    query = select(District.id, District.name)
    if region_id is not None:
        query = query.where(District.region_id == region_id)
    return {row.id: row.name for row in session.execute(query)}
