"""The delivery-date (ETA) kernel: when is a parcel handed over at a warehouse ready for pickup?

Pure and vectorised: numpy, ``holidays`` and the standard library; no database, no web code.
One call answers for every office of the network (or a chosen subset) at once.

Public API
==========

``earliest_ready(network, warehouse, handover_at, offices=None, *, skip_runs=0) -> EtaResult``
    For a parcel handed over at ``warehouse`` (a facility id) at ``handover_at``, the
    earliest moment it is ready for pickup at each office, and the route run that carries it.
``ready_from_run(network, run, offices=None) -> EtaResult``
    When parcels loaded on a given route run are ready at that route's offices.
``next_run(network, route_id, after, *, strict=True) -> RouteRun``
    The first run of a route departing after ``after`` (or at it, ``strict=False``); public
    holidays skipped unless the route runs on them.
``quote_window(earliest, buffer=DEFAULT_QUOTE_BUFFER) -> (earliest, latest)``
    The window a marketplace shows: the earliest date and a buffered latest one.
``compile_network(network) -> CompiledNetwork``
    The arrays the kernel works on; built on first use and cached per ``Network`` object.

Times
-----
Results are **UTC epoch seconds** in ``int64`` arrays: ``EtaResult.ready_s``,
``arrival_s``, ``departure_s``. "No such moment" (an office no route serves, a hub no
line-haul reaches) is ``NEVER``, numpy's NaT bit pattern, so ``EtaResult.ready`` (a
``datetime64[s]`` view of the same memory) shows NaT there; ``EtaResult.ready_at(i)`` gives
an aware UTC ``datetime`` or ``None``. ``handover_at`` is an aware ``datetime``, epoch seconds
or a ``numpy.datetime64`` (UTC). Local wall-clock rules (departures, opening hours, holidays)
use each facility's or office's zone as a fixed UTC offset (``selpo.logistics.calendar``).

The model
---------
1. ``ready[warehouse] = handover + warehouse.handling`` (loading cut-off).
2. Line-hauls: a facility's ready time is the earliest over the line-hauls reaching it of
   ``next departure at or after the origin's ready time + duration + destination.handling``
   (sorting at the sorting centre, cross-docking at a hub). This is an earliest-arrival
   search over a timetable, run as vectorised label-correcting rounds over every line-haul
   at once until nothing improves (as many rounds as the longest chain: three here).
   Line-hauls run on public holidays.
3. Routes: each route's run is its first departure at or after its hub's ready time
   (``skip_runs`` later ones skipped), on its weekdays at its local departure time, public
   holidays skipped unless ``runs_on_holidays``. A per-route table of the week's departures
   makes this one vectorised step for all routes.
4. Offices: the van arrives at ``departure + stop.arrival``; the parcel is ready once the
   office has been open for ``network.shelving`` (default 1 h) since then, counted in
   opening hours only, never on a holiday (``OpeningTable.ready_local``: a per-office weekly
   interval table and the holiday calendar). An office on several routes takes the earliest.

Guarantees (property-tested): the ready moment is never before the hand-over; it lies in
the office's opening hours on a day that is not a holiday; a later hand-over never gives an
earlier ready moment (every step is a non-decreasing function of its input).

Capacity is not the kernel's business: a run that is full is the service's to detect (it
counts parcels booked per route run). For a parcel that rolls over, ``next_run`` gives the
following run and ``ready_from_run`` the dates on it; ``skip_runs=1`` answers "what if the
first run is missed" for every office at once.

For the DB-backed service
-------------------------
Build a ``Network`` per data version from the tables (``hub`` rows -> ``Facility``: kind
``regional_sorting_centre`` a sorting centre, ``district_hub`` a hub; open post offices ->
``Office`` with their ``opening_hours`` and ``timezone``; routes from the operator's CSV,
``timetable.read_routes_csv``, or ``routing.synthetic_network`` until one exists; the
marketplaces' warehouses and line-hauls from configuration), keep it keyed on
``network_version`` like the pickup-point index (the compiled arrays are cached per
``Network`` object, so build it once per version), and call ``earliest_ready`` per quote.
``EtaResult`` maps positions back to postal indices (``network.offices[i].index``) and route
runs (``EtaResult.run(i)``), which the service counts against ``Route.capacity_parcels`` and
``capacity_litres``.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final, overload

import numpy as np
from numpy.typing import NDArray

from selpo.logistics.calendar import (
    DAY_S,
    NEVER,
    WEEK_S,
    HolidayCalendar,
    OpeningTable,
    holiday_calendar,
    utc_offset_s,
    weekday_of_day,
)
from selpo.logistics.timetable import Network, RouteRun, Weekdays, epoch_s, from_epoch_s

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
PositionArray = NDArray[np.intp]

DEFAULT_QUOTE_BUFFER: Final[timedelta] = timedelta(days=2)
"""Latest = earliest + 2 days: absorbs a missed daily run and a day's slack on the roads.
A village served twice a week loses up to 4 days to one missed run; a service that wants the
latest date to cover that uses ``earliest_ready(..., skip_runs=1)`` as the latest instead."""

_INF: Final[int] = int(np.iinfo(np.int64).max)
# Padding of weekly departure tables: far beyond any real offset, still safe to add a week to.
_NO_DEPARTURE: Final[int] = 1 << 50
# Consecutive holidays a route run may be pushed past before we give up (New Year: ~10).
_MAX_HOLIDAY_SKIPS: Final[int] = 60


@dataclass(frozen=True, eq=False)
class CompiledNetwork:
    """A ``Network`` as arrays (positions as in the network's tuples); see ``compile_network``."""

    facility_ids: tuple[str, ...]
    facility_offset: IntArray
    facility_handling: IntArray
    haul_origin: PositionArray
    haul_destination: PositionArray
    haul_duration: IntArray
    haul_table: IntArray  # (hauls, 7): departures as local seconds since Monday 00:00
    haul_offset: IntArray
    route_ids: tuple[str, ...]
    route_hub: PositionArray  # facility position
    route_table: IntArray
    route_offset: IntArray
    route_skips_holidays: BoolArray
    stop_route: PositionArray
    stop_office: PositionArray
    stop_arrival: IntArray
    office_stops_start: PositionArray  # stops of office i: stop_order[start[i]:start[i + 1]]
    stop_order: PositionArray
    office_offset: IntArray
    opening: OpeningTable
    calendar: HolidayCalendar
    shelving_s: int

    @property
    def office_count(self) -> int:
        """Offices in the network."""
        return int(self.office_offset.shape[0])


@dataclass(frozen=True, eq=False)
class EtaResult:
    """Per office asked about: ready moment, van arrival, route run (see the module doc).

    Arrays are parallel to ``offices`` (positions in ``network.offices``); times are UTC
    epoch seconds with ``NEVER`` (NaT) for offices no run reaches; ``route`` is a position in
    ``network.routes`` or -1.
    """

    offices: PositionArray
    ready_s: IntArray
    arrival_s: IntArray
    departure_s: IntArray
    route: PositionArray
    route_ids: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.offices.shape[0])

    @property
    def ready(self) -> NDArray[np.datetime64]:
        """``ready_s`` as ``datetime64[s]`` (UTC), NaT where no run reaches the office."""
        return self.ready_s.view("datetime64[s]")

    @property
    def reachable(self) -> BoolArray:
        """Which offices a run reaches."""
        result: BoolArray = self.ready_s != NEVER
        return result

    def ready_at(self, i: int) -> datetime | None:
        """Ready moment of the ``i``-th office asked about, aware UTC, or ``None``."""
        value = int(self.ready_s[i])
        return None if value == NEVER else from_epoch_s(value)

    def run(self, i: int) -> RouteRun | None:
        """The route run carrying the parcel to the ``i``-th office asked about."""
        route = int(self.route[i])
        if route < 0:
            return None
        return RouteRun(self.route_ids[route], from_epoch_s(int(self.departure_s[i])))


