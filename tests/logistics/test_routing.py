"""Synthetic routes: every office on exactly one route, good stop orders, documented weekdays."""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike, NDArray

from selpo.logistics.distance import GreatCircleDistance, driving_seconds
from selpo.logistics.eta import earliest_ready
from selpo.logistics.routing import (
    THRICE_A_WEEK,
    TOWN_WEEKDAYS,
    TWICE_A_WEEK,
    HubSites,
    OfficeSites,
    RoutingParams,
    assign_hubs,
    generate_routes,
    hub_line_hauls,
    improve_tour,
    nearest_neighbour_tour,
    order_stops,
    synthetic_network,
    tour_cost,
)
from selpo.logistics.timetable import (
    EVERY_DAY,
    Facility,
    FacilityKind,
    LineHaul,
    Route,
    read_routes_csv,
    routes_to_csv,
)
from selpo.network.rules import OfficeKind, office_defaults
from tests.fixtures.region_sites import IVANOVO_ZONE, ivanovo_sites

PARAMS = RoutingParams()
ZONE = "Europe/Moscow"


def sites(n: int = 240, seed: int = 1) -> tuple[OfficeSites, HubSites]:
    """Three hubs ~60 km apart; offices scattered round them, a third in towns."""
    rng = np.random.default_rng(seed)
    hub_lat = np.array([57.00, 56.85, 57.44])
    hub_lon = np.array([40.97, 41.38, 42.17])
    near = rng.integers(0, 3, n)
    lat = hub_lat[near] + rng.normal(0.0, 0.18, n)
    lon = hub_lon[near] + rng.normal(0.0, 0.30, n)
    offices = OfficeSites(
        index=np.array([f"{155000 + i}" for i in range(n)]),
        lat=lat,
        lon=lon,
        rural=rng.random(n) < 0.65,
    )
    hubs = HubSites(
        id=np.array(["HUB-A", "HUB-B", "HUB-C"]),
        lat=hub_lat,
        lon=hub_lon,
        office_index=np.array(["155000", "155001", "155002"]),
        timezone=np.full(3, ZONE),
    )
    return offices, hubs


def routes_for(offices: OfficeSites, hubs: HubSites, seed: int = 0) -> tuple[Route, ...]:
    return generate_routes(offices, hubs, assign_hubs(offices, hubs), params=PARAMS, seed=seed)


# --------------------------------------------------------------------------------------------
# Hubs
# --------------------------------------------------------------------------------------------


def test_parent_office_wins_over_distance_and_hub_offices_stay_home() -> None:
    offices, hubs = sites(6)
    parent = np.array(["", "", "", "155002", "", "999999"])
    with_parent = OfficeSites(offices.index, offices.lat, offices.lon, offices.rural, parent)
    hub_of = assign_hubs(with_parent, hubs)
    assert list(hub_of[:3]) == [0, 1, 2]  # offices 155000-2 are the hubs' own offices
    assert hub_of[3] == 2  # parent 155002 is HUB-C's office
    nearest = assign_hubs(OfficeSites(offices.index, offices.lat, offices.lon, offices.rural), hubs)
    for i in (4, 5):  # no parent, or an unknown one: the nearest hub
        assert hub_of[i] == nearest[i]


def test_nearest_hub_by_road() -> None:
    offices, hubs = sites(300)
    hub_of = assign_hubs(offices, HubSites(hubs.id, hubs.lat, hubs.lon, timezone=hubs.timezone))
    road = GreatCircleDistance().matrix_m(offices.lat, offices.lon, hubs.lat, hubs.lon)
    assert list(hub_of) == list(np.argmin(road, axis=1))


class SlowerEastbound:
    """A non-great-circle provider (like a routing engine): asymmetric, so no index shortcut."""

    def matrix_m(
        self, from_lat: ArrayLike, from_lon: ArrayLike, to_lat: ArrayLike, to_lon: ArrayLike
    ) -> NDArray[np.float64]:
        base = GreatCircleDistance().matrix_m(from_lat, from_lon, to_lat, to_lon)
        eastbound = np.asarray(to_lon)[None, :] > np.asarray(from_lon)[:, None]
        result: NDArray[np.float64] = np.where(eastbound, base * 1.5, base)
        return result


