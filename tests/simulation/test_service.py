"""The simulation through the real services: determinism and conservation on a short run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from selpo.db import session_scope
from selpo.models import Shipment, ShipmentItem
from selpo.shipment.rules import cod_due
from selpo.simulation import report
from selpo.simulation.service import SimulationConfig, SimulationResult, simulate

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
    for name in ("kpi.csv", "offices.csv", "index.html"):
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
            if shipment.status in {"delivered", "partially_delivered"}:
                items = session.scalars(
                    select(ShipmentItem).where(ShipmentItem.shipment_id == shipment.id)
                )
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
