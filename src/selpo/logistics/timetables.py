"""The timetable on the database: its tables, the kernel's network loaded from them, and the
operator's and the generator's writes to them.

The timetable lives in tables (``warehouse``, ``line_haul``, ``route``, ``route_stop``) and
is turned into the kernel's ``timetable.Network`` by ``load_network``, cached per
(``network_version``, timetable version) like the pickup catalogue, so API workers stay
stateless (``CACHE``, ``current_timetable``). Every change to the timetable bumps
``timetable_version`` in its transaction.

``generate_timetable`` (the synthetic rule of ``selpo.logistics.routing``, over the open
offices and district hubs of one region or of each region on its own), ``import_routes`` /
``export_routes`` (the kernel's CSV format), ``put_route`` / ``delete_route``. Warehouses and
their trucks to each region's sorting centre come with the region's data (``network.importer``);
the sorting centre -> district hub trucks, per region, from ``routing.hub_line_hauls``.

Below ``promises``, ``manifests`` and ``movement``, which read the loaded timetable. Services
flush, never commit; time always comes in as ``now``.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Final, TextIO

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.logistics import repository, timetable
from selpo.logistics.errors import (
    RealTimetableExists,
    RouteFileRefused,
    RouteNotFound,
    TimetableMissing,
    UnknownHub,
)
from selpo.logistics.eta import (
    earliest_ready,
    ready_from_run,
)
from selpo.logistics.routing import (
    HubSites,
    OfficeSites,
    RoutingParams,
    hub_line_hauls,
    synthetic_network,
)
from selpo.logistics.schemas import (
    LineHaulRead,
    RouteRead,
    RouteWrite,
    StopRead,
    TimetableReport,
    WarehouseRead,
)
from selpo.logistics.timetable import (
    CsvProblem,
    Facility,
    FacilityKind,
    Network,
    RouteCsvError,
    RouteRun,
    Stop,
    Weekdays,
    epoch_s,
    weekday_names,
)
from selpo.models import Hub, LineHaul, Route, RouteStop, Warehouse
from selpo.network import repository as network_repository
from selpo.network.rules import DAYS

SORTING_CENTRE_KIND: Final[str] = "regional_sorting_centre"
DISTRICT_HUB_KIND: Final[str] = "district_hub"
SORTING_HANDLING: Final[timedelta] = timedelta(hours=4)
"""Sorting at the regional sorting centre, from a truck's arrival to parcels ready to leave."""
HUB_HANDLING: Final[timedelta] = RoutingParams().hub_handling
"""Cross-docking at a district hub (1 h): unloading the night truck, loading the vans."""
_MEMO_LIMIT: Final[int] = 200_000


# ---------------------------------------------------------------------------- small helpers


def _weekdays(text: str) -> Weekdays:
    return tuple(sorted(DAYS.index(t) for t in text.split("|") if t))


def _clock(value: time) -> str:
    return value.strftime("%H:%M") if not value.second else value.strftime("%H:%M:%S")


def _minutes(seconds: float) -> float:
    return round(seconds / 60.0, 4)


# ---------------------------------------------------------------------------- the network


@dataclass(eq=False)
class LoadedTimetable:
    """The kernel's ``Network`` for one (registry, timetable) version, with lookups."""

    key: tuple[int, int, str]
    network: Network
    default_warehouse: str | None
    hub_postal_index: dict[str, str | None]
    hub_name: dict[str, str]
    facility_timezone: dict[str, str]
    facility_position_m: dict[str, tuple[float, float]]
    stop_of: dict[str, dict[str, tuple[int, timedelta]]]
    office_name: dict[str, str]
    _memo: dict[tuple[str, int, str, int], tuple[datetime | None, RouteRun | None]] = field(
        default_factory=dict, repr=False
    )

    def route(self, route_id: str) -> timetable.Route:
        """A route of the timetable; 404 if there is none."""
        position = self.network.route_position.get(route_id)
        if position is None:
            raise RouteNotFound(route_id)
        return self.network.routes[position]

    def office_timezone(self, index: str) -> str:
        """The office's zone."""
        return self.network.offices[self.network.office_position[index]].timezone

    def earliest(
        self, warehouse: str, handover: datetime, office: str, *, skip_runs: int = 0
    ) -> tuple[datetime | None, RouteRun | None]:
        """The kernel's ready moment at ``office`` and the run carrying the parcel (memoised)."""
        handover_s = epoch_s(handover)
        key = (warehouse, handover_s, office, skip_runs)
        found = self._memo.get(key)
        if found is None:
            result = earliest_ready(
                self.network, warehouse, handover_s, [office], skip_runs=skip_runs
            )
            found = (result.ready_at(0), result.run(0))
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = found
        return found

    def ready_on(self, run: RouteRun, office: str) -> datetime | None:
        """When a parcel loaded on ``run`` is ready at ``office``."""
        return ready_from_run(self.network, run, [office]).ready_at(0)