def test_any_provider_can_assign_hubs_and_build_routes() -> None:
    offices, hubs = sites(120)
    provider = SlowerEastbound()
    hub_of = assign_hubs(
        offices, HubSites(hubs.id, hubs.lat, hubs.lon, timezone=hubs.timezone), provider
    )
    road = provider.matrix_m(offices.lat, offices.lon, hubs.lat, hubs.lon)
    assert list(hub_of) == list(np.argmin(road, axis=1))
    routes = generate_routes(offices, hubs, hub_of, distance=provider)
    assert sorted(s.office for r in routes for s in r.stops) == sorted(offices.index.tolist())


def test_assign_hubs_needs_hubs() -> None:
    offices, _ = sites(3)
    empty = HubSites(
        np.array([], dtype=str), np.array([]), np.array([]), timezone=np.array([], dtype=str)
    )
    with pytest.raises(ValueError, match="no hubs"):
        assign_hubs(offices, empty)


# --------------------------------------------------------------------------------------------
# Routes
# --------------------------------------------------------------------------------------------


def test_every_office_is_on_exactly_one_route_of_its_hub() -> None:
    offices, hubs = sites()
    hub_of = assign_hubs(offices, hubs)
    routes = routes_for(offices, hubs)
    served = Counter(s.office for r in routes for s in r.stops)
    assert set(served) == set(offices.index.tolist())
    assert set(served.values()) == {1}
    hub_of_office = {offices.index[i]: str(hubs.id[hub_of[i]]) for i in range(len(offices))}
    rural = dict(zip(offices.index.tolist(), offices.rural.tolist(), strict=True))
    for route in routes:
        assert route.synthetic
        assert all(hub_of_office[s.office] == route.hub for s in route.stops)
        # A route serves one class: town offices or village offices.
        assert len({rural[s.office] for s in route.stops}) == 1
    assert len({r.id for r in routes}) == len(routes)


def test_stops_are_ordered_and_timed() -> None:
    offices, hubs = sites()
    for route in routes_for(offices, hubs):
        arrivals = [s.arrival for s in route.stops]
        assert arrivals == sorted(set(arrivals))
        assert all(a.total_seconds() % 60 == 0 for a in arrivals)
        assert route.return_after >= arrivals[-1] + PARAMS.dwell
        rural = route.id.split("-")[-1].startswith("V")
        assert len(route.stops) <= PARAMS.max_stops(rural)
        if len(route.stops) > 1:
            assert route.return_after <= PARAMS.max_duration + timedelta(minutes=1)


def test_route_order_is_no_worse_than_nearest_neighbour() -> None:
    offices, hubs = sites()
    position = {index: i for i, index in enumerate(offices.index.tolist())}
    hub_position = {h: k for k, h in enumerate(hubs.id.tolist())}
    for route in routes_for(offices, hubs):
        h = hub_position[route.hub]
        rows = [position[s.office] for s in route.stops]
        lat = np.concatenate([[hubs.lat[h]], offices.lat[rows]])
        lon = np.concatenate([[hubs.lon[h]], offices.lon[rows]])
        speed = PARAMS.rural_speed_kmh if offices.rural[rows[0]] else PARAMS.town_speed_kmh
        travel = driving_seconds(GreatCircleDistance().matrix_m(lat, lon, lat, lon), speed)
        chosen = list(range(1, len(rows) + 1))
        assert tour_cost(travel, chosen) <= tour_cost(travel, nearest_neighbour_tour(travel)) + 1e-6


def test_weekday_patterns_follow_the_rule() -> None:
    offices, hubs = sites()
    routes = routes_for(offices, hubs)
    three = PARAMS.three_days_max_duration
    for route in routes:
        if route.id.split("-")[-1].startswith("T"):
            assert route.weekdays == TOWN_WEEKDAYS
        elif route.return_after <= three:
            assert route.weekdays in THRICE_A_WEEK
        else:
            assert route.weekdays in TWICE_A_WEEK
    patterns = Counter(r.weekdays for r in routes)
    assert any(p in patterns for p in TWICE_A_WEEK)
    assert any(p in patterns for p in THRICE_A_WEEK)


def _clock_s(value: time) -> int:
    return value.hour * 3_600 + value.minute * 60


