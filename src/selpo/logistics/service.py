"""Logistics on the database: the timetable, quotes and promised dates, manifests, and the
worker job that moves parcels along the timetable.

The timetable lives in tables (``warehouse``, ``line_haul``, ``route``, ``route_stop``) and
is turned into the kernel's ``timetable.Network`` by ``load_network``, cached per
(``network_version``, timetable version) like the pickup catalogue, so API workers stay
stateless. Every change to the timetable bumps ``timetable_version`` in its transaction.

* **Timetable**: ``generate_timetable`` (the synthetic rule of ``selpo.logistics.routing``,
  over the open offices and district hubs of the registry), ``import_routes`` /
  ``export_routes`` (the kernel's CSV format), ``put_route`` / ``delete_route``. Warehouses
  and their trucks are seeded on first use (``DEFAULT_WAREHOUSES``); the sorting centre ->
  district hub trucks come from ``routing.hub_line_hauls``.
* **Quotes** (``quote``): the price from ``selpo.logistics.tariff``; ``earliest`` is the
  kernel's ready moment; ``latest`` the later of ``earliest + QUOTE_BUFFER`` (2 days) and the
  ready moment if the first run is missed (``skip_runs=1``), so one full van never breaks a
  promise, moved to the office's next open day if it falls on a closed one (both ends of the
  window are then on open days). ``promised_date`` is the office's local date of ``latest``.
* **Dispatch** (``build_manifest``): the parcels at the hub for one route run, oldest promise
  first, within the van's parcels and litres; what does not fit rolls to the next run, and if
  that run makes the parcel later than its promised date the promise is recomputed from the
  new run and the marketplace told (``shipment.promised_date_changed``).
* **The worker** (``advance_parcels``): departs every run that is due (planning its manifest
  if nobody did) and records ``departed_hub``, then ``arrived_at_office`` when the van reaches
  the office, through ``shipment.service.record_scans`` (one batch per run and one for the
  arrivals). A hub's or an office's own scan replaces ours: an event already recorded is not
  recorded again.

Services flush, never commit; time always comes in as ``now``.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, TextIO
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.logistics import repository, timetable
from selpo.logistics.calendar import holiday_calendar, on_an_open_day
from selpo.logistics.distance import GreatCircleDistance
from selpo.logistics.errors import (
    OfficeNotServed,
    RealTimetableExists,
    RouteFileRefused,
    RouteNotFound,
    RouteRunNotFound,
    TimetableMissing,
    UnknownHub,
    UnknownWarehouse,
)
from selpo.logistics.eta import (
    DEFAULT_QUOTE_BUFFER,
    earliest_ready,
    next_run,
    quote_window,
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
    ManifestLine,
    ManifestRead,
    ManifestStop,
    PriceBreakdown,
    QuoteRead,
    QuoteRequest,
    RolledLine,
    RouteRead,
    RouteRunRead,
    RouteWrite,
    StopRead,
    TimetableReport,
    WarehouseRead,
)
from selpo.logistics.tariff import DEFAULT_TARIFF, Tariff, price
from selpo.logistics.timetable import (
    EVERY_DAY,
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
from selpo.models import Hub, LineHaul, ManifestEntry, Route, RouteStop, Warehouse
from selpo.network import repository as network_repository
from selpo.network.rules import DAYS, OfficeCapacity, ParcelSize, parcel_fits
from selpo.notify import service as notify_service
from selpo.shipment import service as shipment_service
from selpo.shipment.lifecycle import Status

log = logging.getLogger("selpo.logistics")

SORTING_CENTRE_KIND: Final[str] = "regional_sorting_centre"
DISTRICT_HUB_KIND: Final[str] = "district_hub"
SORTING_HANDLING: Final[timedelta] = timedelta(hours=4)
"""Sorting at the regional sorting centre, from a truck's arrival to parcels ready to leave."""
HUB_HANDLING: Final[timedelta] = RoutingParams().hub_handling
"""Cross-docking at a district hub (1 h): unloading the night truck, loading the vans."""
QUOTE_BUFFER: Final[timedelta] = DEFAULT_QUOTE_BUFFER
"""Latest = earliest + 2 days at least (a missed daily run and a day's slack on the roads)."""
ACTOR: Final[str] = "timetable"
"""Who the worker's tracking events name."""
ARRIVALS_PER_PASS: Final[int] = 5_000
"""Van arrivals one pass records at most, the earliest first; the next pass goes on."""
MAX_RUNS_PER_PASS: Final[int] = 64
"""Runs of one route ``advance_parcels`` plans and departs in one pass (catching up after
downtime); runs that left already are passed over without counting, so parcels waiting for
weeks never hold the route back."""
HANDOVER_PAST: Final[timedelta] = timedelta(days=31)
HANDOVER_FUTURE: Final[timedelta] = timedelta(days=366)
"""A quote's hand-over may lie this far back (a late what-if) or ahead (planning a year)."""
_MEMO_LIMIT: Final[int] = 200_000


@dataclass(frozen=True)
class WarehouseSeed:
    """A warehouse and its trucks to the sorting centre, seeded when there is none."""

    code: str
    name: str
    lat: float
    lon: float
    is_default: bool
    hauls: tuple[tuple[Weekdays, time, timedelta], ...]
    handling: timedelta = timedelta(0)