def _facility(hub: Hub, zone: str) -> Facility:
    sorting = hub.kind == SORTING_CENTRE_KIND
    return Facility(
        id=hub.code,
        kind=FacilityKind.SORTING_CENTRE if sorting else FacilityKind.HUB,
        name=hub.name,
        lat=hub.lat,
        lon=hub.lon,
        handling=SORTING_HANDLING if sorting else HUB_HANDLING,
        timezone=zone,
    )


def _warehouse_facility(row: Warehouse) -> Facility:
    return Facility(
        id=row.code,
        kind=FacilityKind.WAREHOUSE,
        name=row.name,
        lat=row.lat,
        lon=row.lon,
        handling=timedelta(seconds=row.handling_s),
        timezone=row.timezone,
    )


def _hub_zone(hub: Hub, zones: dict[int, str]) -> str:
    """The hub's clock: its region's zone (``zones``: region id -> IANA zone).

    Every region has a zone and every hub a region, so a miss is a broken database, not a
    default.
    """
    try:
        return zones[hub.region_id]
    except KeyError:
        raise LookupError(f"hub {hub.code}: region {hub.region_id} has no time zone") from None


def _kernel_routes(
    session: Session, rows: Sequence[Route], hub_code: dict[int, str], keep: set[str] | None
) -> list[timetable.Route]:
    """Route rows as kernel routes; with ``keep``, only stops at those offices."""
    stops: dict[int, list[Stop]] = {}
    for route_id, _seq, index, arrival_s in repository.stops(session):
        if keep is None or index in keep:
            stops.setdefault(route_id, []).append(Stop(index, timedelta(seconds=arrival_s)))
    result = []
    for row in rows:
        route_stops = tuple(stops.get(row.id, ()))
        if not route_stops or row.hub_id not in hub_code:
            continue
        result.append(
            timetable.Route(
                id=row.code,
                hub=hub_code[row.hub_id],
                stops=route_stops,
                weekdays=_weekdays(row.weekdays),
                departure=row.departure,
                capacity_parcels=row.capacity_parcels,
                capacity_litres=row.capacity_litres,
                return_after=timedelta(seconds=row.return_after_s),
                runs_on_holidays=row.runs_on_holidays,
                synthetic=row.synthetic,
                vehicle=row.vehicle,
            )
        )
    return result


def _build(session: Session, key: tuple[int, int, str]) -> LoadedTimetable:
    zones = repository.region_timezones(session)
    hubs = repository.hubs(session)
    by_id = {h.id: h for h in hubs}
    warehouses = repository.warehouses(session)
    warehouse_code = {w.id: w.code for w in warehouses}
    sorting = tuple(
        _facility(h, _hub_zone(h, zones)) for h in hubs if h.kind == SORTING_CENTRE_KIND
    )
    district = tuple(_facility(h, _hub_zone(h, zones)) for h in hubs if h.kind == DISTRICT_HUB_KIND)
    hauls = []
    for row in repository.line_hauls(session):
        origin = (
            warehouse_code.get(row.origin_warehouse_id)
            if row.origin_warehouse_id is not None
            else by_id[row.origin_hub_id].code
            if row.origin_hub_id is not None
            else None
        )
        destination = by_id[row.destination_hub_id].code
        if origin is None:
            continue
        hauls.append(
            timetable.LineHaul(
                origin=origin,
                destination=destination,
                weekdays=_weekdays(row.weekdays),
                departure=row.departure,
                duration=timedelta(seconds=row.duration_s),
                id=row.code,
            )
        )
    offices = repository.open_offices(session)
    open_indexes = {o.index for o in offices}
    district_codes = {h.id: h.code for h in hubs if h.kind == DISTRICT_HUB_KIND}
    routes = _kernel_routes(session, repository.routes(session), district_codes, open_indexes)
    network = Network(
        warehouses=tuple(_warehouse_facility(w) for w in warehouses),
        sorting_centres=sorting,
        hubs=district,
        line_hauls=tuple(hauls),
        routes=tuple(routes),
        offices=tuple(
            timetable.Office(
                index=o.index,
                opening_hours=o.opening_hours,
                timezone=o.timezone,
                lat=o.lat,
                lon=o.lon,
                rural=o.rural,
            )
            for o in offices
        ),
    )
    default = next((w.code for w in warehouses if w.is_default), None)
    if default is None and warehouses:
        default = warehouses[0].code
    return LoadedTimetable(
        key=key,
        network=network,
        default_warehouse=default,
        hub_postal_index={h.code: h.index for h in hubs},
        hub_name={h.code: h.name for h in hubs},
        facility_timezone={f.id: f.timezone for f in network.facilities},
        facility_position_m={f.id: (f.lat, f.lon) for f in network.facilities},
        stop_of={
            r.id: {s.office: (n, s.arrival) for n, s in enumerate(r.stops, start=1)} for r in routes
        },
        office_name={o.index: o.name for o in offices},
    )


