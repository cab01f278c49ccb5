"""The commands: one scenario, today's offices against a stored plan, a history."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from selpo.db import session_scope
from selpo.kit.clock import FrozenClock
from selpo.models import Region, Shipment, SimulationRun
from selpo.planning import service as planning_service
from selpo.planning.schemas import PlanCreate
from selpo.planning.service import resolve_region
from selpo.simulation.cli import history_command, simulate_command
from selpo.simulation.service import SimulationConfig, prepare
from tests.conftest import TEST_NOW


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("simulate")(simulate_command)
    app.command("simulate-history")(history_command)
    return app


@pytest.fixture
def main_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    """The service's own database (region, timetable, one stored plan of 3 offices)."""
    factory = prepare(SimulationConfig(days=1, start=date(2026, 11, 2)), tmp_path / "main")
    with session_scope(factory) as session:
        planning_service.run_scenario(session, plan_in=PlanCreate(name="три", add=3), now=TEST_NOW)
    monkeypatch.setenv("SELPO_DATABASE_URL", str(factory.kw["bind"].url))
    return factory


def test_simulate_writes_the_report(tmp_path: Path, main_database: sessionmaker[Session]) -> None:
    plan = tmp_path / "plan.txt"
    plan.write_text("# offices\n155650\n", encoding="utf-8")
    args = ["simulate", "--days", "2", "--scale", "0.02", "--report", str(tmp_path / "r")]
    result = CliRunner().invoke(_app(), [*args, "--plan-offices", str(plan)])
    assert result.exit_code == 0, result.output
    assert "orders" in result.output
    for name in ("kpi.csv", "offices.csv", "index.html"):
        assert (tmp_path / "r" / name).is_file()
    assert (tmp_path / "r" / "kpi.csv").read_text(encoding="utf-8").startswith("area,orders")
    with session_scope(main_database) as session:
        kept = session.scalars(select(SimulationRun)).one()
    assert (kept.label, kept.kind, kept.comparison) == ("Свой список", "scenario", None)
    assert kept.region_id == _region_id(main_database)


def _region_id(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as session:
        return resolve_region(session, None).id


def test_the_region_must_be_named_when_the_database_holds_several(
    tmp_path: Path, main_database: sessionmaker[Session]
) -> None:
    with session_scope(main_database) as session:
        session.add(Region(code="33", name="Регион 33", timezone="Europe/Moscow"))
    report_dir = tmp_path / "r"
    refused = CliRunner().invoke(_app(), ["simulate", "--days", "1", "--report", str(report_dir)])
    assert refused.exit_code == 2
    assert "--region" in " ".join(refused.output.split())
    # A region the reference does not know is refused before any day is simulated.
    absent = CliRunner().invoke(
        _app(), ["simulate", "--days", "1", "--region", "99", "--report", str(report_dir)]
    )
    assert absent.exit_code == 2
    assert "unknown region '99'" in " ".join(absent.output.split())
    # A plan is simulated in its own region.
    wrong = CliRunner().invoke(_app(), ["simulate", "--days", "1", "--plan", "1", "--region", "33"])
    assert wrong.exit_code == 2
    assert "is for region" in " ".join(wrong.output.split())
    assert not report_dir.exists()
    with session_scope(main_database) as session:
        assert session.scalars(select(SimulationRun)).first() is None


def test_today_against_a_stored_plan_side_by_side(
    tmp_path: Path, main_database: sessionmaker[Session]
) -> None:
    args = ["simulate", "--days", "2", "--scale", "0.03", "--plan", "1", "--compare"]
    result = CliRunner().invoke(_app(), [*args, "--report", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    with (tmp_path / "r" / "comparison.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["figure", "unit", "Сегодня", "План №1 «три»: +3 OZON", "difference"]
    figures = {r[0]: r[2:] for r in rows[1:]}
    today, planned, difference = figures["connected_offices"]
    assert (int(planned) - int(today), difference) == (3, "+3")
    assert figures["orders"][0] == figures["orders"][1], "the same seed, the same demand"
    assert int(figures["unserved"][1]) <= int(figures["unserved"][0])
    for n in (1, 2):
        assert (tmp_path / "r" / f"scenario-{n}" / "kpi.csv").is_file()
    with session_scope(main_database) as session:
        kept = list(session.scalars(select(SimulationRun).order_by(SimulationRun.id)))
    assert [k.label for k in kept] == ["Сегодня", "План №1 «три»: +3 OZON"]
    assert kept[0].comparison is not None
    assert kept[0].comparison == kept[1].comparison
    assert kept[1].plan_id == 1
    assert [k.connected_offices for k in kept] == [int(today), int(planned)]
    assert kept[0].region_id == kept[1].region_id == _region_id(main_database)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare"], "--compare needs --plan"),
        (["--plan", "99"], "no plan has id 99"),
        (["--plan", "1", "--connect-all"], "give one of"),
    ],
)
def test_bad_scenarios_are_refused_and_nothing_is_kept(
    tmp_path: Path, main_database: sessionmaker[Session], args: list[str], message: str
) -> None:
    report_dir = tmp_path / "r"
    result = CliRunner().invoke(
        _app(), ["simulate", "--days", "1", "--report", str(report_dir), *args]
    )
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not report_dir.exists()
    with session_scope(main_database) as session:
        assert session.scalars(select(SimulationRun)).first() is None


def test_history_goes_into_an_empty_database_only(
    main_database: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("selpo.simulation.cli.SystemClock", lambda: FrozenClock(TEST_NOW))
    args = ["simulate-history", "--days", "1", "--scale", "0.03"]
    first = CliRunner().invoke(_app(), args)
    assert first.exit_code == 0, first.output
    assert "SYNTHETIC" in first.output
    with session_scope(main_database) as session:
        count = len(list(session.scalars(select(Shipment.id))))
        run = session.scalars(select(SimulationRun)).one()
    assert count > 0
    assert run.region_id == _region_id(main_database)
    again = CliRunner().invoke(_app(), [*args, "--if-empty"])
    assert again.exit_code == 0
    assert "no simulated history loaded" in again.output
    refused = CliRunner().invoke(_app(), args)
    assert refused.exit_code == 2
    assert "already holds shipments" in " ".join(refused.output.split())
    with session_scope(main_database) as session:
        assert len(list(session.scalars(select(Shipment.id)))) == count
