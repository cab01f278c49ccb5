"""A marketplace recalls parcels: before arrival (it still travels to its office, where the
acceptance starts its return), at the office (its return starts at once), and after issue
(409). The recipient is told by SMS, the marketplace hears each step, and the parcel rides
the way back until the warehouse's act ends it returned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.logistics import way_back
from selpo.models import OutboxMessage, ReturnLegItem, Shipment, TrackingEvent
from selpo.notify import service as notify_service
from selpo.notify.events import CATALOGUE
from selpo.office import service as office
from selpo.returns import recall
from selpo.shipment import service as shipment_service
from selpo.shipment.errors import TransitionRefused
from tests.office.world import OfficeWorld


def _subscribe(world: OfficeWorld) -> None:
    notify_service.create_subscription(
        world.session,
        marketplace_id=world.ozon.id,
        url="https://hooks.example/ozon",
        events=["*"],
        now=world.clock.now(),
    )


def _webhooks(session: Session, shipment: Shipment) -> list[tuple[str, dict[str, object]]]:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id)
    )
    found = []
    for row in rows:
        data = row.payload["data"]
        if data.get("tracking_number") == shipment.tracking_number:
            CATALOGUE[str(row.event_type)].model.model_validate(data)
            found.append((str(row.event_type), data))
    return found


def _sms(session: Session, shipment: Shipment) -> list[str]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "sms", OutboxMessage.reference == shipment.tracking_number)
        .order_by(OutboxMessage.id)
    )
    return [str(r.payload["text"]) for r in rows]


def _leg(session: Session, shipment: Shipment) -> ReturnLegItem | None:
    return session.scalars(
        select(ReturnLegItem).where(
            ReturnLegItem.kind == "shipment", ReturnLegItem.ref_id == shipment.id
        )
    ).first()


def test_a_parcel_recalled_on_its_way_goes_back_from_its_office(world: OfficeWorld) -> None:
    session = world.session
    _subscribe(world)
    parcel = world.parcel()  # in transit to Pestyaki
    recall.recall(
        session,
        marketplace_id=world.ozon.id,
        tracking_number=parcel.tracking_number,
        now=world.clock.now(),
    )
    assert parcel.status == "recalled"
    assert _leg(session, parcel) is None  # nothing leaves before it is at the office
    assert "отозван отправителем" in _sms(session, parcel)[-1]
    # The hub still scans it on its way: recorded, the status stays.
    world.clock.advance(timedelta(hours=2))
    shipment_service.record_scan(
        session,
        tracking_number=parcel.tracking_number,
        code="arrived_at_hub",
        occurred_at=world.clock.now(),
        now=world.clock.now(),
    )
    assert parcel.status == "recalled"
    # The office accepts it: it goes to the returns, not to a shelf.
    world.clock.advance(timedelta(hours=2))
    acceptance = office.start_acceptance(
        session, office=world.pestyaki, workstation=world.clerk, now=world.clock.now()
    )
    scan = office.scan_for_acceptance(
        session,
        acceptance=acceptance,
        office=world.pestyaki,
        workstation=world.clerk,
        barcode=parcel.tracking_number,
        damaged=False,
        now=world.clock.now(),
    )
    assert scan.result == "accepted"
    session.refresh(parcel)
    assert parcel.status == "returning"
    leg = _leg(session, parcel)
    assert leg is not None
    assert leg.status == "waiting"
    assert leg.office_id == world.pestyaki.id
    assert leg.warehouse_id is not None
    # The way back: loaded, at the hub, at the warehouse's act -> returned, never moving again.
    for step in ("loaded", "at_hub", "delivered"):
        world.clock.advance(timedelta(hours=5))
        way_back.moved(session, leg, step, world.clock.now())
    session.refresh(parcel)
    assert parcel.status == "returned"
    with pytest.raises(TransitionRefused):
        recall.recall(
            session,
            marketplace_id=world.ozon.id,
            tracking_number=parcel.tracking_number,
            now=world.clock.now(),
        )
    steps = [d["status"] for t, d in _webhooks(session, parcel) if t == "shipment.status_changed"]
    assert steps[-3:] == ["recalled", "returning", "returned"]
    recalled = [d for t, d in _webhooks(session, parcel) if t == "shipment.recalled"]
    assert len(recalled) == 1
    assert recalled[0]["at_office"] is False


def test_a_parcel_recalled_on_the_shelf_stops_being_offered_at_once(world: OfficeWorld) -> None:
    session = world.session
    _subscribe(world)
    parcel, code = world.shelved()
    recall.recall(
        session,
        marketplace_id=world.ozon.id,
        tracking_number=parcel.tracking_number,
        now=world.clock.now(),
    )
    assert parcel.status == "returning"
    assert parcel.pickup_code_hash is None
    leg = _leg(session, parcel)
    assert leg is not None
    assert leg.barcode == parcel.tracking_number
    # The counter can no longer issue it with the code the recipient had.
    outcome = office.find_by_code(
        session,
        office=world.pestyaki,
        workstation=world.clerk,
        code=code,
        policy=_policy(),
        now=world.clock.now(),
    )
    assert outcome.tracking_number is None
    kinds = [t for t, _ in _webhooks(session, parcel)]
    assert "shipment.recalled" in kinds
    events = session.scalars(
        select(TrackingEvent.code).where(TrackingEvent.shipment_id == parcel.id)
    ).all()
    assert list(events)[-2:] == ["recalled", "returning"]


def _policy() -> shipment_service.PickupPolicy:
    from tests.office.world import POLICY

    return POLICY


def test_an_issued_parcel_cannot_be_recalled(world: OfficeWorld) -> None:
    session = world.session
    parcel, _ = world.shelved()
    shipment_service.issue_to_recipient(session, shipment=parcel, now=world.clock.now())
    with pytest.raises(TransitionRefused) as refused:
        recall.recall(
            session,
            marketplace_id=world.ozon.id,
            tracking_number=parcel.tracking_number,
            now=world.clock.now(),
        )
    assert refused.value.status_code == 409
    assert parcel.status == "delivered"


def test_a_created_parcel_recalled_is_cancelled(world: OfficeWorld) -> None:
    parcel = world.parcel(walk=())
    recall.recall(
        world.session,
        marketplace_id=world.ozon.id,
        tracking_number=parcel.tracking_number,
        now=world.clock.now(),
    )
    assert parcel.status == "cancelled"
    assert _leg(world.session, parcel) is None
