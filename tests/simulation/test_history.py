"""The simulated history ``make run`` loads: into an empty database only, kept as a run."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from selpo.db import session_scope
from selpo.models import Shipment, SimulationRun
from selpo.planning.service import resolve_region
from selpo.simulation import history
from selpo.simulation.service import SimulationConfig, prepare

TODAY = date(2026, 11, 25)


def test_history_fills_the_days_before_today_once(tmp_path: Path) -> None:
    factory = prepare(SimulationConfig(days=1, start=date(2026, 11, 20)), tmp_path)
    loaded = history.load_history(factory, today=TODAY, days=2, scale=0.03, seed=5)
    assert loaded.first_day == date(2026, 11, 23)
    with session_scope(factory) as session:
        created = list(session.scalars(select(Shipment.created_at)))
        run = history.simulated_history(session)
        orders = list(session.scalars(select(Shipment.external_order_id)))
    assert created, "the history made no parcel"
    assert all(
        datetime(2026, 11, 23, tzinfo=UTC) <= c < datetime(2026, 11, 25, tzinfo=UTC)
        for c in created
    )
    assert all(o.startswith("SIM-") for o in orders)
    assert run is not None
    assert run.id == loaded.run_id
    assert run.kind == "history"
    assert run.label == "Смоделированная история: 23.11.2026–24.11.2026"
    assert run.region["shipments"] == str(len(created))
    with session_scope(factory) as session:
        assert run.region_id == resolve_region(session, None).id

    with pytest.raises(history.HistoryRefused):
        history.load_history(factory, today=TODAY, days=2, scale=0.03, seed=5)
    with session_scope(factory) as session:
        assert session.scalar(select(func.count(Shipment.id))) == len(created)
        assert session.scalar(select(func.count(SimulationRun.id))) == 1
    bind = factory.kw["bind"]
    bind.dispose()
