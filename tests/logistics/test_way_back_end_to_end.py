"""Everything that goes back rides the same van: a parcel recalled on the shelf, a buyer's
return with its cash refund and a resident's bag for a collection partner, all taken at
Pestyaki, leave on one run's return leg, are accepted at the hub against its manifest, and
end at the warehouse's act (the parcel ``returned``, the return ``delivered``) or with the
partner's collection act — through the real services, the return legs calling each domain
back at every step.

The route is the one of ``test_return_legs``: the Pestyaki hub (DH-155650) calls at Pestyaki
(155650) at 08:30 and Alekhino (155654) at 09:00 Moscow time, Mondays and Thursdays; here
with room for five things back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.collection import service as collection
from selpo.config import Settings
from selpo.kit.clock import FrozenClock
from selpo.kit.lockout import Lockout
from selpo.logistics import return_legs, timetables
from selpo.logistics.eta import next_run
from selpo.marketplace import service as marketplace_service
from selpo.models import CollectionBag, CustomerReturn, OutboxMessage, ReturnLegItem, Shipment
from selpo.notify import service as notify_service
from selpo.returns import recall
from selpo.returns import service as returns
from selpo.returns.schemas import ReturnCreate, ReturnItemIn
from selpo.shipment import service as shipment_service
from tests.conftest import TEST_NOW
from tests.office.world import OfficeWorld, cheap_password_hashing, make_world

ROUTE = "RET-PESTYAKI"
HUB = "DH-155650"
ROUTES_CSV = f"""\
route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min
{ROUTE},{HUB},mon|thu,08:00,5,2000,240,1,155650,30
{ROUTE},{HUB},mon|thu,08:00,5,2000,240,2,155654,60
"""
PEPPER = Settings().pickup_code_pepper
POLICY = returns.CodePolicy(pepper=PEPPER, lockout=Lockout(3, timedelta(minutes=15)))
SEAT = "workstation-1"


@pytest.fixture(autouse=True)
def _cheap_passwords() -> Iterator[None]:
    with cheap_password_hashing():
        yield


@pytest.fixture
def world(session: Session, clock: FrozenClock) -> OfficeWorld:
    found = make_world(session, clock)
    timetables.import_routes(session, ROUTES_CSV, now=TEST_NOW)
    notify_service.create_subscription(
        session,
        marketplace_id=found.ozon.id,
        url="https://127.0.0.1/hooks",
        events=["*"],
        now=TEST_NOW,
        allow_hosts=frozenset({"127.0.0.1"}),
    )
    marketplace_service.set_returns(found.ozon, refund_cash=True, return_days=14)
    collection.add_partner(
        session,
        code="ECOTEX",
        name="ЭкоТекс",
        takes=["textile"],
        offices="155650",
        depot=HUB,
        now=TEST_NOW,
    )
    session.flush()
    return found


def _recalled_on_the_shelf(world: OfficeWorld) -> Shipment:
    parcel, _code = world.shelved()
    recall.recall(
        world.session,
        marketplace_id=world.ozon.id,
        tracking_number=parcel.tracking_number,
        now=world.clock.now(),
    )
    world.session.refresh(parcel)
    return parcel


def _buyers_return(world: OfficeWorld) -> CustomerReturn:
    """A cash-on-delivery order issued at Pestyaki; three days later the buyer brings one
    plate back there and gets its 250 ₽ in cash."""
    session = world.session
    order, _ = world.shelved(two_items=True, cod=True)
    shipment_service.issue_to_recipient(
        session, shipment=order, now=world.clock.now(), cod_method="cash"
    )
    world.clock.advance(timedelta(days=3))
    registered = returns.register_return(
        session,
        marketplace=world.ozon,
        return_in=ReturnCreate(
            tracking_number=order.tracking_number,
            external_return_id="RET-E2E",
            reason="разбилась тарелка",
            items=[ReturnItemIn(position=1, quantity=1)],
        ),
        pepper=PEPPER,
        now=world.clock.now(),
    )
    found = returns.find_by_code(
        session,
        office=world.pestyaki,
        code=registered.return_code,
        seat=SEAT,
        policy=POLICY,
        now=world.clock.now(),
    )
    assert found.return_id is not None
    return returns.accept_at_counter(
        session,
        office=world.pestyaki,
        return_id=found.return_id,
        ticket=found.ticket,
        seat=SEAT,
        pepper=PEPPER,
        accepted={1: 1},
        weight_g=None,
        actor=world.clerk.actor,
        now=world.clock.now(),
    )


def _webhooks(session: Session, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id)
    )
    return [
        (str(r.event_type), r.payload.get("data", r.payload))
        for r in rows
        if str(r.event_type).startswith(prefix)
    ]


def _items(session: Session) -> dict[str, ReturnLegItem]:
    session.expire_all()
    return {i.kind: i for i in session.scalars(select(ReturnLegItem))}


def test_a_recall_a_buyers_return_and_a_bag_ride_one_van_back(world: OfficeWorld) -> None:
    session = world.session
    buyers_return = _buyers_return(world)
    recalled = _recalled_on_the_shelf(world)
    assert recalled.status == "returning"
    bag = collection.take_bag(
        session,
        office=world.pestyaki,
        clerk=world.clerk.clerk,
        partner_code="ECOTEX",
        material="textile",
        weight="2500",
        now=world.clock.now(),
    )
    waiting = _items(session)
    assert set(waiting) == {"shipment", "customer_return", "partner_bag"}
    assert {i.status for i in waiting.values()} == {"waiting"}
    assert waiting["customer_return"].barcode == buyers_return.tracking_number
    assert waiting["partner_bag"].barcode == bag.code
    assert waiting["partner_bag"].partner_code == "ECOTEX"

    # The next run's van takes all three at Pestyaki.
    loaded_net = timetables.current_timetable(session)
    departure = next_run(loaded_net.network, ROUTE, world.clock.now()).departure
    last_call = departure + timedelta(minutes=60)
    assert return_legs.advance_return_legs(session, last_call) == 3
    assert {i.status for i in _items(session).values()} == {"loaded"}
    session.refresh(buyers_return)
    assert buyers_return.status == "in_transit"
    session.refresh(recalled)
    assert recalled.cell_code is None  # the van took it off the shelf

    # The hub accepts the leg against its manifest.
    leg = return_legs.get_leg(session, route_id=ROUTE, departure=departure)
    assert leg.items == 3
    barcodes = [recalled.tracking_number, buyers_return.tracking_number, bag.code]
    report = return_legs.accept_at_hub(
        session, route_id=ROUTE, departure=departure, barcodes=barcodes, now=leg.back_at
    )
    assert sorted(report.accepted) == sorted(barcodes)
    assert (report.missing, report.extra) == ([], [])

    # The line-haul takes the marketplace's two to its warehouse; the bag stays for the
    # partner.
    acts = return_legs.deliver_to_warehouses(session, hub=HUB, now=leg.back_at)
    assert len(acts) == 1
    assert sorted(line.barcode for line in acts[0].lines) == sorted(barcodes[:2])
    session.refresh(recalled)
    session.refresh(buyers_return)
    assert recalled.status == "returned"
    assert buyers_return.status == "delivered"
    assert _items(session)["partner_bag"].status == "at_hub"

    # The partner collects its bag at the hub against its act.
    partner = collection.get_partner(session, "ECOTEX")
    act, created = collection.make_act(
        session, partner_id=partner.id, codes=None, now=leg.back_at + timedelta(hours=2)
    )
    assert created
    assert act.number.startswith("CA-")
    assert [b.code for b in act.items] == [bag.code]
    session.refresh(bag)
    assert bag.status == "delivered"
    assert {i.status for i in _items(session).values()} == {"delivered"}

    # The marketplace heard every step of its two.
    assert [kind for kind, _ in _webhooks(session, "return.")] == [
        "return.accepted",
        "return.in_transit",
        "return.delivered",
    ]
    statuses = [
        data.get("status")
        for kind, data in _webhooks(session, "shipment.status_changed")
        if data.get("tracking_number") == recalled.tracking_number
    ]
    assert statuses[-2:] == ["returning", "returned"]
    assert session.scalar(select(CollectionBag.status).where(CollectionBag.id == bag.id)) == (
        "delivered"
    )
