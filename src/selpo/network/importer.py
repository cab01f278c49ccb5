"""Loading a region (a ``RegionSource``) into the registry: idempotent, additive, never destructive.

Any number of regions live in one database; each import touches its own region's rows and the
national ones it names (warehouses, marketplaces).

* **Region** by code; districts by name within it; **localities** (every one a ``settlement``
  row, a point of demand) by their key (``settlement.ref``) within their district. A locality
  whose key is new takes over the row of a same-named locality of its district that the data no
  longer names (rows from before keys existed carry ``legacy:<id>``), so ids survive a re-key.
  A locality gone from the data keeps its row.
* **Offices** by postal index. Fields the data gives are refreshed; the time zone is the
  region's. Fields the data lacks (hours, cells, limits, address) are filled from documented
  defaults only while they are still defaults, so what an operator set survives a re-import. An
  office of the region missing from the new data is marked closed, never deleted (shipments
  and connections refer to it).
* **Hubs** by code (the region's sorting centre and district hubs); **warehouses** are
  national, by code; the region's warehouse line-hauls (to its hubs) are replaced by the data's
  when they differ.
* **Marketplaces** are national: created from ``MarketplaceSeed`` when missing (their accepting
  index is the sorting centre of the region being imported); the assumed connections are seeded
  only for a marketplace with no connection in this region yet (after that its network there is
  the operator's).

``network_version`` moves when anything changed, so cached search indexes and timetables
rebuild. Nothing here names a region: everything comes from the source.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from selpo.kit.clock import Clock, SystemClock
from selpo.models import (
    District,
    Hub,
    LineHaul,
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    Region,
    Settlement,
    Warehouse,
)
from selpo.models.marketplace import UNSET_ACCEPTING_INDEX
from selpo.network import regions, repository
from selpo.network.rules import DAYS, OfficeKind, office_defaults
from selpo.network.sources import (
    INDEX_RE,
    AssumedConnections,
    HubSource,
    MarketplaceSeed,
    OfficeSource,
    RegionSource,
    RowError,
    WarehouseSource,
)

SORTING_CENTRE = "regional_sorting_centre"
CENSUS_SOURCE = "Rosstat 2021 census, vol. 1, table 5"
LEGACY_PREFIX = "legacy:"


@dataclass
class ImportReport:
    """What an import did, so an operator can check it."""

    region: str = ""
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    refused: list[RowError] = field(default_factory=list)
    settlements: int = 0
    settlements_added: int = 0
    settlements_changed: int = 0
    districts: int = 0
    hubs: int = 0
    hubs_changed: int = 0
    warehouses_changed: int = 0
    line_hauls_replaced: int = 0
    marketplaces_added: list[str] = field(default_factory=list)
    connections_added: int = 0
    region_added: bool = False

    @property
    def offices_total(self) -> int:
        return len(self.added) + len(self.changed) + len(self.unchanged)

    @property
    def anything_changed(self) -> bool:
        return bool(
            self.region_added
            or self.added
            or self.changed
            or self.closed
            or self.settlements_added
            or self.settlements_changed
            or self.hubs_changed
            or self.warehouses_changed
            or self.line_hauls_replaced
            or self.marketplaces_added
            or self.connections_added
        )


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set attributes that differ; return whether anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _population_year(basis: str) -> int | None:
    if "2021" in basis:
        return 2021
    if "2010" in basis:
        return 2010
    return None


def _act_date(value: str | None) -> str | None:
    """PIndx's ActDate as stored: eight digits, ``YYYYMMDD``."""
    if not value:
        return None
    return value.replace("-", "")[:8]


def import_region(
    session: Session,
    source: RegionSource,
    *,
    clock: Clock | None = None,
    marketplaces: Sequence[MarketplaceSeed] | None = None,
) -> ImportReport:
    """Load one region into the registry and report what was added, changed and refused.

    ``source``: the region's data, ``network.regions.load_source(CODE)`` for any region of the
    reference. ``marketplaces``: the national marketplaces to create when missing (None: the
    package's, ``regions.marketplace_seeds()``).
    """
    if marketplaces is None:
        marketplaces = regions.marketplace_seeds()
    now = (clock or SystemClock()).now()
    report = ImportReport(region=source.info.code, refused=list(source.refused))

    region = _import_region_row(session, source, now, report)
    districts = _import_districts(session, source, region, report)
    settlements = _import_settlements(session, source, districts, report)
    offices = _import_offices(session, source, region, districts, settlements, report, now)
    hubs = _import_hubs(session, source, region, districts, offices, report)
    sorting_centre = next((h for h in hubs if h.kind == SORTING_CENTRE), None)
    if sorting_centre is not None:
        _import_warehouses(session, source.warehouses, region, sorting_centre, report, now)
    _seed_marketplaces(
        session,
        marketplaces,
        source.assumed_connections,
        region,
        sorting_centre,
        report,
        now.date(),
    )
    if report.anything_changed:
        repository.bump_network_version(session, now)
    session.flush()
    return report


