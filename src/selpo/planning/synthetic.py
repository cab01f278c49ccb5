"""Seeded, country-like planning instances for tests and benchmarks.

The same seed always gives the same instance (numpy's PCG64 generator). The recipe mimics a
central-Russian region and scales it:

* The territory is a square of ``sqrt(n_places / 0.14)`` km centred on 57° N 41° E (the
  Ivanovo region has about 0.14 inhabited places per km²: 3,000 over 21,400 km²).
* People: 310 per place on average (Ivanovo: 928,000 over 3,000 places); 70 % live in towns.
* Towns: one per hundred places, centres uniform, populations Zipf (rank^-1.1). A town is a
  Gaussian cluster of 1 + log2(1 + pop / 10,000) places (its neighbourhoods), σ 0.6–3 km.
* Villages: the other places; 55 % gather around towns (town drawn ∝ √population, Gaussian
  offset σ 12 km), 45 % are scattered uniformly. Log-normal sizes (median 40, σ 1.3) scaled
  so villages hold the other 30 % — many hamlets of a few people, a few large villages.
* Offices: one per 12,000 town people at the town's neighbourhoods (jitter σ 300 m), the rest
  in distinct villages drawn ∝ population^0.7 (jitter σ 150 m): post offices sit where
  people are. Postal indexes are distinct 6-digit strings in random order.
* Fixed (connected already, 6.5 % by default as in the region: 19 of 292): the main office of
  each of the most populous towns, then the best-placed town offices. 3 % of the others are
  neither fixed nor candidate (temporarily closed); the rest are candidates.
* Costs (for budget runs): modernisation in thousand roubles, log-normal around 400
  (σ 0.35), rural offices 25 % dearer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from selpo.planning.problem import DemandPoints, Facilities

PLACES_PER_KM2 = 0.14
PEOPLE_PER_PLACE = 310.0
TOWN_SHARE = 0.70
CENTRE_LAT, CENTRE_LON = 57.0, 41.0
KM_PER_DEGREE = 111.195

SIZES: dict[str, tuple[int, int]] = {
    "region": (3_000, 292),
    "medium": (30_000, 5_000),
    "national": (150_000, 42_000),
}


@dataclass(frozen=True)
class SyntheticInstance:
    """A generated instance with the parameters that produced it."""

    name: str
    seed: int
    demand: DemandPoints
    facilities: Facilities


def synthetic_instance(
    n_places: int,
    n_facilities: int,
    *,
    seed: int = 0,
    fixed_share: float = 0.065,
    closed_share: float = 0.03,
    name: str | None = None,
) -> SyntheticInstance:
    """A country-like instance with ``n_places`` places and ``n_facilities`` offices."""
    if n_places < 1 or n_facilities < 1:
        raise ValueError("need at least one place and one office")
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n_places / PLACES_PER_KM2))
    total_people = n_places * PEOPLE_PER_PLACE

    n_towns = max(1, n_places // 100)
    town_xy = rng.uniform(-side / 2, side / 2, size=(n_towns, 2))
    zipf = 1.0 / np.arange(1, n_towns + 1) ** 1.1
    town_pop = zipf / zipf.sum() * total_people * TOWN_SHARE
    parts = 1 + np.floor(np.log2(1 + town_pop / 10_000)).astype(np.int64)
    if parts.sum() > n_places:  # tiny instances: one place per town
        parts = np.ones(n_towns, dtype=np.int64)
    town_of_place = np.repeat(np.arange(n_towns), parts)
    sigma = 0.6 + 0.5 * np.sqrt(town_pop / 10_000)
    sigma = np.minimum(sigma, 3.0)
    urban_xy = (
        town_xy[town_of_place]
        + rng.normal(size=(len(town_of_place), 2)) * sigma[town_of_place, None]
    )
    urban_pop = np.empty(len(town_of_place))
    for t in range(n_towns):
        members = np.flatnonzero(town_of_place == t)
        urban_pop[members] = rng.dirichlet(np.full(len(members), 2.0)) * town_pop[t]

    n_villages = n_places - len(town_of_place)
    clustered = rng.random(n_villages) < 0.55
    near = rng.choice(n_towns, size=n_villages, p=np.sqrt(town_pop) / np.sqrt(town_pop).sum())
    village_xy = np.where(
        clustered[:, None],
        town_xy[near] + rng.normal(scale=12.0, size=(n_villages, 2)),
        rng.uniform(-side / 2, side / 2, size=(n_villages, 2)),
    )
    village_pop = rng.lognormal(mean=np.log(40.0), sigma=1.3, size=n_villages)
    if n_villages:
        village_pop *= total_people * (1 - TOWN_SHARE) / village_pop.sum()

    xy = _fold_into(np.vstack((urban_xy, village_xy)), side / 2)
    population = np.maximum(1.0, np.round(np.concatenate((urban_pop, village_pop))))
    is_urban = np.arange(n_places) < len(town_of_place)
    lat, lon = _to_degrees(xy)
    demand = DemandPoints.build(ids=np.arange(n_places), lat=lat, lon=lon, weight=population)

    facilities = _offices(
        rng,
        xy,
        population,
        is_urban,
        town_of_place,
        town_pop,
        n_facilities,
        fixed_share,
        closed_share,
    )
    label = name or f"synthetic {n_places:,}×{n_facilities:,} seed {seed}"
    return SyntheticInstance(name=label, seed=seed, demand=demand, facilities=facilities)


def _fold_into(xy: np.ndarray, half: float) -> np.ndarray:
    """Mirror points that fell outside the square back in (clipping would pile them up)."""
    xy = np.where(xy > half, 2 * half - xy, xy)
    xy = np.where(xy < -half, -2 * half - xy, xy)
    return np.asarray(np.clip(xy, -half, half), dtype=np.float64)


def _to_degrees(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat = CENTRE_LAT + xy[:, 1] / KM_PER_DEGREE
    lon = CENTRE_LON + xy[:, 0] / (KM_PER_DEGREE * np.cos(np.radians(lat)))
    return lat, lon


def _offices(
    rng: np.random.Generator,
    xy: np.ndarray,
    population: np.ndarray,
    is_urban: np.ndarray,
    town_of_place: np.ndarray,
    town_pop: np.ndarray,
    n_facilities: int,
    fixed_share: float,
    closed_share: float,
) -> Facilities:
    urban_places = np.flatnonzero(is_urban)
    per_town = np.maximum(1, np.round(town_pop / 12_000)).astype(np.int64)
    while per_town.sum() > n_facilities * 0.6 and per_town.max() > 1:
        per_town = np.maximum(1, per_town // 2)
    per_town = per_town[:n_facilities]  # never more towns with offices than offices
    town_sites: list[int] = []
    main_office: list[int] = []  # position (in town_sites order) of each town's main office
    for t, count in enumerate(per_town):
        members = urban_places[town_of_place[urban_places] == t]
        weights = population[members] / population[members].sum()
        picks = rng.choice(members, size=int(count), p=weights)
        main_office.append(len(town_sites))
        town_sites.extend(int(p) for p in picks)
    n_rural = n_facilities - len(town_sites)
    villages = np.flatnonzero(~is_urban)
    rural_sites = np.zeros(0, dtype=np.int64)
    if n_rural > 0 and len(villages):
        p = population[villages] ** 0.7
        take = min(n_rural, len(villages))
        rural_sites = rng.choice(villages, size=take, replace=False, p=p / p.sum())
    extra = n_rural - len(rural_sites)
    if extra > 0:  # more offices than villages: second offices in the larger places
        p = population / population.sum()
        rural_sites = np.concatenate((rural_sites, rng.choice(len(population), extra, p=p)))
    sites = np.concatenate((np.asarray(town_sites, dtype=np.int64), rural_sites))
    jitter = np.where(np.arange(len(sites)) < len(town_sites), 0.3, 0.15)
    office_xy = xy[sites] + rng.normal(size=(len(sites), 2)) * jitter[:, None]
    lat, lon = _to_degrees(office_xy)

    n_fixed = int(round(fixed_share * n_facilities))
    fixed = np.zeros(n_facilities, dtype=np.bool_)
    ranked_towns = np.argsort(-town_pop[: len(per_town)], kind="stable")
    for t in ranked_towns[:n_fixed]:
        fixed[main_office[t]] = True
    if fixed.sum() < n_fixed:
        by_people = np.argsort(-population[sites], kind="stable")
        for position in by_people:
            if fixed.sum() >= n_fixed:
                break
            fixed[position] = True
    others = np.flatnonzero(~fixed)
    closed = rng.choice(others, size=int(round(closed_share * len(others))), replace=False)
    candidate = ~fixed
    candidate[closed] = False
    rural = np.arange(n_facilities) >= len(town_sites)
    cost = np.round(rng.lognormal(np.log(400.0), 0.35, n_facilities) * np.where(rural, 1.25, 1.0))
    indexes = rng.permutation(np.arange(100_000, 1_000_000))[:n_facilities]
    return Facilities.build(
        index=[f"{i:06d}" for i in indexes],
        lat=lat,
        lon=lon,
        fixed=fixed,
        candidate=candidate,
        cost=cost,
    )


def named_instance(name: str, seed: int = 0) -> SyntheticInstance:
    """One of the standard sizes: "region" (3,000×292), "medium", "national" (150,000×42,000)."""
    n_places, n_facilities = SIZES[name]
    return synthetic_instance(n_places, n_facilities, seed=seed, name=f"synthetic-{name}")
