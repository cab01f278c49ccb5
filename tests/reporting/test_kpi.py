"""The network's KPIs for a period, on parcels walked through the real shipment services, on
SQLite and PostgreSQL: every figure, the office-local day boundaries, the district scope."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.models import ManifestEntry, Marketplace, PostOffice, Shipment
from selpo.network.errors import PostOfficeNotFound
from selpo.reporting import kpi
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate
from selpo.shipment.service import PickupPolicy
from tests.fixtures.builders import marketplace_key, shipment_payload, two_item_payload

PESTYAKI = "155650"
ALEKHINO = "155654"  # the same district
IVANOVO = "153000"  # another district (the regional capital)
MSK = ZoneInfo("Europe/Moscow")
POLICY = PickupPolicy(pepper="kpi-test-pepper")
PERIOD = kpi.Period(date(2026, 11, 19), date(2026, 11, 25))
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def msk(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of November 2026 in Moscow time, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=MSK).astimezone(UTC)


class Road:
    """Parcels created, handed over, carried and shelved through the real services."""

    def __init__(self, session: Session, marketplace: Marketplace) -> None:
        self.session = session
        self.marketplace = marketplace
        self.orders = 0

    def shelved(
        self,
        index: str,
        at: datetime,
        *,
        promised: date | None = None,
        cod: bool = False,
        marketplace: Marketplace | None = None,
    ) -> Shipment:
        self.orders += 1
        order = f"KPI-{self.orders}"
        payload = (
            two_item_payload(order, cod=True) if cod else shipment_payload(external_order_id=order)
        )
        payload["destination_index"] = index
        created_at = at - timedelta(days=2)
        outcome = shipment_service.create_shipments(
            self.session,
            marketplace=marketplace or self.marketplace,
            shipments_in=[ShipmentCreate.model_validate(payload)],
            now=created_at,
            promise=lambda _index: promised,
        )[0]
        assert outcome.shipment is not None, outcome.error
        number = outcome.shipment.tracking_number
        for code, moment in (
            ("handed_over", created_at + timedelta(hours=1)),
            ("arrived_at_office", at - timedelta(hours=1)),
        ):
            shipment_service.record_scan(
                self.session, tracking_number=number, code=code, occurred_at=moment, now=moment
            )
        shipment = self.session.scalars(
            select(Shipment).where(Shipment.tracking_number == number)
        ).one()
        shipment_service.make_ready_for_pickup(
            self.session, shipment=shipment, now=at, policy=POLICY, cell_code=f"S-{self.orders:02d}"
        )
        return shipment


@pytest.fixture
def road(session: Session) -> Road:
    ozon = marketplace_key(
        session, "OZON", now=NOW, connect=(PESTYAKI, ALEKHINO, IVANOVO)
    ).marketplace
    return Road(session, ozon)


def _office(kpis: kpi.NetworkKpi, index: str) -> kpi.Figures:
    return next(o.figures for o in kpis.offices if o.index == index)


def _walk_the_week(session: Session, road: Road) -> dict[str, Shipment]:
    """Parcels at Pestyaki, Alekhino and Ivanovo before, at the edges of and in the period."""
    p: dict[str, Shipment] = {}
    # Shelved long before the period; its storage expires inside it (unclaimed, still in a cell).
    p["expired"] = road.shelved(PESTYAKI, msk(10, 11), promised=date(2026, 11, 11))
    assert shipment_service.expire_storage(session, msk(20, 9)) == 1
    # 18 Nov 23:30 in Moscow is before the period; 19 Nov 00:30 in Moscow (still 18 Nov in
    # UTC) is inside it.
    p["before"] = road.shelved(PESTYAKI, msk(18, 23, 30), promised=date(2026, 11, 19))
    p["first_minute"] = road.shelved(PESTYAKI, msk(19, 0, 30), promised=date(2026, 11, 19))
    # On time, issued in full with cash on delivery (600 roubles).
    p["paid"] = road.shelved(PESTYAKI, msk(20, 10), promised=date(2026, 11, 21), cod=True)
    shipment_service.issue_to_recipient(
        session, shipment=p["paid"], now=msk(21, 12), cod_method="cash"
    )
    # Late by the local date although on time by the UTC date: 23 Nov 01:30 in Moscow is
    # 22 Nov 22:30 UTC, the promise was 22 Nov.
    p["late"] = road.shelved(PESTYAKI, msk(23, 1, 30), promised=date(2026, 11, 22))
    # Refused at the counter.
    p["refused"] = road.shelved(PESTYAKI, msk(23, 10), promised=date(2026, 11, 24))
    shipment_service.refuse(session, shipment=p["refused"], now=msk(24, 10))
    # No promise: received, but not counted for on-time.
    p["no_promise"] = road.shelved(PESTYAKI, msk(24, 15))
    # Alekhino: partly taken (one plate refused), 350 roubles in cash.
    p["partly"] = road.shelved(ALEKHINO, msk(21, 9), promised=date(2026, 11, 20), cod=True)
    shipment_service.issue_to_recipient(
        session, shipment=p["partly"], now=msk(22, 9), refused_items={1: 1}, cod_method="cash"
    )
    # Ivanovo, another district: shelved in the period.
    p["ivanovo"] = road.shelved(IVANOVO, msk(22, 9), promised=date(2026, 11, 23))
    # After the period's end (26 Nov in Moscow): not counted.
    p["after"] = road.shelved(PESTYAKI, msk(26, 0, 10), promised=date(2026, 11, 27))
    session.flush()
    return p


def test_the_figures_of_a_week_per_office_district_and_region(session: Session, road: Road) -> None:
    _walk_the_week(session, road)
    result = kpi.network_kpi(session, PERIOD)

    pestyaki = _office(result, PESTYAKI)
    # first_minute, paid, late, refused, no_promise (not: expired, before, after)
    assert pestyaki.received == 5
    assert pestyaki.issued == 1
    assert (pestyaki.promised, pestyaki.on_time) == (4, 3)  # late is late by the local date
    assert pestyaki.on_time_share == pytest.approx(0.75)
    assert (pestyaki.outcomes, pestyaki.unclaimed) == (3, 1)  # paid, refused, expired
    assert pestyaki.unclaimed_share == pytest.approx(1 / 3)
    # In cells now: expired, before, first_minute, late, no_promise, after.
    assert pestyaki.on_shelves == 6
    assert pestyaki.cells > 0
    assert pestyaki.overflow == 0
    assert pestyaki.storage_use == pytest.approx(6 / pestyaki.cells)
    assert pestyaki.cash_kop == {"OZON": 60000}

    alekhino = _office(result, ALEKHINO)
    assert (alekhino.received, alekhino.issued, alekhino.promised, alekhino.on_time) == (
        1,
        1,
        1,
        0,
    )
    assert alekhino.cash_kop == {"OZON": 35000}

    district = next(d for d in result.districts if d.name == "Пестяковский район")
    assert district.figures.received == 6
    assert district.figures.issued == 2
    assert district.figures.cash_kop == {"OZON": 95000}
    assert district.figures.serving >= 2
    assert district.figures.offices == sum(
        1 for o in result.offices if o.district_id == district.district_id
    )

    assert result.total.received == 7  # and Ivanovo's
    assert result.total.issued == 2
    assert (result.total.promised, result.total.on_time) == (6, 4)
    assert result.total.cash_total_kop == 95000
    assert result.marketplaces == ["OZON"]
    assert result.total.offices == len(result.offices) == session.query(PostOffice).count()
    # The district sums add up to the region.
    assert sum(d.figures.received for d in result.districts) == result.total.received
    assert sum(d.figures.cells for d in result.districts) == result.total.cells


def test_a_district_scope_holds_its_own_offices_only(session: Session, road: Road) -> None:
    _walk_the_week(session, road)
    district_id = session.scalars(
        select(PostOffice.district_id).where(PostOffice.index == PESTYAKI)
    ).one()
    result = kpi.network_kpi(session, PERIOD, district_id=district_id)
    assert [d.name for d in result.districts] == ["Пестяковский район"]
    assert {o.district_id for o in result.offices} == {district_id}
    assert IVANOVO not in {o.index for o in result.offices}
    assert result.total.received == 6
    assert result.total.cash_kop == {"OZON": 95000}


def test_one_office_and_what_it_serves(session: Session, road: Road) -> None:
    _walk_the_week(session, road)
    office = kpi.office_kpi(session, PERIOD, index=PESTYAKI)
    assert office.name == "Пестяки"
    assert "OZON" in office.marketplaces
    assert office.figures.received == 5
    assert office.figures.as_dict()["on_time_share"] == pytest.approx(0.75)
    with pytest.raises(PostOfficeNotFound):
        kpi.office_kpi(session, PERIOD, index="999999")


def test_overflow_counts_parcels_beyond_the_cells(session: Session, road: Road) -> None:
    office = session.scalars(select(PostOffice).where(PostOffice.index == ALEKHINO)).one()
    office.cells_s, office.cells_m, office.cells_l = 1, 0, 0
    session.flush()
    for hour in (9, 10, 11):
        road.shelved(ALEKHINO, msk(24, hour))
    figures = kpi.office_kpi(session, PERIOD, index=ALEKHINO).figures
    assert (figures.on_shelves, figures.cells, figures.overflow) == (3, 1, 2)
    assert figures.storage_use == pytest.approx(3.0)


def test_an_empty_period_has_no_shares(session: Session) -> None:
    result = kpi.network_kpi(session, kpi.Period(date(2020, 1, 1), date(2020, 1, 7)))
    assert result.total.received == 0
    assert result.total.on_time_share is None
    assert result.total.unclaimed_share is None
    assert result.marketplaces == []


def test_the_period() -> None:
    week = kpi.Period.ending(date(2026, 11, 25))
    assert (week.first, week.last, week.days) == (date(2026, 11, 19), date(2026, 11, 25), 7)
    start, end = week.bounds("Europe/Moscow")
    assert start == datetime(2026, 11, 18, 21, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        kpi.Period(date(2026, 11, 25), date(2026, 11, 24))
    with pytest.raises(InvalidInput):
        kpi.Period(date(2020, 1, 1), date(2026, 1, 1))


def test_a_promise_moved_by_a_full_van_still_counts_late(session: Session, road: Road) -> None:
    """The on-time rate is against the date first promised: a van that was full rolls a
    parcel to the next run and moves ``promised_date`` later (logistics.manifests); the
    manifest entry keeps the promise the run was planned with."""
    rolled = road.shelved(PESTYAKI, msk(22, 10), promised=date(2026, 11, 21))
    kept = road.shelved(PESTYAKI, msk(22, 11), promised=date(2026, 11, 22))
    for shipment, first, now in (
        (rolled, date(2026, 11, 21), date(2026, 11, 23)),
        (kept, date(2026, 11, 22), date(2026, 11, 22)),
    ):
        session.add(
            ManifestEntry(
                route_code="R-TEST",
                departure=msk(20, 6),
                hub_code="DH-TEST",
                shipment_id=shipment.id,
                office_index=PESTYAKI,
                stop_seq=1,
                arrival_at=msk(20, 9),
                litres=1.0,
                status="rolled" if shipment is rolled else "loaded",
                promised_date=first,
                planned_at=msk(19, 20),
            )
        )
        shipment.promised_date = now  # what the roll-over does to the shipment
    session.flush()
    figures = kpi.office_kpi(session, PERIOD, index=PESTYAKI).figures
    assert (figures.promised, figures.on_time) == (2, 1)


def test_storage_use_is_over_the_connected_offices_only(session: Session, road: Road) -> None:
    _walk_the_week(session, road)
    result = kpi.network_kpi(session, PERIOD)
    total = result.total
    connected = [o for o in result.offices if o.marketplaces]
    assert 0 < len(connected) < len(result.offices)
    assert total.serving_cells == sum(o.figures.cells for o in connected)
    assert total.serving_cells < total.cells
    assert total.serving_on_shelves == total.on_shelves  # unconnected offices hold none here
    assert total.storage_use == pytest.approx(total.on_shelves / total.serving_cells)
    idle = next(o for o in result.offices if not o.marketplaces)
    assert idle.figures.storage_use is None
    assert total.as_dict()["serving_cells"] == total.serving_cells
