"""Queries of the network domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from selpo.models import (
    District,
    Hub,
    Marketplace,
    MarketplaceConnection,
    NetworkVersion,
    PostOffice,
    Region,
    Settlement,
)


def get_region_by_code(session: Session, code: str) -> Region | None:
    """The region with this code."""
    return session.scalars(select(Region).where(Region.code == code)).one_or_none()


def districts_by_name(session: Session, region_id: int) -> dict[str, District]:
    """Every district of a region, by name."""
    rows = session.scalars(select(District).where(District.region_id == region_id))
    return {d.name: d for d in rows}


def settlements_by_key(session: Session, region_id: int) -> dict[tuple[int, str], Settlement]:
    """Every settlement of a region, by (district id, name)."""
    rows = session.scalars(select(Settlement).join(District).where(District.region_id == region_id))
    return {(s.district_id, s.name): s for s in rows}


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


def hubs_by_code(session: Session) -> dict[str, Hub]:
    """Every hub, by code."""
    return {h.code: h for h in session.scalars(select(Hub))}


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


def connection_pairs(session: Session) -> set[tuple[int, int]]:
    """(office id, marketplace id) pairs that have a connection row."""
    query = select(MarketplaceConnection.post_office_id, MarketplaceConnection.marketplace_id)
    return {(o, m) for o, m in session.execute(query)}


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
)


def pickup_rows(session: Session) -> list[tuple[object, ...]]:
    """Every office's search fields as plain rows (no ORM objects: 42,000 load in a blink)."""
    query = (
        select(*PICKUP_COLUMNS)
        .join(District, PostOffice.district_id == District.id)
        .outerjoin(Settlement, PostOffice.settlement_id == Settlement.id)
        .order_by(PostOffice.index)
    )
    return [tuple(row) for row in session.execute(query)]
