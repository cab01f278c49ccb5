"""Dispatch on virtual time: the worker job walks parcels along the timetable, manifests never
overload a van, and a hub's own scans are never doubled.

Local times are Moscow time (UTC+3); see ``test_service.py`` for the timetable of the worked
cases (routes of the Shuya hub, DH-155900, from CSV).
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.logistics import manifests, movement, promises, timetables
from selpo.marketplace import service as marketplace_service
from selpo.models import ManifestEntry, Marketplace, OutboxMessage, Shipment, TrackingEvent
from selpo.notify import service as notify_service
from selpo.shipment import service as shipment_service
from tests.conftest import TEST_NOW
from tests.fixtures.builders import hand_over_shipment

MSK = ZoneInfo("Europe/Moscow")
VILLAGE = "155921"
TOWN = "155901"
SHUYA_CSV = """\
route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min
SHUYA-MON-THU,DH-155900,mon|thu,08:00,150,2000,240,1,155921,70
SHUYA-TOWN,DH-155900,mon|tue|wed|thu|fri|sat,08:00,500,7000,120,1,155901,30
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


def _events(session: Session, shipment: Shipment) -> list[tuple[str, datetime, str]]:
    query = (
        select(TrackingEvent.code, TrackingEvent.occurred_at, TrackingEvent.actor)
        .where(TrackingEvent.shipment_id == shipment.id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    )
    return [(c, o, a) for c, o, a in session.execute(query)]


def _walk(session: Session, clock: FrozenClock, until: datetime, step: timedelta) -> int:
    recorded = 0
    while clock.now() < until:
        clock.advance(step)
        recorded += movement.advance_parcels(session, clock.now())
    return recorded


class TestAdvanceParcels:
    def test_a_parcel_walks_to_its_office_on_virtual_time(
        self, session: Session, ozon: Marketplace
    ) -> None:
        timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
        clock = FrozenClock(msk(2026, 11, 20, 18))
        parcel = hand_over_shipment(session, ozon, VILLAGE, "W-1", clock.now())
        # Nothing moves before Monday's 08:00 run.
        assert _walk(session, clock, msk(2026, 11, 23, 7), timedelta(hours=1)) == 0
        session.refresh(parcel)
        assert parcel.status == "handed_over"
        assert _walk(session, clock, msk(2026, 11, 23, 8), timedelta(hours=1)) == 1
        session.refresh(parcel)
        assert parcel.status == "in_transit"
        assert _walk(session, clock, msk(2026, 11, 23, 10), timedelta(minutes=30)) == 1
        session.refresh(parcel)
        assert parcel.status == "arrived_at_office"
        assert _events(session, parcel)[2:] == [
            ("departed_hub", msk(2026, 11, 23, 8), "timetable"),
            ("arrived_at_office", msk(2026, 11, 23, 9, 10), "timetable"),
        ]
        # Running again (or from a second worker) records nothing more.
        assert movement.advance_parcels(session, clock.now()) == 0
        assert len(_events(session, parcel)) == 4

    def test_a_jump_of_time_catches_up_in_order(self, session: Session, ozon: Marketplace) -> None:
        timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
        parcel = hand_over_shipment(session, ozon, TOWN, "J-1", msk(2026, 11, 20, 18))
        # The worker was down for a week: one pass walks the whole way.
        assert movement.advance_parcels(session, msk(2026, 11, 27, 12)) == 2
        codes = [(c, o) for c, o, _ in _events(session, parcel)]
        assert codes[2:] == [
            ("departed_hub", msk(2026, 11, 23, 8)),
            ("arrived_at_office", msk(2026, 11, 23, 8, 30)),
        ]

    def test_a_hubs_own_scans_are_not_doubled(self, session: Session, ozon: Marketplace) -> None:
        timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
        handover = msk(2026, 11, 20, 18)
        scanned = hand_over_shipment(session, ozon, VILLAGE, "S-1", handover)
        at_office = hand_over_shipment(session, ozon, VILLAGE, "S-2", handover)
        shipment_service.record_scan(
            session,
            tracking_number=scanned.tracking_number,
            code="departed_hub",
            occurred_at=msk(2026, 11, 23, 8, 4),
            now=msk(2026, 11, 23, 8, 5),
            actor="hub-scan",
        )
        shipment_service.record_scan(
            session,
            tracking_number=at_office.tracking_number,
            code="arrived_at_office",
            occurred_at=msk(2026, 11, 23, 9, 2),
            now=msk(2026, 11, 23, 9, 3),
            office_index=VILLAGE,
            actor="office",
        )
        movement.advance_parcels(session, msk(2026, 11, 23, 12))
        assert [(c, a) for c, _, a in _events(session, scanned)] == [
            ("created", "marketplace-api"),
            ("handed_over", "hub-scan"),
            ("departed_hub", "hub-scan"),
            ("arrived_at_office", "timetable"),
        ]
        assert [(c, a) for c, _, a in _events(session, at_office)] == [
            ("created", "marketplace-api"),
            ("handed_over", "hub-scan"),
            ("arrived_at_office", "office"),
        ]

    def test_a_handover_recorded_after_the_van_left_takes_the_next_run(
        self, session: Session, ozon: Marketplace
    ) -> None:
        timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
        early = hand_over_shipment(session, ozon, TOWN, "E-1", msk(2026, 11, 20, 18))
        movement.advance_parcels(session, msk(2026, 11, 23, 9))  # Monday's van leaves with E-1
        # A parcel handed over on Friday too, but only reported on Monday at noon.
        late = hand_over_shipment(session, ozon, TOWN, "E-2", msk(2026, 11, 20, 18))
        movement.advance_parcels(session, msk(2026, 11, 24, 12))
        assert [c for c, _, _ in _events(session, early)][-1] == "arrived_at_office"
        departed = [o for c, o, _ in _events(session, late) if c == "departed_hub"]
        assert departed == [msk(2026, 11, 24, 8)]

    def test_a_missorted_parcel_goes_back_and_takes_the_next_run(
        self, session: Session, ozon: Marketplace
    ) -> None:
        timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
        parcel = hand_over_shipment(session, ozon, TOWN, "M-1", msk(2026, 11, 20, 18))
        movement.advance_parcels(session, msk(2026, 11, 23, 8, 10))  # Monday's van has left
        # The village office finds it in its bag at 08:20: mis-sorted, back to the hub.
        shipment_service.record_scan(
            session,
            tracking_number=parcel.tracking_number,
            code="arrived_at_office",
            occurred_at=msk(2026, 11, 23, 8, 20),
            now=msk(2026, 11, 23, 8, 21),
            office_index=VILLAGE,
            actor="office",
        )
        movement.advance_parcels(session, msk(2026, 11, 23, 12))
        session.refresh(parcel)
        assert parcel.status == "in_transit"  # the van's 08:30 stop did not bring it
        movement.advance_parcels(session, msk(2026, 11, 24, 12))
        session.refresh(parcel)
        assert parcel.status == "arrived_at_office"
        assert [(c, o) for c, o, _ in _events(session, parcel)][2:] == [
            ("departed_hub", msk(2026, 11, 23, 8)),
            ("missorted", msk(2026, 11, 23, 8, 20)),
            ("departed_hub", msk(2026, 11, 24, 8)),
            ("arrived_at_office", msk(2026, 11, 24, 8, 30)),
        ]


def test_a_simulated_week_never_overloads_a_van(session: Session, ozon: Marketplace) -> None:
    """Two hubs' vans cut to three parcels; parcels every few hours for a week; the worker
    every hour. No manifest ever exceeds its van, every parcel gets to its office by its
    (possibly moved) promised date, and every moved promise was told to the marketplace."""
    notify_service.create_subscription(
        session,
        marketplace_id=ozon.id,
        url="https://hooks.example/ozon",
        events=["*"],
        now=TEST_NOW,
    )
    timetables.generate_timetable(session, now=TEST_NOW, seed=7)
    hubs = {"DH-155900", "DH-155650"}
    rows = list(csv.DictReader(io.StringIO(timetables.export_routes(session))))
    for row in rows:
        row["capacity_parcels"], row["capacity_litres"] = "3", "40"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    timetables.import_routes(session, out.getvalue(), now=TEST_NOW)
    network = timetables.load_network(session)
    capacity = {r.id: (r.capacity_parcels, r.capacity_litres) for r in network.routes}
    offices = sorted(s.office for r in network.routes if r.hub in hubs for s in r.stops)

    rng = random.Random(20261123)
    sizes = [(300, 200, 100), (300, 200, 200), (400, 300, 150), (200, 150, 100)]
    clock = FrozenClock(msk(2026, 11, 23, 0))
    created: list[Shipment] = []
    # Monday to Friday: one or two parcels every six hours, the worker every hour.
    while clock.now() < msk(2026, 11, 28, 0):
        clock.advance(timedelta(hours=1))
        now = clock.now()
        if now.hour % 6 == 3:
            for _ in range(rng.randint(1, 2)):
                index = rng.choice(offices)
                order = f"SIM-{len(created)}"
                created.append(
                    hand_over_shipment(session, ozon, index, order, now, rng.choice(sizes))
                )
        movement.advance_parcels(session, now)
    # Then the worker every twelve hours until the backlog has cleared.
    while clock.now() < msk(2026, 12, 16, 0):
        movement.advance_parcels(session, clock.advance(timedelta(hours=12)))

    loads = session.execute(
        select(
            ManifestEntry.route_code,
            ManifestEntry.departure,
            func.count(ManifestEntry.id),
            func.sum(ManifestEntry.litres),
        )
        .where(ManifestEntry.status == "loaded", ManifestEntry.departed_at.is_not(None))
        .group_by(ManifestEntry.route_code, ManifestEntry.departure)
    ).all()
    assert loads, "no van left"
    for route, _departure, parcels, litres in loads:
        assert parcels <= capacity[route][0]
        assert litres <= capacity[route][1] + 1e-9
    assert any(parcels == capacity[route][0] for route, _, parcels, _ in loads)

    rolled = session.scalar(
        select(func.count(ManifestEntry.id)).where(ManifestEntry.status == "rolled")
    )
    assert rolled, "the vans were never full: the test does not test capacity"
    arrived: dict[int, datetime] = {}
    for shipment_id, occurred in session.execute(
        select(TrackingEvent.shipment_id, TrackingEvent.occurred_at).where(
            TrackingEvent.code == "arrived_at_office",
            TrackingEvent.shipment_id.in_([s.id for s in created]),
        )
    ):
        arrived[shipment_id] = occurred
    assert len(arrived) == len(created)  # the backlog cleared: everyone got there
    for shipment in created:
        session.refresh(shipment)
        assert shipment.status == "arrived_at_office"
        assert shipment.promised_date is not None
        assert arrived[shipment.id].astimezone(MSK).date() <= shipment.promised_date
    told = session.execute(
        select(OutboxMessage.payload).where(
            OutboxMessage.event_type == "shipment.promised_date_changed"
        )
    ).all()
    moved = len({p["data"]["tracking_number"] for (p,) in told})
    changed = [s for s in created if s.promised_date != _first_promise(session, s)]
    assert 0 < moved == len(changed)


def _first_promise(session: Session, shipment: Shipment) -> date | None:
    # The promise a shipment was created with: recomputed from its hand-over, as creation did.
    events = _events(session, shipment)
    handover = next(o for c, o, _ in events if c == "handed_over")
    index = shipment_service.read_shipment(session, shipment).destination_index
    return promises.promised_date(session, office_index=index, handover=handover)


def test_manifests_group_by_run(session: Session, ozon: Marketplace) -> None:
    timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
    for n in range(3):
        hand_over_shipment(session, ozon, TOWN, f"G-{n}", msk(2026, 11, 20, 18))
    hand_over_shipment(session, ozon, VILLAGE, "G-v", msk(2026, 11, 20, 18))
    runs = manifests.list_route_runs(session, day=date(2026, 11, 23), hub="155900")
    assert [(r.route_id, r.manifest) for r in runs] == [
        ("SHUYA-MON-THU", "none"),
        ("SHUYA-TOWN", "none"),
    ]
    built = manifests.build_manifests(
        session, day=date(2026, 11, 23), hub="DH-155900", now=msk(2026, 11, 22, 20)
    )
    assert [m.parcels for m in built] == [1, 3]
    runs = manifests.list_route_runs(session, day=date(2026, 11, 23), hub="DH-155900")
    assert [(r.manifest, r.parcels) for r in runs] == [("planned", 1), ("planned", 3)]
    movement.advance_parcels(session, msk(2026, 11, 23, 8))
    runs = manifests.list_route_runs(session, day=date(2026, 11, 23), hub="DH-155900")
    assert [r.manifest for r in runs] == ["departed", "departed"]


def test_the_worker_departs_the_manifests_a_preview_shows(
    session: Session, ozon: Marketplace
) -> None:
    """The worker plans each run in bulk; every van it sends is the one ``get_manifest``
    previewed an hour before: the same parcels loaded, the same ones rolled over to the next
    day, the same promises moved (and told)."""
    small_van = SHUYA_CSV.replace("08:00,500,7000", "08:00,1,7000")
    timetables.import_routes(session, small_van, now=TEST_NOW)
    parcels = {
        p.tracking_number: p
        for p in (
            hand_over_shipment(session, ozon, TOWN, f"V-{n}", msk(2026, 11, 22, 12 + n))
            for n in range(6)  # on Sunday: Monday's van is the first
        )
    }
    moved = 0
    for day in (23, 24, 25, 26, 27, 28):  # Monday to Saturday, one parcel a day
        departure = msk(2026, 11, day, 8)
        preview = manifests.get_manifest(
            session, route_id="SHUYA-TOWN", departure=departure, now=msk(2026, 11, day, 7)
        )
        assert not preview.stored
        movement.advance_parcels(session, msk(2026, 11, day, 8, 10))
        left = {
            number
            for number, shipment in parcels.items()
            if ("departed_hub", departure, "timetable") in _events(session, shipment)
        }
        assert left == {line.tracking_number for line in preview.lines}
        stored = manifests.get_manifest(
            session, route_id="SHUYA-TOWN", departure=departure, now=msk(2026, 11, day, 9)
        )
        assert (stored.stored, stored.departed) == (True, True)
        assert [line.tracking_number for line in stored.lines] == [
            line.tracking_number for line in preview.lines
        ]
        assert [(r.tracking_number, r.next_departure) for r in stored.rolled] == [
            (r.tracking_number, r.next_departure) for r in preview.rolled
        ]
        for line in preview.rolled:
            shipment = parcels[line.tracking_number]
            session.refresh(shipment)
            assert shipment.promised_date == line.promised_date
            moved += line.promised_date_changed
    assert moved > 0
    movement.advance_parcels(session, msk(2026, 11, 28, 12))
    assert all(
        "arrived_at_office" in [c for c, _, _ in _events(session, s)] for s in parcels.values()
    )


def test_a_caller_that_alone_writes_can_follow_the_vans(
    session: Session, ozon: Marketplace
) -> None:
    """``next_departure``, ``pending_arrivals`` and ``record_arrivals``: after a full pass,
    the vans on their way and when they arrive; the arrival half records them on its own."""
    timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
    town = hand_over_shipment(session, ozon, TOWN, "F-1", msk(2026, 11, 22, 12))
    village = hand_over_shipment(session, ozon, VILLAGE, "F-2", msk(2026, 11, 22, 12))
    assert movement.next_departure(session, msk(2026, 11, 22, 12)) == msk(2026, 11, 23, 8)
    assert movement.advance_parcels(session, msk(2026, 11, 23, 8)) == 2  # both vans leave
    assert movement.pending_arrivals(session) == [
        msk(2026, 11, 23, 8, 30),
        msk(2026, 11, 23, 9, 10),
    ]
    assert movement.next_departure(session, msk(2026, 11, 23, 8)) == msk(2026, 11, 24, 8)
    assert movement.record_arrivals(session, msk(2026, 11, 23, 9)) == 1
    assert movement.pending_arrivals(session) == [msk(2026, 11, 23, 9, 10)]
    assert movement.record_arrivals(session, msk(2026, 11, 23, 10)) == 1
    assert movement.pending_arrivals(session) == []
    assert [c for c, _, _ in _events(session, town)][-1] == "arrived_at_office"
    assert [c for c, _, _ in _events(session, village)][-1] == "arrived_at_office"
