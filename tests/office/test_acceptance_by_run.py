"""Acceptance by the arriving run's manifest, on the real database (SQLite and PostgreSQL):
what the run carries for the office is expected; the report names exactly what is missing,
what came without being on the manifest, and another office's parcels (mis-sorted, back to
delivery). The run is the one ``tests.office.runs`` departs through the real worker job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.logistics import movement
from selpo.models import Acceptance, AcceptanceScan, ManifestEntry, Shipment, TrackingEvent
from selpo.office import service as office
from selpo.office.errors import RunRefused
from selpo.office.schemas import AcceptanceReport, AcceptanceView
from selpo.shipment import service as shipment_service
from tests.conftest import TEST_NOW
from tests.office.runs import (
    DEPARTURE,
    HANDOVER,
    ROUTE,
    RUN,
    depart,
    import_timetable,
)
from tests.office.world import ALEKHINO, OfficeWorld, make_world

BOXES = [
    {"weight_g": 600, "length_mm": 300, "width_mm": 200, "height_mm": 100},
    {"weight_g": 400, "length_mm": 200, "width_mm": 150, "height_mm": 100},
    {"weight_g": 200, "length_mm": 150, "width_mm": 100, "height_mm": 50},
]


@pytest.fixture
def world(session: Session) -> OfficeWorld:
    """The office world a day before ``TEST_NOW``, with the run's timetable."""
    clock = FrozenClock(HANDOVER)
    world = make_world(session, clock)
    import_timetable(session, clock)
    return world


def _noon(world: OfficeWorld) -> None:
    """On to ``TEST_NOW`` (the van is at Pestyaki), unless the clock is past it already."""
    world.clock.set(max(world.clock.now(), TEST_NOW))


def _start(world: OfficeWorld, run: str | None = None) -> Acceptance:
    return office.start_acceptance(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        now=world.clock.now(),
        run=run,
    )


def _scan(world: OfficeWorld, acceptance: Acceptance, barcode: str, **kwargs: Any) -> str:
    scan = office.scan_for_acceptance(
        world.session,
        acceptance=acceptance,
        office=world.pestyaki,
        workstation=world.clerk,
        barcode=barcode,
        damaged=kwargs.pop("damaged", False),
        now=world.clock.now(),
        **kwargs,
    )
    return scan.result


def _view(world: OfficeWorld, acceptance: Acceptance) -> AcceptanceView:
    return office.acceptance_view(world.session, office=world.pestyaki, acceptance=acceptance)


def _close(world: OfficeWorld, acceptance: Acceptance) -> AcceptanceReport:
    office.close_acceptance(
        world.session,
        acceptance=acceptance,
        office=world.pestyaki,
        workstation=world.clerk,
        now=world.clock.now(),
    )
    report = _view(world, acceptance).report
    assert report is not None
    return report


def _numbers(rows: list[Any]) -> list[str]:
    return [r.barcode for r in rows]


