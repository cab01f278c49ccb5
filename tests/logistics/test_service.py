"""The logistics service on the real database: the timetable, worked delivery dates, promises,
and a full van rolling parcels over.

The worked cases use routes of the Shuya hub (DH-155900) imported from CSV, with the seeded
warehouse near Moscow (W-PODOLSK: a daily 16:00 truck, 8 h, to the Ivanovo sorting centre;
sorting 4 h) and the generated truck from the sorting centre to Shuya (06:15, 37 min; cross-
docking 1 h). Offices keep the default hours of the registry: villages Tue-Sat 09-13 and
14-17, towns Mon-Fri 08-20, Sat 09-18. All local times are Moscow time (UTC+3).
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import DomainError, InvalidInput
from selpo.logistics import manifests, movement, promises, timetables
from selpo.logistics.errors import (
    OfficeNotServed,
    RealTimetableExists,
    RouteFileRefused,
    RouteRunNotFound,
    TimetableMissing,
)
from selpo.logistics.schemas import QuoteRead, QuoteRequest, RouteWrite, StopWrite
from selpo.logistics.tariff import DEFAULT_TARIFF, Tariff, price
from selpo.logistics.timetable import read_routes_csv
from selpo.marketplace import service as marketplace_service
from selpo.models import (
    Hub,
    LineHaul,
    Marketplace,
    OutboxMessage,
    Route,
    RouteStop,
    Warehouse,
)
from selpo.notify import service as notify_service
from tests.conftest import TEST_NOW
from tests.fixtures.builders import hand_over_shipment

MSK = ZoneInfo("Europe/Moscow")
VILLAGE = "155921"  # Введенье, Shuya district: rural default hours (closed Mondays)
LUNCH_VILLAGE = "155922"  # Дунилово, likewise
TOWN = "155901"  # Шуя 1: town default hours
BOX_12L = (300, 200, 200)

SHUYA_CSV = """\
route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min
SHUYA-MON-THU,DH-155900,mon|thu,08:00,150,2000,240,1,155921,70
SHUYA-TOWN,DH-155900,mon|tue|wed|thu|fri|sat,08:00,500,7000,120,1,155901,30
SHUYA-LUNCH,DH-155900,tue|fri,12:00,150,2000,240,1,155922,80
"""


def msk(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


@pytest.fixture
def ozon(session: Session) -> Marketplace:
    marketplace = marketplace_service.get_by_code(session, "OZON")
    marketplace_service.connect_offices(
        session, marketplace=marketplace, indexes=None, today=TEST_NOW.date(), now=TEST_NOW
    )
    return marketplace


@pytest.fixture
def shuya(session: Session, ozon: Marketplace) -> Marketplace:
    """The three Shuya routes of ``SHUYA_CSV`` as the whole timetable; OZON serves everyone."""
    timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
    return ozon


def _quote(
    session: Session, marketplace: Marketplace, index: str, handover: datetime, **parcel: int
) -> QuoteRead:
    body = {
        "destination_index": index,
        "weight_g": 1000,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 100,
        "declared_value_kop": 100_000,
        **parcel,
    }
    request = QuoteRequest.model_validate({**body, "handover_at": handover})
    return promises.quote(session, marketplace_id=marketplace.id, request=request, now=handover)


# -------------------------------------------------------------------------------- timetable


class TestTimetable:
    def test_generate_serves_every_open_office_from_one_hub(
        self, session: Session, ozon: Marketplace
    ) -> None:
        report = timetables.generate_timetable(session, now=TEST_NOW, seed=7)
        assert report.offices_unserved == []
        assert report.routes == report.synthetic_routes > 20
        network = timetables.load_network(session)
        on_routes = [s.office for r in network.routes for s in r.stops]
        assert sorted(on_routes) == sorted(o.index for o in network.offices)  # each exactly once
        assert {w.id for w in network.warehouses} == {"W-PODOLSK", "W-IVANOVO"}
        assert len(network.sorting_centres) == 1
        # Every hub gets a daily truck from the sorting centre, every warehouse a truck to it.
        fed = {h.destination for h in network.line_hauls if h.origin == "RSC-153950"}
        assert fed == {h.id for h in network.hubs}

    def test_a_hub_office_and_its_town_stay_with_their_hub(
        self, session: Session, ozon: Marketplace
    ) -> None:
        timetables.generate_timetable(session, now=TEST_NOW, seed=7)
        network = timetables.load_network(session)
        hub_of = {s.office: r.hub for r in network.routes for s in r.stops}
        assert hub_of["155900"] == "DH-155900"
        assert hub_of["155650"] == "DH-155650"
        assert hub_of[TOWN] == "DH-155900"

    def test_towns_daily_villages_two_or_three_days(
        self, session: Session, ozon: Marketplace
    ) -> None:
        timetables.generate_timetable(session, now=TEST_NOW, seed=7)
        network = timetables.load_network(session)
        rural = {o.index: o.rural for o in network.offices}
        for route in network.routes:
            kinds = {rural[s.office] for s in route.stops}
            assert len(kinds) == 1
            if kinds == {False}:
                assert route.weekdays == (0, 1, 2, 3, 4, 5)
            else:
                assert len(route.weekdays) in (2, 3)

    def test_the_same_seed_gives_the_same_timetable_and_export_round_trips(
        self, session: Session, ozon: Marketplace
    ) -> None:
        timetables.generate_timetable(session, now=TEST_NOW, seed=3)
        first = timetables.export_routes(session)
        timetables.generate_timetable(session, now=TEST_NOW, seed=3)
        assert timetables.export_routes(session) == first
        report = timetables.import_routes(session, first, now=TEST_NOW)
        assert timetables.export_routes(session) == first
        assert report.offices_unserved == []
        assert len(read_routes_csv(io.StringIO(first))) == report.routes

    def test_the_network_is_cached_per_version(self, session: Session, ozon: Marketplace) -> None:
        timetables.generate_timetable(session, now=TEST_NOW, seed=7)
        first = timetables.load_network(session)
        assert timetables.load_network(session) is first
        timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
        second = timetables.load_network(session)
        assert second is not first
        assert [r.id for r in second.routes] == ["SHUYA-MON-THU", "SHUYA-TOWN", "SHUYA-LUNCH"]

    def test_no_timetable_is_503_and_shipments_get_no_promise(
        self, session: Session, ozon: Marketplace
    ) -> None:
        with pytest.raises(TimetableMissing) as caught:
            timetables.load_network(session)
        assert caught.value.status_code == 503
        assert promises.promised_date(session, office_index=TOWN, handover=TEST_NOW) is None
        assert movement.advance_parcels(session, TEST_NOW) == 0

    def test_a_bad_route_file_is_refused_whole_with_lines_and_reasons(
        self, session: Session, shuya: Marketplace
    ) -> None:
        before = timetables.export_routes(session)
        bad = (
            SHUYA_CSV
            + "X1,DH-999999,mon,08:00,10,100,60,1,155650,10\n"
            + "X2,DH-155900,funday,08:00,10,100,60,1,155650,10\n"
            + "X3,DH-155900,mon,08:00,10,100,60,1,999999,10\n"
        )
        with pytest.raises(RouteFileRefused) as caught:
            timetables.import_routes(session, bad, now=TEST_NOW)
        lines = {p.line: p.reason for p in caught.value.problems}
        assert set(lines) == {5, 6, 7}
        assert "unknown hub" in lines[5]
        assert "funday" in lines[6]
        assert "unknown office" in lines[7]
        problem = caught.value.problem()
        assert problem["status"] == 422
        assert {"field": "line 5", "reason": lines[5]} in problem["errors"]
        assert timetables.export_routes(session) == before

    def test_an_empty_route_file_is_refused(self, session: Session, shuya: Marketplace) -> None:
        with pytest.raises(RouteFileRefused):
            timetables.import_routes(session, SHUYA_CSV.splitlines()[0] + "\n", now=TEST_NOW)
        with pytest.raises(RouteFileRefused):
            timetables.import_routes(session, "", now=TEST_NOW)

    def test_generate_does_not_overwrite_the_operators_routes_unless_forced(
        self, session: Session, shuya: Marketplace
    ) -> None:
        with pytest.raises(RealTimetableExists):
            timetables.generate_timetable(session, now=TEST_NOW)
        report = timetables.generate_timetable(session, now=TEST_NOW, replace_real=True)
        assert report.routes == report.synthetic_routes

    def test_warehouses_are_seeded_once(self, session: Session, ozon: Marketplace) -> None:
        timetables.generate_timetable(session, now=TEST_NOW)
        timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
        codes = session.scalars(select(Warehouse.code).order_by(Warehouse.code)).all()
        assert codes == ["W-IVANOVO", "W-PODOLSK"]
        warehouses = timetables.list_warehouses(session)
        podolsk = next(w for w in warehouses if w.code == "W-PODOLSK")
        assert podolsk.is_default
        assert [(h.departure, h.duration_min) for h in podolsk.line_hauls] == [("16:00", 480.0)]
        assert session.scalars(select(LineHaul)).all()

    def test_put_and_delete_a_route(self, session: Session, shuya: Marketplace) -> None:
        body = RouteWrite(
            hub="DH-155900",
            weekdays=["wed"],
            departure="09:30",
            capacity_parcels=40,
            capacity_litres=600,
            return_after_min=180,
            stops=[
                StopWrite(office_index="155923", arrival_after_min=40),
                StopWrite(office_index="155924", arrival_after_min=75),
            ],
        )
        read = timetables.put_route(session, "SHUYA-WED", body, now=TEST_NOW)
        assert [s.office_index for s in read.stops] == ["155923", "155924"]
        assert not read.synthetic
        assert "SHUYA-WED" in {r.id for r in timetables.load_network(session).routes}
        bad = body.model_copy(
            update={"stops": [StopWrite(office_index="155923", arrival_after_min=400)]}
        )
        with pytest.raises(InvalidInput):
            timetables.put_route(session, "SHUYA-WED", bad, now=TEST_NOW)
        timetables.delete_route(session, "SHUYA-WED", now=TEST_NOW)
        assert "SHUYA-WED" not in {r.id for r in timetables.load_network(session).routes}
        assert session.scalars(select(RouteStop)).all()
        assert len(session.scalars(select(Route)).all()) == 3


# -------------------------------------------------------------------------------- worked dates


class TestWorkedCases:
    def test_friday_evening_to_a_village_served_monday_and_thursday(
        self, session: Session, shuya: Marketplace
    ) -> None:
        # Fri 20 Nov 18:00 misses the 16:00 truck -> Sat 16:00 -> sorting centre Sun 00:00,
        # sorted 04:00 -> the 06:15 truck to Shuya, there 06:52, cross-docked 07:52 -> no
        # Sunday route -> Monday's 08:00 run, at the village 09:10 -> the office is closed on
        # Mondays -> shelved Tuesday 09:00-10:00.
        quote = _quote(session, shuya, VILLAGE, msk(2026, 11, 20, 18))
        assert quote.route_id == "SHUYA-MON-THU"
        assert quote.departure == msk(2026, 11, 23, 8)
        assert quote.earliest == msk(2026, 11, 24, 10)
        # Latest: +2 days would be Thu 10:00, but a full Monday van means Thursday's run:
        # at the office 09:10, ready 10:10. The promise covers that.
        assert quote.latest == msk(2026, 11, 26, 10, 10)
        assert quote.promised_date == date(2026, 11, 26)
        assert quote.currency == "RUB"
        assert quote.warehouse == "W-PODOLSK"

    def test_a_public_holiday_stops_the_route(self, session: Session, shuya: Marketplace) -> None:
        # Mon 2 Nov 18:00 -> hub ready Wed 4 Nov 07:52: Unity Day, no run -> Thursday 08:00,
        # at the office 08:30 (open from 08:00) -> ready 09:30.
        quote = _quote(session, shuya, TOWN, msk(2026, 11, 2, 18))
        assert quote.departure == msk(2026, 11, 5, 8)
        assert quote.earliest == msk(2026, 11, 5, 9, 30)
        # The same a week later runs on the Wednesday.
        later = _quote(session, shuya, TOWN, msk(2026, 11, 9, 18))
        assert later.earliest == msk(2026, 11, 11, 9, 30)

    def test_a_van_during_lunch_is_shelved_after_lunch(
        self, session: Session, shuya: Marketplace
    ) -> None:
        # Tuesday's 12:00 run reaches the village at 13:20, in its 13-14 lunch break: the
        # clerk's hour of shelving runs 14:00-15:00.
        quote = _quote(session, shuya, LUNCH_VILLAGE, msk(2026, 11, 20, 18))
        assert quote.departure == msk(2026, 11, 24, 12)
        assert quote.earliest == msk(2026, 11, 24, 15)

    def test_the_ivanovo_warehouse_is_faster(self, session: Session, shuya: Marketplace) -> None:
        # W-IVANOVO: 12:00 shuttle, 1 h -> sorted 17:00 -> next morning's truck to Shuya.
        request = QuoteRequest(
            destination_index=TOWN,
            weight_g=500,
            length_mm=100,
            width_mm=100,
            height_mm=100,
            handover_at=msk(2026, 11, 23, 10),
            warehouse="W-IVANOVO",
        )
        quote = promises.quote(session, marketplace_id=shuya.id, request=request, now=TEST_NOW)
        assert quote.earliest == msk(2026, 11, 24, 9, 30)
        assert quote.price.zone == 1
        podolsk = _quote(session, shuya, TOWN, msk(2026, 11, 23, 10))
        assert podolsk.price.zone == 2
        assert podolsk.price_kop > quote.price_kop

    def test_a_later_handover_never_gives_an_earlier_date(
        self, session: Session, shuya: Marketplace
    ) -> None:
        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(
            start=st.integers(0, 60 * 24 * 60),
            delay=st.integers(0, 60 * 24 * 10),
            office=st.sampled_from([VILLAGE, LUNCH_VILLAGE, TOWN]),
        )
        def check(start: int, delay: int, office: str) -> None:
            first = msk(2026, 12, 1, 0) + timedelta(minutes=start)
            second = first + timedelta(minutes=delay)
            a = _quote(session, shuya, office, first)
            b = _quote(session, shuya, office, second)
            assert a.earliest <= b.earliest
            assert a.latest <= b.latest
            assert a.promised_date <= b.promised_date
            assert first <= a.earliest <= a.latest

        check()


class TestQuoteRefusals:
    def test_unknown_closed_and_unserved_offices(
        self, session: Session, shuya: Marketplace
    ) -> None:
        with pytest.raises(InvalidInput) as unknown:
            _quote(session, shuya, "999999", TEST_NOW)
        assert unknown.value.field == "destination_index"
        with pytest.raises(OfficeNotServed):  # open, served by OZON, on no imported route
            _quote(session, shuya, "155650", TEST_NOW)
        yandex = marketplace_service.add_marketplace(session, code="NEWMP", name="New")
        with pytest.raises(InvalidInput, match="does not serve"):
            _quote(session, yandex, TOWN, TEST_NOW)

    @pytest.mark.parametrize(
        ("parcel", "field"),
        [
            ({"weight_g": 19_000}, "weight_g"),
            ({"length_mm": 2000}, "length_mm"),
            ({"cod_kop": 200_000}, "cod_kop"),
        ],
    )
    def test_a_parcel_the_office_cannot_take(
        self, session: Session, shuya: Marketplace, parcel: dict[str, int], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as caught:
            _quote(session, shuya, VILLAGE, TEST_NOW, **parcel)
        assert caught.value.field == field

    def test_an_unknown_warehouse(self, session: Session, shuya: Marketplace) -> None:
        request = QuoteRequest(
            destination_index=TOWN,
            weight_g=500,
            length_mm=100,
            width_mm=100,
            height_mm=100,
            warehouse="W-NOWHERE",
        )
        with pytest.raises(InvalidInput) as caught:
            promises.quote(session, marketplace_id=shuya.id, request=request, now=TEST_NOW)
        assert caught.value.field == "warehouse"


class TestTariff:
    def test_bands_zones_and_fees(self) -> None:
        small = price(
            DEFAULT_TARIFF,
            distance_m=100_000,
            weight_g=400,
            length_mm=100,
            width_mm=100,
            height_mm=100,
        )
        assert (small.zone, small.base_kop, small.total_kop) == (1, 14_900, 14_900)
        # A 30 x 20 x 20 cm box of 1 kg is charged as 2.4 kg (volumetric), zone 2.
        boxed = price(
            DEFAULT_TARIFF,
            distance_m=357_000,
            weight_g=1000,
            length_mm=300,
            width_mm=200,
            height_mm=200,
            declared_value_kop=150_000,
            cod_kop=150_000,
        )
        assert boxed.chargeable_weight_g == 2400
        assert boxed.base_kop == 30_900
        assert boxed.cod_fee_kop == 3_000  # 2 % is 30 roubles: the minimum
        assert boxed.insurance_kop == 750
        assert boxed.total_kop == 30_900 + 3_000 + 750
        heavy = price(
            DEFAULT_TARIFF,
            distance_m=3_000_000,
            weight_g=22_500,
            length_mm=100,
            width_mm=100,
            height_mm=100,
        )
        assert heavy.zone == 5
        assert heavy.base_kop == 114_900 + 3 * 6_000

    def test_a_bad_tariff_is_refused(self) -> None:
        with pytest.raises(ValueError, match="zone rows"):
            Tariff(extra_kg_kop=(1, 2))
        with pytest.raises(ValueError, match="distance"):
            DEFAULT_TARIFF.zone(-1.0)


# -------------------------------------------------------------------------------- promises


def test_a_new_shipment_gets_the_quotes_promised_date(session: Session, shuya: Marketplace) -> None:
    handover = msk(2026, 11, 20, 18)
    shipment = hand_over_shipment(session, shuya, VILLAGE, "P-1", handover)
    assert shipment.promised_date == date(2026, 11, 26)
    assert shipment.promised_date == _quote(session, shuya, VILLAGE, handover).promised_date
    not_served = hand_over_shipment(session, shuya, "155650", "P-2", handover)
    assert not_served.promised_date is None


class TestRollOver:
    def test_a_full_van_rolls_parcels_over_and_tells_the_marketplace(
        self, session: Session, shuya: Marketplace
    ) -> None:
        # The Monday/Thursday van takes two parcels; five go to the village, handed over on
        # Friday evening with the promise "by Thursday 26 November".
        notify_service.create_subscription(
            session,
            marketplace_id=shuya.id,
            url="https://hooks.example/ozon",
            events=["shipment.promised_date_changed"],
            now=TEST_NOW,
        )
        body = RouteWrite(
            hub="DH-155900",
            weekdays=["mon", "thu"],
            departure="08:00",
            capacity_parcels=2,
            capacity_litres=2000,
            return_after_min=240,
            stops=[StopWrite(office_index=VILLAGE, arrival_after_min=70)],
        )
        timetables.put_route(session, "SHUYA-MON-THU", body, now=TEST_NOW)
        handover = msk(2026, 11, 20, 18)
        parcels = [
            hand_over_shipment(session, shuya, VILLAGE, f"R-{n}", handover) for n in range(5)
        ]
        assert {p.promised_date for p in parcels} == {date(2026, 11, 26)}
        now = msk(2026, 11, 21, 12)

        monday = manifests.build_manifest(
            session, route_id="SHUYA-MON-THU", departure=msk(2026, 11, 23, 8), now=now
        )
        assert [line.tracking_number for line in monday.lines] == [
            p.tracking_number for p in parcels[:2]
        ]
        assert [r.tracking_number for r in monday.rolled] == [
            p.tracking_number for p in parcels[2:]
        ]
        # Thursday's run still keeps the promise: nothing changes, nobody is told.
        assert all(not r.promised_date_changed for r in monday.rolled)
        assert {r.next_departure for r in monday.rolled} == {msk(2026, 11, 26, 8)}
        assert _webhooks(session) == []

        thursday = manifests.build_manifest(
            session, route_id="SHUYA-MON-THU", departure=msk(2026, 11, 26, 8), now=now
        )
        assert [line.tracking_number for line in thursday.lines] == [
            p.tracking_number for p in parcels[2:4]
        ]
        (late,) = thursday.rolled
        assert late.tracking_number == parcels[4].tracking_number
        # Next Monday's van, the office closed on Mondays: ready Tue 1 Dec; the promise
        # becomes Thu 3 Dec (one more missed run covered) and OZON is told.
        assert late.promised_date_changed
        assert late.promised_date == date(2026, 12, 3)
        session.refresh(parcels[4])
        assert parcels[4].promised_date == date(2026, 12, 3)
        (hook,) = _webhooks(session)
        data = hook.payload["data"]
        assert hook.event_type == "shipment.promised_date_changed"
        assert data["tracking_number"] == parcels[4].tracking_number
        assert (data["previous_promised_date"], data["promised_date"]) == (
            "2026-11-26",
            "2026-12-03",
        )
        assert data["reason"] == "route_run_full"

        # Planning again changes nothing and tells nobody twice.
        again = manifests.build_manifest(
            session, route_id="SHUYA-MON-THU", departure=msk(2026, 11, 26, 8), now=now
        )
        assert [line.tracking_number for line in again.lines] == [
            line.tracking_number for line in thursday.lines
        ]
        assert len(_webhooks(session)) == 1

    def test_oldest_promise_first_and_litres_count(
        self, session: Session, shuya: Marketplace
    ) -> None:
        body = RouteWrite(
            hub="DH-155900",
            weekdays=["mon", "thu"],
            departure="08:00",
            capacity_parcels=10,
            capacity_litres=30,  # two 12-litre boxes, not three
            return_after_min=240,
            stops=[StopWrite(office_index=VILLAGE, arrival_after_min=70)],
        )
        timetables.put_route(session, "SHUYA-MON-THU", body, now=TEST_NOW)
        newer = hand_over_shipment(
            session, shuya, VILLAGE, "L-new", msk(2026, 11, 20, 12), size=BOX_12L
        )
        older = hand_over_shipment(
            session, shuya, VILLAGE, "L-old", msk(2026, 11, 20, 11), size=BOX_12L
        )
        older.promised_date = date(2026, 11, 25)  # as if promised earlier
        third = hand_over_shipment(
            session, shuya, VILLAGE, "L-3", msk(2026, 11, 20, 13), size=BOX_12L
        )
        session.flush()
        manifest = manifests.build_manifest(
            session,
            route_id="SHUYA-MON-THU",
            departure=msk(2026, 11, 23, 8),
            now=msk(2026, 11, 21, 9),
        )
        assert [line.tracking_number for line in manifest.lines] == [
            older.tracking_number,
            newer.tracking_number,
        ]
        assert manifest.litres == pytest.approx(24.0)
        assert [r.tracking_number for r in manifest.rolled] == [third.tracking_number]

    def test_a_run_that_is_not_on_the_timetable_is_404(
        self, session: Session, shuya: Marketplace
    ) -> None:
        with pytest.raises(RouteRunNotFound):
            manifests.build_manifest(
                session, route_id="SHUYA-MON-THU", departure=msk(2026, 11, 24, 8), now=TEST_NOW
            )
        with pytest.raises(DomainError) as caught:
            manifests.build_manifest(
                session, route_id="NO-SUCH", departure=msk(2026, 11, 24, 8), now=TEST_NOW
            )
        assert caught.value.status_code == 404


def _webhooks(session: Session) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(
        OutboxMessage.kind == "webhook",
        OutboxMessage.event_type == "shipment.promised_date_changed",
    )
    return list(session.scalars(query))


def test_run_ids_round_trip() -> None:
    departure = msk(2026, 11, 26, 8)
    text = manifests.run_id("DH-155900-V01", departure)
    assert text == "DH-155900-V01@2026-11-26T05:00:00Z"
    assert manifests.parse_run_id(text) == ("DH-155900-V01", departure.astimezone(UTC))
    assert manifests.parse_run_id("A@2026-11-26T08:00:00+03:00")[1] == departure
    for bad in ("no-at-sign", "R@yesterday", "R@2026-11-26T08:00:00"):
        with pytest.raises(InvalidInput):
            manifests.parse_run_id(bad)


def test_a_hub_keeps_its_regions_clock_and_there_is_no_default() -> None:
    hub = Hub(code="DH-630000", region_id=54)
    assert timetables._hub_zone(hub, {54: "Asia/Novosibirsk"}) == "Asia/Novosibirsk"
    with pytest.raises(LookupError, match="DH-630000: region 54 has no time zone"):
        timetables._hub_zone(hub, {37: "Europe/Moscow"})


# -------------------------------------------------------------------------------- command line


def test_the_timetable_commands(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from selpo.cli import app
    from selpo.logistics.cli import timetable_app

    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["import-region"]).exit_code == 0
    generated = runner.invoke(timetable_app, ["generate", "--seed", "7"])
    assert generated.exit_code == 0, generated.output
    assert "301 offices served" in generated.output
    exported = tmp_path / "routes.csv"
    assert runner.invoke(timetable_app, ["export-routes", str(exported)]).exit_code == 0
    text = exported.read_text(encoding="utf-8")
    assert text.count("\n") == 302  # the header and one row per office

    bad = tmp_path / "bad.csv"
    bad.write_text(
        text.replace(",08:00,", ",8 o'clock,", 1)
        + "X,DH-155900,mon,08:00,1,1,10,1,999999,5,0,0,\n",
        encoding="utf-8",
    )
    refused = runner.invoke(timetable_app, ["import-routes", str(bad)])
    assert refused.exit_code == 2
    assert "line 2: departure" in refused.output
    assert "line 303: unknown office 999999" in refused.output
    again = tmp_path / "again.csv"
    assert runner.invoke(timetable_app, ["export-routes", str(again)]).exit_code == 0
    assert again.read_text(encoding="utf-8") == text  # nothing changed

    assert runner.invoke(timetable_app, ["import-routes", str(exported)]).exit_code == 0
    kept = runner.invoke(timetable_app, ["generate", "--if-missing"])
    routes = generated.output.split("generated: ", 1)[1].split(" routes", 1)[0]
    assert (kept.exit_code, f"kept the timetable: {routes} routes" in kept.output) == (0, True)
    forced = runner.invoke(timetable_app, ["generate"])
    assert forced.exit_code == 0, forced.output  # the imported routes are synthetic too
    shown = runner.invoke(timetable_app, ["runs", "--date", "2026-11-26", "--hub", "155900"])
    assert shown.exit_code == 0, shown.output
    assert "DH-155900" in shown.output
    advanced = runner.invoke(timetable_app, ["advance", "--at", "2026-11-27T12:00:00+03:00"])
    assert advanced.exit_code == 0, advanced.output
    assert "0 tracking events" in advanced.output
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    future = runner.invoke(timetable_app, ["advance", "--at", tomorrow])
    assert future.exit_code == 2
    assert "is in the future" in future.output
