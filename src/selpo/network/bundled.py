"""The interim adapter: a region bundle folder (``region_data/<slug>/`` CSV files) as a
``RegionSource``, so the bundled region loads through the same importer as any other.

What names the region and what the CSV files lack (its code, zone, capital, the warehouses that
feed it, the marketplaces and how many offices each is assumed to serve) is data too:
``bundle_region.toml`` beside this module. The census digest and the population spread are the
ones the importer used before ``RegionSource`` existed; ``network.reference`` replaces this
module for every region once it lands.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from selpo.network.bundle import (
    Bundle,
    OfficeRow,
    RowError,
    SettlementRow,
    admin_centre_town,
    census_district_name,
    office_kind,
    read_bundle,
)
from selpo.network.population import (
    CensusUnit,
    KnownPlace,
    normalised_name,
    spread_census_population,
)
from selpo.network.rules import OfficeKind
from selpo.network.sources import (
    RURAL_LOCALITY,
    TOWN,
    URBAN_TYPE_SETTLEMENT,
    AssumedConnections,
    DistrictSource,
    HaulSource,
    HubSource,
    LocalitySource,
    MarketplaceSeed,
    OfficeSource,
    RegionInfo,
    RegionSource,
    WarehouseSource,
)

MANIFEST = Path(__file__).with_name("bundle_region.toml")
CENSUS_SOURCE = "Rosstat 2021 census, vol. 1, table 5"
_KIND = {
    OfficeKind.TOWN: TOWN,
    OfficeKind.URBAN_TYPE_SETTLEMENT: URBAN_TYPE_SETTLEMENT,
    OfficeKind.RURAL: RURAL_LOCALITY,
}
_KIND_SHORT = {OfficeKind.TOWN: "г.", OfficeKind.URBAN_TYPE_SETTLEMENT: "пгт", OfficeKind.RURAL: ""}
_SORTING_UNIT = "regional_sorting_centre"


@dataclass(frozen=True)
class BundleManifest:
    """``bundle_region.toml`` read: the region, its warehouses and the marketplaces."""

    info: RegionInfo
    source: str
    warehouses: list[WarehouseSource]
    marketplaces: list[MarketplaceSeed]
    assumed_connections: list[AssumedConnections]


def read_manifest(path: Path = MANIFEST) -> BundleManifest:
    """Read the bundled region's manifest."""
    data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    region = data["region"]
    return BundleManifest(
        info=RegionInfo(
            code=str(region["code"]),
            name=region["name"],
            slug=region["slug"],
            timezone=region["timezone"],
            capital=region["capital"],
        ),
        source=region["source"],
        warehouses=[
            WarehouseSource(
                code=w["code"],
                name=w["name"],
                lat=float(w["lat"]),
                lon=float(w["lon"]),
                timezone=w["timezone"],
                is_default=bool(w.get("is_default", False)),
                hauls=tuple(
                    HaulSource(
                        weekdays=tuple(int(d) for d in h["weekdays"]),
                        departure=time.fromisoformat(h["departure"]),
                        duration_s=int(h["duration_s"]),
                    )
                    for h in w.get("hauls", [])
                ),
            )
            for w in data.get("warehouses", [])
        ],
        marketplaces=[
            MarketplaceSeed(
                code=m["code"],
                name=m["name"],
                storage_days=int(m["storage_days"]),
                storage_extension_days=int(m["storage_extension_days"]),
            )
            for m in data.get("marketplaces", [])
        ],
        assumed_connections=[
            AssumedConnections(marketplace=a["marketplace"], offices=int(a["offices"]))
            for a in data.get("assumed_connections", [])
        ],
    )


class _Census:
    """The census rows digested: district totals, exact places, поселения."""

    def __init__(self, bundle: Bundle) -> None:
        self.district_totals: dict[str, int] = {}
        self.places: dict[tuple[str, str], int] = {}
        self.towns: set[tuple[str, str]] = set()
        self.pgt: set[tuple[str, str]] = set()
        self.units: list[CensusUnit] = []
        for row in bundle.census:
            district = census_district_name(row.municipality) if row.municipality else ""
            if row.row_kind == "municipal_district_or_okrug" and row.population is not None:
                self.district_totals[district] = row.population
            if row.settlement_name and row.population is not None:
                # Every labelled row (town, pgt, village of 3,000+) is that place's own figure.
                key = (district, normalised_name(row.settlement_name))
                self.places[key] = row.population
                if row.settlement_type == "г.":
                    self.towns.add(key)
                elif row.settlement_type == "пгт":
                    self.pgt.add(key)
            if row.row_kind == "rural_settlement" and row.poselenie and row.population:
                self.units.append(CensusUnit(district, row.poselenie, row.population, True))

    def kind(self, district: str, name: str, derived: str) -> OfficeKind:
        key = (district, normalised_name(name))
        return office_kind(derived, key in self.pgt, key in self.towns)