def _codes(session: Session, shipment: Shipment) -> list[tuple[str, str | None]]:
    query = (
        select(TrackingEvent.code, TrackingEvent.office_index)
        .where(TrackingEvent.shipment_id == shipment.id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    )
    return [(code, index) for code, index in session.execute(query)]


class TestAcceptanceByTheRunsManifest:
    def test_a_run_with_a_missing_and_an_extra_parcel(self, world: OfficeWorld) -> None:
        s = world.session
        arrives = world.parcel()
        hurt = world.parcel()
        missing = world.parcel()
        foreign = world.parcel(to=ALEKHINO)  # on the same van, for the next stop
        depart(s, world.clock)
        # Handed over after the van left: on no manifest of today's run.
        extra = world.parcel()
        elsewhere = world.parcel()  # the same, and never scanned: not missing from this run
        _noon(world)

        acceptance = _start(world)  # the only run arriving today
        assert (acceptance.route_code, acceptance.run_departure) == (ROUTE, DEPARTURE)
        view = _view(world, acceptance)
        assert view.run is not None
        assert view.run.id == RUN
        assert view.run.parcels == 3
        assert [p.tracking_number for p in view.expected] == [
            arrives.tracking_number,
            hurt.tracking_number,
            missing.tracking_number,
        ]
        assert all("*" in p.recipient for p in view.expected)  # names masked

        assert _scan(world, acceptance, arrives.tracking_number) == "accepted"
        assert _scan(world, acceptance, arrives.tracking_number) == "duplicate"
        assert _scan(world, acceptance, hurt.tracking_number, damaged=True) == "accepted"
        assert _scan(world, acceptance, extra.tracking_number, client_scan_id="q-1") == "extra"
        assert _scan(world, acceptance, extra.tracking_number, client_scan_id="q-1") == "extra"
        assert _scan(world, acceptance, foreign.tracking_number) == "other_office"
        for parcel in (arrives, hurt, extra, foreign, missing):
            s.refresh(parcel)
        assert (arrives.status, hurt.status, extra.status) == ("arrived_at_office",) * 3
        assert (foreign.status, missing.status) == ("in_transit", "in_transit")
        replays = s.scalars(select(AcceptanceScan).where(AcceptanceScan.client_scan_id == "q-1"))
        assert len(list(replays)) == 1  # the queue's replay recorded once

        open_view = _view(world, acceptance)
        assert [p.tracking_number for p in open_view.expected] == [missing.tracking_number]
        assert office.acceptance_counts(s, office=world.pestyaki, acceptance=acceptance) == {
            "accepted": 2,
            "expected": 1,
            "extra": 1,
            "missorted": 1,
            "unexpected": 0,
            "damaged": 1,
            "errors": 0,
        }  # the scan queue's counters, as the page counts them
        assert (open_view.accepted_count, open_view.extra_count) == (2, 1)
        assert (open_view.missorted_count, open_view.unexpected_count) == (1, 0)
        messages = {r.result: (r.tone, r.message) for r in open_view.scans}
        assert messages["extra"][0] == "warn"
        assert messages["extra"][1].startswith("Принята, но её нет в манифесте рейса")
        assert messages["other_office"] == (
            "error",
            "Чужая посылка — вернуть в доставку. Её отделение: 155654 Алехино.",
        )

        report = _close(world, acceptance)
        assert _numbers(report.accepted) == [arrives.tracking_number, hurt.tracking_number]
        assert _numbers(report.missing) == [missing.tracking_number]
        assert report.missing[0].message == "Есть в манифесте, но не пришла."
        assert _numbers(report.extra) == [extra.tracking_number]
        assert _numbers(report.missorted) == [foreign.tracking_number]
        assert _numbers(report.damaged) == [hurt.tracking_number]
        assert report.unexpected == []
        assert elsewhere.tracking_number not in _numbers(report.missing)
        s.refresh(missing)
        assert missing.status == "in_transit"  # missing: nothing moves it
        summary = office.recent_acceptances(s, world.pestyaki)[0]
        assert (summary.accepted, summary.missing, summary.unexpected) == (2, 1, 2)

    def test_a_missorted_parcel_goes_back_to_its_hub(self, world: OfficeWorld) -> None:
        s = world.session
        foreign = world.parcel(to=ALEKHINO)
        ours = world.parcel()
        depart(s, world.clock)
        _noon(world)
        acceptance = _start(world)
        assert _scan(world, acceptance, foreign.tracking_number) == "other_office"
        assert _scan(world, acceptance, ours.tracking_number) == "accepted"
        s.refresh(foreign)
        assert foreign.status == "in_transit"
        assert _codes(s, foreign)[-1] == ("missorted", world.pestyaki.index)
        # The van never reaches Alekhino with it: the worker records no arrival there.
        movement.advance_parcels(s, TEST_NOW + timedelta(hours=1))
        s.refresh(foreign)
        assert foreign.status == "in_transit"
        assert ("arrived_at_office", ALEKHINO) not in _codes(s, foreign)
        report = _close(world, acceptance)
        assert _numbers(report.missorted) == [foreign.tracking_number]
        assert report.missing == []

    def test_a_run_with_several_places(self, world: OfficeWorld) -> None:
        s = world.session
        order = world.parcel(walk=(), places=BOXES, parcel={"declared_value_kop": 150000})
        numbers = [p.tracking_number for p in shipment_service.places_of(s, order)]
        for code in ("handed_over", "departed_hub"):
            for number in numbers:
                shipment_service.record_scan(
                    s,
                    tracking_number=number,
                    code=code,
                    occurred_at=world.clock.now(),
                    now=world.clock.now(),
                )
        depart(s, world.clock)
        _noon(world)
        acceptance = _start(world)
        view = _view(world, acceptance)
        assert [(p.tracking_number, p.note) for p in view.expected] == [
            (numbers[0], "место 1 из 3"),
            (numbers[1], "место 2 из 3"),
            (numbers[2], "место 3 из 3"),
        ]
        assert _scan(world, acceptance, numbers[2]) == "accepted"
        assert _scan(world, acceptance, numbers[0], damaged=True) == "accepted"
        assert _scan(world, acceptance, numbers[2]) == "duplicate"
        assert [p.tracking_number for p in _view(world, acceptance).expected] == [numbers[1]]
        report = _close(world, acceptance)
        assert _numbers(report.accepted) == [numbers[2], numbers[0]]
        assert _numbers(report.missing) == [numbers[1]]
        assert report.missing[0].message == "Есть в манифесте, но не пришла (место 2 из 3)."
        assert _numbers(report.damaged) == [numbers[0]]
        s.refresh(order)
        assert order.status == "in_transit"  # place 2 is still on its way

    def test_the_timetables_arrival_does_not_hide_what_came(self, world: OfficeWorld) -> None:
        s = world.session
        came = world.parcel()
        missing = world.parcel()
        depart(s, world.clock)
        _noon(world)
        movement.advance_parcels(s, world.clock.now())  # the van's arrival, by the timetable
        s.refresh(came)
        assert came.status == "arrived_at_office"
        acceptance = _start(world)
        assert {p.tracking_number for p in _view(world, acceptance).expected} == {
            came.tracking_number,
            missing.tracking_number,
        }
        assert _scan(world, acceptance, came.tracking_number) == "accepted"
        report = _close(world, acceptance)
        assert _numbers(report.accepted) == [came.tracking_number]
        assert _numbers(report.missing) == [missing.tracking_number]

    def test_several_runs_the_clerk_chooses_and_a_run_is_accepted_once(
        self, world: OfficeWorld
    ) -> None:
        s = world.session
        first = world.parcel()
        second = world.parcel()
        depart(s, world.clock)
        late = world.parcel()
        # A second van for Pestyaki today, planned by a dispatcher, not left yet.
        s.add(
            ManifestEntry(
                route_code="PESTYAKI-2",
                departure=DEPARTURE + timedelta(hours=2),
                hub_code="DH-155650",
                shipment_id=late.id,
                office_index=world.pestyaki.index,
                stop_seq=1,
                arrival_at=DEPARTURE + timedelta(hours=2, minutes=30),
                litres=6.0,
                status="loaded",
                promised_date=None,
                rolled_to=None,
                departed_at=None,
                arrived_at=None,
                planned_at=world.clock.now(),
            )
        )
        s.flush()
        _noon(world)
        runs = office.arriving_runs(s, office=world.pestyaki, now=world.clock.now())
        assert [(r.id, r.parcels, r.departed) for r in runs] == [
            (RUN, 2, True),
            ("PESTYAKI-2@2026-11-25T10:30:00Z", 1, False),
        ]
        with pytest.raises(RunRefused, match="приходят 2 рейса: выберите"):
            _start(world)
        with pytest.raises(RunRefused, match="не приходит"):
            _start(world, f"{ROUTE}@2026-11-24T08:30:00Z")
        acceptance = _start(world, RUN)
        assert _scan(world, acceptance, first.tracking_number) == "accepted"
        _close(world, acceptance)
        # The rest of the van is unloaded later: a second acceptance of the same run expects
        # only what the first did not take.
        again = _start(world, RUN)
        assert again.id != acceptance.id
        assert [p.tracking_number for p in _view(world, again).expected] == [second.tracking_number]
        assert _scan(world, again, first.tracking_number) == "already_here"
        assert _scan(world, again, second.tracking_number) == "accepted"
        assert _close(world, again).missing == []
        made = office.arriving_runs(s, office=world.pestyaki, now=world.clock.now())
        assert {r.id: r.acceptance_id for r in made}[RUN] == again.id


class TestAcceptanceOutsideARun:
    def test_nothing_is_expected_and_another_offices_parcel_is_missorted(
        self, world: OfficeWorld
    ) -> None:
        s = world.session
        ours = world.parcel()
        foreign = world.parcel(to=ALEKHINO)
        waiting = world.parcel()  # on its way, never scanned: not missing (nothing expected)
        _noon(world)
        assert office.arriving_runs(s, office=world.pestyaki, now=world.clock.now()) == []
        acceptance = _start(world)
        assert acceptance.route_code is None
        view = _view(world, acceptance)
        assert (view.run, view.expected) == (None, [])
        assert _scan(world, acceptance, ours.tracking_number) == "accepted"
        assert _scan(world, acceptance, foreign.tracking_number) == "other_office"
        report = _close(world, acceptance)
        assert _numbers(report.accepted) == [ours.tracking_number]
        assert report.missing == []
        assert report.extra == []
        assert _numbers(report.missorted) == [foreign.tracking_number]
        s.refresh(waiting)
        assert waiting.status == "in_transit"

    def test_without_a_run_when_runs_arrive(self, world: OfficeWorld) -> None:
        s = world.session
        on_run = world.parcel()
        depart(s, world.clock)
        _noon(world)
        acceptance = _start(world, office.NO_RUN)
        assert acceptance.route_code is None
        assert _scan(world, acceptance, on_run.tracking_number) == "accepted"
        assert _close(world, acceptance).missing == []