DEFAULT_WAREHOUSES: Final[tuple[WarehouseSeed, ...]] = (
    # Podolsk, south of Moscow, where the big marketplace warehouses are: ~360 km by road to
    # the Ivanovo sorting centre (great circle x 1.3), 6 h at 60 km/h, 8 h with the driver's
    # rest stop and the unloading; leaves at the 16:00 cut-off, sorted by 04:00, in time for
    # every hub truck of the night.
    WarehouseSeed(
        "W-PODOLSK",
        "Склад маркетплейса, Подольск",
        55.43,
        37.54,
        True,
        ((EVERY_DAY, time(16, 0), timedelta(hours=8)),),
    ),
    # A regional warehouse in Ivanovo: a shuttle at noon and at 22:00, an hour each way.
    WarehouseSeed(
        "W-IVANOVO",
        "Склад маркетплейса, Иваново",
        56.97,
        41.05,
        False,
        (
            (EVERY_DAY, time(12, 0), timedelta(hours=1)),
            (EVERY_DAY, time(22, 0), timedelta(hours=1)),
        ),
    ),
)


# ---------------------------------------------------------------------------- small helpers


def _weekdays(text: str) -> Weekdays:
    return tuple(sorted(DAYS.index(t) for t in text.split("|") if t))


def _clock(value: time) -> str:
    return value.strftime("%H:%M") if not value.second else value.strftime("%H:%M:%S")


def _minutes(seconds: float) -> float:
    return round(seconds / 60.0, 4)


def _local_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def run_id(route_id: str, departure: datetime) -> str:
    """``<route_id>@<departure as UTC ISO 8601>``, e.g. ``DH-155650-V01@2026-11-26T05:00:00Z``."""
    return f"{route_id}@{departure.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def parse_run_id(value: str) -> tuple[str, datetime]:
    """(route id, departure in UTC) of a run id; 422 naming ``run_id`` when malformed."""
    route_id, sep, moment = value.rpartition("@")
    if not sep or not route_id:
        raise InvalidInput(f"{value!r} is not <route_id>@<departure ISO 8601>", field="run_id")
    try:
        departure = datetime.fromisoformat(moment.replace(" ", "+"))
    except ValueError:
        raise InvalidInput(f"{moment!r} is not an ISO 8601 moment", field="run_id") from None
    if departure.tzinfo is None:
        raise InvalidInput("the departure needs a UTC offset (or Z)", field="run_id")
    return route_id, departure.astimezone(UTC)


def parcel_litres(length_mm: int, width_mm: int, height_mm: int) -> float:
    """A parcel's outer volume in litres (its box, as it takes room in a van)."""
    return length_mm * width_mm * height_mm / 1_000_000.0


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

    def latest(self, earliest: datetime, after_miss: datetime | None, office: str) -> datetime:
        """The promise bound: earliest + buffer, or the next run's date if that is later,
        moved to the opening of the office's next open day when it falls on a day the
        office is closed (a weekday without hours or a public holiday)."""
        _, latest = quote_window(earliest, QUOTE_BUFFER)
        bound = latest if after_miss is None else max(latest, after_miss)
        target = self.network.offices[self.network.office_position[office]]
        calendar = holiday_calendar(self.network.holiday_country)
        return on_an_open_day(target.opening_hours, target.timezone, bound, calendar)


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
    return zones.get(hub.region_id, timetable.DEFAULT_TIMEZONE)


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


