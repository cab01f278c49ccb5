"""Demand properties: totals scale with population; no office in reach -> unserved."""

from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from selpo.simulation.demand import (
    ABSENCE_MAX_DAYS,
    UNSTAFFED_SHARE_RURAL,
    UNSTAFFED_SHARE_URBAN,
    Assignment,
    Place,
    Site,
    daily_orders,
    day_factor,
    expected_orders,
    road_km,
    unstaffed,
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


def test_unstaffed_days_come_in_short_spells_at_the_named_share() -> None:
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)]
    offices = [f"{155000 + n}" for n in range(60)]
    for rural, share in ((True, UNSTAFFED_SHARE_RURAL), (False, UNSTAFFED_SHARE_URBAN)):
        shut = {(o, d) for o in offices for d in days if unstaffed(1, o, d, rural=rural)}
        assert abs(len(shut) / (len(offices) * len(days)) - share) < share / 4
        # A spell lasts at most ABSENCE_MAX_DAYS days (two spells may touch).
        runs = [n for o in offices for n in _spells([(o, d) in shut for d in days])]
        assert 2 < sum(runs) / len(runs) < 4
        assert max(runs) <= 2 * ABSENCE_MAX_DAYS


def test_unstaffed_days_are_the_same_for_a_seed_and_differ_between_seeds() -> None:
    days = [date(2026, 11, 2) + timedelta(days=n) for n in range(200)]
    first = [unstaffed(1, "155921", d, rural=True) for d in days]
    assert first == [unstaffed(1, "155921", d, rural=True) for d in reversed(days)][::-1]
    assert first != [unstaffed(2, "155921", d, rural=True) for d in days]


def _spells(shut: list[bool]) -> list[int]:
    spells, length = [], 0
    for day_shut in [*shut, False]:
        if day_shut:
            length += 1
        elif length:
            spells.append(length)
            length = 0
    return spells
