"""Promises and storage deadlines fall on days the office opens: both ends of a quote's window
and the storage deadline, at Pestyaki (155650, closed on Sundays) and elsewhere, on the real
database and timetable, for hand-overs across weeks and the New Year holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.logistics import promises, timetables
from selpo.logistics.calendar import holiday_calendar, next_open_day, opens_on
from selpo.logistics.schemas import QuoteRead, QuoteRequest
from selpo.marketplace import service as marketplace_service
from selpo.models import Marketplace, PostOffice
from selpo.network.rules import OpeningHours
from selpo.shipment import service as shipment_service
from selpo.shipment.rules import storage_deadline
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import shipment_payload

PESTYAKI = "155650"
OTHERS = ("155921", "155901", "155654")
CALENDAR = holiday_calendar()
POLICY = shipment_service.PickupPolicy(pepper="open-days")


@pytest.fixture
def ozon(session: Session) -> Marketplace:
    marketplace = marketplace_service.get_by_code(session, "OZON")
    marketplace_service.connect_offices(
        session, marketplace=marketplace, indexes=None, today=TEST_NOW.date(), now=TEST_NOW
    )
    timetables.generate_timetable(session, now=TEST_NOW, seed=7)
    return marketplace


def _office(session: Session, index: str) -> PostOffice:
    return session.scalars(select(PostOffice).where(PostOffice.index == index)).one()


def _quote(session: Session, marketplace: Marketplace, index: str, at: datetime) -> QuoteRead:
    request = QuoteRequest.model_validate(
        {
            "destination_index": index,
            "weight_g": 1000,
            "length_mm": 300,
            "width_mm": 200,
            "height_mm": 100,
            "declared_value_kop": 100_000,
            "handover_at": at,
        }
    )
    return promises.quote(session, marketplace_id=marketplace.id, request=request, now=at)


def _local_day(moment: datetime, office: PostOffice) -> date:
    return moment.astimezone(ZoneInfo(office.timezone)).date()


def test_pestyaki_is_closed_on_sundays(session: Session) -> None:
    hours: OpeningHours = _office(session, PESTYAKI).opening_hours
    assert hours[6] == []
    assert all(hours[day] for day in range(6))


def test_a_buffered_promise_that_would_fall_on_sunday_moves_to_monday(
    session: Session, ozon: Marketplace
) -> None:
    office = _office(session, PESTYAKI)
    moved = []
    for hour in range(0, 7 * 24, 3):  # hand-overs through one week
        quote = _quote(
            session, ozon, PESTYAKI, datetime(2026, 12, 7, tzinfo=UTC) + timedelta(hours=hour)
        )
        unbuffered = _local_day(quote.earliest + promises.QUOTE_BUFFER, office)
        if unbuffered.weekday() == 6 and quote.latest - quote.earliest == promises.QUOTE_BUFFER:
            pytest.fail(f"a promise on Sunday {unbuffered}")
        if unbuffered.weekday() == 6:
            moved.append(quote)
    assert moved, "no hand-over of the week had its buffered promise on a Sunday"
    for quote in moved:
        assert quote.promised_date.weekday() == 0
        assert quote.latest.astimezone(ZoneInfo(office.timezone)).hour == int(
            office.opening_hours[0][0][0][:2]
        )


def test_both_ends_of_every_window_fall_on_open_days(session: Session, ozon: Marketplace) -> None:
    offices = {i: _office(session, i) for i in (PESTYAKI, *OTHERS)}

    @settings(
        max_examples=80,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        minutes=st.integers(0, 60 * 24 * 75),  # 1 Dec to mid-February: the New Year holidays
        index=st.sampled_from([PESTYAKI, PESTYAKI, *OTHERS]),
    )
    def check(minutes: int, index: str) -> None:
        at = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=minutes)
        office = offices[index]
        quote = _quote(session, ozon, index, at)
        for end in (quote.earliest, quote.latest):
            day = _local_day(end, office)
            assert opens_on(office.opening_hours, day, CALENDAR), f"{index} is closed on {day}"
        assert quote.promised_date == _local_day(quote.latest, office)
        assert quote.latest - quote.earliest >= promises.QUOTE_BUFFER  # never shortened

    check()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ready=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(UTC)
    ),
    days=st.integers(1, 21),
)
def test_a_storage_deadline_is_the_first_open_day_from_its_date(ready: datetime, days: int) -> None:
    hours: OpeningHours = [[["09:00", "18:00"]]] * 5 + [[["10:00", "14:00"]], []]  # Sunday off
    zone = "Europe/Moscow"
    deadline = storage_deadline(
        ready, days, zone, lambda day: next_open_day(hours, day, CALENDAR)
    ).astimezone(ZoneInfo(zone))
    due = ready.astimezone(ZoneInfo(zone)).date() + timedelta(days=days)
    assert deadline.date() >= due
    assert opens_on(hours, deadline.date(), CALENDAR)
    skipped = (due + timedelta(days=n) for n in range((deadline.date() - due).days))
    assert not any(opens_on(hours, day, CALENDAR) for day in skipped)
    assert (deadline.hour, deadline.minute) == (23, 59)


def test_a_parcel_shelved_at_pestyaki_is_kept_until_an_open_day(session: Session) -> None:
    # Four days of storage from Wednesday 25 November end on Sunday 29: Pestyaki is closed,
    # so the parcel waits until the end of Monday 30 November; the extension likewise.
    marketplace = marketplace_service.add_marketplace(
        session, code="FOURDAYS", name="Four days", storage_days=4, extension_days=6
    )
    marketplace_service.connect_offices(
        session, marketplace=marketplace, indexes=[PESTYAKI], today=TEST_NOW.date(), now=TEST_NOW
    )
    outcome = shipment_service.create_shipments(
        session,
        marketplace=marketplace,
        shipments_in=[ShipmentCreate.model_validate(shipment_payload())],
        now=TEST_NOW,
    )[0]
    assert outcome.shipment is not None
    number = outcome.shipment.tracking_number
    at = TEST_NOW
    for code in ("handed_over", "departed_hub", "arrived_at_office"):
        at += timedelta(hours=1)
        shipment_service.record_scan(
            session, tracking_number=number, code=code, occurred_at=at, now=at
        )
    shipment = shipment_service.get_shipment(session, marketplace_id=None, tracking_number=number)
    shipment_service.make_ready_for_pickup(session, shipment=shipment, now=at, policy=POLICY)
    assert shipment.storage_deadline is not None
    msk = ZoneInfo("Europe/Moscow")
    assert shipment.storage_deadline.astimezone(msk).date() == date(2026, 11, 30)
    # Monday 30 + 6 days is Sunday 6 December: moved to Monday 7.
    shipment_service.extend_storage(session, shipment=shipment, now=at)
    assert shipment.storage_deadline.astimezone(msk).date() == date(2026, 12, 7)
