"""Queries of the network domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from selpo.models import (
    District,
    Hub,
    LineHaul,
    Marketplace,
    MarketplaceConnection,
    NetworkVersion,
    PostOffice,
    Region,
    Settlement,
    Warehouse,
)

_CHUNK = 500


def get_region_by_code(session: Session, code: str) -> Region | None:
    """The region with this code."""
    return session.scalars(select(Region).where(Region.code == code)).one_or_none()


def districts_by_name(session: Session, region_id: int) -> dict[str, District]:
    """Every district of a region, by name."""
    rows = session.scalars(select(District).where(District.region_id == region_id))
    return {d.name: d for d in rows}


def settlements_of_region(session: Session, district_ids: Sequence[int]) -> list[Settlement]:
    """Every settlement of these districts (a region's)."""
    if not district_ids:
        return []
    return list(session.scalars(select(Settlement).where(Settlement.district_id.in_(district_ids))))


def offices_of_region(session: Session, region_id: int) -> dict[str, PostOffice]:
    """Every post office of a region, by postal index."""
    query = (
        select(PostOffice)
        .join(District, PostOffice.district_id == District.id)
        .where(District.region_id == region_id)
    )
    return {o.index: o for o in session.scalars(query)}


def offices_with_indexes(session: Session, indexes: Sequence[str]) -> dict[str, PostOffice]:
    """The post offices with these indexes, whatever their region."""
    out: dict[str, PostOffice] = {}
    for start in range(0, len(indexes), _CHUNK):
        chunk = list(indexes[start : start + _CHUNK])
        out.update(
            (o.index, o)
            for o in session.scalars(select(PostOffice).where(PostOffice.index.in_(chunk)))
        )
    return out


def offices_by_index(session: Session) -> dict[str, PostOffice]:
    """Every post office, by postal index."""
    return {o.index: o for o in session.scalars(select(PostOffice))}


def get_office_by_index(session: Session, index: str) -> PostOffice | None:
    """The office with this postal index."""
    return session.scalars(select(PostOffice).where(PostOffice.index == index)).one_or_none()


def list_offices(
    session: Session, *, district: str | None = None, rural: bool | None = None
) -> Sequence[tuple[PostOffice, District, Settlement | None]]:
    """Offices with their district and settlement, by index."""
    query = (
        select(PostOffice, District, Settlement)
        .join(District, PostOffice.district_id == District.id)
        .outerjoin(Settlement, PostOffice.settlement_id == Settlement.id)
        .order_by(PostOffice.index)
    )
    if district is not None:
        query = query.where(District.name == district)
    if rural is not None:
        query = query.where(PostOffice.rural == rural)
    return [(o, d, s) for o, d, s in session.execute(query)]


def hubs_with_codes(session: Session, codes: Sequence[str]) -> dict[str, Hub]:
    """The hubs with these codes, by code."""
    if not codes:
        return {}
    return {h.code: h for h in session.scalars(select(Hub).where(Hub.code.in_(list(codes))))}


def warehouses_by_code(session: Session) -> dict[str, Warehouse]:
    """Every warehouse (they are national), by code."""
    return {w.code: w for w in session.scalars(select(Warehouse))}


def warehouse_line_hauls_into_region(session: Session, region_id: int) -> list[LineHaul]:
    """The trucks from warehouses to the hubs of a region."""
    query = (
        select(LineHaul)
        .join(Hub, LineHaul.destination_hub_id == Hub.id)
        .where(LineHaul.origin_warehouse_id.is_not(None), Hub.region_id == region_id)
    )
    return list(session.scalars(query))


def marketplaces_by_code(session: Session) -> dict[str, Marketplace]:
    """Every marketplace, by code."""
    return {m.code: m for m in session.scalars(select(Marketplace))}


def connections(session: Session) -> Sequence[tuple[str, str, str]]:
    """(office index, marketplace code, status) for every connection."""
    query = (
        select(PostOffice.index, Marketplace.code, MarketplaceConnection.status)
        .join(PostOffice, MarketplaceConnection.post_office_id == PostOffice.id)
        .join(Marketplace, MarketplaceConnection.marketplace_id == Marketplace.id)
    )
    return [(i, c, s) for i, c, s in session.execute(query)]


def marketplaces_connected_in_region(session: Session, region_id: int) -> set[int]:
    """The ids of the marketplaces with a connection (any status) to an office of a region."""
    query = (
        select(MarketplaceConnection.marketplace_id)
        .join(PostOffice, MarketplaceConnection.post_office_id == PostOffice.id)
        .join(District, PostOffice.district_id == District.id)
        .where(District.region_id == region_id)
        .distinct()
    )
    return set(session.scalars(query))


def network_version(session: Session) -> int:
    """The current version of the office registry (0 before anything was imported)."""
    row = session.get(NetworkVersion, 1)
    return row.version if row is not None else 0


def bump_network_version(session: Session, now: datetime) -> int:
    """Record that offices or connections changed, so cached search indexes rebuild."""
    row = session.get(NetworkVersion, 1, with_for_update=True)
    if row is None:
        row = NetworkVersion(id=1, version=0, changed_at=now)
        session.add(row)
    row.version += 1
    row.changed_at = now
    session.flush()
    return row.version


PICKUP_COLUMNS = (
    PostOffice.index,
    PostOffice.name,
    PostOffice.address,
    PostOffice.address_is_estimate,
    PostOffice.lat,
    PostOffice.lon,
    PostOffice.coord_precision,
    District.name,
    Settlement.name,
    PostOffice.rural,
    PostOffice.status,
    # As text: offices share a handful of patterns, decoded once each by the service.
    cast(PostOffice.opening_hours, Text),
    PostOffice.opening_hours_is_default,
    PostOffice.timezone,
    PostOffice.max_weight_g,
    PostOffice.max_length_mm,
    PostOffice.max_width_mm,
    PostOffice.max_height_mm,
    PostOffice.cells_s,
    PostOffice.cells_m,
    PostOffice.cells_l,
    PostOffice.accepts_cash,
    PostOffice.accepts_card,
    Region.code,
    PostOffice.updated_at,
)


def pickup_rows(session: Session) -> list[tuple[object, ...]]:
    """Every office's search fields as plain rows (no ORM objects: 42,000 load in a blink)."""
    query = (
        select(*PICKUP_COLUMNS)
        .join(District, PostOffice.district_id == District.id)
        .join(Region, District.region_id == Region.id)
        .outerjoin(Settlement, PostOffice.settlement_id == Settlement.id)
        .order_by(PostOffice.index)
    )
    return [tuple(row) for row in session.execute(query)]


def region_codes(session: Session) -> set[str]:
    """The codes of the regions in the database."""
    return set(session.scalars(select(Region.code)))


def region_counts(session: Session) -> list[tuple[Region, int, int]]:
    """Every region with its number of open offices and of localities, by code."""
    offices: dict[int, int] = {
        int(region_id): int(count)
        for region_id, count in session.execute(
            select(District.region_id, func.count(PostOffice.id))
            .join(PostOffice, PostOffice.district_id == District.id)
            .where(PostOffice.status == "open")
            .group_by(District.region_id)
        )
    }
    localities: dict[int, int] = {
        int(region_id): int(count)
        for region_id, count in session.execute(
            select(District.region_id, func.count(Settlement.id))
            .join(Settlement, Settlement.district_id == District.id)
            .group_by(District.region_id)
        )
    }
    regions = session.scalars(select(Region).order_by(Region.code))
    return [(r, int(offices.get(r.id, 0)), int(localities.get(r.id, 0))) for r in regions]
