"""A second region beside the seeded one, to prove that nothing of it leaks into the first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.marketplace import service as marketplace_service
from selpo.models import District, PostOffice, Region, Settlement

WEEK = [[["09:00", "18:00"]]] * 5 + [[], []]


@dataclass(frozen=True)
class OtherRegion:
    """The region made, its one big locality and its one office (connected to OZON)."""

    region: Region
    settlement: Settlement
    office: PostOffice


def add_region(
    session: Session,
    *,
    now: datetime,
    code: str = "33",
    at: tuple[float, float],
    population: int = 1_000_000,
    office_index: str = "600000",
) -> OtherRegion:
    """A region ``code`` with one district, one locality of ``population`` people and one
    office, both at ``at`` (put it on top of the seeded region's offices: if anything of it
    were counted there, the figures would jump), its office connected to OZON."""
    region = Region(code=code, name=f"Регион {code}", timezone="Europe/Moscow")
    session.add(region)
    session.flush()
    district = District(region_id=region.id, name="Соседний район", kind="municipal_district")
    session.add(district)
    session.flush()
    lat, lon = at
    settlement = Settlement(
        district_id=district.id,
        name="Соседнее",
        kind="town",
        population=population,
        lat=lat,
        lon=lon,
    )
    session.add(settlement)
    session.flush()
    office = PostOffice(
        index=office_index,
        name="Соседнее",
        district_id=district.id,
        settlement_id=settlement.id,
        address="Соседнее",
        lat=lat,
        lon=lon,
        coord_source="test",
        coord_precision="exact",
        rural=False,
        opening_hours=WEEK,
        timezone="Europe/Moscow",
        cells_s=10,
        cells_m=10,
        cells_l=5,
        max_weight_g=20_000,
        max_length_mm=600,
        max_width_mm=400,
        max_height_mm=400,
        source="test",
        created_at=now,
        updated_at=now,
    )
    session.add(office)
    session.flush()
    marketplace_service.connect_offices(
        session,
        marketplace=marketplace_service.get_by_code(session, "OZON"),
        indexes=[office_index],
        today=now.date(),
        now=now,
    )
    session.flush()
    return OtherRegion(region, settlement, office)


def region_people(session: Session, code: str) -> int:
    """The people of every locality of the region (what its localities sum to)."""
    query = (
        select(func.coalesce(func.sum(Settlement.population), 0))
        .join(District, Settlement.district_id == District.id)
        .join(Region, District.region_id == Region.id)
        .where(Region.code == code)
    )
    return int(session.scalar(query) or 0)