def _locality_key(district: str, name: str) -> str:
    return f"bundle:{district}:{name}"


def _address(region: str, row: OfficeRow, kind: OfficeKind) -> str:
    district = row.district
    if district.endswith(" район"):
        district = district[: -len(" район")] + " р-н"
    area = region.replace(" область", " обл.")
    place = f"{_KIND_SHORT[kind]} {row.settlement}".strip()
    if district.startswith("городской округ") and kind is OfficeKind.TOWN:
        return f"{row.index}, {area}, {place}"
    return f"{row.index}, {area}, {district}, {place}"


def _districts(bundle: Bundle, census: _Census) -> list[DistrictSource]:
    centres: dict[str, tuple[float, float]] = {}
    for row in bundle.offices:
        if row.district_centre_lat is not None and row.district_centre_lon is not None:
            centres.setdefault(row.district, (row.district_centre_lat, row.district_centre_lon))
    out = []
    for muni in bundle.municipalities:
        centre = centres.get(muni.name)
        out.append(
            DistrictSource(
                name=muni.name,
                kind=muni.kind,
                admin_centre=muni.admin_centre,
                oktmo=muni.oktmo,
                population=census.district_totals.get(muni.name),
                centre_lat=centre[0] if centre else None,
                centre_lon=centre[1] if centre else None,
            )
        )
    return out


def _localities(
    bundle: Bundle, census: _Census, districts: dict[str, DistrictSource], refused: list[RowError]
) -> list[LocalitySource]:
    """Every settlement of the bundle with a census-consistent population."""
    population = {(p.district, p.name): p for p in bundle.population}
    places: list[KnownPlace] = []
    rows: list[tuple[SettlementRow, float, float, str, str]] = []
    for row in bundle.settlements:
        district = districts.get(row.district)
        if district is None:
            reason = f"district {row.district!r} is not in the region"
            refused.append(RowError("settlements.csv", row.line, reason))
            continue
        figure = population.get((row.district, row.name))
        lat, lon, source, precision = row.lat, row.lon, row.coord_source, row.coord_precision
        if figure is not None and figure.lat is not None and figure.lon is not None:
            lat, lon = figure.lat, figure.lon
            source, precision = "wikipedia_page", "settlement_centroid"
        if lat is None or lon is None:
            lat, lon = district.centre_lat, district.centre_lon
            source, precision = "district_centre", "district_centre_fallback"
        if lat is None or lon is None:
            refused.append(RowError("settlements.csv", row.line, "no coordinate"))
            continue
        key = len(rows)
        rows.append((row, lat, lon, source or "unknown", precision or "unknown"))
        places.append(
            KnownPlace(
                key=key,
                district=row.district,
                name=row.name,
                population=figure.population if figure else None,
                basis=figure.basis if figure else None,
                weight=max(1, row.n_post_offices),
            )
        )
    spread = spread_census_population(places, census.district_totals, census.places, census.units)
    out = []
    for key, (row, lat, lon, source, precision) in enumerate(rows):
        result = spread.places.get(key)
        figure = population.get((row.district, row.name))
        measured = result is not None and figure is not None and not result.is_estimate
        out.append(
            LocalitySource(
                key=_locality_key(row.district, row.name),
                district=row.district,
                name=row.name,
                kind=_KIND[census.kind(row.district, row.name, row.kind)],
                lat=lat,
                lon=lon,
                coord_source=source,
                coord_precision=precision,
                oktmo=None,
                population=result.population if result else 0,
                population_raw=figure.population if figure else None,
                population_basis=result.basis if result else "none",
                population_is_estimate=result.is_estimate if result else True,
                population_source=(
                    figure.source
                    if measured and figure is not None and figure.source
                    else (result.note if result else "")
                ),
            )
        )
    return out


