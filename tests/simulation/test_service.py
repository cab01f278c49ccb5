"""The simulation through the real services: determinism and conservation on a short run."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.kit.clock import FrozenClock
from selpo.models import (
    CollectionBag,
    CustomerReturn,
    District,
    ManifestEntry,
    PostOffice,
    ReturnLeg,
    ReturnLegItem,
    Settlement,
    Shipment,
    ShipmentItem,
    TrackingEvent,
)
from selpo.planning.service import resolve_region
from selpo.shipment.rules import cod_due
from selpo.simulation import engine, report
from selpo.simulation.demand import Assignment, daily_orders, unstaffed
from selpo.simulation.service import (
    ServiceOperations,
    SimulationConfig,
    SimulationResult,
    _load_offices,
    _load_places,
    prepare,
    simulate,
)
from tests.conftest import TEST_NOW
from tests.planning.regions import add_region

CONFIG = SimulationConfig(days=5, seed=7, scale=0.05)
FINAL = {"delivered", "partially_delivered", "returned", "cancelled", "lost"}
IN_FLIGHT = {
    "created",
    "handed_over",
    "in_transit",
    "arrived_at_office",
    "ready_for_pickup",
    "refused",
    "storage_expired",
    "returning",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationResult, Path]:
    folder = tmp_path_factory.mktemp("sim-a")
    result = simulate(CONFIG, folder=folder)
    report.write(report.compute(result), folder / "report", title="a")
    return result, folder / "report"


def test_same_seed_same_files(run: tuple[SimulationResult, Path], tmp_path: Path) -> None:
    again = simulate(CONFIG, folder=tmp_path)
    report.write(report.compute(again), tmp_path / "report", title="a")
    for name in ("kpi.csv", "offices.csv", "returns.csv", "index.html"):
        assert (tmp_path / "report" / name).read_bytes() == (run[1] / name).read_bytes()


def test_every_order_is_accounted_for(run: tuple[SimulationResult, Path]) -> None:
    result, _ = run
    totals = result.totals
    assert totals.orders > 0
    assert totals.orders == totals.unserved + totals.created + totals.refused_at_creation
    with session_scope(result.factory) as session:
        statuses = list(session.scalars(select(Shipment.status)))
    assert len(statuses) == totals.created
    assert all(s in FINAL | IN_FLIGHT for s in statuses)
    assert {"delivered", "ready_for_pickup"} <= set(statuses)


def test_cash_collected_is_the_cod_due_of_what_was_taken(
    run: tuple[SimulationResult, Path],
) -> None:
    result, _ = run
    due = collected = 0
    with session_scope(result.factory) as session:
        for shipment in session.scalars(select(Shipment).order_by(Shipment.id)):
            collected += shipment.cod_collected_kop
            items = list(
                session.scalars(select(ShipmentItem).where(ShipmentItem.shipment_id == shipment.id))
            )
            # Partly taken parcels go back at once (their rest rides the way back).
            partly = shipment.status in {"returning", "returned"} and any(
                i.refused_quantity for i in items
            )
            if shipment.status in {"delivered", "partially_delivered"} or partly:
                due += cod_due(
                    shipment.cod_kop,
                    shipment.declared_value_kop,
                    [(i.price_kop, i.quantity, i.refused_quantity) for i in items],
                )
    assert collected == due
    assert collected > 0
    computed = report.compute(result)
    assert computed.region.cash_kop == collected
    assert computed.region.orders == result.totals.orders


def test_what_goes_back_rides_the_return_legs_to_the_act(
    run: tuple[SimulationResult, Path],
) -> None:
    result, folder = run
    with session_scope(result.factory) as session:
        items = {(i.kind, i.ref_id): i for i in session.scalars(select(ReturnLegItem))}
        going_back = list(
            session.scalars(select(Shipment).where(Shipment.status.in_(["returning", "returned"])))
        )
        assert going_back, "five days give refusals"
        for shipment in going_back:
            item = items[("shipment", shipment.id)]
            if shipment.status == "returned":
                assert item.status == "delivered"
                assert item.act_number
                assert shipment.cell_code is None
            else:
                assert item.status != "delivered"
            if item.status != "waiting":
                assert shipment.cell_code is None  # loaded: its cell is free again
        legs = list(session.scalars(select(ReturnLeg)))
        assert legs
        for leg in legs:
            assert leg.items <= leg.capacity_parcels
            assert leg.litres <= leg.capacity_litres + 1e-6
        kinds = {kind for kind, _ in items}
        # The bags and the buyers' returns are the collection's and the returns' own rows.
        bags = {b.id: b for b in session.scalars(select(CollectionBag))}
        taken = {r.id: r for r in session.scalars(select(CustomerReturn))}
        for (kind, ref_id), item in items.items():
            if kind == "partner_bag":
                assert bags[ref_id].code == item.barcode
                assert bags[ref_id].status == (
                    "at_office" if item.status == "waiting" else item.status
                )
            elif kind == "customer_return":
                assert taken[ref_id].tracking_number == item.barcode
                assert taken[ref_id].status != "registered"
    assert {"shipment", "partner_bag"} <= kinds
    computed = report.compute(result)
    way_back = computed.way_back
    assert way_back.items_loaded + way_back.still_waiting == len(items)
    assert way_back.legs == len(legs)
    assert sum(o.parcels_back for o in way_back.offices) == sum(
        1 for kind, _ in items if kind == "shipment"
    )
    assert (folder / "returns.csv").read_text(encoding="utf-8").startswith("office_index,")
    assert "Обратный путь" in (folder / "index.html").read_text(encoding="utf-8")


def _history(factory: sessionmaker[Session]) -> tuple[list[tuple[Any, ...]], ...]:
    """Every tracking event, manifest entry and shipment state of a run, by tracking number."""
    with session_scope(factory) as session:
        events = session.execute(
            select(
                Shipment.tracking_number,
                TrackingEvent.code,
                TrackingEvent.applied,
                TrackingEvent.occurred_at,
                TrackingEvent.recorded_at,
                TrackingEvent.office_index,
            )
            .join(Shipment, Shipment.id == TrackingEvent.shipment_id)
            .order_by(Shipment.tracking_number, TrackingEvent.id)
        ).all()
        entries = session.execute(
            select(
                Shipment.tracking_number,
                ManifestEntry.route_code,
                ManifestEntry.departure,
                ManifestEntry.status,
                ManifestEntry.promised_date,
                ManifestEntry.departed_at,
                ManifestEntry.arrived_at,
                ManifestEntry.planned_at,
            )
            .join(Shipment, Shipment.id == ManifestEntry.shipment_id)
            .order_by(Shipment.tracking_number, ManifestEntry.id)
        ).all()
        shipments = session.execute(
            select(
                Shipment.tracking_number,
                Shipment.status,
                Shipment.promised_date,
                Shipment.ready_at,
                Shipment.cell_code,
                Shipment.updated_at,
            ).order_by(Shipment.tracking_number)
        ).all()
    return [tuple(r) for r in events], [tuple(r) for r in entries], [tuple(r) for r in shipments]


def _run_operations(
    config: SimulationConfig, folder: Path, *, every_step_dispatch: bool
) -> sessionmaker[Session]:
    factory = prepare(config, folder)
    with session_scope(factory) as session:
        region = resolve_region(session, None)
        places = _load_places(session, region.id)
        offices, sites = _load_offices(session, region.id)
    operations = ServiceOperations(
        factory, offices, seed=config.seed, every_step_dispatch=every_step_dispatch
    )
    start = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
    engine.run(
        days=config.days,
        start=config.start,
        clock=FrozenClock(start),
        rng=random.Random(config.seed),
        demand=lambda day, rng: daily_orders(
            places, Assignment(places, sites, config.reach_km), day, rng, scale=config.scale
        ),
        operations=operations,
    )
    return factory


def test_skipping_idle_timetable_passes_changes_nothing(tmp_path: Path) -> None:
    """The simulation runs the full timetable pass only after a van left or parcels were
    handed over: the database is the one a full pass every hour gives, to the recorded
    times — also with the Ivanovo van overfull (rolled parcels, moved promises)."""
    config = SimulationConfig(days=4, seed=3, scale=0.5)
    lazy = _run_operations(config, tmp_path / "lazy", every_step_dispatch=False)
    full = _run_operations(config, tmp_path / "full", every_step_dispatch=True)
    events, entries, shipments = _history(lazy)
    assert (events, entries, shipments) == _history(full)
    assert any(status == "rolled" for _, _, _, status, *_ in entries)
    assert any(code == "arrived_at_office" for _, code, *_ in events)
    for factory in (lazy, full):
        bind = factory.kw["bind"]
        bind.dispose()


def test_an_unstaffed_office_shelves_nothing_until_its_clerk_is_back(tmp_path: Path) -> None:
    """Seed 3 keeps the town office 155710 (Savino) unstaffed on 5 and 6 November: what
    arrives there is shelved on the 7th, when the clerk is back."""
    office, absent = "155710", {date(2026, 11, 5), date(2026, 11, 6)}
    assert {d for d in absent if unstaffed(3, office, d, rural=False)} == absent
    result = simulate(SimulationConfig(days=7, seed=3, scale=0.2), folder=tmp_path)
    zone = ZoneInfo("Europe/Moscow")
    with session_scope(result.factory) as session:
        rows = session.execute(
            select(Shipment.ready_at, TrackingEvent.occurred_at)
            .join(TrackingEvent, TrackingEvent.shipment_id == Shipment.id)
            .join(PostOffice, PostOffice.id == Shipment.destination_office_id)
            .where(PostOffice.index == office, TrackingEvent.code == "arrived_at_office")
        ).all()
    result.dispose()
    shelved_on = {ready.astimezone(zone).date() for ready, _ in rows if ready is not None}
    assert not shelved_on & absent
    waited = [
        (arrived, ready)
        for ready, arrived in rows
        if ready is not None and arrived.astimezone(zone).date() in absent
    ]
    assert waited, "nothing arrived during the absence: the test tests nothing"
    assert all(ready.astimezone(zone).date() == date(2026, 11, 7) for _, ready in waited)


def test_orders_come_from_the_region_localities_only(session: Session) -> None:
    """Every locality of the region with people and a coordinate orders; a locality of
    another region in the same database never does, nor is its office a site."""
    ours = resolve_region(session, "37")
    other = add_region(session, now=TEST_NOW, at=(56.99, 40.98))
    places = _load_places(session, ours.id)
    offices, sites = _load_offices(session, ours.id)
    located = select(func.count(Settlement.id), func.sum(Settlement.population)).join(
        District, Settlement.district_id == District.id
    )
    count, people = session.execute(
        located.where(
            District.region_id == ours.id,
            Settlement.population > 0,
            Settlement.lat.is_not(None),
            Settlement.lon.is_not(None),
        )
    ).one()
    assert len(places) == count
    assert sum(p.population for p in places) == people
    assert "Соседний район" not in {p.district for p in places}
    assert other.office.index not in {s.index for s in sites}
    assert other.office.index not in {o.index for o in offices}
    theirs = _load_places(session, other.region.id)
    assert [(p.district, p.population) for p in theirs] == [("Соседний район", 1_000_000)]
    assert [s.index for s in _load_offices(session, other.region.id)[1]] == [other.office.index]
