"""Every documented webhook event is one the catalogue knows, and the real services send each
of them: a marketplace subscribed to everything hears every type after creating, changing,
cancelling and shipping parcels, a full van moving a promise, a storage reminder, issues at
the counter (whole, and partly with cash on delivery) and a day closing for payout."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.logistics import manifests, timetables, way_back
from selpo.logistics.schemas import RouteWrite, StopWrite
from selpo.marketplace import service as marketplace_service
from selpo.models import OutboxMessage, PostOffice, ReturnLegItem
from selpo.notify import service as notify_service
from selpo.notify.events import CATALOGUE
from selpo.notify.service import EVENT_TYPES
from selpo.payout import service as payout_service
from selpo.returns import recall
from selpo.returns import service as returns
from selpo.returns.schemas import ReturnCreate, ReturnItemIn
from selpo.shipment import service
from selpo.shipment.schemas import ShipmentCreate, ShipmentPatch
from tests.conftest import TEST_NOW
from tests.fixtures.builders import hand_over_shipment, shipment_payload, two_item_payload

DOCS = Path(__file__).resolve().parents[2] / "docs"
CATALOGUE_ROW = re.compile(r"^\| `((?:shipment|payout|return)\.[a-z_]+)` \|", re.MULTILINE)
MENTION = re.compile(r"`(shipment\.[a-z_]+)`")
MSK = ZoneInfo("Europe/Moscow")
VILLAGE = "155921"  # Введенье: rural hours, closed on Mondays


def _msk(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=MSK)


def test_the_documented_catalogue_is_the_one_in_code() -> None:
    documented = CATALOGUE_ROW.findall((DOCS / "notify.md").read_text(encoding="utf-8"))
    assert sorted(documented) == sorted(EVENT_TYPES)
    for page in ("notify.md", "shipments.md", "logistics.md"):
        mentioned = set(MENTION.findall((DOCS / page).read_text(encoding="utf-8")))
        assert mentioned <= set(EVENT_TYPES), f"{page} names events nobody sends"


def test_every_documented_event_is_sent_by_the_real_services(session: Session) -> None:
    ozon = marketplace_service.get_by_code(session, "OZON")
    marketplace_service.connect_offices(
        session, marketplace=ozon, indexes=[VILLAGE], today=TEST_NOW.date(), now=TEST_NOW
    )
    notify_service.create_subscription(
        session,
        marketplace_id=ozon.id,
        url="https://hooks.example/ozon",
        events=["*"],
        now=TEST_NOW,
    )
    # A Monday/Thursday van that takes two parcels; five are handed over on Friday evening.
    route = RouteWrite(
        hub="DH-155900",
        weekdays=["mon", "thu"],
        departure="08:00",
        capacity_parcels=2,
        capacity_litres=2000,
        return_after_min=240,
        stops=[StopWrite(office_index=VILLAGE, arrival_after_min=70)],
    )
    timetables.put_route(session, "EVENTS-MON-THU", route, now=TEST_NOW)
    parcels = [
        hand_over_shipment(session, ozon, VILLAGE, f"EV-{n}", _msk(20, 18)) for n in range(5)
    ]
    assert {p.promised_date for p in parcels} == {date(2026, 11, 26)}
    for departure in (_msk(23, 8), _msk(26, 8)):  # the fifth parcel misses both runs
        manifests.build_manifest(
            session, route_id="EVENTS-MON-THU", departure=departure, now=_msk(21, 12)
        )
    fresh = service.create_shipments(
        session,
        marketplace=ozon,
        shipments_in=[
            ShipmentCreate.model_validate(
                shipment_payload(external_order_id="EV-CANCEL", destination_index=VILLAGE)
            )
        ],
        now=_msk(21, 12),
    )[0]
    assert fresh.shipment is not None
    shipment = service.get_shipment(
        session, marketplace_id=ozon.id, tracking_number=fresh.shipment.tracking_number
    )
    service.update_shipment(
        session,
        marketplace_id=ozon.id,
        tracking_number=shipment.tracking_number,
        patch=ShipmentPatch.model_validate({"options": {"fitting": True}}),
        now=_msk(21, 12),
        promises=service.no_promise,
        policy=service.PickupPolicy(pepper="events-pepper"),
    )
    service.cancel_shipment(session, shipment=shipment, now=_msk(21, 13))
    # The first parcel rode Monday's van: it arrives on Tuesday, is shelved, and its
    # storage is extended.
    waiting = parcels[0]
    service.record_scan(
        session,
        tracking_number=waiting.tracking_number,
        code="departed_hub",
        occurred_at=_msk(24, 8),
        now=_msk(24, 8),
    )
    service.record_scan(
        session,
        tracking_number=waiting.tracking_number,
        code="arrived_at_office",
        occurred_at=_msk(24, 10),
        now=_msk(24, 10),
        office_index=VILLAGE,
    )
    policy = service.PickupPolicy(pepper="events-pepper")
    service.make_ready_for_pickup(session, shipment=waiting, now=_msk(24, 11), policy=policy)
    service.extend_storage(session, shipment=waiting, now=_msk(25, 12))
    # An order of two places: its first place reaches the office on its own.
    boxes = shipment_payload(external_order_id="EV-PLACES", destination_index=VILLAGE)
    boxes["places"] = [{"weight_g": 700, "length_mm": 300, "width_mm": 200, "height_mm": 100}] * 2
    two = service.create_shipments(
        session,
        marketplace=ozon,
        shipments_in=[ShipmentCreate.model_validate(boxes)],
        now=_msk(25, 12),
    )[0].shipment
    assert two is not None
    for code, office in (("handed_over", None), ("arrived_at_office", VILLAGE)):
        service.record_scan(
            session,
            tracking_number=two.places[1].tracking_number,
            code=code,
            occurred_at=_msk(25, 13),
            now=_msk(25, 13),
            office_index=office,
        )
    # A two-line order with cash on delivery: one plate of two refused, cash for the rest.
    payload = two_item_payload("EV-COD", cod=True)
    payload["destination_index"] = VILLAGE
    cod_parcel = service.create_shipments(
        session,
        marketplace=ozon,
        shipments_in=[ShipmentCreate.model_validate(payload)],
        now=_msk(21, 12),
    )[0].shipment
    assert cod_parcel is not None
    partial = service.get_shipment(
        session, marketplace_id=ozon.id, tracking_number=cod_parcel.tracking_number
    )
    for code, hour in (("handed_over", 13), ("departed_hub", 14)):
        service.record_scan(
            session,
            tracking_number=partial.tracking_number,
            code=code,
            occurred_at=_msk(21, hour),
            now=_msk(21, hour),
        )
    service.record_scan(
        session,
        tracking_number=partial.tracking_number,
        code="arrived_at_office",
        occurred_at=_msk(24, 10),
        now=_msk(24, 10),
        office_index=VILLAGE,
    )
    service.make_ready_for_pickup(session, shipment=partial, now=_msk(24, 12), policy=policy)
    service.issue_to_recipient(
        session, shipment=partial, now=_msk(26, 15), refused_items={1: 1}, cod_method="cash"
    )
    # The 26th closes for payout; then the waiting parcel's reminder, and its recipient.
    assert payout_service.close_days(session, _msk(28, 12)) > 0
    assert waiting.storage_deadline is not None
    reminder_at = waiting.storage_deadline - timedelta(days=1)
    assert service.send_storage_reminders(session, reminder_at) >= 1
    service.issue_to_recipient(session, shipment=waiting, now=reminder_at)
    # A parcel on its way is recalled; the delivered one comes back as a buyer's return,
    # taken at the counter and carried back to the warehouse.
    recall.recall(
        session,
        marketplace_id=ozon.id,
        tracking_number=parcels[1].tracking_number,
        now=reminder_at,
    )
    registered = returns.register_return(
        session,
        marketplace=ozon,
        return_in=ReturnCreate(
            tracking_number=waiting.tracking_number,
            external_return_id="EV-RETURN",
            reason="не подошло",
            items=[ReturnItemIn(position=0, quantity=1)],
        ),
        now=reminder_at,
        pepper="events-pepper",
    )
    village = session.scalars(select(PostOffice).where(PostOffice.index == VILLAGE)).one()
    accepted = returns.accept_at_counter(
        session,
        office=village,
        return_id=registered.id,
        ticket=returns.counter_ticket(
            return_id=registered.id, office_id=village.id, seat="s", pepper="events-pepper"
        ),
        seat="s",
        pepper="events-pepper",
        accepted={0: 1},
        weight_g=None,
        actor="clerk:events",
        now=reminder_at,
    )
    leg = session.scalars(select(ReturnLegItem).where(ReturnLegItem.ref_id == accepted.id)).one()
    for step in ("loaded", "delivered"):
        way_back.moved(session, leg, step, reminder_at)

    messages = list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id)
        )
    )
    # Every payload the services emit is what the catalogue documents: its model forbids
    # fields it does not name, so a field added to an emitter alone fails here.
    for message in messages:
        assert message.event_type is not None
        CATALOGUE[message.event_type].model.model_validate(message.payload["data"])
    sent = {m.event_type: m.payload["data"] for m in messages}
    assert set(sent) == set(EVENT_TYPES)
    assert sent["shipment.cancelled"]["tracking_number"] == shipment.tracking_number
    assert sent["shipment.cancelled"]["status"] == "cancelled"
    assert sent["shipment.updated"]["changed"] == ["options.fitting"]
    extended = sent["shipment.storage_extended"]
    assert extended["tracking_number"] == waiting.tracking_number
    assert extended["storage_deadline"] > extended["previous_storage_deadline"]
    expiring = sent["shipment.storage_expiring"]
    assert expiring["tracking_number"] == waiting.tracking_number
    assert expiring["office_index"] == VILLAGE
    collected = sent["shipment.cod_collected"]
    assert collected["tracking_number"] == partial.tracking_number
    assert (collected["amount_kop"], collected["method"]) == (35000, "cash")
    partly = sent["shipment.partially_delivered"]
    assert partly["cod_collected_kop"] == 35000
    assert [
        (i["sku"], i["quantity_delivered"], i["quantity_refused"]) for i in partly["items"]
    ] == [
        ("A", 1, 0),
        ("B", 1, 1),
    ]
    delivered = sent["shipment.delivered"]
    assert delivered["tracking_number"] == waiting.tracking_number
    assert (delivered["cod_collected_kop"], delivered["method"]) == (0, None)
    payouts = {
        m.payload["data"]["date"]: m.payload["data"]
        for m in messages
        if m.event_type == "payout.ready"
    }
    assert payouts["2026-11-26"]["cash_kop"] == 35000
    assert payouts["2026-11-26"]["shipments"] == 1


def test_each_catalogue_example_is_valid_data_of_its_event() -> None:
    assert tuple(CATALOGUE) == EVENT_TYPES
    for kind in CATALOGUE.values():
        kind.model.model_validate(kind.example)
        assert set(kind.example) == set(kind.payload_schema()["properties"]), kind.event_type
