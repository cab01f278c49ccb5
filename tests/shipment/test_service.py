"""The parcel's life at the office, on the real database: shelving, codes, issue, returns."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.models import Marketplace, OutboxMessage, PostOffice, Shipment
from selpo.shipment import service
from selpo.shipment.errors import (
    PickupCodeLocked,
    TransitionRefused,
    WrongPickupCode,
)
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, shipment_payload, two_item_payload

POLICY = service.PickupPolicy(pepper="test-pepper", max_failures=5, lock_minutes=15)


@pytest.fixture
def ozon(session: Session) -> Marketplace:
    return marketplace_key(session, "OZON", now=TEST_NOW).marketplace


def _create(session: Session, marketplace: Marketplace, payload: dict[str, object]) -> Shipment:
    outcome = service.create_shipments(
        session,
        marketplace=marketplace,
        shipments_in=[ShipmentCreate.model_validate(payload)],
        now=TEST_NOW,
    )[0]
    assert outcome.shipment is not None, outcome.error
    return service.get_shipment(
        session, marketplace_id=marketplace.id, tracking_number=outcome.shipment.tracking_number
    )


def _arrive(session: Session, shipment: Shipment, clock: FrozenClock) -> None:
    for code in ("handed_over", "departed_hub", "arrived_at_office"):
        clock.advance(timedelta(hours=4))
        service.record_scan(
            session,
            tracking_number=shipment.tracking_number,
            code=code,
            occurred_at=clock.now(),
            now=clock.now(),
            office_index="155650",
        )


def _ready(session: Session, shipment: Shipment, clock: FrozenClock) -> str:
    _arrive(session, shipment, clock)
    return service.make_ready_for_pickup(
        session, shipment=shipment, now=clock.now(), policy=POLICY, cell_code="S-01"
    )


def _sms(session: Session, reference: str) -> list[str]:
    rows = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == "sms", OutboxMessage.reference == reference
        )
    )
    return [str(r.payload["text"]) for r in rows]


class TestMakeReadyForPickup:
    def test_shelving_makes_a_code_a_deadline_and_an_sms(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, shipment_payload())
        code = _ready(session, shipment, clock)
        assert shipment.status == "ready_for_pickup"
        assert len(code) == 6
        assert code.isdigit()
        assert shipment.pickup_code_hash is not None
        assert code not in shipment.pickup_code_hash
        assert shipment.storage_deadline is not None
        # 7 days of storage, to the end of the local day
        moscow = ZoneInfo("Europe/Moscow")
        deadline = shipment.storage_deadline.astimezone(moscow)
        assert deadline.date() == (clock.now().astimezone(moscow) + timedelta(days=7)).date()
        assert (deadline.hour, deadline.minute) == (23, 59)
        texts = _sms(session, shipment.tracking_number)
        assert len(texts) == 1
        assert code in texts[0]
        assert "155650" in texts[0]
        assert "Хранение до" in texts[0]


class TestPickupCode:
    def test_right_code_opens_the_issue(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, shipment_payload())
        code = _ready(session, shipment, clock)
        service.verify_pickup_code(
            session, shipment=shipment, code=code, now=clock.now(), policy=POLICY
        )
        service.issue_to_recipient(session, shipment=shipment, now=clock.now())
        assert shipment.status == "delivered"
        assert shipment.finished_at is not None

    def test_five_wrong_codes_lock_it_for_fifteen_minutes(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, shipment_payload())
        code = _ready(session, shipment, clock)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for attempts_left in (4, 3, 2, 1):
            with pytest.raises(WrongPickupCode) as refused:
                service.verify_pickup_code(
                    session, shipment=shipment, code=wrong, now=clock.now(), policy=POLICY
                )
            assert refused.value.extra["attempts_left"] == attempts_left
        with pytest.raises(PickupCodeLocked):
            service.verify_pickup_code(
                session, shipment=shipment, code=wrong, now=clock.now(), policy=POLICY
            )
        with pytest.raises(PickupCodeLocked):  # even the right code waits out the lock
            service.verify_pickup_code(
                session, shipment=shipment, code=code, now=clock.now(), policy=POLICY
            )
        clock.advance(timedelta(minutes=15, seconds=1))
        service.verify_pickup_code(
            session, shipment=shipment, code=code, now=clock.now(), policy=POLICY
        )

    def test_a_reissued_code_replaces_the_old_one(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, shipment_payload())
        old = _ready(session, shipment, clock)
        new = service.reissue_pickup_code(
            session, shipment=shipment, now=clock.now(), policy=POLICY
        )
        if new != old:
            with pytest.raises(WrongPickupCode):
                service.verify_pickup_code(
                    session, shipment=shipment, code=old, now=clock.now(), policy=POLICY
                )
        service.verify_pickup_code(
            session, shipment=shipment, code=new, now=clock.now(), policy=POLICY
        )
        assert len(_sms(session, shipment.tracking_number)) == 2


class TestIssueToRecipient:
    def test_partial_issue_collects_cod_for_what_is_taken(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, two_item_payload("P-1", cod=True))
        _ready(session, shipment, clock)
        service.issue_to_recipient(
            session,
            shipment=shipment,
            now=clock.now(),
            refused_items={1: 1},  # one of the two plates back
            cod_method="cash",
            cod_paid_kop=35000,
            clerk="clerk-1",
        )
        assert shipment.status == "partially_delivered"
        assert shipment.cod_collected_kop == 35000
        assert shipment.cod_method == "cash"
        service.start_return(session, shipment=shipment, now=clock.now())
        assert shipment.status == "returning"

    def test_wrong_cash_amount_is_refused_and_nothing_changes(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, two_item_payload("P-2", cod=True))
        _ready(session, shipment, clock)
        with pytest.raises(Exception, match="60000 kopecks are due"):
            service.issue_to_recipient(
                session, shipment=shipment, now=clock.now(), cod_method="card", cod_paid_kop=500
            )
        assert shipment.status == "ready_for_pickup"
        assert shipment.cod_collected_kop == 0

    def test_cod_report_reconciles_the_day(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        full = _create(session, ozon, two_item_payload("R-1", cod=True))
        part = _create(session, ozon, two_item_payload("R-2", cod=True))
        for shipment in (full, part):
            _ready(session, shipment, clock)
        service.issue_to_recipient(
            session, shipment=full, now=clock.now(), cod_method="card", cod_paid_kop=60000
        )
        service.issue_to_recipient(
            session,
            shipment=part,
            now=clock.now(),
            refused_items={0: 1},
            cod_method="cash",
            cod_paid_kop=50000,
        )
        day = clock.now().astimezone(ZoneInfo("Europe/Moscow")).date()
        report = service.cod_report(session, marketplace=ozon, day=day)
        assert report.shipments == 2
        assert report.due_kop == 110000
        assert report.collected_kop == 110000
        assert report.collected_card_kop == 60000
        assert report.collected_cash_kop == 50000
        assert report.difference_kop == 0
        empty = service.cod_report(session, marketplace=ozon, day=date(2020, 1, 1))
        assert empty.shipments == 0

    def test_cod_counts_on_the_day_of_the_office_that_took_it(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, two_item_payload("R-NSK", cod=True))
        office = session.get(PostOffice, shipment.destination_office_id)
        assert office is not None
        office.timezone = "Asia/Novosibirsk"  # UTC+7
        _ready(session, shipment, clock)
        # 20:00 UTC: still that day in Moscow, already the next in Novosibirsk.
        evening = datetime.combine(clock.now().date(), time(20, 0), tzinfo=UTC)
        if evening <= clock.now():
            evening += timedelta(days=1)
        clock.set(evening)
        service.issue_to_recipient(
            session, shipment=shipment, now=clock.now(), cod_method="cash", cod_paid_kop=60000
        )
        next_day = evening.date() + timedelta(days=1)
        taken = service.cod_report(session, marketplace=ozon, day=next_day)
        assert taken.tracking_numbers == [shipment.tracking_number]
        assert taken.collected_cash_kop == 60000
        assert service.cod_report(session, marketplace=ozon, day=evening.date()).shipments == 0

    def test_refusal_goes_back(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, shipment_payload())
        _ready(session, shipment, clock)
        service.refuse(session, shipment=shipment, now=clock.now())
        service.start_return(session, shipment=shipment, now=clock.now())
        service.complete_return(session, shipment=shipment, now=clock.now())
        assert shipment.status == "returned"
        with pytest.raises(TransitionRefused):
            service.start_return(session, shipment=shipment, now=clock.now())


class TestTimedJobs:
    def test_storage_expires_after_the_deadline_and_once_extended_later(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        kept = _create(session, ozon, shipment_payload(external_order_id="E-1"))
        extended = _create(session, ozon, shipment_payload(external_order_id="E-2"))
        for shipment in (kept, extended):
            _ready(session, shipment, clock)
        service.extend_storage(session, shipment=extended, now=clock.now())
        with pytest.raises(TransitionRefused, match="already extended"):
            service.extend_storage(session, shipment=extended, now=clock.now())

        clock.advance(timedelta(days=6))
        assert service.send_storage_reminders(session, clock.now()) == 1  # only the unextended
        assert service.send_storage_reminders(session, clock.now()) == 0  # never twice
        assert service.expire_storage(session, clock.now()) == 0
        clock.advance(timedelta(days=2))
        assert service.expire_storage(session, clock.now()) == 1
        assert kept.status == "storage_expired"
        assert extended.status == "ready_for_pickup"
        clock.advance(timedelta(days=7))
        assert service.expire_storage(session, clock.now()) == 1
        assert extended.status == "storage_expired"

    def test_personal_data_is_purged_after_retention(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        shipment = _create(session, ozon, shipment_payload())
        service.cancel_shipment(session, shipment=shipment, now=clock.now())
        assert service.purge_personal_data(session, clock.now(), retention_days=90) == 0
        clock.advance(timedelta(days=91))
        assert service.purge_personal_data(session, clock.now(), retention_days=90) == 1
        assert shipment.recipient_name is None
        assert shipment.recipient_phone is None
        read = service.read_shipment(session, shipment)
        assert read.recipient == {"name": "[удалено]", "phone": "[удалено]"}