def _import_region_row(
    session: Session, source: RegionSource, now: datetime, report: ImportReport
) -> Region:
    info = source.info
    region = repository.get_region_by_code(session, info.code)
    if region is None:
        region = Region(code=info.code, name=info.name, timezone=info.timezone)
        session.add(region)
        report.region_added = True
    population = source.census_total
    if population is None:
        population = sum(loc.population for loc in source.localities) or None
    _assign(
        region,
        {
            "name": info.name,
            "slug": info.slug,
            "timezone": info.timezone,
            "capital": info.capital,
            "population": population,
            "source": source.source[:200],
        },
    )
    region.imported_at = now
    session.flush()
    return region


def _import_districts(
    session: Session, source: RegionSource, region: Region, report: ImportReport
) -> dict[str, District]:
    """Upsert the districts and urban okrugs with their census totals."""
    districts = repository.districts_by_name(session, region.id)
    for row in source.districts:
        district = districts.get(row.name)
        if district is None:
            district = District(region_id=region.id, name=row.name)
            session.add(district)
            districts[row.name] = district
        _assign(
            district,
            {
                "kind": row.kind,
                "admin_centre": row.admin_centre,
                "oktmo": row.oktmo,
                "population": row.population,
                "population_year": 2021 if row.population is not None else None,
                "population_source": CENSUS_SOURCE if row.population is not None else None,
                "centre_lat": row.centre_lat,
                "centre_lon": row.centre_lon,
            },
        )
    session.flush()
    report.districts = len(source.districts)
    return districts


def _import_settlements(
    session: Session,
    source: RegionSource,
    districts: dict[str, District],
    report: ImportReport,
) -> dict[str, Settlement]:
    """Upsert every locality by its key; return the region's settlements by key."""
    with_office = {o.locality_key for o in source.offices if o.locality_key}
    wanted = {loc.key for loc in source.localities}
    existing = repository.settlements_of_region(session, districts_ids(districts))
    by_ref: dict[tuple[int, str], Settlement] = {(s.district_id, s.ref): s for s in existing}
    # Rows the data no longer names, by (district, name): what a new key may take over.
    spare: dict[tuple[int, str], list[Settlement]] = defaultdict(list)
    for settlement in sorted(existing, key=lambda s: s.id):
        if settlement.ref not in wanted:
            spare[(settlement.district_id, settlement.name)].append(settlement)
    out: dict[str, Settlement] = {}
    for loc in source.localities:
        district = districts.get(loc.district)
        if district is None:
            reason = f"district {loc.district!r} of locality {loc.key} is not in the region"
            report.refused.append(RowError("localities", 0, reason))
            continue
        found = by_ref.get((district.id, loc.key))
        takeover = spare.get((district.id, loc.name)) if found is None else None
        if found is not None:
            settlement = found
        elif takeover:
            settlement = takeover.pop(0)
            settlement.ref = loc.key
            report.settlements_changed += 1
        else:
            settlement = Settlement(district_id=district.id, ref=loc.key, name=loc.name)
            session.add(settlement)
            report.settlements_added += 1
        basis = loc.population_basis
        changed = _assign(
            settlement,
            {
                "name": loc.name,
                "kind": loc.kind,
                "lat": loc.lat,
                "lon": loc.lon,
                "coord_source": loc.coord_source[:64],
                "coord_precision": loc.coord_precision[:64],
                "has_post_office": loc.key in with_office,
                "population": loc.population,
                "population_year": _population_year(basis),
                "population_basis": basis[:64],
                "population_source": loc.population_source[:500] or None,
                "population_is_estimate": loc.population_is_estimate,
            },
        )
        if changed and settlement.id is not None:
            report.settlements_changed += 1
        out[loc.key] = settlement
    session.flush()
    report.settlements = len(out)
    return out


def districts_ids(districts: dict[str, District]) -> list[int]:
    """The ids of a region's districts."""
    return [d.id for d in districts.values()]


def _office_fault(row: OfficeSource) -> str | None:
    """Why an office of the data cannot be stored (a malformed index, a coordinate off the
    globe), or None: whatever built the source, the registry takes only what it can keep."""
    if not INDEX_RE.match(row.index):
        return f"index {row.index!r} is not 6 digits"
    if row.parent_index is not None and not INDEX_RE.match(row.parent_index):
        return f"parent_index {row.parent_index!r} of office {row.index} is not 6 digits"
    if not -90.0 <= row.lat <= 90.0:
        return f"lat {row.lat} of office {row.index} is outside [-90, 90]"
    if not -180.0 <= row.lon <= 180.0:
        return f"lon {row.lon} of office {row.index} is outside [-180, 180]"
    return None