def _weekly_table(rows: Sequence[tuple[Weekdays, int]]) -> IntArray:
    table = np.full((len(rows), 7), _NO_DEPARTURE, dtype=np.int64)
    for r, (weekdays, clock_s) in enumerate(rows):
        table[r, : len(weekdays)] = [d * DAY_S + clock_s for d in weekdays]
    return table


def _clock_s(value: time) -> int:
    return value.hour * 3_600 + value.minute * 60 + value.second


def _seconds(value: timedelta) -> int:
    return int(value.total_seconds())


_CACHE: weakref.WeakKeyDictionary[Network, CompiledNetwork] = weakref.WeakKeyDictionary()


def compile_network(network: Network) -> CompiledNetwork:
    """The network's arrays; built once per ``Network`` object and cached."""
    cached = _CACHE.get(network)
    if cached is None:
        cached = _compile(network)
        _CACHE[network] = cached
    return cached


def _compile(network: Network) -> CompiledNetwork:
    facilities = network.facilities
    position = network.facility_position
    offset_of = {tz: utc_offset_s(tz) for tz in {f.timezone for f in facilities}}
    facility_offset = np.array([offset_of[f.timezone] for f in facilities], dtype=np.int64)
    hauls = network.line_hauls
    routes = network.routes
    offices = network.offices
    office_position = network.office_position

    stop_route: list[int] = []
    stop_office: list[int] = []
    stop_arrival: list[int] = []
    for r, route in enumerate(routes):
        for stop in route.stops:
            stop_route.append(r)
            stop_office.append(office_position[stop.office])
            stop_arrival.append(_seconds(stop.arrival))
    stop_office_arr = np.array(stop_office, dtype=np.intp)
    stop_order = np.argsort(stop_office_arr, kind="stable").astype(np.intp)
    counts = np.bincount(stop_office_arr, minlength=len(offices))
    starts = np.zeros(len(offices) + 1, dtype=np.intp)
    np.cumsum(counts, out=starts[1:])

    zones = {o.timezone for o in offices}
    offset_of.update({tz: utc_offset_s(tz) for tz in zones - offset_of.keys()})
    route_hub = np.array([position[r.hub] for r in routes], dtype=np.intp)
    return CompiledNetwork(
        facility_ids=tuple(f.id for f in facilities),
        facility_offset=facility_offset,
        facility_handling=np.array([_seconds(f.handling) for f in facilities], dtype=np.int64),
        haul_origin=np.array([position[h.origin] for h in hauls], dtype=np.intp),
        haul_destination=np.array([position[h.destination] for h in hauls], dtype=np.intp),
        haul_duration=np.array([_seconds(h.duration) for h in hauls], dtype=np.int64),
        haul_table=_weekly_table([(h.weekdays, _clock_s(h.departure)) for h in hauls]),
        haul_offset=facility_offset[[position[h.origin] for h in hauls]]
        if hauls
        else np.zeros(0, dtype=np.int64),
        route_ids=tuple(r.id for r in routes),
        route_hub=route_hub,
        route_table=_weekly_table([(r.weekdays, _clock_s(r.departure)) for r in routes]),
        route_offset=facility_offset[route_hub] if routes else np.zeros(0, dtype=np.int64),
        route_skips_holidays=np.array([not r.runs_on_holidays for r in routes], dtype=np.bool_),
        stop_route=np.array(stop_route, dtype=np.intp),
        stop_office=stop_office_arr,
        stop_arrival=np.array(stop_arrival, dtype=np.int64),
        office_stops_start=starts,
        stop_order=stop_order,
        office_offset=np.array([offset_of[o.timezone] for o in offices], dtype=np.int64),
        opening=OpeningTable([o.opening_hours for o in offices]),
        calendar=holiday_calendar(network.holiday_country, network.extra_closed_dates),
        shelving_s=_seconds(network.shelving),
    )


