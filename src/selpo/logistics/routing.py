"""Synthetic route timetables: hubs for offices, offices into routes, stops in order, weekdays.

**Synthetic.** No real timetable of Russian Post's district routes is available to us, so
until an operator loads one (``timetable.read_routes_csv``) the network runs on routes this
module makes up by a documented rule. Every route it makes has ``synthetic=True``. Pure:
numpy, scipy (through ``selpo.network.geo``) and the standard library.

The rule
--------
1. **Hub per office** (``assign_hubs``): the hub whose ``office_index`` is the office's
   ``parent_index`` (the post office it hangs off), else the nearest hub by road distance.
2. **Two service classes per hub**: town offices (``rural`` false) are served every day
   Monday-Saturday; village offices two or three fixed weekdays a week.
3. **Grouping** (a capacity- and duration-bounded *sweep*): a class's offices are sorted by
   bearing from the hub, starting after the widest empty sector, and taken in turn into the
   current route while (a) the route's round trip, stops ordered by cheapest insertion,
   dwell included, stays within ``max_duration`` (a driver's 8-hour shift), and (b) the
   stops stay within the vehicle's capacity: ``max_stops`` and the expected parcels per
   stop times stops within the vehicle's parcels and litres. An office too far for one
   shift gets a route of its own.
4. **Stop order**: nearest neighbour from the hub, then 2-opt and Or-opt (segments of 1-3
   stops moved, either way round) until no move shortens the round trip; the better of that
   and the improved insertion order is kept. Travel times come from the road distance at
   the class's speed (``distance.TOWN_ROUTE_SPEED_KMH``, ``RURAL_ROUTE_SPEED_KMH``); the
   matrix is symmetrised (mean of both directions) for ordering, the real direction is used
   for the times. Each stop adds ``dwell`` (exchange of mail and parcels). Arrival offsets
   are rounded up to whole minutes.
5. **Weekdays**: town routes Mon-Sat. A village route whose round trip takes at most
   ``three_days_max_duration`` (4 h: near the hub, cheap to serve often) runs three days a
   week, Mon/Wed/Fri or Tue/Thu/Sat; a longer one twice, Mon/Thu, Tue/Fri or Wed/Sat. Each
   route takes the pattern that keeps the hub's busiest day lightest (vehicle hours), ties
   broken by a seeded order per hub, so a hub's work is spread over the week.
6. **Vehicles and departures**: routes are packed onto the hub's vans (town and village
   vans separately), longest first: a route takes the first van and the earliest start from
   ``first_departure`` (08:00, after the night line-haul) at which the van is free on all of
   its weekdays (``turnaround`` between runs) and back by ``shift_end`` (20:00); otherwise a
   new van. So no van is needed twice at once, and a van's second run leaves after its
   first is back. Capacities are the van's (``Vehicle``).

Deterministic: the same inputs and ``seed`` give the same routes.

``synthetic_network`` assembles a whole ``Network`` from sites: hubs as facilities fed by a
daily line-haul from the nearest sorting centre, timed to arrive ``hub_handling`` before
``first_departure``, plus the routes above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Final

import numpy as np
from numpy.typing import NDArray

from selpo.logistics.calendar import utc_offset_s
from selpo.logistics.distance import (
    LINE_HAUL_SPEED_KMH,
    RURAL_ROUTE_SPEED_KMH,
    TOWN_ROUTE_SPEED_KMH,
    DistanceProvider,
    GreatCircleDistance,
    driving_seconds,
)
from selpo.logistics.timetable import (
    DEFAULT_SHELVING,
    EVERY_DAY,
    MON_SAT,
    Facility,
    FacilityKind,
    LineHaul,
    Network,
    Office,
    Route,
    Stop,
    Weekdays,
)
from selpo.network.geo import EARTH_RADIUS_M, PointIndex
from selpo.network.rules import OpeningHours

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
PositionArray = NDArray[np.intp]
StrArray = NDArray[np.str_]

TWICE_A_WEEK: Final[tuple[Weekdays, ...]] = ((0, 3), (1, 4), (2, 5))
"""Village patterns, two days a week: Mon/Thu, Tue/Fri, Wed/Sat."""
THRICE_A_WEEK: Final[tuple[Weekdays, ...]] = ((0, 2, 4), (1, 3, 5))
"""Village patterns, three days a week: Mon/Wed/Fri, Tue/Thu/Sat."""
TOWN_WEEKDAYS: Final[Weekdays] = MON_SAT

_EPS: Final[float] = 1e-9
_MIN_LINE_HAUL: Final[timedelta] = timedelta(minutes=30)
# Blocks of the office x hub matrix when a non-great-circle provider picks the nearest hub.
_ASSIGN_BLOCK: Final[int] = 1 << 20


@dataclass(frozen=True)
class Vehicle:
    """A van type: what it carries per run."""

    name: str
    capacity_parcels: int
    capacity_litres: int


# Assumed vans (manufacturers' load volumes, rounded down for shelving and sacks; parcels at
# the ~12 l of a typical marketplace parcel): a LADA Largus van (~2.5 m³) on village rounds,
# a GAZelle van (~9 m³) in towns.
VILLAGE_VAN: Final[Vehicle] = Vehicle("village van (LADA Largus class)", 150, 2_000)
TOWN_VAN: Final[Vehicle] = Vehicle("town van (GAZelle class)", 500, 7_000)


@dataclass(frozen=True)
class RoutingParams:
    """The knobs of the synthetic timetable rule (module docstring); defaults are assumptions."""

    max_duration: timedelta = timedelta(hours=8)
    three_days_max_duration: timedelta = timedelta(hours=4)
    dwell: timedelta = timedelta(minutes=15)
    town_speed_kmh: float = TOWN_ROUTE_SPEED_KMH
    rural_speed_kmh: float = RURAL_ROUTE_SPEED_KMH
    line_haul_speed_kmh: float = LINE_HAUL_SPEED_KMH
    town_max_stops: int = 20
    village_max_stops: int = 12
    town_parcels_per_stop: int = 25
    village_parcels_per_stop: int = 8
    litres_per_parcel: float = 12.0
    town_vehicle: Vehicle = TOWN_VAN
    village_vehicle: Vehicle = VILLAGE_VAN
    first_departure: time = time(8, 0)
    shift_end: time = time(20, 0)
    turnaround: timedelta = timedelta(minutes=30)
    hub_handling: timedelta = timedelta(hours=1)

    def max_stops(self, rural: bool) -> int:
        """Stops one route of the class may have: the stop limit and the van's capacity."""
        vehicle = self.village_vehicle if rural else self.town_vehicle
        per_stop = self.village_parcels_per_stop if rural else self.town_parcels_per_stop
        limit = self.village_max_stops if rural else self.town_max_stops
        by_parcels = vehicle.capacity_parcels // max(per_stop, 1)
        by_litres = int(vehicle.capacity_litres // max(per_stop * self.litres_per_parcel, 1e-9))
        return max(1, min(limit, by_parcels, by_litres))


@dataclass(frozen=True)
class OfficeSites:
    """Offices as parallel arrays: postal index, position, rural flag, parent office."""

    index: StrArray
    lat: FloatArray
    lon: FloatArray
    rural: BoolArray
    parent_index: StrArray | None = None

    def __post_init__(self) -> None:
        n = self.index.shape[0]
        arrays: list[NDArray[np.generic]] = [self.lat, self.lon, self.rural]
        if self.parent_index is not None:
            arrays.append(self.parent_index)
        if any(a.shape != (n,) for a in arrays):
            raise ValueError("office arrays must be 1-D and of equal length")

    def __len__(self) -> int:
        return int(self.index.shape[0])


@dataclass(frozen=True)
class HubSites:
    """Hubs as parallel arrays: id, position, IANA zone, the postal index of the office it is.

    ``timezone`` is keyword-only and required: a hub keeps its region's clock.
    """

    id: StrArray
    lat: FloatArray
    lon: FloatArray
    office_index: StrArray | None = None
    timezone: StrArray = field(kw_only=True)

    def __post_init__(self) -> None:
        n = self.id.shape[0]
        arrays: list[NDArray[np.generic]] = [self.lat, self.lon, self.timezone]
        if self.office_index is not None:
            arrays.append(self.office_index)
        if any(a.shape != (n,) for a in arrays):
            raise ValueError("hub arrays must be 1-D and of equal length")
        if len(set(self.id.tolist())) != n:
            raise ValueError("hub ids must be unique")

    def __len__(self) -> int:
        return int(self.id.shape[0])


# --------------------------------------------------------------------------------------------
# Hub assignment
# --------------------------------------------------------------------------------------------


def assign_hubs(
    offices: OfficeSites,
    hubs: HubSites,
    distance: DistanceProvider | None = None,
) -> PositionArray:
    """Hub position per office: its parent office's hub if there is one, else the nearest.

    An office that is itself a hub's office (``hubs.office_index``) belongs to that hub;
    otherwise one whose ``parent_index`` is a hub's office belongs to that hub; the rest to
    the nearest hub by ``distance`` (road metres; default great circle x circuity), ties to
    the hub listed first. For ``GreatCircleDistance`` the nearest by road is the nearest on the
    sphere, which the spatial index finds without the full matrix.
    """
    if len(hubs) == 0:
        raise ValueError("no hubs to assign offices to")
    provider = distance if distance is not None else GreatCircleDistance()
    n = len(offices)
    hub_of = np.full(n, -1, dtype=np.intp)
    if hubs.office_index is not None:
        by_office: dict[str, int] = {}
        for h, index in enumerate(hubs.office_index.tolist()):
            if index:
                by_office.setdefault(index, h)
        # The parent office's hub; an office that is itself a hub's office stays with it.
        keys = [offices.index.tolist()]
        if offices.parent_index is not None:
            keys.insert(0, offices.parent_index.tolist())
        for key in keys:
            for i, value in enumerate(key):
                if value in by_office:
                    hub_of[i] = by_office[value]
    rest = np.flatnonzero(hub_of < 0)
    if rest.size == 0:
        return hub_of
    if isinstance(provider, GreatCircleDistance):
        found = PointIndex(hubs.lat, hubs.lon).nearest_batch(
            offices.lat[rest], offices.lon[rest], radius_m=math.inf, limit=1
        )
        hub_of[rest] = found.positions[:, 0]
        return hub_of
    block = max(1, _ASSIGN_BLOCK // len(hubs))
    for start in range(0, rest.size, block):
        rows = rest[start : start + block]
        matrix = provider.matrix_m(offices.lat[rows], offices.lon[rows], hubs.lat, hubs.lon)
        hub_of[rows] = np.argmin(matrix, axis=1)
    return hub_of


# --------------------------------------------------------------------------------------------
# Stop ordering: a closed tour from node 0 (the hub) through nodes 1..n
# --------------------------------------------------------------------------------------------


def tour_cost(cost: FloatArray | list[list[float]], tour: Sequence[int]) -> float:
    """Cost of 0 -> tour -> 0 under the matrix ``cost``."""
    path = [0, *tour, 0]
    rows = cost.tolist() if isinstance(cost, np.ndarray) else cost
    return float(sum(rows[a][b] for a, b in zip(path[:-1], path[1:], strict=True)))


def nearest_neighbour_tour(cost: FloatArray) -> list[int]:
    """Visit order of nodes 1..n from node 0: always the nearest unvisited next (ties: lowest)."""
    n = cost.shape[0]
    unvisited = np.ones(n, dtype=np.bool_)
    unvisited[0] = False
    tour: list[int] = []
    current = 0
    for _ in range(n - 1):
        row = np.where(unvisited, cost[current], np.inf)
        current = int(np.argmin(row))
        unvisited[current] = False
        tour.append(current)
    return tour


def improve_tour(cost: FloatArray, tour: Sequence[int]) -> list[int]:
    """2-opt and Or-opt (1-3 stops, either direction) on 0 -> tour -> 0 until no move helps.

    Every move applied shortens the tour (by more than a rounding error), so the result is
    never worse than the input. ``cost`` is assumed symmetric.
    """
    d = cost.tolist()
    path = [0, *tour, 0]
    improved = True
    while improved:
        improved = _two_opt(d, path) or _or_opt(d, path)
    return path[1:-1]


def _two_opt(d: list[list[float]], path: list[int]) -> bool:
    # Reverse path[i+1..j] when that shortens it; first improvement, restart after a move.
    last = len(path) - 1
    for i in range(last - 1):
        a, b = path[i], path[i + 1]
        d_ab = d[a][b]
        row_a = d[a]
        for j in range(i + 2, last):
            c, e = path[j], path[j + 1]
            if row_a[c] + d[b][e] - d_ab - d[c][e] < -_EPS:
                path[i + 1 : j + 1] = path[i + 1 : j + 1][::-1]
                return True
    return False


def _or_opt(d: list[list[float]], path: list[int]) -> bool:
    # Move a segment of 1-3 stops elsewhere (forwards or reversed) when that shortens the path.
    last = len(path) - 1  # path[0] and path[last] are the hub
    for length in (1, 2, 3):
        for i in range(1, last - length + 1):
            prev, first = path[i - 1], path[i]
            end, nxt = path[i + length - 1], path[i + length]
            gain = d[prev][first] + d[end][nxt] - d[prev][nxt]
            if gain <= _EPS:
                continue
            for k in range(last):
                if i - 1 <= k <= i + length - 1:
                    continue
                u, v = path[k], path[k + 1]
                forward = d[u][first] + d[end][v] - d[u][v]
                backward = d[u][end] + d[first][v] - d[u][v]
                if min(forward, backward) < gain - _EPS:
                    segment = path[i : i + length]
                    if backward < forward:
                        segment.reverse()
                    rest = path[:i] + path[i + length :]
                    at = k + 1 if k < i else k + 1 - length
                    path[:] = rest[:at] + segment + rest[at:]
                    return True
    return False


def _insertion_cost(d: FloatArray, tour: list[int], node: int) -> tuple[float, int]:
    # Cheapest place to insert ``node`` into 0 -> tour -> 0: (added cost, position in tour).
    path = np.array([0, *tour, 0], dtype=np.intp)
    added = d[path[:-1], node] + d[node, path[1:]] - d[path[:-1], path[1:]]
    at = int(np.argmin(added))
    return float(added[at]), at


def order_stops(cost: FloatArray, start: Sequence[int] | None = None) -> list[int]:
    """The shorter of improved nearest-neighbour and improved ``start`` orders of nodes 1..n."""
    symmetric = (cost + cost.T) / 2.0
    best = improve_tour(symmetric, nearest_neighbour_tour(symmetric))
    if start is not None:
        other = improve_tour(symmetric, start)
        if tour_cost(symmetric, other) < tour_cost(symmetric, best) - _EPS:
            best = other
    return best


# --------------------------------------------------------------------------------------------
# Route generation
# --------------------------------------------------------------------------------------------


def _bearing_order(
    hub_lat: float, hub_lon: float, lat: FloatArray, lon: FloatArray, dist: FloatArray
) -> PositionArray:
    # Offices by bearing from the hub, starting just after the widest empty sector.
    north = np.radians(lat - hub_lat) * EARTH_RADIUS_M
    dlon = (lon - hub_lon + 180.0) % 360.0 - 180.0
    east = np.radians(dlon) * EARTH_RADIUS_M * math.cos(math.radians(hub_lat))
    angle = np.arctan2(east, north) % (2.0 * math.pi)
    order = np.lexsort((np.arange(lat.shape[0]), dist, angle))
    if order.shape[0] > 1:
        sorted_angle = angle[order]
        gaps = np.diff(np.append(sorted_angle, sorted_angle[0] + 2.0 * math.pi))
        order = np.roll(order, -(int(np.argmax(gaps)) + 1))
    return order.astype(np.intp)


@dataclass
class _Draft:
    # A route being built: class, offices (positions in the hub's list), order and timing.
    rural: bool
    members: list[int]
    order: list[int] = field(default_factory=list)
    arrivals_s: list[int] = field(default_factory=list)
    duration_s: int = 0
    weekdays: Weekdays = ()
    departure_s: int = 0
    vehicle: int = 0


def _sweep(
    travel: FloatArray, order: PositionArray, dwell_s: float, max_s: float, max_stops: int
) -> list[list[int]]:
    # Groups of node numbers (1..n in ``travel``) in sweep order, each within the limits.
    groups: list[list[int]] = []
    tour: list[int] = []
    length = 0.0
    for position in order.tolist():
        node = position + 1
        if tour:
            added, at = _insertion_cost(travel, tour, node)
            fits = len(tour) < max_stops and length + added + dwell_s * (len(tour) + 1) <= max_s
            if fits:
                tour.insert(at, node)
                length += added
                continue
            groups.append(tour)
        tour = [node]
        length = float(travel[0, node] + travel[node, 0])
    if tour:
        groups.append(tour)
    return groups


def _timing(travel: FloatArray, tour: list[int], dwell_s: float) -> tuple[list[int], int]:
    # Arrival offsets at each stop (whole minutes, rounded up) and the return to the hub.
    arrivals: list[int] = []
    clock = 0.0
    previous = 0
    for node in tour:
        clock += float(travel[previous, node])
        minute = math.ceil(clock / 60.0 - 1e-9) * 60
        if arrivals and minute <= arrivals[-1]:
            minute = arrivals[-1] + 60
        arrivals.append(minute)
        clock = max(clock, float(minute)) + dwell_s
        previous = node
    clock += float(travel[previous, 0])
    back = max(math.ceil(clock / 60.0 - 1e-9) * 60, arrivals[-1] if arrivals else 0)
    return arrivals, back


def _pick_weekdays(drafts: list[_Draft], params: RoutingParams, rng: np.random.Generator) -> None:
    # Town: Mon-Sat. Village: 3x or 2x a week by duration, the pattern that keeps the busiest
    # day lightest (vehicle seconds), ties in a seeded order.
    load = np.zeros(7)
    three_max = params.three_days_max_duration.total_seconds()
    twice = [TWICE_A_WEEK[i] for i in rng.permutation(len(TWICE_A_WEEK))]
    thrice = [THRICE_A_WEEK[i] for i in rng.permutation(len(THRICE_A_WEEK))]
    for draft in drafts:
        if not draft.rural:
            draft.weekdays = TOWN_WEEKDAYS
            load[list(TOWN_WEEKDAYS)] += draft.duration_s
    villages = sorted(
        (d for d in drafts if d.rural), key=lambda d: (-d.duration_s, d.order[0] if d.order else 0)
    )
    for draft in villages:
        patterns = thrice if draft.duration_s <= three_max else twice
        best: Weekdays = patterns[0]
        best_key: tuple[float, float] | None = None
        for pattern in patterns:
            after = load.copy()
            after[list(pattern)] += draft.duration_s
            key = (float(after.max()), float(after[list(pattern)].max()))
            if best_key is None or key < best_key:
                best, best_key = pattern, key
        draft.weekdays = best
        load[list(best)] += draft.duration_s


def _pack_vehicles(drafts: list[_Draft], params: RoutingParams) -> None:
    # Give each route a van and a departure so no van runs two routes at once (module doc).
    first = params.first_departure.hour * 3_600 + params.first_departure.minute * 60
    end = params.shift_end.hour * 3_600 + params.shift_end.minute * 60
    turn = int(params.turnaround.total_seconds())
    vans: dict[bool, list[dict[int, list[tuple[int, int]]]]] = {False: [], True: []}
    for draft in sorted(drafts, key=lambda d: (d.rural, -d.duration_s, d.order[0])):
        fleet = vans[draft.rural]
        placed = False
        for v, busy in enumerate(fleet):
            starts = {first}
            for day in draft.weekdays:
                starts.update(b + turn for _, b in busy[day])
            for candidate in sorted(starts):
                start = -(-candidate // 300) * 300  # whole five minutes
                stop = start + draft.duration_s
                if stop > end:
                    break
                if all(
                    stop + turn <= a or b + turn <= start
                    for day in draft.weekdays
                    for a, b in busy[day]
                ):
                    draft.departure_s, draft.vehicle = start, v
                    for day in draft.weekdays:
                        busy[day].append((start, stop))
                    placed = True
                    break
            if placed:
                break
        if not placed:
            busy = {day: [] for day in range(7)}
            for day in draft.weekdays:
                busy[day].append((first, first + draft.duration_s))
            draft.departure_s, draft.vehicle = first, len(fleet)
            fleet.append(busy)


def generate_routes(
    offices: OfficeSites,
    hubs: HubSites,
    hub_of: PositionArray,
    *,
    params: RoutingParams | None = None,
    distance: DistanceProvider | None = None,
    seed: int = 0,
) -> tuple[Route, ...]:
    """Synthetic routes serving every office exactly once (module docstring for the rule).

    ``hub_of``: each office's hub position (``assign_hubs``). Route ids are
    ``{hub}-T01``... for town routes and ``{hub}-V01``... for village routes.
    """
    p = params if params is not None else RoutingParams()
    provider = distance if distance is not None else GreatCircleDistance()
    hub_of = np.asarray(hub_of, dtype=np.intp)
    if hub_of.shape != (len(offices),):
        raise ValueError("hub_of needs one hub position per office")
    if hub_of.size and (hub_of.min() < 0 or hub_of.max() >= len(hubs)):
        raise ValueError("hub_of refers to a hub that does not exist")
    dwell_s = p.dwell.total_seconds()
    max_s = p.max_duration.total_seconds()
    routes: list[Route] = []
    by_hub = np.argsort(hub_of, kind="stable")
    bounds = np.searchsorted(hub_of[by_hub], np.arange(len(hubs) + 1))
    index = offices.index.tolist()
    for h in range(len(hubs)):
        members = by_hub[bounds[h] : bounds[h + 1]]
        if members.size == 0:
            continue
        hub_id = str(hubs.id[h])
        rng = np.random.default_rng([seed, h])
        drafts: list[_Draft] = []
        members_of: dict[bool, PositionArray] = {}
        for rural in (False, True):
            cls = members[offices.rural[members] == rural]
            if cls.size == 0:
                continue
            lat = np.concatenate([[hubs.lat[h]], offices.lat[cls]])
            lon = np.concatenate([[hubs.lon[h]], offices.lon[cls]])
            road = np.asarray(provider.matrix_m(lat, lon, lat, lon), dtype=np.float64)
            if road.shape != (cls.size + 1, cls.size + 1) or not np.all(np.isfinite(road)):
                raise ValueError(f"hub {hub_id}: the distance provider gave a bad matrix")
            speed = p.rural_speed_kmh if rural else p.town_speed_kmh
            travel = driving_seconds(road, speed)
            sweep = _bearing_order(hubs.lat[h], hubs.lon[h], lat[1:], lon[1:], road[0, 1:])
            groups = _sweep((travel + travel.T) / 2.0, sweep, dwell_s, max_s, p.max_stops(rural))
            members_of[rural] = cls
            for group in groups:
                nodes = np.array([0, *group], dtype=np.intp)
                sub = travel[np.ix_(nodes, nodes)]
                local = order_stops(sub, list(range(1, len(group) + 1)))
                tour = [group[k - 1] for k in local]
                # Drive it the way round that is quicker in the real (maybe asymmetric) times.
                arrivals, back = _timing(travel, tour, dwell_s)
                arrivals_r, back_r = _timing(travel, tour[::-1], dwell_s)
                if back_r < back:
                    tour, arrivals, back = tour[::-1], arrivals_r, back_r
                drafts.append(_Draft(rural, group, tour, arrivals, back))
        _pick_weekdays(drafts, p, rng)
        _pack_vehicles(drafts, p)
        counters = {False: 0, True: 0}
        for draft in sorted(
            drafts, key=lambda d: (d.rural, d.departure_s, d.vehicle, d.weekdays, d.order)
        ):
            cls = members_of[draft.rural]
            counters[draft.rural] += 1
            letter = "V" if draft.rural else "T"
            vehicle = p.village_vehicle if draft.rural else p.town_vehicle
            routes.append(
                Route(
                    id=f"{hub_id}-{letter}{counters[draft.rural]:02d}",
                    hub=hub_id,
                    stops=tuple(
                        Stop(index[int(cls[node - 1])], timedelta(seconds=arrival))
                        for node, arrival in zip(draft.order, draft.arrivals_s, strict=True)
                    ),
                    weekdays=draft.weekdays,
                    departure=time(draft.departure_s // 3_600, draft.departure_s % 3_600 // 60),
                    capacity_parcels=vehicle.capacity_parcels,
                    capacity_litres=vehicle.capacity_litres,
                    return_after=timedelta(seconds=draft.duration_s),
                    synthetic=True,
                    vehicle=f"{hub_id}-{letter.lower()}van{draft.vehicle + 1}",
                )
            )
    return tuple(routes)


# --------------------------------------------------------------------------------------------
# A whole synthetic network
# --------------------------------------------------------------------------------------------


def hub_line_hauls(
    hubs: HubSites,
    sorting_centres: Sequence[Facility],
    *,
    params: RoutingParams | None = None,
    distance: DistanceProvider | None = None,
) -> tuple[LineHaul, ...]:
    """A daily line-haul to each hub from its nearest sorting centre (by road).

    Duration: road distance at ``line_haul_speed_kmh``, at least 30 min (loading and
    unloading). Departure (the sorting centre's local time): so the truck arrives
    ``hub_handling`` before ``first_departure`` in the hub's zone, rounded down to a quarter
    hour.
    """
    p = params if params is not None else RoutingParams()
    provider = distance if distance is not None else GreatCircleDistance()
    if not sorting_centres:
        raise ValueError("no sorting centre to feed the hubs")
    sc_lat = np.array([s.lat for s in sorting_centres])
    sc_lon = np.array([s.lon for s in sorting_centres])
    road = provider.matrix_m(hubs.lat, hubs.lon, sc_lat, sc_lon)
    nearest = np.argmin(road, axis=1)
    seconds = driving_seconds(road[np.arange(len(hubs)), nearest], p.line_haul_speed_kmh)
    first = p.first_departure.hour * 3_600 + p.first_departure.minute * 60
    handling = int(p.hub_handling.total_seconds())
    hub_zones = hubs.timezone.tolist()
    hauls: list[LineHaul] = []
    for h in range(len(hubs)):
        centre = sorting_centres[int(nearest[h])]
        shift = utc_offset_s(centre.timezone) - utc_offset_s(hub_zones[h])
        duration = max(timedelta(seconds=math.ceil(float(seconds[h]) / 60.0) * 60), _MIN_LINE_HAUL)
        arrive = first - handling + shift  # in the sorting centre's clock
        leave = (arrive - int(duration.total_seconds())) // 900 * 900 % 86_400
        hauls.append(
            LineHaul(
                origin=centre.id,
                destination=str(hubs.id[h]),
                weekdays=EVERY_DAY,
                departure=time(leave // 3_600, leave % 3_600 // 60),
                duration=duration,
                id=f"{centre.id}->{hubs.id[h]}",
            )
        )
    return tuple(hauls)


def synthetic_network(
    offices: OfficeSites,
    hubs: HubSites,
    *,
    opening_hours: Sequence[OpeningHours],
    office_timezones: Sequence[str],
    sorting_centres: Sequence[Facility],
    warehouses: Sequence[Facility],
    warehouse_line_hauls: Sequence[LineHaul],
    hub_of: PositionArray | None = None,
    params: RoutingParams | None = None,
    distance: DistanceProvider | None = None,
    shelving: timedelta = DEFAULT_SHELVING,
    seed: int = 0,
) -> Network:
    """A ``Network`` from sites: hubs fed by ``hub_line_hauls``, ``generate_routes`` routes.

    The warehouses and their line-hauls (e.g. a daily 20:00 truck to the sorting centre,
    10 h) are the caller's; so are the offices' hours and zones (``office_timezones``, one
    IANA zone per office; the hubs' are ``hubs.timezone``). ``hub_of`` defaults to
    ``assign_hubs``.
    """
    p = params if params is not None else RoutingParams()
    if len(opening_hours) != len(offices):
        raise ValueError("opening_hours needs one entry per office")
    zones = list(office_timezones)
    if len(zones) != len(offices):
        raise ValueError("office_timezones needs one entry per office")
    assigned = assign_hubs(offices, hubs, distance) if hub_of is None else hub_of
    routes = generate_routes(offices, hubs, assigned, params=p, distance=distance, seed=seed)
    hub_zone = hubs.timezone.tolist()
    hub_facilities = tuple(
        Facility(
            id=str(hubs.id[h]),
            kind=FacilityKind.HUB,
            name=str(hubs.id[h]),
            lat=float(hubs.lat[h]),
            lon=float(hubs.lon[h]),
            handling=p.hub_handling,
            timezone=hub_zone[h],
        )
        for h in range(len(hubs))
    )
    index = offices.index.tolist()
    lat = offices.lat.tolist()
    lon = offices.lon.tolist()
    rural = offices.rural.tolist()
    return Network(
        warehouses=tuple(warehouses),
        sorting_centres=tuple(sorting_centres),
        hubs=hub_facilities,
        line_hauls=tuple(warehouse_line_hauls)
        + hub_line_hauls(hubs, sorting_centres, params=p, distance=distance),
        routes=routes,
        offices=tuple(
            Office(
                index=index[i],
                opening_hours=opening_hours[i],
                timezone=zones[i],
                lat=lat[i],
                lon=lon[i],
                rural=bool(rural[i]),
            )
            for i in range(len(offices))
        ),
        shelving=shelving,
    )