def test_no_van_is_needed_twice_at_once() -> None:
    offices, hubs = sites(400, seed=3)
    routes = routes_for(offices, hubs)
    turnaround = PARAMS.turnaround.total_seconds()
    by_van_day: dict[tuple[str, int], list[tuple[float, float]]] = defaultdict(list)
    for route in routes:
        start = _clock_s(route.departure)
        assert start >= _clock_s(PARAMS.first_departure)
        end = start + route.return_after.total_seconds()
        if start > _clock_s(PARAMS.first_departure):  # a van's later run ends in the shift
            assert end <= _clock_s(PARAMS.shift_end)
        for day in route.weekdays:
            by_van_day[(route.vehicle, day)].append((start, end))
    for runs in by_van_day.values():
        runs.sort()
        for (_, first_end), (second_start, _) in zip(runs, runs[1:], strict=False):
            assert first_end + turnaround <= second_start
    # Vans are shared: fewer vans than routes.
    assert len({r.vehicle for r in routes}) < len(routes)


def test_busiest_day_is_balanced() -> None:
    offices, hubs = sites(400, seed=5)
    routes = routes_for(offices, hubs)
    for hub in hubs.id.tolist():
        load = np.zeros(7)
        for route in routes:
            if route.hub == hub and route.weekdays != TOWN_WEEKDAYS:
                load[list(route.weekdays)] += route.return_after.total_seconds()
        longest = max((r.return_after.total_seconds() for r in routes if r.hub == hub), default=0.0)
        # Mon-Sat village work differs by at most about one route's hours between days.
        assert load[:6].max() - load[:6].min() <= 2 * longest
        assert load[6] == 0.0  # nothing on Sundays


def test_deterministic_for_a_seed() -> None:
    offices, hubs = sites()
    assert routes_for(offices, hubs, seed=11) == routes_for(offices, hubs, seed=11)


def test_capacity_limits_the_stops() -> None:
    offices, hubs = sites()
    tight = RoutingParams(village_parcels_per_stop=50, town_parcels_per_stop=250)
    assert tight.max_stops(True) == 3  # 150 parcels / 50
    assert tight.max_stops(False) == 2  # 500 parcels / 250
    routes = generate_routes(offices, hubs, assign_hubs(offices, hubs), params=tight)
    assert max(len(r.stops) for r in routes) <= 3
    assert RoutingParams(litres_per_parcel=100.0).max_stops(True) == 2  # 2,000 l / 800 l


def test_generate_routes_checks_hub_of() -> None:
    offices, hubs = sites(5)
    with pytest.raises(ValueError, match="one hub position per office"):
        generate_routes(offices, hubs, np.zeros(4, dtype=np.intp))
    with pytest.raises(ValueError, match="does not exist"):
        generate_routes(offices, hubs, np.full(5, 3, dtype=np.intp))


def test_generated_routes_survive_the_csv() -> None:
    offices, hubs = sites()
    routes = routes_for(offices, hubs)
    text = routes_to_csv(routes)
    assert read_routes_csv(io.StringIO(text), hubs=set(hubs.id.tolist())) == routes


# --------------------------------------------------------------------------------------------
# Tours
# --------------------------------------------------------------------------------------------


@st.composite
def cost_matrices(draw: st.DrawFn) -> NDArray[np.float64]:
    n = draw(st.integers(1, 14))
    coords = np.array(
        draw(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=n, max_size=n)),
        dtype=np.float64,
    )
    diff = coords[:, None, :] - coords[None, :, :]
    result: NDArray[np.float64] = np.sqrt((diff**2).sum(axis=2))
    return result


@settings(max_examples=150, deadline=None)
@given(cost=cost_matrices())
def test_improved_tour_is_a_permutation_no_worse_than_nearest_neighbour(
    cost: NDArray[np.float64],
) -> None:
    start = nearest_neighbour_tour(cost)
    assert sorted(start) == list(range(1, cost.shape[0]))
    improved = improve_tour(cost, start)
    assert sorted(improved) == list(range(1, cost.shape[0]))
    assert tour_cost(cost, improved) <= tour_cost(cost, start) + 1e-9
    # 2-opt local optimum: no segment reversal shortens it.
    path = [0, *improved, 0]
    for i in range(len(path) - 2):
        for j in range(i + 2, len(path) - 1):
            a, b, c, d = path[i], path[i + 1], path[j], path[j + 1]
            assert cost[a, c] + cost[b, d] >= cost[a, b] + cost[c, d] - 1e-9
    assert tour_cost(cost, order_stops(cost)) <= tour_cost(cost, start) + 1e-9


def test_improve_tour_untangles_a_crossing() -> None:
    # Depot at a square's corner; visiting the far corners crosswise is longer.
    coords = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    cost = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(axis=2))
    crossed = [1, 2, 3]
    assert tour_cost(cost, improve_tour(cost, crossed)) == pytest.approx(4.0)
    assert tour_cost(cost, crossed) > 4.0