def _next_departure(table: IntArray, offset: IntArray, ready: IntArray, strict: bool) -> IntArray:
    """First departure (UTC) in each row's weekly table at/after ``ready`` (UTC)."""
    local = ready + offset
    day = local // DAY_S
    week_start = (day - weekday_of_day(day)) * DAY_S
    within = (local - week_start)[:, None]
    later = table > within if strict else table >= within
    candidates = np.where(later, table, table + WEEK_S)
    result: IntArray = week_start + candidates.min(axis=1) - offset
    return result


def _route_departures(
    c: CompiledNetwork, routes: PositionArray, ready: IntArray, strict: bool
) -> IntArray:
    """Next run of each route at/after ``ready`` (UTC), holidays skipped where the route does."""
    departure = _next_departure(c.route_table[routes], c.route_offset[routes], ready, strict)
    pending = np.flatnonzero(c.route_skips_holidays[routes])
    for _ in range(_MAX_HOLIDAY_SKIPS):
        if pending.size == 0:
            break
        rows = routes[pending]
        local_day = (departure[pending] + c.route_offset[rows]) // DAY_S
        closed = c.calendar.closed(local_day)
        pending, local_day, rows = pending[closed], local_day[closed], rows[closed]
        if pending.size == 0:
            break
        # Start the search again at the next local midnight.
        next_midnight = (local_day + 1) * DAY_S - c.route_offset[rows]
        departure[pending] = _next_departure(
            c.route_table[rows], c.route_offset[rows], next_midnight, strict=False
        )
    else:
        departure[pending] = NEVER
    return departure