class TimetableCache:
    """Keeps the latest loaded timetable; one cheap version read per call decides a rebuild."""

    def __init__(self) -> None:
        self._current: LoadedTimetable | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> LoadedTimetable | None:
        """The timetable for the current versions, ``None`` if there is no timetable yet."""
        stamp = repository.timetable_stamp(session)
        if stamp is None:
            return None
        key = (network_repository.network_version(session), *stamp)
        current = self._current
        if current is not None and current.key == key:
            return current
        with self._lock:
            current = self._current
            if current is None or current.key != key:
                current = _build(session, key)
                self._current = current
            return current

    def clear(self) -> None:
        """Forget the cached timetable."""
        self._current = None


CACHE: Final[TimetableCache] = TimetableCache()


def current_timetable(session: Session) -> LoadedTimetable:
    """The loaded timetable; 503 when none was generated or imported yet."""
    loaded = CACHE.get(session)
    if loaded is None:
        raise TimetableMissing()
    return loaded


def load_network(session: Session) -> Network:
    """The kernel's network for the current registry and timetable (cached per version)."""
    return current_timetable(session).network


# ---------------------------------------------------------------------------- timetable writes


def _hub_rows(session: Session) -> tuple[list[Hub], list[Hub]]:
    hubs = repository.hubs(session)
    sorting = [h for h in hubs if h.kind == SORTING_CENTRE_KIND]
    district = [h for h in hubs if h.kind == DISTRICT_HUB_KIND]
    if not sorting or not district:
        raise InvalidInput(
            "the registry has no sorting centre or no district hubs: import a region first"
        )
    return sorting, district


def _region_ids(session: Session, region: str | None) -> list[int]:
    """The regions to generate for: the one named by code, or every region with hubs."""
    rows = repository.regions(session)
    if region is None:
        with_hubs = {h.region_id for h in repository.hubs(session)}
        return [r.id for r in rows if r.id in with_hubs]
    for row in rows:
        if region in (row.code, row.slug):
            return [row.id]
    raise InvalidInput(f"no region {region!r} in the database: import it first", field="region")


def _hub_sites(district: Sequence[Hub], zones: dict[int, str]) -> HubSites:
    return HubSites(
        id=np.array([h.code for h in district]),
        lat=np.array([h.lat for h in district], dtype=np.float64),
        lon=np.array([h.lon for h in district], dtype=np.float64),
        office_index=np.array([h.index or "" for h in district]),
        timezone=np.array([_hub_zone(h, zones) for h in district]),
    )


def _store_hub_line_hauls(
    session: Session,
    hauls: Iterable[timetable.LineHaul],
    hub_ids: dict[str, int],
    destination_ids: Sequence[int],
) -> None:
    """Replace the sorting centre -> hub trucks to ``destination_ids`` (one region's hubs)."""
    repository.delete_hub_line_hauls(session, destination_ids)
    for haul in hauls:
        session.add(
            LineHaul(
                code=haul.id or f"{haul.origin}->{haul.destination}",
                origin_warehouse_id=None,
                origin_hub_id=hub_ids[haul.origin],
                destination_hub_id=hub_ids[haul.destination],
                weekdays=weekday_names(haul.weekdays),
                departure=haul.departure,
                duration_s=int(haul.duration.total_seconds()),
                synthetic=True,
            )
        )
    session.flush()


