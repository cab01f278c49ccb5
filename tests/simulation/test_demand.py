"""Demand properties: totals scale with population; no office in reach -> unserved."""

from __future__ import annotations

import random
from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from selpo.simulation.demand import (
    Assignment,
    Place,
    Site,
    daily_orders,
    day_factor,
    expected_orders,
    road_km,
)

DAY = date(2026, 12, 21)
BOTH = frozenset({"OZON", "YANDEX_MARKET"})


@given(
    population=st.integers(min_value=1, max_value=100_000),
    factor=st.integers(min_value=2, max_value=10),
    urban=st.booleans(),
)
def test_expected_orders_scale_with_population(population: int, factor: int, urban: bool) -> None:
    small = Place("D", population, 57.0, 41.0, urban)
    large = Place("D", population * factor, 57.0, 41.0, urban)
    for market in ("OZON", "YANDEX_MARKET"):
        ratio = expected_orders(large, market, DAY) / expected_orders(small, market, DAY)
        assert abs(ratio - factor) < 1e-9


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_no_office_in_reach_means_unserved(seed: int) -> None:
    places = [Place("D", 20_000, 57.0, 41.0, False)]
    far = [Site("100000", "X", 60.0, 30.0, BOTH)]
    orders = daily_orders(places, Assignment(places, far, 25.0), DAY, random.Random(seed))
    assert orders
    assert all(o.office_index is None for o in orders)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_orders_go_to_the_nearest_serving_office(seed: int) -> None:
    places = [Place("D", 20_000, 57.0, 41.0, True)]
    sites = [
        Site("111111", "D", 57.001, 41.0, frozenset({"YANDEX_MARKET"})),
        Site("222222", "D", 57.05, 41.0, BOTH),
    ]
    orders = daily_orders(places, Assignment(places, sites, 25.0), DAY, random.Random(seed))
    expected = {"OZON": "222222", "YANDEX_MARKET": "111111"}
    assert all(o.office_index == expected[o.marketplace] for o in orders)


def test_large_totals_follow_the_population() -> None:
    places = [Place("D", 200_000, 57.0, 41.0, False), Place("D", 400_000, 57.0, 41.0, False)]
    sites = [Site("111111", "D", 57.0, 41.0, BOTH)]
    orders = daily_orders(places, Assignment(places, sites, 25.0), DAY, random.Random(3))
    mean = sum(expected_orders(p, m, DAY) for p in places for m in ("OZON", "YANDEX_MARKET"))
    assert abs(len(orders) - mean) < 5 * mean**0.5


def test_shapes_and_distance() -> None:
    assert day_factor(date(2026, 12, 21)) > day_factor(date(2026, 7, 19))  # Dec Mon > Jul Sun
    km = road_km(57.0, 41.0, np.array([58.0]), np.array([41.0]))
    assert 144 < km[0] < 145.5  # 111.2 km x 1.3
