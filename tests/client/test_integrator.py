"""An integrator end to end, through the typed client only (clients/python) against the live
server under uvicorn, on both backends: an order of three places with cash on delivery, from
creating it to the money due, once through the sandbox (a test key advancing it) and once
through the live path (the hub's acceptance of the act, its scans, the counter's acceptance,
shelving and issue with cash, the payout day closed).

The integrator's side is the client alone; what the operator and the counter do is done the
way they do it: the operator's calls over HTTP with an admin key, the counter's steps through
the office's services (as its pages call them).
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.marketplace import service as marketplace_service
from selpo.models import Marketplace, PostOffice
from selpo.notify.delivery import deliver_due
from selpo.notify.sms import LogSmsGateway
from selpo.notify.transport import make_http_client
from selpo.office import auth
from selpo.office import service as office
from selpo.payout import service as payout_service
from selpo_client import (
    Item,
    NewPlace,
    NewShipment,
    Parcel,
    Recipient,
    SelpoClient,
    SelpoError,
    WebhookEvent,
    parse_webhook,
    verify_webhook_signature,
)
from tests.client.conftest import Live
from tests.conftest import TEST_NOW
from tests.fixtures.builders import PESTYAKI_INDEX, admin_headers
from tests.fixtures.receiver import Receiver
from tests.office.world import PASSWORD, POLICY, cheap_password_hashing, sign_in, sms_code

WAREHOUSE = "W-PODOLSK"
COD_KOP = 150000
BOXES = [
    NewPlace(weight_g=600, length_mm=300, width_mm=200, height_mm=100, external_place_id="BOX-1"),
    NewPlace(weight_g=400, length_mm=200, width_mm=150, height_mm=100, external_place_id="BOX-2"),
    NewPlace(weight_g=200, length_mm=150, width_mm=100, height_mm=50, external_place_id="BOX-3"),
]


def three_places(order: str) -> NewShipment:
    """An order of three boxes to Pestyaki, paid in cash on delivery."""
    return NewShipment(
        external_order_id=order,
        destination_index=PESTYAKI_INDEX,
        recipient=Recipient(name="Иванова Мария Петровна", phone="+79161234567"),
        parcel=Parcel(
            weight_g=1200,
            length_mm=300,
            width_mm=200,
            height_mm=100,
            declared_value_kop=COD_KOP,
            cod_kop=COD_KOP,
        ),
        items=[Item(sku="SKU-1", name="Чайник", quantity=1, price_kop=COD_KOP)],
        places=BOXES,
    )


def _pages(pdf: bytes) -> int:
    assert pdf.startswith(b"%PDF")
    return len(PdfReader(io.BytesIO(pdf)).pages)


def _deliver(factory: sessionmaker[Session], live: Live, tmp_path: Path) -> None:
    """The worker's passes over the outbox until nothing is left to send (one event of a
    shipment at a time, in order): the webhooks due go out to the receiver."""
    with make_http_client(allow_hosts=frozenset({"127.0.0.1"})) as http:
        for _ in range(30):
            report = deliver_due(
                factory,
                now=live.clock.now(),
                http=http,
                sms_gateway=LogSmsGateway(tmp_path / "sms.log"),
                rng=random.Random(7),
            )
            if report.sent == 0:
                return


def _received(receiver: Receiver, secret: str, live: Live) -> list[WebhookEvent]:
    """Every webhook the receiver accepted, its signature checked with the client's helper."""
    events = []
    for request in receiver.accepted:
        header = request.headers["x-selpo-signature"]
        assert verify_webhook_signature(secret, header, request.body, now=live.clock.now())
        events.append(parse_webhook(secret, header, request.body, now=live.clock.now()))
    return events


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def _ozon(session: Session) -> Marketplace:
    return session.scalars(select(Marketplace).where(Marketplace.code == "OZON")).one()


