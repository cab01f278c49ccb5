"""Synthetic demand from settlement populations: a pure kernel (plain data, a seeded rng).

Every constant is documented in ``docs/simulation.md``. Nothing here touches the database.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from selpo.logistics.distance import DEFAULT_CIRCUITY

# Orders per person per day that go to a post-office pickup point, all marketplaces together.
# Towns have the marketplaces' own pickup points, villages do not: rural people use the post
# office more (see docs/simulation.md for the derivation).
ORDERS_PER_PERSON_DAY_URBAN = 0.002
ORDERS_PER_PERSON_DAY_RURAL = 0.005
# Marketplace shares of those orders.
MARKETPLACE_SHARE: Mapping[str, float] = {"OZON": 0.6, "YANDEX_MARKET": 0.4}
# Monday..Sunday multipliers (mean 1.0).
WEEKDAY_SHAPE = (1.15, 1.1, 1.05, 1.0, 0.95, 0.8, 0.95)
# Seasonal multiplier by month (pre-New-Year peak in December, dip in January).
MONTH_SHAPE = (0.8, 0.85, 0.95, 0.95, 0.95, 0.9, 0.9, 0.95, 1.0, 1.05, 1.2, 1.45)
# Reach: an office farther than this by road (great circle x DEFAULT_CIRCUITY, the circuity
# factor planning and logistics use too) does not serve the order.
REACH_KM = 25.0
EARTH_RADIUS_KM = 6371.0088
# Recipient behaviour.
PICKUP_DELAY_MEAN_H = 30.0  # exponential, capped at PICKUP_DELAY_MAX_H
PICKUP_DELAY_MAX_H = 240.0
NEVER_COLLECT_SHARE = 0.04
REFUSE_ALL_SHARE = 0.02
REFUSE_PART_SHARE = 0.05
# The way back (see docs/simulation.md). A buyer brings back a share of the parcels taken
# whole, this many hours after taking them (OZON-style returns at the pickup point); a
# collection partner's bags come to every office at a mean rate per open day (Poisson),
# more in villages (the region's post carried knitwear for a recycling partner).
CUSTOMER_RETURN_SHARE = 0.03
CUSTOMER_RETURN_DELAY_H = 72.0
PARTNER_BAGS_PER_OFFICE_DAY_RURAL = 0.4
PARTNER_BAGS_PER_OFFICE_DAY_URBAN = 0.2
PARTNER_BAG_WEIGHT_G = 4_000
PARTNER_BAG_LITRES = 60.0
COD_SHARE: Mapping[str, float] = {"OZON": 0.15, "YANDEX_MARKET": 0.25}
# Parcel: items per order 1..3, price per item log-normal (median 1,200 roubles).
PRICE_MEDIAN_KOP = 120_000
PRICE_SIGMA = 0.8
# Share of office-days on which nobody staffs the counter (sickness, leave): a rural office
# has a single clerk and no stand-in, a town office usually has a second one. An absence
# lasts 1..ABSENCE_MAX_DAYS days (uniform); it starts on a day with the probability that
# makes the share of unstaffed days the share named (overlaps aside).
UNSTAFFED_SHARE_RURAL = 0.03
UNSTAFFED_SHARE_URBAN = 0.01
ABSENCE_MAX_DAYS = 5


@dataclass(frozen=True)
class Place:
    """A settlement that orders."""

    district: str
    population: int
    lat: float
    lon: float
    urban: bool


@dataclass(frozen=True)
class Site:
    """A post office and the marketplaces it serves."""

    index: str
    district: str
    lat: float
    lon: float
    marketplaces: frozenset[str]


@dataclass(frozen=True)
class Order:
    """One order of one day and how its recipient will behave."""

    order_id: str
    marketplace: str
    district: str
    office_index: str | None  # None: unserved demand
    items: tuple[int, ...]  # price per item, kopecks
    cod: bool
    pickup_delay_h: float
    never_collect: bool
    refuse_all: bool
    refuse_part: bool


def day_factor(day: date) -> float:
    """The weekday x season multiplier of a day."""
    return WEEKDAY_SHAPE[day.weekday()] * MONTH_SHAPE[day.month - 1]


def expected_orders(place: Place, marketplace: str, day: date, scale: float = 1.0) -> float:
    """The mean number of orders a place places with a marketplace on a day."""
    rate = ORDERS_PER_PERSON_DAY_URBAN if place.urban else ORDERS_PER_PERSON_DAY_RURAL
    return (
        place.population * rate * MARKETPLACE_SHARE.get(marketplace, 0.0) * day_factor(day) * scale
    )


def road_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance x ``DEFAULT_CIRCUITY``, kilometres, from one point to many."""
    p1, p2 = math.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2) - math.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    result: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)) * DEFAULT_CIRCUITY
    return result


