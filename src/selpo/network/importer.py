"""Importing a region bundle into the registry: idempotent, additive, never destructive.

Offices are matched by postal index. Fields the data gives are refreshed; fields the data lacks
(hours, cells, limits, address) are filled from documented defaults only while they are still
defaults, so what an operator set survives a re-import. An office missing from the new data is
marked closed, never deleted (shipments and connections refer to it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from selpo.kit.clock import Clock, SystemClock
from selpo.models import (
    District,
    Hub,
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    Region,
    Settlement,
)
from selpo.network import repository
from selpo.network.bundle import (
    Bundle,
    OfficeRow,
    RowError,
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
from selpo.network.rules import OfficeKind, office_defaults

REGION_CODE = "37"  # Ivanovo oblast: the code of the federal subject (ОКАТО 24, ГИБДД 37)
REGION_NAME = "Ивановская область"
SORTING_CENTRE_INDEX = "153950"  # «Иваново Уооп», the region's processing unit
PINDX_SOURCE = "Russian Post PIndx 2026-06-22 via sanmai/pindx"

# Marketplaces seeded with the region: code, name, storage days, and how many offices are
# assumed to serve it today (the main office of that many of the most populous settlements).
# OZON's 19 is the regional press figure; the other two are demo assumptions.
MARKETPLACES: tuple[tuple[str, str, int, int], ...] = (
    ("OZON", "OZON", 7, 19),
    ("YANDEX_MARKET", "Яндекс Маркет", 7, 10),
    ("SBER_MEGAMARKET", "СберМегаМаркет", 5, 6),
)
ASSUMED_OZON_OFFICES = 19

_KIND_BY_SETTLEMENT = {
    OfficeKind.TOWN: "town",
    OfficeKind.URBAN_TYPE_SETTLEMENT: "urban_type_settlement",
    OfficeKind.RURAL: "rural_locality",
}
_KIND_SHORT = {
    OfficeKind.TOWN: "г.",
    OfficeKind.URBAN_TYPE_SETTLEMENT: "пгт",
    OfficeKind.RURAL: "",
}


@dataclass
class ImportReport:
    """What an import did, so an operator can check it."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    refused: list[RowError] = field(default_factory=list)
    settlements: int = 0
    districts: int = 0
    hubs: int = 0
    connections_added: int = 0
    population_unplaced: dict[str, int] = field(default_factory=dict)

    @property
    def offices_total(self) -> int:
        return len(self.added) + len(self.changed) + len(self.unchanged)


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set attributes that differ; return whether anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _address(row: OfficeRow, kind: OfficeKind) -> str:
    district = row.district
    if district.endswith(" район"):
        district = district[: -len(" район")] + " р-н"
    place = f"{_KIND_SHORT[kind]} {row.settlement}".strip()
    if district.startswith("городской округ") and kind is OfficeKind.TOWN:
        return f"{row.index}, Ивановская обл., {place}"
    return f"{row.index}, Ивановская обл., {district}, {place}"


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


def import_region(session: Session, *, directory: Path, clock: Clock | None = None) -> ImportReport:
    """Load a region bundle into the registry and report what was added, changed and refused."""
    now = (clock or SystemClock()).now()
    bundle = read_bundle(directory)
    report = ImportReport(refused=list(bundle.errors))
    census = _Census(bundle)

    region = repository.get_region_by_code(session, REGION_CODE)
    if region is None:
        region = Region(code=REGION_CODE, name=REGION_NAME, timezone="Europe/Moscow")
        session.add(region)
        session.flush()

    districts = _import_districts(session, bundle, census, region)
    report.districts = len(districts)
    settlements = _import_settlements(session, bundle, census, region, districts, report)
    _import_offices(session, bundle, census, region, districts, settlements, report, now)

    offices = repository.offices_by_index(session)
    report.hubs = _import_hubs(session, bundle, region, districts, offices)
    report.connections_added = _seed_marketplaces(session, offices, settlements, now.date())
    if report.added or report.changed or report.closed or report.connections_added:
        repository.bump_network_version(session, now)
    session.flush()
    return report