def _facility_ready(c: CompiledNetwork, warehouse: int, handover: int) -> IntArray:
    """Earliest moment each facility can send the parcel on (UTC), ``_INF`` if never."""
    ready = np.full(len(c.facility_ids), _INF, dtype=np.int64)
    ready[warehouse] = handover + c.facility_handling[warehouse]
    for _ in range(len(c.facility_ids)):
        origin_ready = ready[c.haul_origin]
        active = np.flatnonzero(origin_ready < _INF)
        if active.size == 0:
            break
        departure = _next_departure(
            c.haul_table[active], c.haul_offset[active], origin_ready[active], strict=False
        )
        destination = c.haul_destination[active]
        arrival = departure + c.haul_duration[active] + c.facility_handling[destination]
        improved = ready.copy()
        np.minimum.at(improved, destination, arrival)
        if np.array_equal(improved, ready):
            break
        ready = improved
    return ready


def _as_epoch(moment: datetime | int | np.integer | np.datetime64) -> int:
    if isinstance(moment, datetime):
        return epoch_s(moment)
    if isinstance(moment, np.datetime64):
        if np.isnat(moment):
            raise ValueError("the hand-over moment is NaT")
        return int(moment.astype("datetime64[s]").astype(np.int64))
    return int(moment)


OfficeSelection = Sequence[str] | NDArray[np.integer] | None
"""Postal indices, or positions in ``network.offices``; ``None`` for every office."""


def _office_positions(network: Network, offices: OfficeSelection) -> PositionArray:
    n = len(network.offices)
    if offices is None:
        return np.arange(n, dtype=np.intp)
    if isinstance(offices, np.ndarray) and np.issubdtype(offices.dtype, np.integer):
        positions = offices.astype(np.intp)
        if positions.size and (positions.min() < 0 or positions.max() >= n):
            raise ValueError("office positions out of range")
        return positions
    try:
        return np.array([network.office_position[str(i)] for i in offices], dtype=np.intp)
    except KeyError as exc:
        raise ValueError(f"unknown office {exc.args[0]}") from exc