class Assignment:
    """Nearest serving office within reach, per place and marketplace (cached)."""

    def __init__(self, places: Sequence[Place], sites: Sequence[Site], reach_km: float) -> None:
        self._nearest: dict[tuple[int, str], str | None] = {}
        for market in MARKETPLACE_SHARE:
            serving = [s for s in sites if market in s.marketplaces]
            lat = np.array([s.lat for s in serving], dtype=np.float64)
            lon = np.array([s.lon for s in serving], dtype=np.float64)
            for i, place in enumerate(places):
                best: str | None = None
                if serving:
                    km = road_km(place.lat, place.lon, lat, lon)
                    j = int(np.argmin(km))
                    if km[j] <= reach_km:
                        best = serving[j].index
                self._nearest[(i, market)] = best

    def office(self, place: int, marketplace: str) -> str | None:
        return self._nearest[(place, marketplace)]


def unstaffed(seed: int, office_index: str, day: date, *, rural: bool) -> bool:
    """Whether the office's counter stays shut on its local ``day``: an absence that started
    on one of the ``ABSENCE_MAX_DAYS`` days up to ``day`` still lasts. Each day's draw is
    seeded by (seed, office, day) alone, so the answer does not depend on who asks when."""
    share = UNSTAFFED_SHARE_RURAL if rural else UNSTAFFED_SHARE_URBAN
    starts = share / ((1 + ABSENCE_MAX_DAYS) / 2)  # per day; the mean absence is 3 days
    for back in range(ABSENCE_MAX_DAYS):
        start = day - timedelta(days=back)
        rng = random.Random(f"absence:{seed}:{office_index}:{start.isoformat()}")
        if rng.random() < starts and rng.randint(1, ABSENCE_MAX_DAYS) > back:
            return True
    return False


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def daily_orders(
    places: Sequence[Place],
    assignment: Assignment,
    day: date,
    rng: random.Random,
    *,
    scale: float = 1.0,
) -> list[Order]:
    """The orders of one day, in a deterministic order for a given rng state."""
    orders: list[Order] = []
    for i, place in enumerate(places):
        for market in sorted(MARKETPLACE_SHARE):
            count = _poisson(rng, expected_orders(place, market, day, scale))
            for _ in range(count):
                n_items = rng.randint(1, 3)
                items = tuple(
                    max(1_000, round(PRICE_MEDIAN_KOP * math.exp(rng.gauss(0, PRICE_SIGMA))))
                    for _ in range(n_items)
                )
                roll = rng.random()
                orders.append(
                    Order(
                        order_id=f"SIM-{day:%Y%m%d}-{len(orders):06d}",
                        marketplace=market,
                        district=place.district,
                        office_index=assignment.office(i, market),
                        items=items,
                        cod=rng.random() < COD_SHARE.get(market, 0.0),
                        pickup_delay_h=min(
                            rng.expovariate(1 / PICKUP_DELAY_MEAN_H), PICKUP_DELAY_MAX_H
                        ),
                        never_collect=roll < NEVER_COLLECT_SHARE,
                        refuse_all=NEVER_COLLECT_SHARE
                        <= roll
                        < NEVER_COLLECT_SHARE + REFUSE_ALL_SHARE,
                        refuse_part=n_items > 1
                        and NEVER_COLLECT_SHARE + REFUSE_ALL_SHARE
                        <= roll
                        < NEVER_COLLECT_SHARE + REFUSE_ALL_SHARE + REFUSE_PART_SHARE,
                    )
                )
    return orders


def customer_returns(seed: int, tracking_number: str) -> bool:
    """Whether the buyer of a parcel taken whole brings it back (seeded per parcel)."""
    return random.Random(f"return:{seed}:{tracking_number}").random() < CUSTOMER_RETURN_SHARE


def partner_bags(seed: int, office_index: str, day: date, *, rural: bool) -> int:
    """How many partner bags residents bring to an office on a day (Poisson, seeded)."""
    mean = PARTNER_BAGS_PER_OFFICE_DAY_RURAL if rural else PARTNER_BAGS_PER_OFFICE_DAY_URBAN
    rng = random.Random(f"bags:{seed}:{office_index}:{day.isoformat()}")
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