def _import_districts(
    session: Session, bundle: Bundle, census: _Census, region: Region
) -> dict[str, District]:
    """Upsert the districts and urban okrugs with their census totals."""
    districts = repository.districts_by_name(session, region.id)
    centres: dict[str, tuple[float, float]] = {}
    for office_row in bundle.offices:
        if (
            office_row.district_centre_lat is not None
            and office_row.district_centre_lon is not None
        ):
            centres.setdefault(
                office_row.district,
                (office_row.district_centre_lat, office_row.district_centre_lon),
            )
    for muni in bundle.municipalities:
        district = districts.get(muni.name)
        if district is None:
            district = District(region_id=region.id, name=muni.name)
            session.add(district)
            districts[muni.name] = district
        centre = centres.get(muni.name)
        total = census.district_totals.get(muni.name)
        _assign(
            district,
            {
                "kind": muni.kind,
                "admin_centre": muni.admin_centre,
                "oktmo": muni.oktmo,
                "population": total,
                "population_year": 2021 if total is not None else None,
                "population_source": "Rosstat 2021 census, vol. 1, table 5" if total else None,
                "centre_lat": centre[0] if centre else None,
                "centre_lon": centre[1] if centre else None,
            },
        )
    session.flush()
    return districts


def _import_settlements(
    session: Session,
    bundle: Bundle,
    census: _Census,
    region: Region,
    districts: dict[str, District],
    report: ImportReport,
) -> dict[tuple[int, str], Settlement]:
    """Upsert the settlements, then give each its census-consistent population."""
    population = {(p.district, p.name): p for p in bundle.population}
    settlements = repository.settlements_by_key(session, region.id)
    places: list[KnownPlace] = []
    imported: dict[int, tuple[Settlement, str]] = {}
    for row in bundle.settlements:
        district = districts.get(row.district)
        if district is None:
            reason = f"district {row.district!r} is not in the region"
            report.refused.append(RowError("settlements.csv", row.line, reason))
            continue
        key = (row.district, normalised_name(row.name))
        kind = office_kind(row.kind, key in census.pgt, key in census.towns)
        figure = population.get((row.district, row.name))
        lat, lon, source, precision = row.lat, row.lon, row.coord_source, row.coord_precision
        if figure is not None and figure.lat is not None and figure.lon is not None:
            lat, lon = figure.lat, figure.lon
            source, precision = "wikipedia_page", "settlement_centroid"
        settlement = settlements.get((district.id, row.name))
        if settlement is None:
            settlement = Settlement(district_id=district.id, name=row.name)
            session.add(settlement)
            settlements[(district.id, row.name)] = settlement
        _assign(
            settlement,
            {
                "kind": _KIND_BY_SETTLEMENT[kind],
                "lat": lat,
                "lon": lon,
                "coord_source": source,
                "coord_precision": precision,
                "has_post_office": row.n_post_offices > 0,
            },
        )
        session.flush()
        imported[settlement.id] = (settlement, row.district)
        places.append(
            KnownPlace(
                key=settlement.id,
                district=row.district,
                name=row.name,
                population=figure.population if figure else None,
                basis=figure.basis if figure else None,
                weight=max(1, row.n_post_offices),
            )
        )
    spread = spread_census_population(places, census.district_totals, census.places, census.units)
    report.population_unplaced = spread.unplaced
    for settlement_id, (settlement, district_name) in imported.items():
        result = spread.places.get(settlement_id)
        if result is None:
            continue
        figure = population.get((district_name, settlement.name))
        measured = figure is not None and not result.is_estimate
        year = 2021
        if result.basis.startswith("census_2010"):
            year = 2010
        elif measured and figure is not None and figure.year:
            year = figure.year
        _assign(
            settlement,
            {
                "population": result.population,
                "population_year": year,
                "population_basis": result.basis,
                "population_source": (
                    figure.source
                    if measured and figure is not None and figure.source
                    else result.note
                ),
                "population_is_estimate": result.is_estimate,
            },
        )
    report.settlements = len(imported)
    return settlements


