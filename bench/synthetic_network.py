"""A seeded, national-size synthetic post-office network for benchmarks (~42,000 offices).

There is no open national register of post offices with coordinates and limits, so benchmarks
that need a network the size of Russia's (about 42,000 offices) use this one. It is shaped
like the real thing where that matters for performance, and made up everywhere else:

* **Regions**: 82 federal subjects, each centred on its capital's approximate coordinates
  (rounded to ~0.01°, from memory of a map; Crimea and Sevastopol are left out), with a rough
  2021 population in millions. Offices per region are proportional to population, at a lower
  rate for Moscow and St Petersburg (a city office serves many more people), then scaled so
  the network has exactly ``size`` offices. The two capitals' own oblasts have no capital of
  their own (their capital is the city next door).
* **Inside a region**: a share of offices (12 %) in the capital, scattered around it
  (normal, σ growing with the city's office count, 3-15 km); district towns (one per ~14
  offices, as in the Ivanovo region: 21 districts, 301 offices) spread uniformly over a disc of
  the region's rough radius, each with 3 offices within ~2 km; the rest are village offices
  scattered around the district towns (normal, σ ≈ 60 % of a district's radius). There is no
  land mask: a few points fall in a sea or across a border, which does not matter for timing.
* **Longitudes** are wrapped to [-180, 180), so Chukotka's offices straddle the antimeridian
  as they do in reality, and the network exercises that case.
* **Limits**: each office starts from the defaults of its kind (``selpo.network.rules``:
  town, urban-type settlement, village) and varies: cell counts are Poisson around the
  default; 25 % of village offices have no L cells (so their maximum dimensions are the M
  cell's); 10 % of offices take at most 10 kg. The variation is invented, to give parcel
  filters something to filter.
* **Postal indices** are unique six-digit strings, a three-digit prefix per region block
  (up to 1,000 offices each) as in real Russian indices, numbered in generation order. They
  are not real indices.

Same ``size`` and ``seed`` give the same network, bit for bit, on any machine with the same
numpy major version (``numpy.random.default_rng``'s PCG64 stream). ``offices_near`` draws
query points (customers) near populated places for search benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from selpo.network.rules import CELL_CLASSES, OfficeKind, office_defaults

NATIONAL_SIZE: Final[int] = 42_000
DEFAULT_SEED: Final[int] = 20_260_101
EARTH_RADIUS_M: Final[float] = 6_371_008.8  # as selpo.network.geo

_CAPITAL_SHARE: Final[float] = 0.12
_OFFICES_PER_DISTRICT: Final[int] = 14
_DISTRICT_TOWN_OFFICES: Final[int] = 3
_NO_L_CELLS_SHARE: Final[float] = 0.25
_LIGHT_ONLY_SHARE: Final[float] = 0.10
_LIGHT_ONLY_MAX_G: Final[int] = 10_000
# Offices per million people: the Ivanovo region has ~300 for ~0.93 M; a federal city far fewer.
_OFFICES_PER_MILLION: Final[float] = 320.0
_CITY_OFFICES_PER_MILLION: Final[float] = 45.0


@dataclass(frozen=True)
class Region:
    """A federal subject as the generator sees it: centre, people, rough radius."""

    name: str
    lat: float
    lon: float
    population_m: float
    radius_km: float
    kind: str = "region"  # "city" (federal city: all town offices), "ring" (no own capital)


REGIONS: Final[tuple[Region, ...]] = (
    Region("Москва", 55.76, 37.62, 13.0, 20, "city"),
    Region("Московская область", 55.75, 37.62, 8.5, 130, "ring"),
    Region("Санкт-Петербург", 59.94, 30.31, 5.4, 15, "city"),
    Region("Ленинградская область", 59.80, 31.00, 1.9, 170, "ring"),
    Region("Краснодарский край", 45.04, 38.98, 5.7, 190),
    Region("Свердловская область", 56.84, 60.60, 4.3, 260),
    Region("Ростовская область", 47.23, 39.72, 4.2, 190),
    Region("Башкортостан", 54.73, 55.95, 4.0, 210),
    Region("Татарстан", 55.79, 49.12, 3.9, 160),
    Region("Тюменская область", 57.15, 65.53, 1.5, 300),
    Region("Челябинская область", 55.16, 61.40, 3.4, 190),
    Region("Нижегородская область", 56.33, 44.00, 3.2, 160),
    Region("Самарская область", 53.20, 50.15, 3.2, 140),
    Region("Дагестан", 42.98, 47.50, 3.1, 120),
    Region("Красноярский край", 56.01, 92.87, 2.9, 400),
    Region("Ставропольский край", 45.04, 41.97, 2.8, 140),
    Region("Новосибирская область", 55.03, 82.92, 2.8, 220),
    Region("Кемеровская область", 55.35, 86.09, 2.6, 160),
    Region("Пермский край", 58.01, 56.25, 2.6, 190),
    Region("Волгоградская область", 48.71, 44.51, 2.5, 190),
    Region("Саратовская область", 51.53, 46.03, 2.4, 190),
    Region("Иркутская область", 52.29, 104.28, 2.4, 320),
    Region("Воронежская область", 51.67, 39.18, 2.3, 140),
    Region("Алтайский край", 53.35, 83.78, 2.3, 210),
    Region("Оренбургская область", 51.77, 55.10, 1.9, 260),
    Region("Приморский край", 43.12, 131.89, 1.9, 210),
    Region("Омская область", 54.99, 73.37, 1.9, 220),
    Region("Ханты-Мансийский АО", 61.25, 73.40, 1.7, 320),
    Region("Удмуртия", 56.85, 53.21, 1.5, 110),
    Region("Белгородская область", 50.60, 36.59, 1.5, 100),
    Region("Тульская область", 54.19, 37.62, 1.5, 100),
    Region("Чечня", 43.32, 45.69, 1.5, 70),
    Region("Хабаровский край", 48.48, 135.08, 1.3, 320),
    Region("Владимирская область", 56.13, 40.41, 1.35, 100),
    Region("Кировская область", 58.60, 49.66, 1.25, 220),
    Region("Брянская область", 53.24, 34.36, 1.2, 110),
    Region("Тверская область", 56.86, 35.90, 1.25, 160),
    Region("Ярославская область", 57.63, 39.87, 1.25, 110),
    Region("Пензенская область", 53.20, 45.00, 1.3, 110),
    Region("Липецкая область", 52.61, 39.59, 1.1, 90),
    Region("Ульяновская область", 54.31, 48.40, 1.2, 110),
    Region("Томская область", 56.48, 84.95, 1.07, 260),
    Region("Архангельская область", 64.54, 40.54, 1.1, 320),
    Region("Рязанская область", 54.63, 39.74, 1.1, 110),
    Region("Чувашия", 56.14, 47.25, 1.2, 70),
    Region("Калининградская область", 54.71, 20.51, 1.0, 70),
    Region("Курская область", 51.73, 36.19, 1.1, 100),
    Region("Якутия", 62.03, 129.73, 1.0, 500),
    Region("Бурятия", 51.83, 107.58, 0.98, 260),
    Region("Тамбовская область", 52.72, 41.45, 1.0, 100),
    Region("Вологодская область", 59.22, 39.89, 1.15, 220),
    Region("Забайкальский край", 52.03, 113.50, 1.05, 320),
    Region("Ивановская область", 57.00, 40.97, 1.0, 75),
    Region("Калужская область", 54.51, 36.26, 1.0, 100),
    Region("Смоленская область", 54.78, 32.05, 0.93, 120),
    Region("Кабардино-Балкария", 43.49, 43.61, 0.9, 60),
    Region("Коми", 61.67, 50.84, 0.8, 320),
    Region("Курганская область", 55.44, 65.34, 0.82, 160),
    Region("Мордовия", 54.18, 45.18, 0.78, 90),
    Region("Орловская область", 52.97, 36.06, 0.73, 90),
    Region("Астраханская область", 46.35, 48.04, 1.0, 130),
    Region("Марий Эл", 56.63, 47.89, 0.68, 80),
    Region("Костромская область", 57.77, 40.93, 0.62, 140),
    Region("Псковская область", 57.82, 28.33, 0.62, 130),
    Region("Новгородская область", 58.52, 31.27, 0.6, 130),
    Region("Карелия", 61.79, 34.36, 0.6, 220),
    Region("Мурманская область", 68.97, 33.07, 0.73, 220),
    Region("Амурская область", 50.26, 127.53, 0.78, 260),
    Region("Хакасия", 53.72, 91.44, 0.53, 130),
    Region("Северная Осетия", 43.02, 44.68, 0.69, 50),
    Region("Адыгея", 44.61, 40.10, 0.46, 50),
    Region("Карачаево-Черкесия", 44.23, 42.05, 0.47, 60),
    Region("Ингушетия", 43.23, 44.77, 0.5, 30),
    Region("Калмыкия", 46.31, 44.26, 0.27, 150),
    Region("Сахалинская область", 46.96, 142.74, 0.49, 220),
    Region("Камчатский край", 53.02, 158.65, 0.31, 160),
    Region("Магаданская область", 59.56, 150.80, 0.14, 220),
    Region("Чукотский АО", 64.73, 177.51, 0.05, 320),
    Region("Ямало-Ненецкий АО", 63.20, 75.45, 0.55, 320),
    Region("Ненецкий АО", 67.64, 53.01, 0.04, 220),
    Region("Республика Алтай", 51.96, 85.96, 0.22, 160),
    Region("Тыва", 51.72, 94.45, 0.33, 160),
    Region("Еврейская АО", 48.79, 132.92, 0.15, 90),
)


@dataclass(frozen=True)
class SyntheticNetwork:
    """Offices as parallel arrays (position ``i`` is one office); see the module docstring."""

    index: NDArray[np.str_]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    rural: NDArray[np.bool_]
    kind: NDArray[np.str_]
    region: NDArray[np.int16]
    max_weight_g: NDArray[np.int32]
    max_length_mm: NDArray[np.int32]
    max_width_mm: NDArray[np.int32]
    max_height_mm: NDArray[np.int32]
    cells_s: NDArray[np.int32]
    cells_m: NDArray[np.int32]
    cells_l: NDArray[np.int32]
    seed: int

    def __len__(self) -> int:
        return int(self.lat.shape[0])


def _offices_per_region(size: int) -> NDArray[np.int64]:
    # Largest-remainder apportionment, so the counts add up to ``size`` exactly.
    rate = np.array(
        [_CITY_OFFICES_PER_MILLION if r.kind == "city" else _OFFICES_PER_MILLION for r in REGIONS]
    )
    weight = rate * np.array([r.population_m for r in REGIONS])
    quota = weight / weight.sum() * size
    counts: NDArray[np.int64] = np.floor(quota).astype(np.int64)
    short = size - int(counts.sum())
    counts[np.argsort(-(quota - counts), kind="stable")[:short]] += 1
    return counts


def _offset(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    north_m: NDArray[np.float64],
    east_m: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # Local flat offsets are fine at these distances (at most a few hundred km, off the poles).
    new_lat = np.clip(lat + np.degrees(north_m / EARTH_RADIUS_M), -89.9, 89.9)
    new_lon = lon + np.degrees(east_m / (EARTH_RADIUS_M * np.cos(np.radians(new_lat))))
    return new_lat, (new_lon + 180.0) % 360.0 - 180.0


def _place_region(
    rng: np.random.Generator, region: Region, count: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[OfficeKind]]:
    # One region: capital offices, district towns, villages around the district towns.
    if region.kind == "city":
        capital = count
    elif region.kind == "ring":
        capital = 0
    else:
        capital = min(count, max(1, round(_CAPITAL_SHARE * count)))
    rest = count - capital
    districts = max(1, round(rest / _OFFICES_PER_DISTRICT)) if rest else 0
    town_offices = min(rest, districts * _DISTRICT_TOWN_OFFICES)
    villages = rest - town_offices

    centre_lat = np.array([region.lat])
    centre_lon = np.array([region.lon])
    city_sigma_m = min(15_000.0, 3_000.0 * np.sqrt(max(capital, 1) / 20.0))
    cap_lat, cap_lon = _offset(
        np.repeat(centre_lat, capital),
        np.repeat(centre_lon, capital),
        rng.normal(0.0, city_sigma_m, capital),
        rng.normal(0.0, city_sigma_m, capital),
    )
    # District towns uniformly over the region's disc (sqrt for a uniform density).
    distance = region.radius_km * 1000.0 * np.sqrt(rng.random(districts))
    bearing = rng.uniform(0.0, 2.0 * np.pi, districts)
    d_lat, d_lon = _offset(
        np.repeat(centre_lat, districts),
        np.repeat(centre_lon, districts),
        distance * np.cos(bearing),
        distance * np.sin(bearing),
    )
    town_of = np.arange(town_offices) % max(districts, 1)
    t_lat, t_lon = _offset(
        d_lat[town_of],
        d_lon[town_of],
        rng.normal(0.0, 1_500.0, town_offices),
        rng.normal(0.0, 1_500.0, town_offices),
    )
    district_sigma_m = 0.6 * region.radius_km * 1000.0 / np.sqrt(max(districts, 1))
    village_of = rng.integers(0, max(districts, 1), villages)
    v_lat, v_lon = _offset(
        d_lat[village_of],
        d_lon[village_of],
        rng.normal(0.0, district_sigma_m, villages),
        rng.normal(0.0, district_sigma_m, villages),
    )
    kinds = (
        [OfficeKind.TOWN] * capital
        + [OfficeKind.URBAN_TYPE_SETTLEMENT] * town_offices
        + [OfficeKind.RURAL] * villages
    )
    return (
        np.concatenate([cap_lat, t_lat, v_lat]),
        np.concatenate([cap_lon, t_lon, v_lon]),
        kinds,
    )


def _indices(region_counts: NDArray[np.int64]) -> NDArray[np.str_]:
    # Six digits: a three-digit prefix per block of up to 1,000 offices of one region.
    indices: list[str] = []
    prefix = 101
    for count in region_counts.tolist():
        for start in range(0, count, 1000):
            block = min(1000, count - start)
            indices.extend(f"{prefix:03d}{suffix:03d}" for suffix in range(block))
            prefix += 1
    if prefix > 999:
        raise ValueError("too many offices for six-digit indices")
    return np.array(indices, dtype="<U6")


def generate_network(size: int = NATIONAL_SIZE, *, seed: int = DEFAULT_SEED) -> SyntheticNetwork:
    """A synthetic national network of ``size`` offices, the same for the same seed."""
    if size < 0:
        raise ValueError("size must not be negative")
    rng = np.random.default_rng(seed)
    region_counts = _offices_per_region(size)
    lats: list[NDArray[np.float64]] = []
    lons: list[NDArray[np.float64]] = []
    kinds: list[OfficeKind] = []
    for region, count in zip(REGIONS, region_counts.tolist(), strict=True):
        lat, lon, region_kinds = _place_region(rng, region, count)
        lats.append(lat)
        lons.append(lon)
        kinds.extend(region_kinds)

    defaults = {kind: office_defaults(kind) for kind in OfficeKind}

    def _by_kind(field: str) -> NDArray[np.int32]:
        return np.array([getattr(defaults[k], field) for k in kinds], dtype=np.int32)

    rural = np.array([k is OfficeKind.RURAL for k in kinds], dtype=bool)
    cells_s = rng.poisson(_by_kind("cells_s")).astype(np.int32)
    cells_m = rng.poisson(_by_kind("cells_m")).astype(np.int32)
    cells_l = rng.poisson(_by_kind("cells_l")).astype(np.int32)
    cells_l[rural & (rng.random(size) < _NO_L_CELLS_SHARE)] = 0
    max_weight_g = _by_kind("max_weight_g")
    max_weight_g[rng.random(size) < _LIGHT_ONLY_SHARE] = _LIGHT_ONLY_MAX_G
    # An office takes what its largest cell holds: without L cells, the M cell's size.
    largest, medium = CELL_CLASSES[-1], CELL_CLASSES[-2]
    no_l = cells_l == 0
    max_length_mm = np.where(no_l, medium.length_mm, largest.length_mm).astype(np.int32)
    max_width_mm = np.where(no_l, medium.width_mm, largest.width_mm).astype(np.int32)
    max_height_mm = np.where(no_l, medium.height_mm, largest.height_mm).astype(np.int32)
    return SyntheticNetwork(
        index=_indices(region_counts),
        lat=np.concatenate(lats) if lats else np.empty(0),
        lon=np.concatenate(lons) if lons else np.empty(0),
        rural=rural,
        kind=np.array([str(k) for k in kinds], dtype=np.str_),
        region=np.repeat(np.arange(len(REGIONS), dtype=np.int16), region_counts),
        max_weight_g=max_weight_g,
        max_length_mm=max_length_mm,
        max_width_mm=max_width_mm,
        max_height_mm=max_height_mm,
        cells_s=cells_s,
        cells_m=cells_m,
        cells_l=cells_l,
        seed=seed,
    )


def offices_near(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    count: int,
    *,
    seed: int,
    spread_m: float = 3_000.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``count`` points near populated places: a random office each, moved ~``spread_m``."""
    if lat.shape[0] == 0:
        raise ValueError("no offices to draw query points near")
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, lat.shape[0], count)
    return _offset(
        lat[picked],
        lon[picked],
        rng.normal(0.0, spread_m, count),
        rng.normal(0.0, spread_m, count),
    )