# --------------------------------------------------------------------------------------------
# The real region and a whole network
# --------------------------------------------------------------------------------------------


def test_ivanovo_every_office_on_exactly_one_route() -> None:
    offices, hubs, _ = ivanovo_sites()
    assert len(offices) == 301
    routes = routes_for(offices, hubs, seed=7)
    served = Counter(s.office for r in routes for s in r.stops)
    assert len(served) == 301
    assert set(served.values()) == {1}
    # Offices hang off their district centre's hub.
    by_office = {s.office: r.hub for r in routes for s in r.stops}
    assert by_office["155901"] == "HUB-155900"  # a Shuya office


def test_ivanovo_synthetic_network_reaches_every_office() -> None:
    offices, hubs, kinds = ivanovo_sites()
    kind = {
        "town": OfficeKind.TOWN,
        "pgt_candidate": OfficeKind.URBAN_TYPE_SETTLEMENT,
        "rural": OfficeKind.RURAL,
    }
    hours = {k: office_defaults(k).opening_hours for k in OfficeKind}
    centre = Facility(
        "SC-IVA",
        FacilityKind.SORTING_CENTRE,
        lat=56.99,
        lon=40.97,
        handling=timedelta(hours=4),
        timezone=IVANOVO_ZONE,
    )
    warehouse = Facility("W-MSK", FacilityKind.WAREHOUSE, lat=55.72, lon=38.21, timezone=ZONE)
    network = synthetic_network(
        offices,
        hubs,
        opening_hours=[hours[kind[k]] for k in kinds],
        office_timezones=[IVANOVO_ZONE] * len(offices),
        sorting_centres=[centre],
        warehouses=[warehouse],
        warehouse_line_hauls=[
            LineHaul("W-MSK", "SC-IVA", EVERY_DAY, time(20, 0), timedelta(hours=10))
        ],
        seed=7,
    )
    assert len(network.hubs) == len(hubs)
    # Hub trucks arrive an hour (cross-docking) before the 08:00 routes.
    for haul in network.line_hauls[1:]:
        arrival = datetime.combine(datetime(2026, 11, 23), haul.departure) + haul.duration
        assert arrival.time() <= time(7, 0)
        assert haul.duration >= timedelta(minutes=30)
    handover = datetime(2026, 11, 20, 18, 0, tzinfo=ZoneInfo(IVANOVO_ZONE))
    result = earliest_ready(network, "W-MSK", handover)
    assert bool(result.reachable.all())
    days = (result.ready_s - handover.timestamp()) / 86_400
    assert days.min() > 2.0  # the weekend in between
    assert days.max() < 8.0


def test_hub_line_hauls_need_a_sorting_centre() -> None:
    _, hubs = sites(3)
    with pytest.raises(ValueError, match="no sorting centre"):
        hub_line_hauls(hubs, [])


def test_sites_check_their_arrays() -> None:
    with pytest.raises(ValueError, match="equal length"):
        OfficeSites(np.array(["1"]), np.array([1.0, 2.0]), np.array([1.0]), np.array([True]))
    with pytest.raises(ValueError, match="unique"):
        HubSites(np.array(["H", "H"]), np.zeros(2), np.zeros(2), timezone=np.full(2, ZONE))
    with pytest.raises(ValueError, match="equal length"):
        HubSites(np.array(["H"]), np.zeros(1), np.zeros(1), timezone=np.array([ZONE, ZONE]))


def test_hub_trucks_are_timed_in_the_hubs_own_clock() -> None:
    _, hubs = sites(3)
    zoned = HubSites(
        hubs.id,
        hubs.lat,
        hubs.lon,
        timezone=np.array([ZONE, "Asia/Yekaterinburg", "Europe/Kaliningrad"]),
    )
    centre = Facility("SC", FacilityKind.SORTING_CENTRE, lat=56.99, lon=40.97, timezone=ZONE)
    hauls = hub_line_hauls(zoned, [centre])
    shift_hours = {"HUB-A": 0, "HUB-B": 2, "HUB-C": -1}  # hub clock minus Moscow clock
    for haul in hauls:
        assert haul.origin == "SC"
        assert haul.weekdays == EVERY_DAY
        at_hub = (
            datetime.combine(datetime(2026, 11, 23), haul.departure)
            + haul.duration
            + timedelta(hours=shift_hours[haul.destination])
        )
        # Arrives by 07:00 hub time (an hour before the 08:00 vans), within a quarter hour.
        assert time(6, 45) < at_hub.time() <= time(7, 0)