def _ensure_hub_line_hauls(session: Session, sorting: list[Hub], district: list[Hub]) -> None:
    """Give each region whose hubs have no truck from a sorting centre its own (its hubs fed by
    its sorting centre)."""
    fed = {h.destination_hub_id for h in repository.line_hauls(session) if h.origin_hub_id}
    zones = repository.region_timezones(session)
    for region_id in sorted({h.region_id for h in district}):
        centres = [h for h in sorting if h.region_id == region_id]
        hubs = [h for h in district if h.region_id == region_id]
        if not centres or any(h.id in fed for h in hubs):
            continue
        hauls = hub_line_hauls(
            _hub_sites(hubs, zones), [_facility(h, _hub_zone(h, zones)) for h in centres]
        )
        _store_hub_line_hauls(
            session, hauls, {h.code: h.id for h in [*centres, *hubs]}, [h.id for h in hubs]
        )


def _route_row(route: timetable.Route, hub_id: int, now: datetime) -> Route:
    """The stored row of a kernel route (its stops follow once the row has an id)."""
    return Route(
        code=route.id,
        hub_id=hub_id,
        weekdays=weekday_names(route.weekdays),
        departure=route.departure,
        capacity_parcels=route.capacity_parcels,
        capacity_litres=route.capacity_litres,
        return_after_s=int(route.return_after.total_seconds()),
        runs_on_holidays=route.runs_on_holidays,
        synthetic=route.synthetic,
        vehicle=route.vehicle,
        updated_at=now,
    )


def _store_routes(
    session: Session,
    routes: Sequence[timetable.Route],
    *,
    now: datetime,
    replace_hub_ids: set[int] | None = None,
) -> None:
    """Replace the route timetable (or only the routes of the hubs ``replace_hub_ids``, one
    region's) with ``routes``."""
    offices = repository.office_ids(session)
    hub_ids = {h.code: h.id for h in repository.hubs(session)}
    if replace_hub_ids is None:
        repository.delete_routes(session)
    else:
        repository.delete_routes(
            session, [r.id for r in repository.routes(session) if r.hub_id in replace_hub_ids]
        )
    session.flush()
    rows = []
    for route in routes:
        row = _route_row(route, hub_ids[route.hub], now)
        session.add(row)
        rows.append(row)
    session.flush()
    stop_rows = [
        {
            "route_id": row.id,
            "seq": seq,
            "post_office_id": offices[stop.office],
            "arrival_after_s": int(stop.arrival.total_seconds()),
        }
        for row, route in zip(rows, routes, strict=True)
        for seq, stop in enumerate(route.stops, start=1)
    ]
    if stop_rows:
        session.execute(insert(RouteStop), stop_rows)
    session.flush()


def timetable_report(session: Session, version: int | None = None) -> TimetableReport:
    """What the stored timetable holds."""
    rows = repository.routes(session)
    stops = repository.stops(session)
    served = {index for _, _, index, _ in stops}
    offices = repository.open_office_indexes(session)
    stamp = repository.timetable_stamp(session)
    return TimetableReport(
        routes=len(rows),
        stops=len(stops),
        synthetic_routes=sum(1 for r in rows if r.synthetic),
        hubs=len({r.hub_id for r in rows}),
        line_hauls=len(repository.line_hauls(session)),
        vehicles=len({r.vehicle for r in rows if r.vehicle}),
        offices_served=sum(1 for i in offices if i in served),
        offices_unserved=[i for i in offices if i not in served],
        version=version if version is not None else (stamp[0] if stamp else 0),
    )


