"""A buyer returns part of a cash-on-delivery order: the marketplace registers the return and
gets the code, the buyer brings the items to another connected office, the clerk finds the
return by the code, checks the units, prints the label, pays the cash back with a receipt,
and the return rides the way back to the warehouse's act; the marketplace hears each step.
Wrong codes lock the office's search; a marketplace sees only its own returns; refunds never
exceed what was collected."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.config import Settings
from selpo.kit.lockout import Lockout
from selpo.logistics import way_back
from selpo.marketplace import service as marketplace_service
from selpo.models import CustomerReturn, OutboxMessage, ReturnLegItem, Shipment
from selpo.notify import service as notify_service
from selpo.notify.events import CATALOGUE
from selpo.returns import service as returns
from selpo.returns.errors import CounterRefusal
from selpo.shipment import service as shipment_service
from selpo.shipment.tracking import is_valid_tracking_number
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key
from tests.office.world import OfficeWorld

PEPPER = Settings().pickup_code_pepper  # the app fixture registers with the default
POLICY = returns.CodePolicy(pepper=PEPPER, lockout=Lockout(3, timedelta(minutes=15)))
SEAT = "workstation-1"


def _headers(world: OfficeWorld) -> dict[str, str]:
    issued = marketplace_service.issue_key(world.session, now=TEST_NOW, marketplace=world.ozon)
    world.session.flush()
    return {"Authorization": f"Bearer {issued.secret}"}


def _issued_cod_order(world: OfficeWorld) -> Shipment:
    """Two lines (a 100 ₽ mug, two 250 ₽ plates), 600 ₽ collected in cash at Pestyaki."""
    parcel, _ = world.shelved(two_items=True, cod=True)
    shipment_service.issue_to_recipient(
        world.session, shipment=parcel, now=world.clock.now(), cod_method="cash"
    )
    assert parcel.cod_collected_kop == 60000
    return parcel


def _return_webhooks(session: Session) -> list[tuple[str, dict[str, Any]]]:
    rows = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "webhook").order_by(OutboxMessage.id)
    )
    found = []
    for row in rows:
        if str(row.event_type).startswith("return."):
            data = row.payload["data"]
            CATALOGUE[str(row.event_type)].model.model_validate(data)
            found.append((str(row.event_type), data))
    return found


def _register(
    client: TestClient, headers: dict[str, str], parcel: Shipment | _Number, **body: Any
) -> dict[str, Any]:
    payload = {
        "tracking_number": parcel.tracking_number,
        "external_return_id": "RET-1",
        "reason": "разбилась тарелка",
        "items": [{"position": 1, "quantity": 1}],
        **body,
    }
    response = client.post("/v1/returns", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_return_with_a_cash_refund_from_the_counter_to_the_warehouse(
    world: OfficeWorld, client: TestClient
) -> None:
    session = world.session
    notify_service.create_subscription(
        session,
        marketplace_id=world.ozon.id,
        url="https://hooks.example/ozon",
        events=["*"],
        now=world.clock.now(),
    )
    marketplace_service.set_returns(world.ozon, refund_cash=True, return_days=14)
    headers = _headers(world)
    parcel = _issued_cod_order(world)
    world.clock.advance(timedelta(days=3))

    registered = _register(client, headers, parcel)
    code = registered["return_code"]
    assert len(code) == 10
    assert registered["status"] == "registered"
    assert registered["cash_refund"] is True
    stored = session.get(CustomerReturn, registered["id"])
    assert stored is not None
    assert code not in stored.code_hash

    # The buyer brings one plate to Alekhino, another office OZON serves.
    found = returns.find_by_code(
        session, office=world.alekhino, code=code, seat=SEAT, policy=POLICY, now=world.clock.now()
    )
    assert found.return_id == registered["id"]
    assert found.ticket
    view = returns.counter_view(
        session,
        office=world.alekhino,
        return_id=registered["id"],
        ticket=found.ticket,
        seat=SEAT,
        pepper=PEPPER,
        now=world.clock.now(),
    )
    assert view.refusal is None
    assert view.refund_kop == 25000
    ret = returns.accept_at_counter(
        session,
        office=world.alekhino,
        return_id=registered["id"],
        ticket=found.ticket,
        seat=SEAT,
        pepper=PEPPER,
        accepted={1: 1},
        weight_g=None,
        actor=world.village_clerk.actor,
        now=world.clock.now(),
    )
    assert ret.status == "accepted"
    assert ret.refund_kop == 25000
    assert ret.tracking_number
    assert is_valid_tracking_number(ret.tracking_number)
    assert ret.tracking_number.startswith(world.alekhino.index)
    label = returns.label_pdf(session, office=world.alekhino, return_id=ret.id)
    assert label.startswith(b"%PDF")
    receipt = returns.receipt(session, office=world.alekhino, return_id=ret.id)
    assert receipt.refund_kop == 25000
    assert [line.sku for line in receipt.lines] == ["B"]
    leg = session.scalars(
        select(ReturnLegItem).where(
            ReturnLegItem.kind == "customer_return", ReturnLegItem.ref_id == ret.id
        )
    ).one()
    assert leg.barcode == ret.tracking_number
    assert leg.office_id == world.alekhino.id
    assert leg.warehouse_id is not None
    assert leg.status == "waiting"

    # The way back (the return legs call moved() after each step).
    for step in ("loaded", "at_hub", "delivered"):
        world.clock.advance(timedelta(hours=6))
        way_back.moved(session, leg, step, world.clock.now())
    way_back.moved(session, leg, "delivered", world.clock.now())  # a replay changes nothing
    session.refresh(ret)
    assert ret.status == "delivered"
    kinds = [kind for kind, _ in _return_webhooks(session)]
    assert kinds == ["return.accepted", "return.in_transit", "return.delivered"]

    listed = client.get("/v1/returns", params={"status": "delivered"}, headers=headers).json()
    assert [r["id"] for r in listed["items"]] == [ret.id]
    one = client.get(f"/v1/returns/{ret.id}", headers=headers).json()
    assert one["refund_kop"] == 25000
    assert one["office_index"] == world.alekhino.index
    assert one["items"][0]["accepted_quantity"] == 1
    assert "return_code" not in one
    # The cash paid back comes off the marketplace's payout of the day it was paid.
    assert ret.accepted_at is not None
    accepted_day = ret.accepted_at.astimezone(ZoneInfo(world.alekhino.timezone)).date()
    payouts = client.get(
        "/v1/payouts",
        params={"from": accepted_day.isoformat(), "to": accepted_day.isoformat()},
        headers=headers,
    ).json()
    paid_day = payouts["days"][0]
    assert paid_day["refunded_kop"] == 25000
    assert paid_day["refunds"][0]["return_tracking_number"] == ret.tracking_number
    assert paid_day["to_transfer_kop"] == (paid_day["collected_kop"] - paid_day["fee_kop"] - 25000)
    # The parcel itself stays delivered: a return is its own thing.
    assert parcel.status == "delivered"


def test_money_refunded_never_exceeds_money_collected(
    world: OfficeWorld, client: TestClient
) -> None:
    marketplace_service.set_returns(world.ozon, refund_cash=True)
    headers = _headers(world)
    parcel = _issued_cod_order(world)
    first = _register(
        client,
        headers,
        parcel,
        items=[{"position": 0, "quantity": 1}, {"position": 1, "quantity": 2}],
    )
    # Every unit taken is in a return now: another return of the same units is refused.
    again = client.post(
        "/v1/returns",
        json={
            "tracking_number": parcel.tracking_number,
            "external_return_id": "RET-2",
            "reason": "ещё раз",
            "items": [{"position": 1, "quantity": 1}],
        },
        headers=headers,
    )
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "items"
    found = returns.find_by_order(
        world.session,
        office=world.pestyaki,
        tracking_number=parcel.tracking_number,
        phone_last4="4567",
        seat=SEAT,
        policy=POLICY,
        now=world.clock.now(),
    )
    assert found.return_id == first["id"]
    ret = returns.accept_at_counter(
        world.session,
        office=world.pestyaki,
        return_id=first["id"],
        ticket=found.ticket,
        seat=SEAT,
        pepper=PEPPER,
        accepted={0: 1, 1: 2},
        weight_g=900,
        actor=world.clerk.actor,
        now=world.clock.now(),
    )
    assert ret.refund_kop == parcel.cod_collected_kop == 60000


def test_wrong_codes_lock_the_offices_search(world: OfficeWorld, client: TestClient) -> None:
    headers = _headers(world)
    parcel = _issued_cod_order(world)
    code = _register(client, headers, parcel)["return_code"]
    wrong = "0000000000" if code != "0000000000" else "1111111111"
    outcomes = [
        returns.find_by_code(
            world.session,
            office=world.pestyaki,
            code=wrong,
            seat=SEAT,
            policy=POLICY,
            now=world.clock.now(),
        )
        for _ in range(3)
    ]
    assert [o.return_id for o in outcomes] == [None, None, None]
    assert "Осталось попыток: 2" in outcomes[0].message
    assert "закрыт" in outcomes[2].message
    locked = returns.find_by_code(
        world.session,
        office=world.pestyaki,
        code=code,
        seat=SEAT,
        policy=POLICY,
        now=world.clock.now(),
    )
    assert locked.return_id is None
    assert "закрыт" in locked.message
    # Another office's search is not locked; after the lock period the right code works.
    elsewhere = returns.find_by_code(
        world.session,
        office=world.alekhino,
        code=code,
        seat=SEAT,
        policy=POLICY,
        now=world.clock.now(),
    )
    assert elsewhere.return_id is not None
    world.clock.advance(timedelta(minutes=16))
    later = returns.find_by_code(
        world.session,
        office=world.pestyaki,
        code=code,
        seat=SEAT,
        policy=POLICY,
        now=world.clock.now(),
    )
    assert later.return_id is not None


def test_no_return_is_accepted_without_being_found_or_after_its_period(
    world: OfficeWorld, client: TestClient
) -> None:
    marketplace_service.set_returns(world.ozon, return_days=7)
    headers = _headers(world)
    parcel = _issued_cod_order(world)
    registered = _register(client, headers, parcel)
    accept = {
        "office": world.pestyaki,
        "return_id": registered["id"],
        "seat": SEAT,
        "pepper": PEPPER,
        "accepted": {1: 1},
        "weight_g": None,
        "actor": world.clerk.actor,
    }
    with pytest.raises(CounterRefusal):
        returns.accept_at_counter(
            world.session,
            ticket="forged",
            now=world.clock.now(),
            **accept,
        )
    found = returns.find_by_code(
        world.session,
        office=world.pestyaki,
        code=registered["return_code"],
        seat=SEAT,
        policy=POLICY,
        now=world.clock.now(),
    )
    world.clock.advance(timedelta(days=9))
    with pytest.raises(CounterRefusal, match="Срок возврата истёк"):
        returns.accept_at_counter(
            world.session,
            ticket=found.ticket,
            now=world.clock.now(),
            **accept,
        )
    late = client.post(
        "/v1/returns",
        json={
            "tracking_number": parcel.tracking_number,
            "external_return_id": "RET-LATE",
            "reason": "поздно",
            "items": [{"position": 0, "quantity": 1}],
        },
        headers=headers,
    )
    assert late.status_code == 409


def test_a_marketplace_sees_only_its_own_returns(
    world: OfficeWorld, client: TestClient, session: Session
) -> None:
    headers = _headers(world)
    parcel = _issued_cod_order(world)
    registered = _register(client, headers, parcel)
    other = marketplace_key(session, "YANDEX_MARKET", now=TEST_NOW)
    assert client.get(f"/v1/returns/{registered['id']}", headers=other.headers).status_code == 404
    assert client.get("/v1/returns", headers=other.headers).json()["items"] == []
    stolen = client.post(
        "/v1/returns",
        json={
            "tracking_number": parcel.tracking_number,
            "external_return_id": "RET-X",
            "reason": "чужой",
            "items": [{"position": 0, "quantity": 1}],
        },
        headers=other.headers,
    )
    assert stolen.status_code == 404
    duplicate = client.post(
        "/v1/returns",
        json={
            "tracking_number": parcel.tracking_number,
            "external_return_id": "RET-1",
            "reason": "дубль",
            "items": [{"position": 0, "quantity": 1}],
        },
        headers=headers,
    )
    assert duplicate.status_code == 409


def test_a_retried_registration_gets_the_same_code(world: OfficeWorld, client: TestClient) -> None:
    headers = {**_headers(world), "Idempotency-Key": "ret-1"}
    parcel = _issued_cod_order(world)
    first = _register(client, headers, parcel)
    second = _register(client, headers, parcel)
    assert first == second


def test_recall_over_http_is_409_after_issue(world: OfficeWorld, client: TestClient) -> None:
    headers = _headers(world)
    parcel = world.parcel()
    answer = client.post(
        f"/v1/shipments/{parcel.tracking_number}/recall",
        headers={**headers, "Idempotency-Key": "recall-1"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "recalled"
    replay = client.post(
        f"/v1/shipments/{parcel.tracking_number}/recall",
        headers={**headers, "Idempotency-Key": "recall-1"},
    )
    assert replay.json() == answer.json()
    delivered = _issued_cod_order(world)
    refused = client.post(f"/v1/shipments/{delivered.tracking_number}/recall", headers=headers)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_a_test_keys_returns_stay_in_the_sandbox(world: OfficeWorld, client: TestClient) -> None:
    live = _headers(world)
    issued = marketplace_service.issue_key(
        world.session, now=TEST_NOW, marketplace=world.ozon, sandbox=True
    )
    world.session.flush()
    test = {"Authorization": f"Bearer {issued.secret}"}
    created = client.post(
        "/v1/shipments",
        json={
            "external_order_id": "SB-RET",
            "destination_index": world.pestyaki.index,
            "recipient": {"name": "Иванова Мария Петровна", "phone": "+79161234567"},
            "parcel": {
                "weight_g": 1200,
                "length_mm": 300,
                "width_mm": 200,
                "height_mm": 100,
                "declared_value_kop": 150000,
                "cod_kop": 150000,
            },
            "items": [{"sku": "SKU-1", "name": "Чайник", "quantity": 1, "price_kop": 150000}],
        },
        headers=test,
    ).json()
    number = created["tracking_number"]
    walked = client.post(
        f"/v1/sandbox/shipments/{number}/advance", json={"status": "delivered"}, headers=test
    )
    assert walked.status_code == 200, walked.text
    made = _register(client, test, _Number(number), items=[{"position": 0, "quantity": 1}])
    assert made["status"] == "registered"
    assert client.get("/v1/returns", headers=live).json()["items"] == []
    assert client.get(f"/v1/returns/{made['id']}", headers=live).status_code == 404
    assert [r["id"] for r in client.get("/v1/returns", headers=test).json()["items"]] == [
        made["id"]
    ]
    # No counter ever sees a sandbox return.
    found = returns.find_by_code(
        world.session,
        office=world.pestyaki,
        code=made["return_code"],
        seat=SEAT,
        policy=POLICY,
        now=world.clock.now(),
    )
    assert found.return_id is None


class _Number:
    """What ``_register`` reads of a shipment: its number."""

    def __init__(self, tracking_number: str) -> None:
        self.tracking_number = tracking_number