def test_through_the_sandbox(
    live: Live, receiver: Receiver, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with session_scope(session_factory) as session:
        test_key = marketplace_service.issue_key(
            session, now=TEST_NOW, marketplace=_ozon(session), sandbox=True
        ).secret
    assert test_key.startswith("sk_test_")

    with SelpoClient(live.base_url, api_key=test_key) as selpo:
        subscription = selpo.subscribe_webhook(receiver.url)  # every event
        created = selpo.create_shipment(three_places("SB-INT-1"), idempotency_key="SB-INT-1")
        number = created.tracking_number
        assert [p.number for p in created.places] == [1, 2, 3]
        assert created.places[0].tracking_number == number
        assert [p.external_place_id for p in created.places] == ["BOX-1", "BOX-2", "BOX-3"]
        assert created.parcel.cod_kop == COD_KOP

        act = selpo.create_handover(WAREHOUSE, [number])
        assert (act.count, act.places, act.cod_kop) == (1, 3, COD_KOP)
        assert act.shipments[0].tracking_number == number
        assert selpo.get_handover(act.id).number == act.number
        assert [a.id for a in selpo.list_handovers(since=TEST_NOW.date())] == [act.id]
        assert _pages(selpo.handover_pdf(act.id)) >= 1
        assert _pages(selpo.labels([number])) == 3  # one label a place

        delivered = selpo.sandbox_advance(number, "delivered")
        assert delivered.status == "delivered"
        assert delivered.cod_collected_kop == COD_KOP
        assert {p.status for p in delivered.places} == {"delivered"}

        _deliver(session_factory, live, tmp_path)
        events = _received(receiver, subscription.secret, live)
        ours = [e for e in events if e.data.get("tracking_number") == number]
        assert {"shipment.ready_for_pickup", "shipment.cod_collected", "shipment.delivered"} <= {
            e.type for e in ours
        }
        assert all(e.sandbox for e in ours)
        cod = next(e for e in ours if e.type == "shipment.cod_collected")
        assert (cod.data["amount_kop"], cod.data["method"]) == (COD_KOP, "cash")

        day = delivered.events[-1].occurred_at.date()
        due = selpo.payouts(day - timedelta(days=1), day + timedelta(days=1))
        lines = [s for d in due.days for s in d.shipments]
        assert [(s.tracking_number, s.collected_kop, s.method) for s in lines] == [
            (number, COD_KOP, "cash")
        ]
        assert due.totals.collected_kop == COD_KOP

    # the live key sees none of it
    with live.client() as real:
        assert [s.tracking_number for s in real.iter_shipments()] == []
        assert real.list_handovers(since=TEST_NOW.date()) == []


def _counter(factory: sessionmaker[Session], live: Live, places: list[str], number: str) -> None:
    """The clerk at Pestyaki: scans each place in, shelves the order, checks the recipient's
    code and issues it for cash."""
    with cheap_password_hashing(), session_scope(factory) as session:
        auth.add_clerk(
            session, office_index=PESTYAKI_INDEX, login="pestyaki1", password=PASSWORD, now=TEST_NOW
        )
        clerk = sign_in(session, "pestyaki1", live.clock)
        pestyaki = session.scalars(
            select(PostOffice).where(PostOffice.index == PESTYAKI_INDEX)
        ).one()
        acceptance = office.start_acceptance(
            session, office=pestyaki, workstation=clerk, now=live.clock.now()
        )
        for place in places:
            scan = office.scan_for_acceptance(
                session,
                acceptance=acceptance,
                office=pestyaki,
                workstation=clerk,
                barcode=place,
                damaged=False,
                now=live.clock.now(),
            )
            assert scan.result == "accepted"
        live.clock.advance(timedelta(minutes=10))
        shelved = office.shelve(
            session,
            office=pestyaki,
            workstation=clerk,
            tracking_number=places[-1],
            cell_input="",
            policy=POLICY,
            now=live.clock.now(),
        )
        assert shelved.cell
        live.clock.advance(timedelta(hours=2))
        found = office.find_by_code(
            session,
            office=pestyaki,
            workstation=clerk,
            code=sms_code(session, number),
            policy=POLICY,
            now=live.clock.now(),
        )
        assert found.message == "Код верный.", found.message
        office.complete_issue(
            session,
            office=pestyaki,
            workstation=clerk,
            tracking_number=number,
            refused={},
            method="cash",
            received_kop=COD_KOP,
            now=live.clock.now(),
        )


def test_through_the_live_path(
    live: Live, receiver: Receiver, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with session_scope(session_factory) as session:
        admin = admin_headers(session, now=TEST_NOW)
        payout_service.set_fee_rate(session, code="OZON", rate="1.5%")

    with live.client() as selpo, httpx.Client(base_url=live.base_url, headers=admin) as operator:
        subscription = selpo.subscribe_webhook(receiver.url)
        created = selpo.create_shipment(three_places("LIVE-INT-1"), idempotency_key="LIVE-INT-1")
        number = created.tracking_number
        places = [p.tracking_number for p in created.places]
        assert len(set(places)) == 3
        assert places[0] == number
        assert _pages(selpo.labels([number])) == 3

        act = selpo.create_handover(WAREHOUSE, idempotency_key="ACT-1")  # all created ones
        assert act.status == "open"
        assert [s.tracking_number for s in act.shipments] == [number]
        assert act.places == 3
        assert act.number.startswith("H-2026-")

        # the hub: its acceptance of the act (every place seen), then each place on its way
        live.clock.advance(timedelta(hours=2))
        accepted = operator.post(
            f"/v1/handovers/{act.id}/acceptance", json={"tracking_numbers": places}
        )
        assert accepted.status_code == 200, accepted.text
        closed = selpo.get_handover(act.id)
        assert closed.status == "accepted"
        assert closed.acceptance is not None
        assert (closed.acceptance.missing, closed.acceptance.extra) == ([], [])
        assert closed.scanned == 1
        assert [s.line for s in closed.shipments] == [1]
        assert closed.shipments[0].scanned_at is not None
        assert [a.status for a in selpo.list_handovers(since=TEST_NOW.date())] == ["accepted"]
        live.clock.advance(timedelta(hours=4))
        for place in places:
            scanned = operator.post(
                "/v1/tracking-events",
                json={
                    "tracking_number": place,
                    "code": "departed_hub",
                    "occurred_at": live.clock.now().isoformat(),
                },
            )
            assert scanned.status_code == 201, scanned.text
        on_the_way = selpo.get_shipment(number)
        assert on_the_way.status in {"in_transit", "departed_hub"}

        # the counter
        live.clock.advance(timedelta(hours=20))
        _counter(session_factory, live, places, number)
        delivered = selpo.get_shipment(number)
        assert delivered.status == "delivered"
        assert delivered.cod_collected_kop == COD_KOP
        assert delivered.cod_method == "cash"
        assert {p.status for p in delivered.places} == {"delivered"}
        day = delivered.events[-1].occurred_at.date()

        # the day closes (the worker's job) once it has ended in the office's zone
        live.clock.advance(timedelta(days=1, hours=6))
        with session_scope(session_factory) as session:
            assert payout_service.close_days(session, live.clock.now()) >= 1
        _deliver(session_factory, live, tmp_path)
        events = _received(receiver, subscription.secret, live)
        types = {e.type for e in events}
        assert {"shipment.ready_for_pickup", "shipment.cod_collected", "payout.ready"} <= types
        assert not any(e.sandbox for e in events)
        ready = next(e for e in events if e.type == "payout.ready")
        assert ready.data["date"] == day.isoformat()

        due = selpo.payouts(day, day)
        (paid,) = due.days
        assert paid.closed
        assert paid.fee_rate == "0.0150"
        (line,) = paid.shipments
        assert (line.tracking_number, line.method, line.collected_kop) == (number, "cash", COD_KOP)
        assert line.fee_kop == COD_KOP * 15 // 1000  # 1.5 %
        assert paid.to_transfer_kop == COD_KOP - line.fee_kop
        assert due.fee_rate == "0.0150"
        assert "LIVE-INT-1" in selpo.payouts_csv(day, day)


def test_an_act_made_in_the_evening_is_in_the_default_list(live: Live) -> None:
    """At 22:30 UTC it is already tomorrow at the Podolsk warehouse (Moscow time): the act is
    filed on that day, and the list without dates still holds it."""
    live.clock.set(TEST_NOW.replace(hour=22, minute=30))
    with live.client() as selpo:
        order = three_places("LATE-1")
        created = selpo.create_shipment(order)
        act = selpo.create_handover(WAREHOUSE, [created.tracking_number])
        assert [a.id for a in selpo.list_handovers()] == [act.id]
        assert selpo.list_handovers(since=TEST_NOW.date(), until=TEST_NOW.date()) == []


def test_a_recall_and_a_buyers_return_through_the_client(
    live: Live, session_factory: sessionmaker[Session]
) -> None:
    with session_scope(session_factory) as session:
        admin = admin_headers(session, now=TEST_NOW)
        marketplace_service.set_returns(_ozon(session), refund_cash=True)

    with live.client() as selpo, httpx.Client(base_url=live.base_url, headers=admin) as operator:

        def scanned(number: str, places: list[str], *codes: str) -> None:
            for code in codes:
                live.clock.advance(timedelta(minutes=30))
                for place in places:
                    answer = operator.post(
                        "/v1/tracking-events",
                        json={
                            "tracking_number": place,
                            "code": code,
                            "occurred_at": live.clock.now().isoformat(),
                        },
                    )
                    assert answer.status_code == 201, answer.text

        fresh = selpo.create_shipment(three_places("RECALL-1"))
        assert selpo.recall_shipment(fresh.tracking_number).status == "cancelled"
        on_its_way = selpo.create_shipment(three_places("RECALL-2"))
        scanned(
            on_its_way.tracking_number,
            [p.tracking_number for p in on_its_way.places],
            "handed_over",
            "departed_hub",
        )
        recalled = selpo.recall_shipment(on_its_way.tracking_number, idempotency_key="rc-2")
        assert recalled.status == "recalled"
        assert selpo.recall_shipment(on_its_way.tracking_number, idempotency_key="rc-2") == (
            recalled
        )

        bought = selpo.create_shipment(three_places("RETURN-1"))
        places = [p.tracking_number for p in bought.places]
        scanned(bought.tracking_number, places, "handed_over", "departed_hub")
        live.clock.advance(timedelta(hours=20))
        _counter(session_factory, live, places, bought.tracking_number)
        with pytest.raises(SelpoError) as too_late:
            selpo.recall_shipment(bought.tracking_number)
        assert too_late.value.status == 409

        made = selpo.register_return(bought.tracking_number, "RET-CLIENT-1", "не подошёл", [(0, 1)])
        assert len(made.return_code) == 10
        assert made.cash_refund is True
        assert made.status == "registered"
        again = selpo.register_return(
            bought.tracking_number, "RET-CLIENT-1", "не подошёл", [(0, 1)]
        )
        assert again.return_code == made.return_code  # the same key: the first answer
        assert [r.id for r in selpo.returns(status="registered").items] == [made.id]
        assert selpo.returns(status="delivered").items == []
        got = selpo.get_return(made.id)
        assert got.items[0].sku == "SKU-1"
        assert "return_code" not in got.model_dump()
