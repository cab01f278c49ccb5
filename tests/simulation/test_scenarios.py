"""Scenarios: a stored plan as the offices to connect; run figures kept for the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput, NotFound
from selpo.kit.clock import FrozenClock
from selpo.models import Plan, SimulationRun
from selpo.planning import service as planning_service
from selpo.planning.schemas import PlanCreate
from selpo.planning.service import resolve_region
from selpo.simulation import report, scenarios
from selpo.simulation.service import SimulationConfig, simulate


def test_a_connect_plan_gives_its_chosen_offices_for_its_marketplace(
    session: Session, clock: FrozenClock
) -> None:
    stored = planning_service.run_scenario(
        session, plan_in=PlanCreate(name="пять к OZON", add=5), now=clock.now()
    )
    chosen = scenarios.plan_scenario(session, stored.id)
    assert chosen.indexes == [c.index for c in stored.chosen]
    assert len(chosen.indexes) == 5
    assert chosen.marketplace == "OZON"
    assert chosen.label == f"План №{stored.id} «пять к OZON»: +5 OZON"


def test_an_unknown_plan_is_refused(session: Session) -> None:
    with pytest.raises(NotFound) as refused:
        scenarios.plan_scenario(session, 987_654)
    assert refused.value.field == "plan"


def test_a_curve_chooses_no_offices(session: Session, clock: FrozenClock) -> None:
    curve = Plan(
        name="кривая",
        kind="curve",
        marketplace_code="OZON",
        parameters={},
        status="optimal",
        objective=0.0,
        bound=0.0,
        gap=0.0,
        covered_before=None,
        covered_after=None,
        total_population=1.0,
        seconds=0.0,
        result={},
        created_at=clock.now(),
    )
    session.add(curve)
    session.flush()
    with pytest.raises(InvalidInput, match="chooses no offices"):
        scenarios.plan_scenario(session, curve.id)


def test_a_run_is_kept_with_the_report_figures(
    session: Session, clock: FrozenClock, tmp_path: Path
) -> None:
    config = SimulationConfig(days=1, seed=3, scale=0.02)
    result = simulate(config, folder=tmp_path)
    computed = report.compute(result)
    result.dispose()
    kept = scenarios.record_run(
        session,
        report=computed,
        config=config,
        kind="scenario",
        label="Сегодня",
        connected=19,
        seconds=1.5,
        now=clock.now(),
        comparison="c1",
        region=result.region,
    )
    again = session.scalars(select(SimulationRun).where(SimulationRun.id == kept.id)).one()
    assert again.region["orders"] == str(computed.region.orders)
    assert again.region["area"] == report.REGION
    assert [d["area"] for d in again.districts] == [k.area for k in computed.districts]
    assert len(again.offices) == len(computed.offices)
    assert again.statuses == computed.statuses
    assert (again.days, again.seed, again.scale, again.comparison) == (1, 3, 0.02, "c1")
    assert again.region_id == resolve_region(session, result.region).id
