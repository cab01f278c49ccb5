"""A second region beside the bundled Ivanovo one (37): Vladimir (33) with one district, one
office and its district hub, enough for who-sees-what tests. Built here, on the shared test
database, from a copy of an Ivanovo office's attributes; the real import of Vladimir is
``selpo region import 33``'s (tests/network)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.models import District, Hub, PostOffice, Region

CODE = "33"
NAME = "Владимирская область"
DISTRICT = "Судогодский район"
OFFICE = "601351"
HUB = "DH-601351"
# Kept columns of the copied office: everything but identity, place and district.
_OWN = {"id", "index", "name", "district_id", "settlement_id", "lat", "lon", "address"}


@dataclass(frozen=True)
class SecondRegion:
    region: Region
    district: District
    office: PostOffice
    hub: Hub


def make_second_region(session: Session, *, like: str = "155650") -> SecondRegion:
    """Region 33 with a district, an open office (a copy of office ``like``) and its hub."""
    region = Region(code=CODE, name=NAME, timezone="Europe/Moscow")
    session.add(region)
    session.flush()
    district = District(region_id=region.id, name=DISTRICT, kind="municipal_district")
    session.add(district)
    session.flush()
    model = session.scalars(select(PostOffice).where(PostOffice.index == like)).one()
    columns = {
        c.key: getattr(model, c.key)
        for c in PostOffice.__mapper__.column_attrs
        if c.key not in _OWN
    }
    office = PostOffice(
        **columns,
        index=OFFICE,
        name="Судогда",
        district_id=district.id,
        lat=55.95,
        lon=40.86,
        address="Владимирская область, г. Судогда",
    )
    session.add(office)
    session.flush()
    hub = Hub(
        code=HUB,
        name="Районный узел Судогда",
        kind="district_hub",
        index=OFFICE,
        post_office_id=office.id,
        district_id=district.id,
        region_id=region.id,
        lat=office.lat,
        lon=office.lon,
    )
    session.add(hub)
    session.flush()
    return SecondRegion(region=region, district=district, office=office, hub=hub)
