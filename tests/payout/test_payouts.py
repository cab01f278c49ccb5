"""Payouts from the real counter: parcels issued with cash and by card, partly taken and
refused at Pestyaki; ``GET /v1/payouts`` (JSON and CSV) and the job that closes each day and
sends ``payout.ready``, once."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from selpo.config import Settings
from selpo.errors import InvalidInput
from selpo.marketplace import service as marketplace_service
from selpo.models import OutboxMessage, PayoutDay, Shipment
from selpo.notify import service as notify_service
from selpo.notify.events import CATALOGUE
from selpo.office import service as office
from selpo.payout import rules
from selpo.payout import service as payout_service
from selpo.worker import find_job, timed_jobs
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key
from tests.office.world import POLICY, OfficeWorld

DAY = date(2026, 11, 25)  # TEST_NOW is 12:00 of this day in Pestyaki (Europe/Moscow)


def _open_issue(world: OfficeWorld, **parcel: Any) -> str:
    shipment, code = world.shelved(**parcel)
    office.find_by_code(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        code=code,
        policy=POLICY,
        now=world.clock.now(),
    )
    return shipment.tracking_number


def _issue(world: OfficeWorld, *, refused: dict[int, int], method: str | None) -> str:
    number = _open_issue(world, two_items=True, cod=True)
    office.complete_issue(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        tracking_number=number,
        refused=refused,
        method=method,
        received_kop=None,
        now=world.clock.now(),
    )
    return number


class Counter:
    """The day at Pestyaki: a whole order paid by card, one partly taken paid in cash, one
    refused, one prepaid."""

    def __init__(self, world: OfficeWorld) -> None:
        self.card = _issue(world, refused={}, method="card")  # 600 roubles
        self.partial = _issue(world, refused={1: 1}, method="cash")  # 100 + 250 taken
        self.refused = _open_issue(world, two_items=True, cod=True)
        office.refuse_parcel(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=self.refused,
            now=world.clock.now(),
        )
        prepaid = _open_issue(world)
        office.complete_issue(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=prepaid,
            refused={},
            method=None,
            received_kop=None,
            now=world.clock.now(),
        )
        self.prepaid = prepaid
        world.session.flush()


def _ozon_headers(world: OfficeWorld) -> dict[str, str]:
    issued = marketplace_service.issue_key(world.session, now=TEST_NOW, marketplace=world.ozon)
    world.session.flush()
    return {"Authorization": f"Bearer {issued.secret}"}


def _payouts(
    client: TestClient, headers: dict[str, str], first: date, last: date, **extra: str
) -> dict[str, Any]:
    response = client.get(
        "/v1/payouts",
        params={"from": first.isoformat(), "to": last.isoformat()},
        headers={**headers, **extra},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_day_at_the_counter_is_what_is_due_less_the_fee(
    world: OfficeWorld, client: TestClient
) -> None:
    counter = Counter(world)
    payout_service.set_fee_rate(world.session, code="ozon", rate="1.5%")
    headers = _ozon_headers(world)

    body = _payouts(client, headers, DAY - timedelta(days=1), DAY)
    assert body["marketplace"] == "OZON"
    assert (body["from"], body["to"], body["currency"]) == ("2026-11-24", "2026-11-25", "RUB")
    assert body["fee_rate"] == "0.0150"
    days = body["days"]
    assert isinstance(days, list)
    empty, today = days
    assert empty["date"] == "2026-11-24"
    assert (empty["collected_kop"], empty["shipments"]) == (0, [])
    assert today["date"] == "2026-11-25"
    assert today["closed"] is False
    # Card: the whole order (600 roubles); cash: only what was taken (100 + 250); the refused
    # and the prepaid parcels owe nothing and are not behind the payout.
    assert (today["card_kop"], today["cash_kop"], today["collected_kop"]) == (
        60000,
        35000,
        95000,
    )
    assert today["fee_kop"] == 1425  # 1.5 % of 950 roubles
    assert today["to_transfer_kop"] == 93575
    by_number = {s["tracking_number"]: s for s in today["shipments"]}
    assert set(by_number) == {counter.card, counter.partial}
    assert (by_number[counter.card]["method"], by_number[counter.card]["fee_kop"]) == ("card", 900)
    assert by_number[counter.partial]["collected_kop"] == 35000
    assert by_number[counter.partial]["fee_kop"] == 525
    assert by_number[counter.partial]["office_index"] == "155650"
    assert body["totals"] == {
        "cash_kop": 35000,
        "card_kop": 60000,
        "collected_kop": 95000,
        "fee_kop": 1425,
        "refunded_kop": 0,
        "to_transfer_kop": 93575,
    }
    # What was collected is what was due: the shipments agree.
    partial = world.session.scalars(
        select(Shipment).where(Shipment.tracking_number == counter.partial)
    ).one()
    assert (partial.status, partial.cod_collected_kop) == ("partially_delivered", 35000)


def test_the_csv_has_a_row_per_shipment(world: OfficeWorld, client: TestClient) -> None:
    counter = Counter(world)
    payout_service.set_fee_rate(world.session, code="OZON", rate="0.015")
    response = client.get(
        "/v1/payouts",
        params={"from": DAY.isoformat(), "to": DAY.isoformat()},
        headers={**_ozon_headers(world), "Accept": "text/csv"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["tracking_number"] for r in rows} == {counter.card, counter.partial}
    card = next(r for r in rows if r["tracking_number"] == counter.card)
    assert (card["date"], card["closed"], card["method"]) == ("2026-11-25", "false", "card")
    assert (card["collected_kop"], card["fee_kop"], card["to_transfer_kop"]) == (
        "60000",
        "900",
        "59100",
    )


def test_each_marketplace_sees_only_its_own_money(world: OfficeWorld, client: TestClient) -> None:
    Counter(world)
    other = marketplace_key(world.session, "PAYOTHER", now=TEST_NOW, connect=())
    body = _payouts(client, other.headers, DAY, DAY)
    assert body["days"] == [
        {
            "date": "2026-11-25",
            "closed": False,
            "fee_rate": "0.0000",
            "cash_kop": 0,
            "card_kop": 0,
            "collected_kop": 0,
            "fee_kop": 0,
            "refunded_kop": 0,
            "to_transfer_kop": 0,
            "shipments": [],
            "refunds": [],
        }
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-11-25", "to": "2026-11-24"}, "to"),
        ({"from": "2026-08-01", "to": "2026-11-25"}, "from"),
        ({"to": "2026-11-25"}, "from"),
        ({"from": "2026-11-25", "to": "25.11.2026"}, "to"),
        ({"from": "1999-12-31", "to": "2000-01-01"}, "from"),
    ],
)
def test_a_bad_range_is_a_422_problem(
    world: OfficeWorld, client: TestClient, query: dict[str, str], field: str
) -> None:
    response = client.get("/v1/payouts", params=query, headers=_ozon_headers(world))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"].split(".")[-1] for e in response.json()["errors"]}


def test_ninety_two_days_is_the_longest_range(world: OfficeWorld, client: TestClient) -> None:
    body = _payouts(client, _ozon_headers(world), DAY - timedelta(days=91), DAY)
    assert isinstance(body["days"], list)
    assert len(body["days"]) == 92


def test_payouts_need_a_marketplace_key(client: TestClient) -> None:
    response = client.get("/v1/payouts", params={"from": "2026-11-25", "to": "2026-11-25"})
    assert response.status_code == 401


def _payout_messages(world: OfficeWorld) -> list[OutboxMessage]:
    return list(
        world.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.event_type == "payout.ready")
            .order_by(OutboxMessage.id)
        )
    )


def test_the_day_closes_once_after_midnight_everywhere(
    world: OfficeWorld, client: TestClient
) -> None:
    counter = Counter(world)
    s = world.session
    payout_service.set_fee_rate(s, code="OZON", rate="1.5%")
    notify_service.create_subscription(
        s,
        marketplace_id=world.ozon.id,
        url="https://hooks.example/payouts",
        events=["payout.ready"],
        now=TEST_NOW,
    )
    job = find_job(timed_jobs(Settings()), "close-payout-days")
    assert job is not None
    closes = rules.closes_at(DAY, payout_service._zones(s))
    assert closes >= datetime(2026, 11, 25, 21, 0, tzinfo=UTC) + rules.CLOSING_GRACE
    # Before the day has ended everywhere (plus the grace): not closed.
    job.run(s, closes - timedelta(minutes=1), 1000)
    assert not any(m.payload["data"]["date"] == "2026-11-25" for m in _payout_messages(world))
    # After: closed once, with the day's figures.
    assert job.run(s, closes, 1000) > 0
    # The empty days before it close silently: the only webhook is the day with money.
    sent = _payout_messages(world)
    assert [m.payload["data"]["date"] for m in sent] == ["2026-11-25"]
    empty = s.scalars(
        select(PayoutDay).where(
            PayoutDay.marketplace_id == world.ozon.id, PayoutDay.day == DAY - timedelta(days=1)
        )
    ).one()
    assert (empty.collected_kop, empty.event_id) == (0, None)
    data = sent[0].payload["data"]
    CATALOGUE["payout.ready"].model.model_validate(data)
    assert data == {
        "date": "2026-11-25",
        "cash_kop": 35000,
        "card_kop": 60000,
        "collected_kop": 95000,
        "fee_kop": 1425,
        "refunded_kop": 0,
        "to_transfer_kop": 93575,
        "shipments": 2,
    }
    row = s.scalars(
        select(PayoutDay).where(PayoutDay.marketplace_id == world.ozon.id, PayoutDay.day == DAY)
    ).one()
    assert (row.fee_rate_bp, row.to_transfer_kop, row.event_id) == (
        150,
        93575,
        sent[0].event_id,
    )
    # Run again (another worker, a later tick): nothing more is sent.
    before = len(_payout_messages(world))
    assert job.run(s, closes + timedelta(hours=1), 1000) == 0
    assert len(_payout_messages(world)) == before
    # A closed day keeps the rate it closed with; the open days take the new one.
    payout_service.set_fee_rate(s, code="OZON", rate="2%")
    body = _payouts(client, _ozon_headers(world), DAY, DAY + timedelta(days=1))
    closed, open_day = body["days"]
    assert (closed["closed"], closed["fee_rate"], closed["fee_kop"]) == (True, "0.0150", 1425)
    assert {x["tracking_number"] for x in closed["shipments"]} == {counter.card, counter.partial}
    assert (open_day["closed"], open_day["fee_rate"]) == (False, "0.0200")
    assert body["fee_rate"] == "0.0200"


def test_a_worker_that_loses_the_race_sends_nothing(world: OfficeWorld) -> None:
    Counter(world)
    s = world.session
    notify_service.create_subscription(
        s,
        marketplace_id=world.ozon.id,
        url="https://hooks.example/payouts",
        events=["*"],
        now=TEST_NOW,
    )
    closes = rules.closes_at(DAY, payout_service._zones(s))
    payout_service.close_days(s, closes)
    sent = len(_payout_messages(world))
    # A second worker that read the day as open before the first committed: its insert of
    # the same (marketplace, day) fails on the unique key, and it queues nothing.
    figures = payout_service.payout_report(s, marketplace=world.ozon, first=DAY, last=DAY).days[0]
    assert payout_service._close(s, world.ozon, figures, closes) is False
    assert len(_payout_messages(world)) == sent
    count = s.scalar(
        select(func.count(PayoutDay.id)).where(
            PayoutDay.marketplace_id == world.ozon.id, PayoutDay.day == DAY
        )
    )
    assert count == 1


def test_a_bad_fee_rate_changes_nothing(world: OfficeWorld) -> None:
    payout_service.set_fee_rate(world.session, code="OZON", rate="1.25%")
    assert world.ozon.fee_rate_bp == 125
    for bad in ("abc", "150%", "-1%", "0.00015", "NaN"):
        with pytest.raises(InvalidInput, match="rate|basis") as refused:
            payout_service.set_fee_rate(world.session, code="OZON", rate=bad)
        assert refused.value.field == "rate"
    assert world.ozon.fee_rate_bp == 125