def _ensure_warehouses(session: Session, *, now: datetime, sorting_centre: Hub) -> None:
    """Seed ``DEFAULT_WAREHOUSES`` and their trucks when there is no warehouse at all."""
    if repository.warehouses(session):
        return
    zone = repository.region_timezones(session).get(
        sorting_centre.region_id, timetable.DEFAULT_TIMEZONE
    )
    for seed in DEFAULT_WAREHOUSES:
        row = Warehouse(
            code=seed.code,
            name=seed.name,
            lat=seed.lat,
            lon=seed.lon,
            timezone=zone,
            handling_s=int(seed.handling.total_seconds()),
            is_default=seed.is_default,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        for weekdays, departure, duration in seed.hauls:
            session.add(
                LineHaul(
                    code=f"{seed.code}->{sorting_centre.code}@{_clock(departure)}",
                    origin_warehouse_id=row.id,
                    origin_hub_id=None,
                    destination_hub_id=sorting_centre.id,
                    weekdays=weekday_names(weekdays),
                    departure=departure,
                    duration_s=int(duration.total_seconds()),
                    synthetic=True,
                )
            )
    session.flush()


def _hub_sites(district: Sequence[Hub], zones: dict[int, str]) -> HubSites:
    return HubSites(
        id=np.array([h.code for h in district]),
        lat=np.array([h.lat for h in district], dtype=np.float64),
        lon=np.array([h.lon for h in district], dtype=np.float64),
        office_index=np.array([h.index or "" for h in district]),
        timezone=np.array([_hub_zone(h, zones) for h in district]),
    )


def _store_hub_line_hauls(
    session: Session, hauls: Iterable[timetable.LineHaul], hub_ids: dict[str, int]
) -> None:
    repository.delete_hub_line_hauls(session)
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
    if any(h.origin_hub_id is not None for h in repository.line_hauls(session)):
        return
    zones = repository.region_timezones(session)
    hauls = hub_line_hauls(
        _hub_sites(district, zones), [_facility(h, _hub_zone(h, zones)) for h in sorting]
    )
    _store_hub_line_hauls(session, hauls, {h.code: h.id for h in [*sorting, *district]})


def _store_routes(session: Session, routes: Sequence[timetable.Route], *, now: datetime) -> None:
    """Replace the whole route timetable with ``routes``."""
    offices = repository.office_ids(session)
    hub_ids = {h.code: h.id for h in repository.hubs(session)}
    repository.delete_routes(session)
    session.flush()
    rows = []
    for route in routes:
        row = Route(
            code=route.id,
            hub_id=hub_ids[route.hub],
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
    offices = [o.index for o in repository.open_offices(session)]
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
    session: Session, *, now: datetime, seed: int = 0, replace_real: bool = False
) -> TimetableReport:
    """Make up the synthetic timetable (``routing.synthetic_network``) from the registry.

    Every open office gets a route from its hub (``routing.assign_hubs``: the parent office's
    hub where the data names one, else the nearest); the sorting centre -> hub trucks are
    regenerated too; warehouses are seeded if there are none. Refused (409) when the operator
    loaded real routes, unless ``replace_real``.
    """
    existing = repository.routes(session)
    real = [r for r in existing if not r.synthetic]
    if real and not replace_real:
        raise RealTimetableExists(len(real))
    sorting, district = _hub_rows(session)
    _ensure_warehouses(session, now=now, sorting_centre=sorting[0])
    zones = repository.region_timezones(session)
    offices = repository.open_offices(session)
    if not offices:
        raise InvalidInput("the registry has no open office: import a region first")
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
        warehouses=[_warehouse_facility(w) for w in repository.warehouses(session)],
        warehouse_line_hauls=(),
        office_timezones=[o.timezone for o in offices],
        seed=seed,
    )
    sorting_codes = {f.id for f in sorting_facilities}
    hub_ids = {h.code: h.id for h in [*sorting, *district]}
    _store_hub_line_hauls(
        session, (h for h in network.line_hauls if h.origin in sorting_codes), hub_ids
    )
    _store_routes(session, network.routes, now=now)
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
    _ensure_warehouses(session, now=now, sorting_centre=sorting[0])
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
        code = _hub_code(session, hub)
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
    row = Route(
        code=route.id,
        hub_id=hub.id,
        weekdays=weekday_names(route.weekdays),
        departure=route.departure,
        capacity_parcels=route.capacity_parcels,
        capacity_litres=route.capacity_litres,
        return_after_s=int(route.return_after.total_seconds()),
        runs_on_holidays=route.runs_on_holidays,
        synthetic=False,
        vehicle=route.vehicle,
        updated_at=now,
    )
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
    _ensure_warehouses(session, now=now, sorting_centre=sorting[0])
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


# ---------------------------------------------------------------------------- quotes, promises


def _warehouse(loaded: LoadedTimetable, code: str | None) -> str:
    if code is None:
        if loaded.default_warehouse is None:
            raise UnknownWarehouse("(default)")
        return loaded.default_warehouse
    if code not in {w.id for w in loaded.network.warehouses}:
        raise UnknownWarehouse(code)
    return code


def _distance_m(loaded: LoadedTimetable, warehouse: str, office: str) -> float:
    lat, lon = loaded.facility_position_m[warehouse]
    target = loaded.network.offices[loaded.network.office_position[office]]
    matrix = GreatCircleDistance().matrix_m([lat], [lon], [target.lat], [target.lon])
    return float(matrix[0, 0])


def _window(
    loaded: LoadedTimetable, warehouse: str, handover: datetime, office: str
) -> tuple[datetime, datetime, RouteRun] | None:
    earliest, run = loaded.earliest(warehouse, handover, office)
    if earliest is None or run is None:
        return None
    after_miss, _ = loaded.earliest(warehouse, handover, office, skip_runs=1)
    return earliest, loaded.latest(earliest, after_miss, office), run