def _office_values(
    row: OfficeSource,
    source: RegionSource,
    region: Region,
    districts: dict[str, District],
    settlements: dict[str, Settlement],
) -> dict[str, Any]:
    settlement = settlements.get(row.locality_key or "")
    return {
        "name": row.name,
        "district_id": districts[row.district].id,
        "settlement_id": settlement.id if settlement is not None else None,
        "lat": row.lat,
        "lon": row.lon,
        "coord_source": row.coord_source[:64],
        "coord_precision": row.coord_precision[:64],
        "rural": row.kind is OfficeKind.RURAL,
        "parent_index": row.parent_index,
        "parent_name": row.parent_name,
        "timezone": region.timezone,
        "source": source.source[:200],
        "source_updated": _act_date(row.act_date),
    }


def _import_offices(
    session: Session,
    source: RegionSource,
    region: Region,
    districts: dict[str, District],
    settlements: dict[str, Settlement],
    report: ImportReport,
    now: datetime,
) -> dict[str, PostOffice]:
    """Upsert the offices by index; close (never delete) the region's ones the data lacks."""
    of_region = repository.offices_of_region(session, region.id)
    wanted = [o.index for o in source.offices if o.index not in of_region]
    existing = {**of_region, **repository.offices_with_indexes(session, wanted)}
    seen: set[str] = set()
    out: dict[str, PostOffice] = {}
    for row in source.offices:
        fault = _office_fault(row)
        if fault is not None:
            report.refused.append(RowError("offices", 0, fault))
            continue
        if row.district not in districts:
            reason = f"district {row.district!r} of office {row.index} is not in the region"
            report.refused.append(RowError("offices", 0, reason))
            continue
        if row.index in seen:
            report.refused.append(RowError("offices", 0, f"index {row.index} repeats"))
            continue
        seen.add(row.index)
        values = _office_values(row, source, region, districts, settlements)
        defaults = office_defaults(row.kind)
        office = existing.get(row.index)
        if office is None:
            office = PostOffice(
                index=row.index,
                address=row.address[:500],
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
            session.add(office)
            out[row.index] = office
            report.added.append(row.index)
            continue
        out[row.index] = office
        # Defaults follow the office's kind only while nobody has set real values.
        if office.address_is_estimate:
            values["address"] = row.address[:500]
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
    for index, office in sorted(of_region.items()):
        if index not in seen and office.status != "closed":
            office.status = "closed"
            office.updated_at = now
            report.closed.append(index)
    session.flush()
    return out


def _import_hubs(
    session: Session,
    source: RegionSource,
    region: Region,
    districts: dict[str, District],
    offices: dict[str, PostOffice],
    report: ImportReport,
) -> list[Hub]:
    """The region's sorting centre and district hubs, by code."""
    existing = repository.hubs_with_codes(session, [h.code for h in source.hubs])
    out = []
    for row in source.hubs:
        hub = existing.get(row.code)
        if hub is None:
            hub = Hub(code=row.code, region_id=region.id)
            session.add(hub)
        if _assign(hub, _hub_values(row, region, districts, offices)) and hub.id is not None:
            report.hubs_changed += 1
        elif hub.id is None:
            report.hubs_changed += 1
        out.append(hub)
    session.flush()
    report.hubs = len(out)
    return out


def _hub_values(
    row: HubSource, region: Region, districts: dict[str, District], offices: dict[str, PostOffice]
) -> dict[str, Any]:
    office = offices.get(row.office_index or "")
    district = districts.get(row.district or "")
    return {
        "name": row.name[:200],
        "kind": row.kind,
        "index": row.index,
        "post_office_id": office.id if office is not None else None,
        "district_id": district.id if district is not None else None,
        "region_id": region.id,
        "lat": row.lat,
        "lon": row.lon,
    }


def _haul_code(warehouse: str, hub: str, departure: str) -> str:
    return f"{warehouse}->{hub}@{departure}"


def _import_warehouses(
    session: Session,
    rows: Sequence[WarehouseSource],
    region: Region,
    sorting_centre: Hub,
    report: ImportReport,
    now: datetime,
) -> None:
    """Upsert the warehouses (national) and replace their trucks to this region's hubs."""
    by_code = repository.warehouses_by_code(session)
    has_default = any(w.is_default for w in by_code.values())
    for row in rows:
        warehouse = by_code.get(row.code)
        if warehouse is None:
            warehouse = Warehouse(
                code=row.code,
                handling_s=0,
                is_default=row.is_default and not has_default,
                created_at=now,
                updated_at=now,
            )
            has_default = has_default or warehouse.is_default
            session.add(warehouse)
            by_code[row.code] = warehouse
            report.warehouses_changed += 1
            _assign(
                warehouse,
                {"name": row.name, "lat": row.lat, "lon": row.lon, "timezone": row.timezone},
            )
            continue
        values = {"name": row.name[:200], "lat": row.lat, "lon": row.lon, "timezone": row.timezone}
        if _assign(warehouse, values):
            warehouse.updated_at = now
            report.warehouses_changed += 1
    session.flush()

    wanted = {
        _haul_code(row.code, sorting_centre.code, haul.departure.strftime("%H:%M")): (
            by_code[row.code].id,
            "|".join(DAYS[d] for d in sorted(set(haul.weekdays))),
            haul.departure,
            haul.duration_s,
        )
        for row in rows
        for haul in row.hauls
    }
    current = repository.warehouse_line_hauls_into_region(session, region.id)
    have = {h.code: (h.origin_warehouse_id, h.weekdays, h.departure, h.duration_s) for h in current}
    if have == wanted and all(h.destination_hub_id == sorting_centre.id for h in current):
        return
    if current:
        session.execute(delete(LineHaul).where(LineHaul.id.in_([h.id for h in current])))
        session.flush()
    for code, (warehouse_id, weekdays, departure, duration_s) in wanted.items():
        session.add(
            LineHaul(
                code=code,
                origin_warehouse_id=warehouse_id,
                origin_hub_id=None,
                destination_hub_id=sorting_centre.id,
                weekdays=weekdays,
                departure=departure,
                duration_s=duration_s,
                synthetic=True,
            )
        )
    report.line_hauls_replaced = len(wanted)
    session.flush()


def _main_office(offices: Iterable[PostOffice]) -> PostOffice | None:
    open_offices = sorted((o for o in offices if o.status == "open"), key=lambda o: o.index)
    return open_offices[0] if open_offices else None


def assumed_connected_offices(
    offices: Iterable[PostOffice], settlements: Iterable[Settlement], count: int
) -> list[PostOffice]:
    """The offices assumed to serve a marketplace today: the main office of the largest places.

    The data does not say which offices serve a marketplace. The assumption: the ``count`` most
    populous localities with an open office each have their main office (lowest index)
    connected.
    """
    by_settlement: dict[int, list[PostOffice]] = defaultdict(list)
    for office in offices:
        if office.settlement_id is not None and office.status == "open":
            by_settlement[office.settlement_id].append(office)
    ranked = sorted(
        (s for s in settlements if s.id in by_settlement),
        key=lambda s: (-(s.population or 0), s.name, s.id),
    )
    chosen = []
    for settlement in ranked[:count]:
        main = _main_office(by_settlement[settlement.id])
        if main is not None:
            chosen.append(main)
    return chosen


def _seed_marketplaces(
    session: Session,
    seeds: Sequence[MarketplaceSeed],
    assumed: Sequence[AssumedConnections],
    region: Region,
    sorting_centre: Hub | None,
    report: ImportReport,
    today: date,
) -> None:
    """Create missing marketplaces; seed assumed connections where one has none in the region."""
    marketplaces = repository.marketplaces_by_code(session)
    if sorting_centre is not None and sorting_centre.index is not None:
        for made_before in marketplaces.values():
            if made_before.accepting_index == UNSET_ACCEPTING_INDEX:  # before any region
                made_before.accepting_index = sorting_centre.index
    for seed in seeds:
        if seed.code in marketplaces or sorting_centre is None or sorting_centre.index is None:
            continue
        marketplace = Marketplace(
            code=seed.code,
            name=seed.name,
            storage_days=seed.storage_days,
            storage_extension_days=seed.storage_extension_days,
            accepting_index=sorting_centre.index,
        )
        session.add(marketplace)
        marketplaces[seed.code] = marketplace
        report.marketplaces_added.append(seed.code)
    session.flush()
    if not assumed:
        return
    offices = list(repository.offices_of_region(session, region.id).values())
    connected = repository.marketplaces_connected_in_region(session, region.id)
    settlements = repository.settlements_of_region(
        session, [d.id for d in repository.districts_by_name(session, region.id).values()]
    )
    for row in assumed:
        seeded = marketplaces.get(row.marketplace)
        if seeded is None or seeded.id in connected:
            continue  # its network here is the operator's now: never re-seed over it
        for office in assumed_connected_offices(offices, settlements, row.offices):
            session.add(
                MarketplaceConnection(
                    post_office_id=office.id,
                    marketplace_id=seeded.id,
                    status="active",
                    since_date=today,
                    basis="assumption",
                )
            )
            report.connections_added += 1
    session.flush()