def generate_timetable(
    session: Session,
    *,
    now: datetime,
    seed: int = 0,
    replace_real: bool = False,
    region: str | None = None,
) -> TimetableReport:
    """Make up the synthetic timetable (``routing.synthetic_network``) from the registry.

    ``region`` (a code or slug): only that region's routes and sorting centre -> hub trucks are
    made up, every other region's stay as they are; None: each region's, each on its own.
    Every open office of the region gets a route from one of its hubs (``routing.assign_hubs``:
    the parent office's hub where the data names one, else the nearest); its hubs are fed by its
    sorting centre. Warehouses and their trucks are the regions' data (``network.importer``).
    Refused (409) when the operator loaded real routes in the region, unless ``replace_real``.
    """
    sorting_all, district_all = _hub_rows(session)
    region_ids = _region_ids(session, region)
    zones = repository.region_timezones(session)
    warehouses = [_warehouse_facility(w) for w in repository.warehouses(session)]
    routes = repository.routes(session)
    generated = 0
    for region_id in region_ids:
        sorting = [h for h in sorting_all if h.region_id == region_id]
        district = [h for h in district_all if h.region_id == region_id]
        hub_ids = {h.id for h in district}
        real = [r for r in routes if not r.synthetic and r.hub_id in hub_ids]
        if real and not replace_real:
            raise RealTimetableExists(len(real))
        offices = repository.open_offices(session, region_id)
        if not sorting or not district or not offices:
            continue
        sites = OfficeSites(
            index=np.array([o.index for o in offices]),
            lat=np.array([o.lat for o in offices], dtype=np.float64),
            lon=np.array([o.lon for o in offices], dtype=np.float64),
            rural=np.array([o.rural for o in offices], dtype=np.bool_),
            parent_index=np.array([o.parent_index or "" for o in offices]),
        )
        sorting_facilities = [_facility(h, _hub_zone(h, zones)) for h in sorting]
        network = synthetic_network(
            sites,
            _hub_sites(district, zones),
            opening_hours=[o.opening_hours for o in offices],
            sorting_centres=sorting_facilities,
            warehouses=warehouses,
            warehouse_line_hauls=(),
            office_timezones=[o.timezone for o in offices],
            seed=seed,
        )
        sorting_codes = {f.id for f in sorting_facilities}
        codes = {h.code: h.id for h in [*sorting, *district]}
        _store_hub_line_hauls(
            session,
            (h for h in network.line_hauls if h.origin in sorting_codes),
            codes,
            sorted(hub_ids),
        )
        _store_routes(session, network.routes, now=now, replace_hub_ids=hub_ids)
        generated += 1
    if not generated:
        raise InvalidInput("the registry has no open office: import a region first")
    version = repository.bump_timetable_version(session, now)
    return timetable_report(session, version)


def import_routes(session: Session, source: TextIO | str, *, now: datetime) -> TimetableReport:
    """Replace the route timetable with a CSV file (``timetable.read_routes_csv`` format).

    A file with any bad row is refused whole (422, every problem with its line) and nothing
    changes. Hubs must be district hub codes (``DH-<index>``), offices open offices.
    """
    sorting, district = _hub_rows(session)
    offices = {o.index for o in repository.open_offices(session)}
    text = io.StringIO(source) if isinstance(source, str) else source
    try:
        routes = timetable.read_routes_csv(text, hubs={h.code for h in district}, offices=offices)
    except RouteCsvError as exc:
        raise RouteFileRefused(exc.problems) from None
    except UnicodeDecodeError as exc:
        raise RouteFileRefused([CsvProblem(1, f"the file is not UTF-8 ({exc.reason})")]) from None
    if not routes:
        raise RouteFileRefused([CsvProblem(1, "the file has no routes")])
    _ensure_hub_line_hauls(session, sorting, district)
    _store_routes(session, routes, now=now)
    version = repository.bump_timetable_version(session, now)
    return timetable_report(session, version)


def stored_routes(session: Session) -> list[timetable.Route]:
    """Every stored route as the kernel's ``Route``, stops at closed offices included."""
    district = {h.id: h.code for h in repository.hubs(session) if h.kind == DISTRICT_HUB_KIND}
    return _kernel_routes(session, repository.routes(session), district, None)


def export_routes(session: Session) -> str:
    """The stored route timetable as CSV text (the format ``import_routes`` reads)."""
    return timetable.routes_to_csv(stored_routes(session))


def _route_read(route: timetable.Route) -> RouteRead:
    return RouteRead(
        id=route.id,
        hub=route.hub,
        weekdays=[DAYS[d] for d in route.weekdays],
        departure=_clock(route.departure),
        capacity_parcels=route.capacity_parcels,
        capacity_litres=route.capacity_litres,
        return_after_min=_minutes(route.return_after.total_seconds()),
        runs_on_holidays=route.runs_on_holidays,
        synthetic=route.synthetic,
        vehicle=route.vehicle,
        stops=[
            StopRead(
                seq=n, office_index=s.office, arrival_after_min=_minutes(s.arrival.total_seconds())
            )
            for n, s in enumerate(route.stops, start=1)
        ],
    )