def quote(
    session: Session,
    *,
    marketplace_id: int,
    request: QuoteRequest,
    now: datetime,
    tariff: Tariff = DEFAULT_TARIFF,
) -> QuoteRead:
    """Price and delivery window of a parcel handed over at ``request.handover_at`` (or now).

    Refused with 422 naming the field: an unknown, closed or not-serving office
    (``destination_index``), a parcel the office cannot take (``weight_g``, ``length_mm``),
    COD above the declared value (``cod_kop``), an unknown warehouse, or an office no route
    serves; 503 without a timetable.
    """
    index = request.destination_index
    office = repository.office_by_index(session, index)
    if office is None:
        raise InvalidInput(f"no post office has index {index}", field="destination_index")
    if office.status != "open":
        raise InvalidInput(f"office {index} is {office.status}", field="destination_index")
    if not repository.serves(session, office_id=office.id, marketplace_id=marketplace_id):
        raise InvalidInput(
            f"office {index} does not serve this marketplace", field="destination_index"
        )
    if request.cod_kop > request.declared_value_kop:
        raise InvalidInput(
            f"cod_kop {request.cod_kop} exceeds declared_value_kop {request.declared_value_kop}",
            field="cod_kop",
        )
    if request.weight_g > office.max_weight_g:
        raise InvalidInput(
            f"{request.weight_g} g exceeds office {index}'s limit of {office.max_weight_g} g",
            field="weight_g",
        )
    size = ParcelSize(request.weight_g, request.length_mm, request.width_mm, request.height_mm)
    capacity = OfficeCapacity(
        office.max_weight_g,
        office.max_length_mm,
        office.max_width_mm,
        office.max_height_mm,
        office.cells_s,
        office.cells_m,
        office.cells_l,
    )
    if not parcel_fits(size, capacity):
        raise InvalidInput(
            f"the parcel does not fit office {index}'s largest cell", field="length_mm"
        )
    handover = (request.handover_at or now).astimezone(UTC)
    if not now - HANDOVER_PAST <= handover <= now + HANDOVER_FUTURE:
        raise InvalidInput(
            f"handover_at must lie between {HANDOVER_PAST.days} days ago and "
            f"{HANDOVER_FUTURE.days} days ahead",
            field="handover_at",
        )
    loaded = current_timetable(session)
    warehouse = _warehouse(loaded, request.warehouse)
    if index not in loaded.network.office_position:
        raise OfficeNotServed(index)
    window = _window(loaded, warehouse, handover, index)
    if window is None:
        raise OfficeNotServed(index)
    earliest, latest, run = window
    zone = loaded.office_timezone(index)
    cost = price(
        tariff,
        distance_m=_distance_m(loaded, warehouse, index),
        weight_g=request.weight_g,
        length_mm=request.length_mm,
        width_mm=request.width_mm,
        height_mm=request.height_mm,
        declared_value_kop=request.declared_value_kop,
        cod_kop=request.cod_kop,
    )
    return QuoteRead(
        destination_index=index,
        price_kop=cost.total_kop,
        earliest=earliest,
        latest=latest,
        promised_date=_local_date(latest, zone),
        route_id=run.route_id,
        departure=run.departure,
        warehouse=warehouse,
        handover_at=handover,
        timezone=zone,
        price=PriceBreakdown(
            base_kop=cost.base_kop,
            cod_fee_kop=cost.cod_fee_kop,
            insurance_kop=cost.insurance_kop,
            zone=cost.zone,
            chargeable_weight_g=cost.chargeable_weight_g,
            distance_km=round(cost.distance_m / 1000.0, 1),
        ),
    )


def promised_date(
    session: Session, *, office_index: str, handover: datetime, warehouse: str | None = None
) -> date | None:
    """The promised date for a parcel handed over now: the local date of the quote's latest.

    ``None`` when there is no timetable or no route serves the office.
    """
    return promised_dates(session, now=handover, warehouse=warehouse)(office_index)


def promised_dates(
    session: Session, *, now: datetime, warehouse: str | None = None
) -> Callable[[str], date | None]:
    """A function office index -> promised date for parcels handed over ``now`` (the default
    warehouse unless named); it answers ``None`` without a timetable or a serving route.

    ``shipment.service.create_shipments(promise=...)`` calls it for every new shipment.
    """
    loaded = CACHE.get(session)
    if loaded is None or (warehouse is None and loaded.default_warehouse is None):
        return lambda _index: None
    origin = warehouse or loaded.default_warehouse
    assert origin is not None
    answers: dict[str, date | None] = {}

    def promise(index: str) -> date | None:
        if index not in answers:
            answers[index] = None
            if index in loaded.network.office_position:
                try:
                    window = _window(loaded, origin, now, index)
                except ValueError:  # an unknown warehouse: no promise rather than no shipment
                    window = None
                if window is not None:
                    answers[index] = _local_date(window[1], loaded.office_timezone(index))
        return answers[index]

    return promise


# ---------------------------------------------------------------------------- dispatch


@dataclass(frozen=True)
class _Parcel:
    row: repository.WaitingRow
    handover: datetime
    litres: float
    first_run: RouteRun | None

    @property
    def order(self) -> tuple[date, datetime, int]:
        return (self.row.promised_date or date.max, self.handover, self.row.shipment_id)


def _first_run(loaded: LoadedTimetable, handover: datetime, office_index: str) -> RouteRun | None:
    """The run that first carries a parcel handed over at ``handover`` to the office."""
    warehouse = loaded.default_warehouse
    if warehouse is None or office_index not in loaded.network.office_position:
        return None
    return loaded.earliest(warehouse, handover, office_index)[1]


def _waiting(
    session: Session, loaded: LoadedTimetable, offices: Iterable[str] | None = None
) -> list[_Parcel]:
    rows = repository.waiting_parcels(session, None if offices is None else set(offices))
    # Parcels handed over together for one office share their first run: one lookup each.
    first: dict[tuple[datetime, str], RouteRun | None] = {}
    parcels = []
    for row in rows:
        handover = row.handed_over_at or row.created_at
        key = (handover, row.office_index)
        if key not in first:
            first[key] = _first_run(loaded, handover, row.office_index)
        parcels.append(
            _Parcel(
                row,
                handover,
                parcel_litres(row.length_mm, row.width_mm, row.height_mm),
                first[key],
            )
        )
    return parcels