def _offices(
    bundle: Bundle,
    census: _Census,
    info: RegionInfo,
    localities: dict[tuple[str, str], LocalitySource],
    known_districts: set[str],
    refused: list[RowError],
) -> list[OfficeSource]:
    out = []
    for row in bundle.offices:
        if row.district not in known_districts:
            reason = f"district {row.district!r} is not in municipalities.csv"
            refused.append(RowError("post_offices.csv", row.line, reason))
            continue
        kind = census.kind(row.district, row.settlement, row.settlement_kind)
        locality = localities.get((row.district, row.settlement))
        if locality is not None and locality.coord_source == "wikipedia_page":
            lat, lon = locality.lat, locality.lon
            coord_source, precision = "wikipedia_page", "settlement_centroid"
        elif row.lat is not None and row.lon is not None:
            lat, lon = row.lat, row.lon
            coord_source = row.coord_source or "unknown"
            precision = row.coord_precision or "unknown"
        else:
            # parse_office guarantees the district centre when lat/lon are missing
            lat, lon = row.district_centre_lat or 0.0, row.district_centre_lon or 0.0
            coord_source, precision = "district_centre", "district_centre_fallback"
        out.append(
            OfficeSource(
                index=row.index,
                name=row.name,
                district=row.district,
                locality_key=locality.key if locality else None,
                kind=kind,
                address=_address(info.name, row, kind),
                lat=lat,
                lon=lon,
                coord_source=coord_source,
                coord_precision=precision,
                parent_index=row.parent_index,
                parent_name=row.parent_name,
                act_date=row.act_date,
            )
        )
    return out


def _hubs(
    bundle: Bundle,
    info: RegionInfo,
    districts: list[DistrictSource],
    offices: list[OfficeSource],
    localities: dict[str, LocalitySource],
) -> list[HubSource]:
    """The sorting centre (the capital's processing unit) and one hub per district centre."""
    by_place: dict[str, list[OfficeSource]] = defaultdict(list)
    for office in offices:
        locality = localities.get(office.locality_key or "")
        if locality is not None:
            by_place[locality.name].append(office)

    def main_office(place: str) -> OfficeSource | None:
        found = sorted(by_place.get(place, []), key=lambda o: o.index)
        return found[0] if found else None

    hubs: list[HubSource] = []
    capital = main_office(info.capital)
    for unit in bundle.sorting_units:
        if unit.city == info.capital and capital is not None:
            hubs.append(
                HubSource(
                    code=f"RSC-{unit.index}",
                    name=f"{unit.name} (региональный сортировочный центр)",
                    kind=_SORTING_UNIT,
                    index=unit.index,
                    office_index=None,
                    district=capital.district,
                    lat=capital.lat,
                    lon=capital.lon,
                )
            )
            break
    seen: set[str] = set()
    for district in districts:
        main = main_office(admin_centre_town(district.admin_centre or ""))
        if main is None or main.index in seen:
            continue
        seen.add(main.index)
        hubs.append(
            HubSource(
                code=f"DH-{main.index}",
                name=f"{main.name} (районный узел)",
                kind="district_hub",
                index=main.index,
                office_index=main.index,
                district=main.district,
                lat=main.lat,
                lon=main.lon,
            )
        )
    return hubs


def bundle_region_source(directory: Path, manifest: BundleManifest | None = None) -> RegionSource:
    """Read a region bundle folder and its manifest into a ``RegionSource``."""
    manifest = manifest or read_manifest()
    bundle = read_bundle(directory)
    census = _Census(bundle)
    refused = list(bundle.errors)
    districts = _districts(bundle, census)
    by_name = {d.name: d for d in districts}
    localities = _localities(bundle, census, by_name, refused)
    by_place = {(loc.district, loc.name): loc for loc in localities}
    offices = _offices(bundle, census, manifest.info, by_place, set(by_name), refused)
    hubs = _hubs(bundle, manifest.info, districts, offices, {loc.key: loc for loc in localities})
    totals = [d.population for d in districts if d.population is not None]
    return RegionSource(
        info=manifest.info,
        source=manifest.source,
        curated=True,
        districts=districts,
        localities=localities,
        offices=offices,
        hubs=hubs,
        warehouses=list(manifest.warehouses),
        assumed_connections=list(manifest.assumed_connections),
        refused=refused,
        census_total=sum(totals) if totals else None,
    )