def list_routes(session: Session, *, hub: str | None = None) -> list[RouteRead]:
    """The stored routes (optionally one hub's), with their stops."""
    routes = stored_routes(session)
    if hub is not None:
        code = district_hub_code(session, hub)
        routes = [r for r in routes if r.hub == code]
    return [_route_read(r) for r in routes]


def get_route(session: Session, route_id: str) -> RouteRead:
    """One stored route."""
    for route in stored_routes(session):
        if route.id == route_id:
            return _route_read(route)
    raise RouteNotFound(route_id)


def put_route(session: Session, route_id: str, body: RouteWrite, *, now: datetime) -> RouteRead:
    """Create or replace one route (the operator's: not synthetic)."""
    if not route_id or len(route_id) > 64 or "@" in route_id or "/" in route_id:
        raise InvalidInput("a route id is 1 to 64 characters without '@' or '/'", field="route_id")
    hubs = {h.code: h for h in repository.hubs(session) if h.kind == DISTRICT_HUB_KIND}
    hub = hubs.get(body.hub)
    if hub is None:
        raise UnknownHub(body.hub)
    offices = repository.office_ids(session)
    open_offices = {o.index for o in repository.open_offices(session)}
    for n, stop in enumerate(body.stops):
        if stop.office_index not in open_offices:
            raise InvalidInput(
                f"office {stop.office_index} is not an open office",
                field=f"stops.{n}.office_index",
            )
    try:
        route = timetable.Route(
            id=route_id,
            hub=hub.code,
            stops=tuple(
                Stop(s.office_index, timedelta(seconds=round(s.arrival_after_min * 60)))
                for s in body.stops
            ),
            weekdays=tuple(sorted({DAYS.index(d) for d in body.weekdays})),
            departure=time.fromisoformat(body.departure),
            capacity_parcels=body.capacity_parcels,
            capacity_litres=body.capacity_litres,
            return_after=timedelta(seconds=round(body.return_after_min * 60)),
            runs_on_holidays=body.runs_on_holidays,
            synthetic=False,
            vehicle=body.vehicle,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc), field="stops") from None
    existing = repository.route_by_code(session, route_id)
    if existing is not None:
        repository.delete_routes(session, [existing.id])
        session.flush()
    row = _route_row(route, hub.id, now)
    session.add(row)
    session.flush()
    for seq, call in enumerate(route.stops, start=1):
        session.add(
            RouteStop(
                route_id=row.id,
                seq=seq,
                post_office_id=offices[call.office],
                arrival_after_s=int(call.arrival.total_seconds()),
            )
        )
    sorting, district = _hub_rows(session)
    _ensure_hub_line_hauls(session, sorting, district)
    repository.bump_timetable_version(session, now)
    return _route_read(route)


def delete_route(session: Session, route_id: str, *, now: datetime) -> None:
    """Remove one route from the timetable (its manifests stay)."""
    existing = repository.route_by_code(session, route_id)
    if existing is None:
        raise RouteNotFound(route_id)
    repository.delete_routes(session, [existing.id])
    repository.bump_timetable_version(session, now)


def list_warehouses(session: Session) -> list[WarehouseRead]:
    """The warehouses and their trucks."""
    hub_code = {h.id: h.code for h in repository.hubs(session)}
    hauls = repository.line_hauls(session)
    result = []
    for row in repository.warehouses(session):
        result.append(
            WarehouseRead(
                code=row.code,
                name=row.name,
                lat=row.lat,
                lon=row.lon,
                timezone=row.timezone,
                handling_min=_minutes(row.handling_s),
                is_default=row.is_default,
                line_hauls=[
                    LineHaulRead(
                        id=h.code,
                        origin=row.code,
                        destination=hub_code[h.destination_hub_id],
                        weekdays=h.weekdays.split("|"),
                        departure=_clock(h.departure),
                        duration_min=_minutes(h.duration_s),
                        synthetic=h.synthetic,
                    )
                    for h in hauls
                    if h.origin_warehouse_id == row.id
                ],
            )
        )
    return result


def district_hub_code(session: Session, hub: str) -> str:
    """The district hub named by its code or postal index; 404 if none."""
    district = [h for h in repository.hubs(session) if h.kind == DISTRICT_HUB_KIND]
    for h in district:
        if hub in (h.code, h.index):
            return h.code
    raise UnknownHub(hub)