def _check_run(loaded: LoadedTimetable, route_id: str, departure: datetime) -> timetable.Route:
    route = loaded.route(route_id)
    try:
        actual = next_run(loaded.network, route_id, departure, strict=False)
    except ValueError as exc:  # a moment outside the holiday calendar's years
        raise RouteRunNotFound(run_id(route_id, departure), str(exc)) from None
    if actual.departure != departure:
        raise RouteRunNotFound(
            run_id(route_id, departure),
            f"the next run of {route_id} leaves at {actual.departure.isoformat()}",
        )
    return route


def _rolled_promise(
    loaded: LoadedTimetable, route_id: str, to: RouteRun, office: str
) -> tuple[date | None, date | None]:
    """(local date the parcel is ready on run ``to``, the promise recomputed from ``to``)."""
    ready = loaded.ready_on(to, office)
    if ready is None:
        return None, None
    after = loaded.ready_on(next_run(loaded.network, route_id, to.departure), office)
    zone = loaded.office_timezone(office)
    return _local_date(ready, zone), _local_date(loaded.latest(ready, after, office), zone)


def _manifest(
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    lines: list[ManifestLine],
    rolled: list[RolledLine],
    *,
    stored: bool,
    departed: bool,
) -> ManifestRead:
    per_office: dict[str, int] = {}
    for line in lines:
        per_office[line.office_index] = per_office.get(line.office_index, 0) + 1
    return ManifestRead(
        id=run_id(route.id, departure),
        route_id=route.id,
        hub=route.hub,
        hub_name=loaded.hub_name.get(route.hub, route.hub),
        vehicle=route.vehicle,
        timezone=loaded.facility_timezone[route.hub],
        departure=departure,
        return_at=departure + route.return_after,
        capacity_parcels=route.capacity_parcels,
        capacity_litres=route.capacity_litres,
        parcels=len(lines),
        litres=round(sum(line.litres for line in lines), 3),
        weight_g=sum(line.weight_g for line in lines),
        stored=stored,
        departed=departed,
        stops=[
            ManifestStop(
                seq=n,
                office_index=stop.office,
                office_name=loaded.office_name.get(stop.office, ""),
                arrival_at=departure + stop.arrival,
                parcels=per_office.get(stop.office, 0),
            )
            for n, stop in enumerate(route.stops, start=1)
        ],
        lines=lines,
        rolled=rolled,
    )


def _stored_manifest(
    session: Session, loaded: LoadedTimetable, route: timetable.Route, departure: datetime
) -> ManifestRead | None:
    rows = repository.run_lines(session, route.id, departure)
    if not rows:
        return None
    lines = [
        ManifestLine(
            tracking_number=s.tracking_number,
            external_order_id=s.external_order_id,
            marketplace=code,
            office_index=e.office_index,
            office_name=name,
            stop_seq=e.stop_seq,
            arrival_at=e.arrival_at,
            litres=round(e.litres, 3),
            weight_g=s.weight_g,
            cod_kop=s.cod_kop,
            promised_date=e.promised_date,
        )
        for e, s, code, name in rows
        if e.status == "loaded"
    ]
    rolled = [
        RolledLine(
            tracking_number=s.tracking_number,
            office_index=e.office_index,
            next_departure=e.rolled_to or departure,
            promised_date=s.promised_date,
            promised_date_changed=e.promised_date != s.promised_date,
        )
        for e, s, _code, _name in rows
        if e.status == "rolled"
    ]
    departed = any(e.departed_at is not None for e, _s, _c, _n in rows)
    return _manifest(loaded, route, departure, lines, rolled, stored=True, departed=departed)


@dataclass
class _RunLoad:
    """What one route run takes: the parcels loaded and rolled, the run they roll to, the
    promises that move, and the parcels' plans on other runs still to leave."""

    loaded: list[_Parcel]
    rolled: list[_Parcel]
    following: RouteRun | None
    new_promise: dict[int, date]
    rolled_lines: list[RolledLine]
    elsewhere: list[ManifestEntry]


def _load_run(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    waiting: Iterable[_Parcel],
    *,
    now: datetime,
) -> _RunLoad:
    """Load the run: waiting parcels whose first run it is (or an earlier one of the route),
    oldest promise first, within capacity; the rest rolls to the next run."""
    candidates = [
        p
        for p in waiting
        if p.first_run is not None
        and p.first_run.route_id == route.id
        and p.first_run.departure <= departure
    ]
    elsewhere = repository.planned_elsewhere(
        session, [p.row.shipment_id for p in candidates], route.id, departure
    )
    # A parcel already planned on an earlier run still to come stays there.
    held = {
        e.shipment_id
        for e in elsewhere
        if now < e.departure < departure and e.route_code in loaded.network.route_position
    }
    candidates = sorted(
        (p for p in candidates if p.row.shipment_id not in held), key=lambda p: p.order
    )
    loaded_parcels: list[_Parcel] = []
    rolled_parcels: list[_Parcel] = []
    count, litres = 0, 0.0
    for parcel in candidates:
        if count + 1 <= route.capacity_parcels and litres + parcel.litres <= route.capacity_litres:
            loaded_parcels.append(parcel)
            count += 1
            litres += parcel.litres
        else:
            rolled_parcels.append(parcel)
    following = next_run(loaded.network, route.id, departure) if rolled_parcels else None
    rolled: list[RolledLine] = []
    new_promise: dict[int, date] = {}
    promises: dict[str, tuple[date | None, date | None]] = {}  # by office: one run for all
    for parcel in rolled_parcels:
        assert following is not None
        office = parcel.row.office_index
        if office not in promises:
            promises[office] = _rolled_promise(loaded, route.id, following, office)
        ready_day, recomputed = promises[office]
        before = parcel.row.promised_date
        changed = recomputed is not None and (
            before is None or (ready_day is not None and ready_day > before)
        )
        if changed:
            assert recomputed is not None
            new_promise[parcel.row.shipment_id] = recomputed
        rolled.append(
            RolledLine(
                tracking_number=parcel.row.tracking_number,
                office_index=parcel.row.office_index,
                next_departure=following.departure,
                promised_date=new_promise.get(parcel.row.shipment_id, before),
                promised_date_changed=changed,
            )
        )
    return _RunLoad(loaded_parcels, rolled_parcels, following, new_promise, rolled, elsewhere)


