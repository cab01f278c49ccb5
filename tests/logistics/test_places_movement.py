"""The van carries an order of several places whole: its departure and arrival scan every
place still on the way, and a place the office scanned itself is not scanned again (the
timetable of ``test_dispatch.py``; Moscow local times)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.logistics import movement, promises, timetables
from selpo.marketplace import service as marketplace_service
from selpo.models import Marketplace, Shipment, TrackingEvent
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import shipment_payload

MSK = ZoneInfo("Europe/Moscow")
VILLAGE = "155921"
SHUYA_CSV = """\
route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min
SHUYA-MON-THU,DH-155900,mon|thu,08:00,150,2000,240,1,155921,70
"""
BOX = {"weight_g": 700, "length_mm": 300, "width_mm": 200, "height_mm": 100}


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK)


@pytest.fixture
def ozon(session: Session) -> Marketplace:
    marketplace = marketplace_service.get_by_code(session, "OZON")
    marketplace_service.connect_offices(
        session, marketplace=marketplace, indexes=None, today=TEST_NOW.date(), now=TEST_NOW
    )
    return marketplace


def _order(session: Session, ozon: Marketplace, at: datetime) -> tuple[Shipment, list[str]]:
    """An order of three places; only place 1 is handed over at the warehouse."""
    payload = shipment_payload(external_order_id="PL-1", destination_index=VILLAGE)
    payload["places"] = [BOX, BOX, BOX]
    created = shipment_service.create_shipments(
        session,
        marketplace=ozon,
        shipments_in=[ShipmentCreate.model_validate(payload)],
        now=at,
        promise=promises.promised_dates(session, now=at),
    )[0].shipment
    assert created is not None
    numbers = [p.tracking_number for p in created.places]
    shipment_service.record_scan(
        session, tracking_number=numbers[0], code="handed_over", occurred_at=at, now=at
    )
    shipment = shipment_service.get_shipment(
        session, marketplace_id=ozon.id, tracking_number=numbers[0]
    )
    return shipment, numbers


def _codes(session: Session, shipment: Shipment) -> list[tuple[str, int | None]]:
    query = (
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment.id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    )
    return [(e.code, (e.source or {}).get("place")) for e in session.scalars(query)]


def test_the_van_carries_every_place_and_the_order_arrives_with_the_last(
    session: Session, ozon: Marketplace
) -> None:
    timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
    shipment, _numbers = _order(session, ozon, msk(20, 18))
    movement.advance_parcels(session, msk(23, 12))
    session.refresh(shipment)
    assert shipment.status == "arrived_at_office"
    assert _codes(session, shipment)[2:] == [
        ("departed_hub", 1),
        ("departed_hub", 2),
        ("departed_hub", 3),
        ("place_arrived", 1),
        ("place_arrived", 2),
        ("arrived_at_office", 3),
    ]
    places = shipment_service.places_of(session, shipment)
    assert [p.status for p in places] == ["arrived_at_office"] * 3
    assert {p.arrived_at for p in places} == {msk(23, 9, 10)}
    # running again records nothing more
    assert movement.advance_parcels(session, msk(23, 13)) == 0


def test_a_place_the_office_scanned_itself_is_not_scanned_again(
    session: Session, ozon: Marketplace
) -> None:
    timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
    ozon.ready_on_first_place = True
    session.flush()
    shipment, numbers = _order(session, ozon, msk(20, 18))
    movement.advance_parcels(session, msk(23, 8, 30))
    shipment_service.record_scan(
        session,
        tracking_number=numbers[1],
        code="arrived_at_office",
        occurred_at=msk(23, 9, 2),
        now=msk(23, 9, 3),
        office_index=VILLAGE,
        actor="office",
    )
    session.refresh(shipment)
    assert shipment.status == "arrived_at_office"  # its first place is enough here
    movement.advance_parcels(session, msk(23, 12))
    arrivals = [
        c for c in _codes(session, shipment) if c[0] in ("place_arrived", "arrived_at_office")
    ]
    assert arrivals == [("arrived_at_office", 2), ("place_arrived", 1), ("place_arrived", 3)]
    assert {p.status for p in shipment_service.places_of(session, shipment)} == {
        "arrived_at_office"
    }
