"""The clerks' workload for a period, on parcels walked through the real shipment services by
named clerks and on real clerk sessions, on SQLite and PostgreSQL: actions per hour on duty,
the waits (median, 90th percentile), the busiest hours, the district scope and the CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.models import ClerkSession, Marketplace, PostOffice, Region, Shipment
from selpo.office import auth
from selpo.reporting import kpi, workload
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate
from selpo.shipment.service import PickupPolicy
from tests.fixtures.builders import marketplace_key, shipment_payload

PESTYAKI = "155650"
ALEKHINO = "155654"  # the same district
IVANOVO = "153000"  # another district
MSK = ZoneInfo("Europe/Moscow")
POLICY = PickupPolicy(pepper="workload-test-pepper")
PERIOD = kpi.Period(date(2026, 11, 19), date(2026, 11, 25))
NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Moscow time, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK).astimezone(UTC)


class Counter:
    """Parcels accepted, shelved and issued by named clerks through the real services."""

    def __init__(self, session: Session, marketplace: Marketplace) -> None:
        self.session = session
        self.marketplace = marketplace
        self.orders = 0

    def parcel(
        self,
        index: str,
        *,
        arrived: datetime,
        shelved: datetime,
        issued: datetime | None = None,
        by: str = "clerk:pestyaki1",
        issued_by: str | None = None,
    ) -> Shipment:
        self.orders += 1
        payload = shipment_payload(external_order_id=f"LOAD-{self.orders}")
        payload["destination_index"] = index
        created = arrived - timedelta(days=2)
        outcome = shipment_service.create_shipments(
            self.session,
            marketplace=self.marketplace,
            shipments_in=[ShipmentCreate.model_validate(payload)],
            now=created,
        )[0]
        assert outcome.shipment is not None, outcome.error
        number = outcome.shipment.tracking_number
        shipment_service.record_scan(
            self.session,
            tracking_number=number,
            code="handed_over",
            occurred_at=created,
            now=created,
        )
        shipment_service.record_scan(
            self.session,
            tracking_number=number,
            code="arrived_at_office",
            occurred_at=arrived,
            now=arrived,
            office_index=index,
            actor=by,
        )
        shipment = self.session.scalars(
            select(Shipment).where(Shipment.tracking_number == number)
        ).one()
        shipment_service.make_ready_for_pickup(
            self.session,
            shipment=shipment,
            now=shelved,
            policy=POLICY,
            cell_code=f"S-{self.orders:02d}",
            actor=by,
        )
        if issued is not None:
            shipment_service.issue_to_recipient(
                self.session, shipment=shipment, now=issued, clerk=issued_by or by
            )
        return shipment


def _on_duty(session: Session, login: str, start: datetime, end: datetime | None) -> None:
    """A clerk's session from ``start`` to a sign-out at ``end`` (None: never signed out)."""
    signed = auth.sign_in(session, login=login, password=PASSWORD, now=start)
    assert signed.token is not None, signed.refusal
    row = session.scalars(select(ClerkSession).order_by(ClerkSession.id.desc()).limit(1)).one()
    row.revoked_at = end
    session.flush()


@pytest.fixture
def counter(session: Session) -> Counter:
    ozon = marketplace_key(
        session, "OZON", now=NOW, connect=(PESTYAKI, ALEKHINO, IVANOVO)
    ).marketplace
    for index, login in (
        (PESTYAKI, "pestyaki1"),
        (PESTYAKI, "pestyaki2"),
        (ALEKHINO, "alekhino1"),
        (IVANOVO, "ivanovo1"),
    ):
        auth.add_clerk(
            session,
            office_index=index,
            login=login,
            password=PASSWORD,
            now=NOW - timedelta(days=30),
            full_name=f"Оператор {login}",
        )
    return Counter(session, ozon)


def _week(session: Session, counter: Counter) -> None:
    # pestyaki1: four hours on 20 Nov; accepts four parcels, shelves them 30, 60, 90 and
    # 120 minutes later, and issues two of them 2 and 26 hours after shelving.
    _on_duty(session, "pestyaki1", msk(20, 9), msk(20, 13))
    for n in range(4):
        counter.parcel(
            PESTYAKI,
            arrived=msk(20, 9, 30),
            shelved=msk(20, 9, 30) + timedelta(minutes=30 * (n + 1)),
            issued=msk(20, 9, 30) + timedelta(minutes=30 * (n + 1), hours=2) if n == 0 else None,
        )
    # pestyaki2: two hours on 21 Nov, issues one parcel shelved by pestyaki1 the day before.
    _on_duty(session, "pestyaki2", msk(21, 10), msk(21, 12))
    counter.parcel(
        PESTYAKI,
        arrived=msk(20, 10),
        shelved=msk(20, 10, 30),
        issued=msk(21, 11),
        issued_by="clerk:pestyaki2",
    )
    # alekhino1: signed in for three hours, no parcel (idle time counts for staffing).
    _on_duty(session, "alekhino1", msk(22, 9), msk(22, 12))
    # The hub's scans are no clerk's; a parcel before the period is not counted.
    counter.parcel(PESTYAKI, arrived=msk(20, 11), shelved=msk(20, 11, 5), by="hub-scan")
    counter.parcel(PESTYAKI, arrived=msk(17, 11), shelved=msk(17, 12))
    # Ivanovo, another district: one parcel, and a session never signed out (12 h until it
    # lapses, cut at the period's end... here it ends before).
    _on_duty(session, "ivanovo1", msk(23, 8), None)
    counter.parcel(IVANOVO, arrived=msk(23, 9), shelved=msk(23, 9, 15), by="clerk:ivanovo1")
    session.flush()