def _plan(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    *,
    now: datetime,
    persist: bool,
) -> ManifestRead:
    """Load the run (``_load_run``) from the parcels waiting for its offices; store it."""
    stops = loaded.stop_of[route.id]
    load = _load_run(session, loaded, route, departure, _waiting(session, loaded, stops), now=now)
    lines = [
        ManifestLine(
            tracking_number=p.row.tracking_number,
            external_order_id=p.row.external_order_id,
            marketplace=p.row.marketplace,
            office_index=p.row.office_index,
            office_name=p.row.office_name,
            stop_seq=stops[p.row.office_index][0],
            arrival_at=departure + stops[p.row.office_index][1],
            litres=round(p.litres, 3),
            weight_g=p.row.weight_g,
            cod_kop=p.row.cod_kop,
            promised_date=p.row.promised_date,
        )
        for p in _in_stop_order(stops, load.loaded)
    ]
    if persist:
        _persist(session, loaded, route, departure, load, now=now)
    return _manifest(
        loaded, route, departure, lines, load.rolled_lines, stored=persist, departed=False
    )


def _in_stop_order(
    stops: dict[str, tuple[int, timedelta]], parcels: Iterable[_Parcel]
) -> list[_Parcel]:
    return sorted(parcels, key=lambda p: (stops[p.row.office_index][0], p.order))


def _persist(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    load: _RunLoad,
    *,
    now: datetime,
) -> None:
    stops = loaded.stop_of[route.id]
    following = load.following
    # Re-planning replaces the run's entries; a parcel moved here leaves its later run.
    moved = {p.row.shipment_id for p in load.loaded}
    stale = repository.run_entry_ids(session, route.id, departure)
    stale += [e.id for e in load.elsewhere if e.departure > departure and e.shipment_id in moved]
    repository.delete_entries(session, stale)
    session.flush()
    rows = []
    for status, parcels in (("loaded", load.loaded), ("rolled", load.rolled)):
        for p in parcels:
            seq, arrival = stops[p.row.office_index]
            rows.append(
                {
                    "route_code": route.id,
                    "departure": departure,
                    "hub_code": route.hub,
                    "shipment_id": p.row.shipment_id,
                    "office_index": p.row.office_index,
                    "stop_seq": seq,
                    "arrival_at": departure + arrival,
                    "litres": p.litres,
                    "status": status,
                    "promised_date": p.row.promised_date,
                    "rolled_to": following.departure if status == "rolled" and following else None,
                    "departed_at": None,
                    "arrived_at": None,
                    "planned_at": now,
                }
            )
    if rows:
        session.execute(insert(ManifestEntry), rows)
    if not load.new_promise:
        session.flush()
        return
    assert following is not None
    shipments = repository.shipments_by_id(session, list(load.new_promise))
    events: list[notify_service.MarketplaceEvent] = []
    for shipment_id, promise in load.new_promise.items():
        shipment = shipments[shipment_id]
        before = shipment.promised_date
        shipment.promised_date = promise
        shipment.updated_at = now
        events.append(
            notify_service.MarketplaceEvent(
                shipment.marketplace_id,
                "shipment.promised_date_changed",
                {
                    "tracking_number": shipment.tracking_number,
                    "external_order_id": shipment.external_order_id,
                    "promised_date": promise,
                    "previous_promised_date": before,
                    "reason": "route_run_full",
                    "route_id": route.id,
                    "missed_departure": departure,
                    "next_departure": following.departure,
                },
            )
        )
    notify_service.publish_many(session, events=events, now=now)
    session.flush()


def build_manifest(
    session: Session, *, route_id: str, departure: datetime, now: datetime
) -> ManifestRead:
    """Plan (or re-plan) one route run's manifest and store it; a run that left is kept as is.

    Parcels that do not fit roll to the next run; a parcel that the next run makes later than
    its promised date gets a recomputed promise and its marketplace a
    ``shipment.promised_date_changed`` webhook.
    """
    loaded = current_timetable(session)
    departure = departure.astimezone(UTC)
    route = _check_run(loaded, route_id, departure)
    repository.lock_timetable(session)  # one planner at a time (the worker takes it too)
    stored = _stored_manifest(session, loaded, route, departure)
    if stored is not None and stored.departed:
        return stored
    return _plan(session, loaded, route, departure, now=now, persist=True)