def _stops_of(c: CompiledNetwork, positions: PositionArray) -> tuple[PositionArray, PositionArray]:
    """The stops at ``positions``, grouped by office in the order asked, and their counts."""
    starts = c.office_stops_start
    counts = starts[positions + 1] - starts[positions]
    total = int(counts.sum())
    group_start = np.zeros(positions.shape[0], dtype=np.intp)
    if positions.shape[0] > 1:
        np.cumsum(counts[:-1], out=group_start[1:])
    within = np.arange(total, dtype=np.intp) - np.repeat(group_start, counts)
    stops: PositionArray = c.stop_order[np.repeat(starts[positions], counts) + within]
    return stops, counts


def _ready_at_offices(
    c: CompiledNetwork,
    positions: PositionArray,
    stops: PositionArray,
    counts: PositionArray,
    route_departure: IntArray,
) -> EtaResult:
    """Ready moments at ``positions`` given each route's run departure (UTC, NEVER if none)."""
    route_ids = c.route_ids
    total = int(stops.shape[0])
    route = c.stop_route[stops]
    office = c.stop_office[stops]
    departure = route_departure[route]
    reachable = departure != NEVER
    arrival = np.where(reachable, departure + c.stop_arrival[stops], NEVER)
    office_offset = c.office_offset[office]
    local_arrival = np.where(reachable, arrival + office_offset, NEVER)
    local_ready = c.opening.ready_local(
        c.opening.pattern_of[office], local_arrival, c.shelving_s, c.calendar
    )
    ready = np.where(local_ready != NEVER, local_ready - office_offset, _INF)

    n = positions.shape[0]
    out_ready = np.full(n, NEVER, dtype=np.int64)
    out_arrival = np.full(n, NEVER, dtype=np.int64)
    out_departure = np.full(n, NEVER, dtype=np.int64)
    out_route = np.full(n, -1, dtype=np.intp)
    if total == 0:
        return EtaResult(positions, out_ready, out_arrival, out_departure, out_route, route_ids)
    has = counts > 0
    if total == int(np.count_nonzero(has)):
        best = np.arange(total, dtype=np.intp)  # one stop per served office: nothing to reduce
    else:
        # Earliest ready per office; ties to the first stop (the route listed first).
        group = np.repeat(np.arange(n, dtype=np.intp), counts)
        order = np.lexsort((np.arange(total), ready, group))
        first = np.ones(total, dtype=np.bool_)
        first[1:] = group[order][1:] != group[order][:-1]
        best = order[first]
    served = np.flatnonzero(has)
    found = ready[best] < _INF
    target = served[found]
    chosen = best[found]
    out_ready[target] = ready[chosen]
    out_arrival[target] = arrival[chosen]
    out_departure[target] = departure[chosen]
    out_route[target] = route[chosen]
    return EtaResult(positions, out_ready, out_arrival, out_departure, out_route, route_ids)


def earliest_ready(
    network: Network,
    warehouse: str,
    handover_at: datetime | int | np.integer | np.datetime64,
    offices: OfficeSelection = None,
    *,
    skip_runs: int = 0,
) -> EtaResult:
    """Earliest ready-for-pickup moment at each office for one hand-over at ``warehouse``.

    ``offices``: postal indices or positions in ``network.offices`` (default: all, in
    network order). ``skip_runs``: how many catchable runs of each route to let go first
    (1 = "if the first run is full"). See the module docstring for the model.
    """
    if skip_runs < 0:
        raise ValueError("skip_runs must not be negative")
    c = compile_network(network)
    try:
        origin = network.facility_position[warehouse]
    except KeyError as exc:
        raise ValueError(f"unknown warehouse {warehouse!r}") from exc
    handover = _as_epoch(handover_at)
    positions = _office_positions(network, offices)
    stops, counts = _stops_of(c, positions)
    facility_ready = _facility_ready(c, origin, handover)
    hub_ready = facility_ready[c.route_hub]
    if offices is None:
        reached = np.flatnonzero(hub_ready < _INF)
    else:  # only the routes serving the offices asked about
        needed = np.unique(c.stop_route[stops])
        reached = needed[hub_ready[needed] < _INF]
    departure = np.full(len(c.route_ids), NEVER, dtype=np.int64)
    if reached.size:
        runs = _route_departures(c, reached, hub_ready[reached], strict=False)
        for _ in range(skip_runs):
            ok = runs != NEVER
            runs[ok] = _route_departures(c, reached[ok], runs[ok], strict=True)
        departure[reached] = runs
    return _ready_at_offices(c, positions, stops, counts, departure)