def _import_offices(
    session: Session,
    bundle: Bundle,
    census: _Census,
    region: Region,
    districts: dict[str, District],
    settlements: dict[tuple[int, str], Settlement],
    report: ImportReport,
    now: datetime,
) -> None:
    """Upsert the offices by index; close (never delete) the ones the data no longer lists."""
    existing = repository.offices_by_index(session)
    seen: set[str] = set()
    for row in bundle.offices:
        district = districts.get(row.district)
        if district is None:
            reason = f"district {row.district!r} is not in municipalities.csv"
            report.refused.append(RowError("post_offices.csv", row.line, reason))
            continue
        key = (row.district, normalised_name(row.settlement))
        kind = office_kind(row.settlement_kind, key in census.pgt, key in census.towns)
        settlement = settlements.get((district.id, row.settlement))
        if (
            settlement is not None
            and settlement.coord_source == "wikipedia_page"
            and settlement.lat is not None
            and settlement.lon is not None
        ):
            lat, lon = settlement.lat, settlement.lon
            coord_source, precision = "wikipedia_page", "settlement_centroid"
        elif row.lat is not None and row.lon is not None:
            lat, lon = row.lat, row.lon
            coord_source = row.coord_source or "unknown"
            precision = row.coord_precision or "unknown"
        else:
            # parse_office guarantees the district centre when lat/lon are missing
            lat, lon = row.district_centre_lat or 0.0, row.district_centre_lon or 0.0
            coord_source, precision = "district_centre", "district_centre_fallback"
        values: dict[str, Any] = {
            "name": row.name,
            "district_id": district.id,
            "settlement_id": settlement.id if settlement else None,
            "lat": lat,
            "lon": lon,
            "coord_source": coord_source,
            "coord_precision": precision,
            "rural": kind is OfficeKind.RURAL,
            "parent_index": row.parent_index,
            "parent_name": row.parent_name,
            "timezone": region.timezone,
            "source": PINDX_SOURCE,
            "source_updated": row.act_date,
        }
        defaults = office_defaults(kind)
        seen.add(row.index)
        office = existing.get(row.index)
        if office is None:
            session.add(
                PostOffice(
                    index=row.index,
                    address=_address(row, kind),
                    address_is_estimate=True,
                    opening_hours=defaults.opening_hours,
                    opening_hours_is_default=True,
                    cells_s=defaults.cells_s,
                    cells_m=defaults.cells_m,
                    cells_l=defaults.cells_l,
                    cells_is_default=True,
                    max_weight_g=defaults.max_weight_g,
                    max_length_mm=defaults.max_length_mm,
                    max_width_mm=defaults.max_width_mm,
                    max_height_mm=defaults.max_height_mm,
                    limits_is_default=True,
                    accepts_cash=True,
                    accepts_card=defaults.accepts_card,
                    status="open",
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            report.added.append(row.index)
            continue
        # Defaults follow the office's kind only while nobody has set real values.
        if office.address_is_estimate:
            values["address"] = _address(row, kind)
        if office.opening_hours_is_default:
            values["opening_hours"] = defaults.opening_hours
        if office.cells_is_default:
            values.update(
                cells_s=defaults.cells_s, cells_m=defaults.cells_m, cells_l=defaults.cells_l
            )
        if office.limits_is_default:
            values.update(
                max_weight_g=defaults.max_weight_g,
                max_length_mm=defaults.max_length_mm,
                max_width_mm=defaults.max_width_mm,
                max_height_mm=defaults.max_height_mm,
            )
        if office.status == "closed":
            values["status"] = "open"  # it is back in the reference data
        if _assign(office, values):
            office.updated_at = now
            report.changed.append(row.index)
        else:
            report.unchanged.append(row.index)
    for index, office in existing.items():
        if index not in seen and office.status != "closed":
            office.status = "closed"
            office.updated_at = now
            report.closed.append(index)
    session.flush()


def _main_office(offices: list[PostOffice]) -> PostOffice | None:
    open_offices = sorted((o for o in offices if o.status == "open"), key=lambda o: o.index)
    return open_offices[0] if open_offices else None


def _import_hubs(
    session: Session,
    bundle: Bundle,
    region: Region,
    districts: dict[str, District],
    offices: dict[str, PostOffice],
) -> int:
    """The regional sorting centre and one hub per district centre (its main office)."""
    hubs = repository.hubs_by_code(session)
    by_settlement: dict[str, list[PostOffice]] = defaultdict(list)
    settlement_names = {
        s.id: s.name for s in session.query(Settlement).filter(Settlement.has_post_office)
    }
    for office in offices.values():
        if office.settlement_id is not None:
            by_settlement[settlement_names.get(office.settlement_id, "")].append(office)

    wanted: dict[str, dict[str, Any]] = {}
    capital = _main_office(by_settlement.get("Иваново", []))
    for unit in bundle.sorting_units:
        if unit.city == "Иваново" and capital is not None:
            wanted[f"RSC-{unit.index}"] = {
                "name": f"{unit.name} (региональный сортировочный центр)",
                "kind": "regional_sorting_centre",
                "index": unit.index,
                "post_office_id": None,
                "district_id": capital.district_id,
                "lat": capital.lat,
                "lon": capital.lon,
            }
            break
    for district in districts.values():
        town = admin_centre_town(district.admin_centre or "")
        main = _main_office(by_settlement.get(town, []))
        if main is None:
            continue
        wanted.setdefault(
            f"DH-{main.index}",
            {
                "name": f"{main.name} (районный узел)",
                "kind": "district_hub",
                "index": main.index,
                "post_office_id": main.id,
                "district_id": main.district_id,
                "lat": main.lat,
                "lon": main.lon,
            },
        )
    for code, values in wanted.items():
        hub = hubs.get(code)
        if hub is None:
            hub = Hub(code=code, region_id=region.id)
            session.add(hub)
        _assign(hub, values)
    return len(wanted)


def assumed_connected_offices(
    offices: dict[str, PostOffice],
    settlements: dict[tuple[int, str], Settlement],
    count: int = ASSUMED_OZON_OFFICES,
) -> list[PostOffice]:
    """The offices assumed to serve a marketplace today: the main office of the largest places.

    The data does not say which offices serve OZON (19 of them, by the regional press). The
    assumption: the ``count`` most populous settlements each have their main office (lowest
    index) connected.
    """
    by_settlement: dict[int, list[PostOffice]] = defaultdict(list)
    for office in offices.values():
        if office.settlement_id is not None and office.status == "open":
            by_settlement[office.settlement_id].append(office)
    ranked = sorted(
        (s for s in settlements.values() if s.id in by_settlement),
        key=lambda s: (-(s.population or 0), s.name),
    )
    chosen = []
    for settlement in ranked[:count]:
        main = _main_office(by_settlement[settlement.id])
        if main is not None:
            chosen.append(main)
    return chosen


def _seed_marketplaces(
    session: Session,
    offices: dict[str, PostOffice],
    settlements: dict[tuple[int, str], Settlement],
    today: date,
) -> int:
    """Create the marketplaces and their assumed connections where they have none yet."""
    marketplaces = repository.marketplaces_by_code(session)
    for code, name, storage_days, _count in MARKETPLACES:
        if code not in marketplaces:
            marketplace = Marketplace(
                code=code,
                name=name,
                storage_days=storage_days,
                storage_extension_days=7,
                accepting_index=SORTING_CENTRE_INDEX,
            )
            session.add(marketplace)
            marketplaces[code] = marketplace
    session.flush()
    pairs = repository.connection_pairs(session)
    added = 0
    for code, _name, _days, count in MARKETPLACES:
        marketplace = marketplaces[code]
        if any(m == marketplace.id for _, m in pairs):
            continue  # its network is the operator's now: never re-seed over it
        for office in assumed_connected_offices(offices, settlements, count):
            session.add(
                MarketplaceConnection(
                    post_office_id=office.id,
                    marketplace_id=marketplace.id,
                    status="active",
                    since_date=today,
                    basis="assumption",
                )
            )
            added += 1
    return added