def get_manifest(
    session: Session, *, route_id: str, departure: datetime, now: datetime
) -> ManifestRead:
    """A run's manifest as stored, or a preview of it (``stored`` false) if none is yet."""
    loaded = current_timetable(session)
    departure = departure.astimezone(UTC)
    route = _check_run(loaded, route_id, departure)
    stored = _stored_manifest(session, loaded, route, departure)
    if stored is not None:
        return stored
    return _plan(session, loaded, route, departure, now=now, persist=False)


def _hub_code(session: Session, hub: str) -> str:
    district = [h for h in repository.hubs(session) if h.kind == DISTRICT_HUB_KIND]
    for h in district:
        if hub in (h.code, h.index):
            return h.code
    raise UnknownHub(hub)


def _runs_on(
    loaded: LoadedTimetable, day: date, hub: str | None
) -> list[tuple[timetable.Route, datetime]]:
    runs = []
    for route in loaded.network.routes:
        if hub is not None and route.hub != hub:
            continue
        zone = ZoneInfo(loaded.facility_timezone[route.hub])
        start = datetime.combine(day, time(0), tzinfo=zone)
        run = next_run(loaded.network, route.id, start, strict=False)
        if run.departure.astimezone(zone).date() == day:
            runs.append((route, run.departure))
    return sorted(runs, key=lambda r: (r[1], r[0].id))


def list_route_runs(session: Session, *, day: date, hub: str | None = None) -> list[RouteRunRead]:
    """The route runs leaving on a local day (optionally from one hub), with their manifests."""
    loaded = current_timetable(session)
    code = None if hub is None else _hub_code(session, hub)
    try:
        runs = _runs_on(loaded, day, code)
    except ValueError as exc:  # a day outside the holiday calendar's years
        raise InvalidInput(str(exc), field="date") from None
    if not runs:
        return []
    stats = repository.run_stats(
        session, min(d for _, d in runs), max(d for _, d in runs) + timedelta(seconds=1)
    )
    result = []
    for route, departure in runs:
        found = stats.get((route.id, departure))
        zone = ZoneInfo(loaded.facility_timezone[route.hub])
        result.append(
            RouteRunRead(
                id=run_id(route.id, departure),
                route_id=route.id,
                hub=route.hub,
                departure=departure,
                departure_local=departure.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                vehicle=route.vehicle,
                stops=len(route.stops),
                capacity_parcels=route.capacity_parcels,
                capacity_litres=route.capacity_litres,
                manifest="none" if found is None else "departed" if found.departed else "planned",
                parcels=0 if found is None else found.parcels,
                litres=0.0 if found is None else round(found.litres, 3),
            )
        )
    return result


def build_manifests(session: Session, *, day: date, hub: str, now: datetime) -> list[ManifestRead]:
    """Plan every run of a hub leaving on a local day, in departure order."""
    loaded = current_timetable(session)
    code = _hub_code(session, hub)
    return [
        build_manifest(session, route_id=route.id, departure=departure, now=now)
        for route, departure in _runs_on(loaded, day, code)
    ]


# ---------------------------------------------------------------------------- the worker


_ON_THE_WAY: Final[frozenset[str]] = frozenset({Status.HANDED_OVER, Status.IN_TRANSIT})


def _depart(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    parcels: Sequence[_Parcel],
    now: datetime,
) -> int:
    """The run leaves with ``parcels`` (its loaded entries, just planned): its entries are
    marked departed and ``departed_hub`` is recorded, in one batch, for every parcel whose
    hub did not scan it already."""
    repository.mark_departed(session, route.id, departure)
    ids = [p.row.shipment_id for p in parcels]
    # A departure recorded before the parcel was mis-sorted belongs to its earlier trip.
    departed = repository.latest_event_of(session, ids, "departed_hub")
    missorted = repository.latest_event_of(session, ids, "missorted")
    already = {i for i, at in departed.items() if i not in missorted or at > missorted[i]}
    raw = {"route_id": route.id, "departure": departure.isoformat()}
    scans = [
        shipment_service.Scan(
            p.row.tracking_number,
            "departed_hub",
            departure,
            office_index=loaded.hub_postal_index.get(route.hub),
            actor=ACTOR,
            raw=raw,
        )
        for p in _in_stop_order(loaded.stop_of[route.id], parcels)
        if p.row.shipment_id not in already and p.row.status in _ON_THE_WAY
    ]
    return _record_scans(session, scans, now)


def _record_scans(session: Session, scans: list[shipment_service.Scan], now: datetime) -> int:
    """Record the worker's scans in one batch; return how many were recorded."""
    outcomes = shipment_service.record_scans(session, scans=scans, now=now)
    for scan, outcome in zip(scans, outcomes, strict=True):
        if outcome.error is not None:  # pragma: no cover - the status was checked before
            log.warning("%s of %s not recorded: %s", scan.code, scan.tracking_number, outcome.error)
    return sum(1 for o in outcomes if o.error is None)