def ready_from_run(
    network: Network,
    run: RouteRun,
    offices: OfficeSelection = None,
) -> EtaResult:
    """Ready moments at offices for parcels loaded on ``run`` (default: the route's offices).

    Offices not on the route get ``NEVER``. The run's departure is taken as given (it need
    not be a timetabled one, e.g. a delayed departure).
    """
    c = compile_network(network)
    try:
        route = network.route_position[run.route_id]
    except KeyError as exc:
        raise ValueError(f"unknown route {run.route_id!r}") from exc
    if offices is None:
        positions = np.array(
            [network.office_position[s.office] for s in network.routes[route].stops],
            dtype=np.intp,
        )
    else:
        positions = _office_positions(network, offices)
    departure = np.full(len(c.route_ids), NEVER, dtype=np.int64)
    departure[route] = epoch_s(run.departure)
    stops, counts = _stops_of(c, positions)
    return _ready_at_offices(c, positions, stops, counts, departure)


def next_run(
    network: Network,
    route_id: str,
    after: datetime | int | np.integer | np.datetime64,
    *,
    strict: bool = True,
) -> RouteRun:
    """The first run of ``route_id`` leaving after ``after`` (at or after if not ``strict``).

    Pass a run's departure to get the run after it (a parcel rolling over to the next van).
    """
    c = compile_network(network)
    try:
        route = network.route_position[route_id]
    except KeyError as exc:
        raise ValueError(f"unknown route {route_id!r}") from exc
    departure = _route_departures(
        c,
        np.array([route], dtype=np.intp),
        np.array([_as_epoch(after)], dtype=np.int64),
        strict=strict,
    )
    value = int(departure[0])
    if value == NEVER:  # pragma: no cover - needs ~60 consecutive holidays
        raise ValueError(f"route {route_id} has no run in the next {_MAX_HOLIDAY_SKIPS} days")
    return RouteRun(route_id, from_epoch_s(value))


@overload
def quote_window(
    earliest: IntArray, buffer: timedelta = DEFAULT_QUOTE_BUFFER
) -> tuple[IntArray, IntArray]: ...
@overload
def quote_window(
    earliest: datetime, buffer: timedelta = DEFAULT_QUOTE_BUFFER
) -> tuple[datetime, datetime]: ...
def quote_window(
    earliest: IntArray | datetime, buffer: timedelta = DEFAULT_QUOTE_BUFFER
) -> tuple[IntArray, IntArray] | tuple[datetime, datetime]:
    """(earliest, latest = earliest + ``buffer``); epoch-second arrays keep ``NEVER`` as is.

    The default buffer is ``DEFAULT_QUOTE_BUFFER`` (2 days; see there). ``latest`` is a
    promise bound, not necessarily an open moment of the office.
    """
    if buffer < timedelta(0):
        raise ValueError("buffer must not be negative")
    if isinstance(earliest, datetime):
        if earliest.tzinfo is None:
            raise ValueError("earliest must be timezone-aware")
        return earliest, (earliest + buffer).astimezone(UTC)
    values = np.asarray(earliest, dtype=np.int64)
    latest = np.where(values != NEVER, values + int(buffer.total_seconds()), NEVER)
    return values, latest