def _office(work: workload.Workload, index: str) -> workload.OfficeLoad:
    return next(o for o in work.offices if o.index == index)


def test_actions_per_hour_on_duty_waits_and_busiest_hours(
    session: Session, counter: Counter
) -> None:
    _week(session, counter)
    region_id = session.scalar(select(Region.id).where(Region.code == "37"))
    assert region_id is not None
    work = workload.workload(session, PERIOD, region_id=region_id, now=NOW)

    pestyaki = _office(work, PESTYAKI)
    clerks = {c.login: c for c in pestyaki.clerks}
    assert set(clerks) == {"pestyaki1", "pestyaki2"}
    first = clerks["pestyaki1"]
    assert first.name == "Оператор pestyaki1"
    one = first.load
    # Five accepted and shelved (four on the 20th at 09:30, one at 10:00), one issued; the
    # hub's parcel and the one before the period are not theirs.
    assert (one.accepted, one.shelved, one.issued) == (5, 5, 1)
    assert one.hours_on_duty == pytest.approx(4.0)
    assert one.accepted_per_hour == pytest.approx(5 / 4)
    assert one.issued_per_hour == pytest.approx(1 / 4)
    # Arrival -> shelf: 0.5, 0.5, 1, 1.5, 2 hours: median 1, p90 (nearest rank 5 of 5) 2.
    shelf = one.arrival_to_shelf
    assert shelf.count == 5
    assert shelf.median_h == pytest.approx(1.0)
    assert shelf.p90_h == pytest.approx(2.0)
    assert one.ready_to_issue.median_h == pytest.approx(2.0)

    two = clerks["pestyaki2"].load
    assert (two.accepted, two.shelved, two.issued) == (0, 0, 1)
    assert two.hours_on_duty == pytest.approx(2.0)
    assert two.issued_per_hour == pytest.approx(0.5)
    assert two.ready_to_issue.median_h == pytest.approx(24.5)  # 20 Nov 10:30 -> 21 Nov 11:00

    total = pestyaki.total
    assert total.hours_on_duty == pytest.approx(6.0)
    assert (total.accepted, total.issued) == (5, 2)
    assert total.ready_to_issue.count == 2
    # The busiest local hours: 09 (four acceptances), then 10 and 11.
    assert pestyaki.by_hour[9] == 4
    assert pestyaki.busiest_hours[0] == 9
    assert set(pestyaki.busiest_hours) == {9, 10, 11}
    assert sum(pestyaki.by_hour) == one.actions + two.actions

    # An idle clerk shows at their office with their hours and no action.
    idle = _office(work, ALEKHINO).clerks[0]
    assert (idle.login, idle.load.hours_on_duty, idle.load.actions) == ("alekhino1", 3.0, 0)
    assert idle.load.accepted_per_hour == 0
    # Never signed out: counted until the session lapses (12 h after signing in).
    ivanovo = _office(work, IVANOVO).clerks[0].load
    assert ivanovo.hours_on_duty == pytest.approx(12.0)
    assert ivanovo.accepted == 1


def test_a_district_and_an_empty_period(session: Session, counter: Counter) -> None:
    _week(session, counter)
    region_id = session.scalar(select(Region.id).where(Region.code == "37"))
    assert region_id is not None
    pestyaki = session.scalars(select(PostOffice).where(PostOffice.index == PESTYAKI)).one()
    district = workload.workload(
        session, PERIOD, region_id=region_id, district_id=pestyaki.district_id, now=NOW
    )
    assert {o.index for o in district.offices} == {PESTYAKI, ALEKHINO}
    empty = workload.workload(
        session, kpi.Period(date(2026, 10, 1), date(2026, 10, 7)), region_id=region_id, now=NOW
    )
    assert empty.offices == []


def test_the_csv_has_a_row_per_clerk_and_the_office_total(
    session: Session, counter: Counter
) -> None:
    _week(session, counter)
    region_id = session.scalar(select(Region.id).where(Region.code == "37"))
    assert region_id is not None
    rows = workload.csv_rows(workload.workload(session, PERIOD, region_id=region_id, now=NOW))
    assert rows[0] == workload.CSV_HEADER
    by_login = {(r[0], r[3]): r for r in rows[1:]}
    first = by_login[(PESTYAKI, "pestyaki1")]
    assert first[4:10] == ["4,00", "5", "5", "1", "1,25", "0,25"]
    assert first[10:12] == ["1,00", "2,00"]
    total = by_login[(PESTYAKI, "")]
    assert total[2] == "всего"
    assert total[14].startswith("09–10")
    assert by_login[(ALEKHINO, "alekhino1")][8] == "0,00"


@given(st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=50))
def test_the_p90_is_a_wait_seen_and_not_below_the_median(hours: list[float]) -> None:
    waits = workload.Waits.of(hours)
    assert waits.count == len(hours)
    assert waits.p90_h in hours
    assert waits.median_h is not None
    assert waits.p90_h is not None
    assert min(hours) <= waits.median_h <= waits.p90_h <= max(hours)
    assert sum(h <= waits.p90_h for h in hours) >= 0.9 * len(hours)


def test_no_waits_have_no_figures() -> None:
    assert workload.Waits.of([]) == workload.Waits(0, None, None)