def _arrive(session: Session, now: datetime, limit: int | None = None) -> int:
    """Every van that reached an office by ``now``: ``arrived_at_office`` at the stop's time,
    in one batch, for parcels still on the way that the office did not scan itself."""
    cap = ARRIVALS_PER_PASS if limit is None else min(limit, ARRIVALS_PER_PASS)
    arrivals = repository.due_arrivals(session, now, cap)
    if not arrivals:
        return 0
    repository.mark_arrived(session, [a.entry_id for a in arrivals])
    ids = [a.shipment_id for a in arrivals]
    already = repository.shipments_with_event(session, ids, "arrived_at_office")
    # A parcel an office scanned as mis-sorted after its van left did not reach its office
    # on that van: it is back at the hub and waits for the next run.
    missorted = repository.latest_event_of(session, ids, "missorted")
    scans = [
        shipment_service.Scan(
            a.tracking_number,
            "arrived_at_office",
            a.arrival_at,
            office_index=a.office_index,
            actor=ACTOR,
            raw={"route_id": a.route_code, "departure": a.departure.isoformat()},
        )
        for a in arrivals
        if a.shipment_id not in already
        and a.status in _ON_THE_WAY
        and not (a.shipment_id in missorted and missorted[a.shipment_id] >= a.departure)
    ]
    return _record_scans(session, scans, now)


def record_arrivals(session: Session, now: datetime) -> int:
    """The arrival half of ``advance_parcels``: ``arrived_at_office`` for every van that has
    reached its office by ``now``; return how many events were recorded."""
    if CACHE.get(session) is None:
        return 0
    repository.lock_timetable(session)
    return _arrive(session, now)


def pending_arrivals(session: Session) -> list[datetime]:
    """When each parcel on a van that left reaches its office, earliest first (one moment
    per parcel, in the order passes record them, ``ARRIVALS_PER_PASS`` at a time). Only a
    departure adds to it."""
    return repository.pending_arrival_times(session)


def next_departure(session: Session, after: datetime) -> datetime | None:
    """When the first route run leaves after ``after`` (``None`` with no timetable or
    routes). Until then ``advance_parcels`` can depart only parcels handed over meanwhile."""
    loaded = CACHE.get(session)
    if loaded is None or not loaded.network.routes:
        return None
    return min(next_run(loaded.network, r.id, after).departure for r in loaded.network.routes)


def advance_parcels(session: Session, now: datetime, *, limit: int | None = None) -> int:
    """Move parcels along the timetable up to ``now`` (a timed worker job); return how many
    tracking events were recorded. ``limit`` bounds the runs departed and the arrivals
    recorded in one pass (call again while it returns at least ``limit``).

    Every run that has left by ``now`` and carries waiting parcels is planned (unless it
    was) and departed: ``departed_hub`` at its departure; every van that has reached its
    office gives ``arrived_at_office`` at the stop's time. Runs are taken in time order, so
    after downtime (or a jump of virtual time) the parcels walk the same path they would
    have. Safe to run twice and from several workers (the timetable row is locked).

    Set-based: which runs are due comes from the waiting parcels counted per office and
    hand-over time (one grouped query); only a route with a run to plan reads its parcels,
    once per pass, and each run is planned, stored and departed in a few statements (its
    scans in one ``record_scans`` batch), the same plan ``build_manifest`` makes.
    """
    loaded = CACHE.get(session)
    if loaded is None:
        return 0
    repository.lock_timetable(session)
    due: dict[str, set[datetime]] = {}
    for office_index, handover in repository.waiting_groups(session):
        run = _first_run(loaded, handover, office_index)
        if run is not None and run.departure <= now:
            due.setdefault(run.route_id, set()).add(run.departure)
    recorded = 0
    departed_runs = 0
    for route_id in sorted(due):
        if limit is not None and departed_runs >= limit:
            break
        route = loaded.route(route_id)
        pending = sorted(due[route_id])
        departure = pending[0]
        waiting: dict[int, _Parcel] | None = None  # the route's parcels, read when needed
        planned = 0
        while planned < MAX_RUNS_PER_PASS and (limit is None or departed_runs < limit):
            departed = repository.run_departed(session, route_id, departure)
            rolled = False
            if not departed:
                planned += 1
                departed_runs += 1
                if waiting is None:
                    stops = loaded.stop_of[route_id]
                    waiting = {p.row.shipment_id: p for p in _waiting(session, loaded, stops)}
                load = _load_run(session, loaded, route, departure, waiting.values(), now=now)
                _persist(session, loaded, route, departure, load, now=now)
                recorded += _depart(session, loaded, route, departure, load.loaded, now)
                for parcel in load.loaded:
                    del waiting[parcel.row.shipment_id]
                for shipment_id, promise in load.new_promise.items():
                    parcel = waiting[shipment_id]
                    waiting[shipment_id] = replace(
                        parcel, row=replace(parcel.row, promised_date=promise)
                    )
                rolled = bool(load.rolled)
            later = [d for d in pending if d > departure]
            if rolled or departed:
                # Parcels that did not fit, or reached the hub after a run left without them
                # (a hand-over recorded late), go on the next run.
                later.append(next_run(loaded.network, route_id, departure).departure)
            if not later or min(later) > now:
                break
            departure = min(later)
    return recorded + _arrive(session, now, limit)
