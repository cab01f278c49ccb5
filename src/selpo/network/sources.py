"""A region as the import needs it: the checked rows of one region, whatever the source.

``network.reference`` builds a ``RegionSource`` for any region from the national reference files
that ship with the package (PIndx, GeoNames postal codes, the localities of Russia, the 2021
census), applying the curated files of a region's manifest where it has them.
``network.importer`` loads a ``RegionSource`` into the registry. Nothing here touches a file or
the database: plain data only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time

from selpo.network.rules import OfficeKind

# A postal index: six digits.
INDEX_RE = re.compile(r"^\d{6}$")

# Locality kinds, as ``Settlement.kind`` stores them.
TOWN = "town"
URBAN_TYPE_SETTLEMENT = "urban_type_settlement"
RURAL_LOCALITY = "rural_locality"


@dataclass(frozen=True)
class RowError:
    """A refused row: where it is (file, line; 0 when it has none) and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class HaulSource:
    """A scheduled truck from a warehouse to the region's sorting centre."""

    weekdays: tuple[int, ...]  # 0 = Monday
    departure: time  # the warehouse's local time
    duration_s: int


@dataclass(frozen=True)
class WarehouseSource:
    """A marketplace warehouse that feeds the region (warehouses are national: one row each)."""

    code: str  # e.g. W-PODOLSK
    name: str
    lat: float
    lon: float
    timezone: str
    is_default: bool
    hauls: tuple[HaulSource, ...]  # to this region's sorting centre


@dataclass(frozen=True)
class RegionInfo:
    """What names a region: its two-digit code, its name, its zone."""

    code: str  # the federal subject's number, two digits (regions.csv)
    name: str  # the Russian name, as the reference (PIndx) spells it
    slug: str  # latin: the folder of a curated manifest, the CLI's friendly name
    timezone: str  # an IANA zone name (Russia spans UTC+2 to UTC+12)
    capital: str  # the administrative centre's name


@dataclass(frozen=True)
class DistrictSource:
    """A municipal district, municipal okrug or urban okrug."""

    name: str  # unique within the region
    kind: str  # municipal_district | municipal_okrug | urban_okrug
    admin_centre: str | None
    oktmo: str | None
    population: int | None  # the 2021 census total, when matched
    centre_lat: float | None
    centre_lon: float | None


@dataclass(frozen=True)
class LocalitySource:
    """A locality (населённый пункт): a point of demand, with or without a post office."""

    key: str  # stable across re-imports, e.g. "syomin:18804"
    district: str  # DistrictSource.name
    name: str
    kind: str  # TOWN | URBAN_TYPE_SETTLEMENT | RURAL_LOCALITY
    lat: float
    lon: float
    coord_source: str  # e.g. "syomin_2021"
    coord_precision: str  # e.g. "locality_centroid"
    oktmo: str | None
    population: int  # scaled so the district sums to its 2021 census total
    population_raw: int | None  # the source's own figure (2010 census / 2017 estimate)
    population_basis: str  # census_2021 | scaled_to_census2021 | ...
    population_is_estimate: bool
    population_source: str


@dataclass(frozen=True)
class OfficeSource:
    """A post office (PIndx type О) with where it is and how sure we are."""

    index: str
    name: str
    district: str  # DistrictSource.name
    locality_key: str | None  # LocalitySource.key of its locality, when matched
    kind: OfficeKind  # by its locality: town, urban-type settlement or rural
    address: str  # built from the reference; an estimate
    lat: float
    lon: float
    coord_source: str  # geonames_postal | locality | district_centre | curated source name
    coord_precision: str  # postal_code_centroid | locality_centroid | district_centre_fallback
    parent_index: str | None
    parent_name: str | None
    act_date: str | None  # PIndx ActDate, YYYY-MM-DD


@dataclass(frozen=True)
class HubSource:
    """The regional sorting centre or a district hub (a district centre's main office)."""

    code: str  # RSC-<index> | DH-<index>
    name: str
    kind: str  # regional_sorting_centre | district_hub
    index: str
    office_index: str | None  # the office it sits in (district hubs)
    district: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class AssumedConnections:
    """How many offices a marketplace is assumed to serve today in the region (demo data)."""

    marketplace: str  # code: OZON, YANDEX_MARKET, SBER_MEGAMARKET
    offices: int


@dataclass
class RegionSource:
    """Everything the import loads for one region, and the rows it refused."""

    info: RegionInfo
    source: str  # what the offices come from, e.g. "Russian Post PIndx 2026-06-22 via sanmai/pindx"
    curated: bool  # a curated manifest was applied
    districts: list[DistrictSource]
    localities: list[LocalitySource]
    offices: list[OfficeSource]
    hubs: list[HubSource]  # exactly one regional_sorting_centre first
    warehouses: list[WarehouseSource]
    assumed_connections: list[AssumedConnections] = field(default_factory=list)
    refused: list[RowError] = field(default_factory=list)
    census_total: int | None = None  # the region's 2021 census population


@dataclass(frozen=True)
class MarketplaceSeed:
    """A marketplace created on the first import when it is not there yet (they are national)."""

    code: str
    name: str
    storage_days: int
    storage_extension_days: int
