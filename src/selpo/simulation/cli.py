"""``selpo simulate``: run one scenario, or today's offices against a stored plan, and report."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import DomainError
from selpo.kit.clock import SystemClock
from selpo.simulation import history, report, scenarios
from selpo.simulation.demand import MARKETPLACE_SHARE
from selpo.simulation.service import SimulationConfig, simulate

console = Console()
err_console = Console(stderr=True)


def _read_indexes(path: Path) -> list[str]:
    """Office indexes, one per line (blank lines and ``#`` comments ignored; CSV: 1st column)."""
    indexes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        value = line.split("#", 1)[0].split(",", 1)[0].strip()
        if value.isdigit() and len(value) == 6:
            indexes.append(value)
    return indexes


@contextmanager
def _main_database() -> Iterator[Session]:
    """One transaction on the service's own database (where plans and run figures live)."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


RegionCode = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="The region's code, e.g. 37 (may be left out when the database holds one region)",
    ),
]


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def simulate_command(
    days: Annotated[int, typer.Option(min=1, help="Days to simulate.")] = 30,
    region: RegionCode = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same figures.")] = 1,
    scale: Annotated[float, typer.Option(min=0.0, help="Demand multiplier.")] = 1.0,
    report_dir: Annotated[
        Path, typer.Option("--report", help="Folder for the CSV files and index.html.")
    ] = Path("var/simulation"),
    start: Annotated[str, typer.Option(help="First simulated day (YYYY-MM-DD).")] = "2026-11-02",
    plan: Annotated[
        int | None,
        typer.Option(help="Id of a stored plan (`plan` table): connect its offices first."),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option(help="With --plan: also run today's offices and compare side by side."),
    ] = False,
    plan_offices: Annotated[
        Path | None,
        typer.Option(help="File of office indexes to connect to every marketplace first."),
    ] = None,
    connect_all: Annotated[
        bool, typer.Option(help="Connect every open office to every marketplace.")
    ] = False,
    store: Annotated[
        bool,
        typer.Option(help="Keep the figures in the service's database for the dashboard."),
    ] = True,
    database_url: Annotated[
        str | None, typer.Option(help="Scratch database URL (default: a temporary SQLite file).")
    ] = None,
) -> None:
    """Simulate demand on a virtual clock through the real services and report KPIs."""
    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {start!r}", param_hint="--start") from exc
    if compare and plan is None:
        raise typer.BadParameter("--compare needs --plan", param_hint="--compare")
    if plan is not None and (plan_offices is not None or connect_all):
        raise typer.BadParameter(
            "give one of --plan, --plan-offices, --connect-all", param_hint="--plan"
        )
    connect = _read_indexes(plan_offices) if plan_offices is not None else None
    if plan_offices is not None and not connect:
        raise typer.BadParameter("no office index in the file", param_hint="--plan-offices")
    chosen: scenarios.PlanScenario | None = None
    try:
        with _main_database() as session:
            if plan is not None:
                chosen = scenarios.plan_scenario(session, plan)
                if region is not None and chosen.region not in (None, region):
                    raise _fail(f"plan {plan} is for region {chosen.region}, not {region}")
                region = region or chosen.region
            if region is None:
                region = scenarios.default_region(session)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    today = SimulationConfig(
        days=days,
        region=region,
        seed=seed,
        scale=scale,
        start=first,
        url=database_url,
        connect=connect,
        connect_all=connect_all,
    )
    runs: list[tuple[str, SimulationConfig, int | None]] = []
    if chosen is None:
        label = "Все отделения" if connect_all else "Свой список" if connect else "Сегодня"
        runs.append((label, today, None))
    else:
        if chosen.marketplace not in MARKETPLACE_SHARE:
            raise _fail(f"the simulation has no demand for marketplace {chosen.marketplace!r}")
        if compare:
            runs.append(("Сегодня", today, None))
        planned = replace(today, connect=chosen.indexes, connect_marketplace=chosen.marketplace)
        runs.append((chosen.label, planned, plan))
    if database_url is not None and len(runs) > 1:
        raise typer.BadParameter(
            "--compare runs two scenarios: each needs its own scratch database",
            param_hint="--database-url",
        )

    try:
        compared = _run_all(runs, report_dir, days=days, seed=seed)
    except DomainError as exc:
        raise _fail(exc.message) from exc
    if store:
        _store(compared, runs)


def _run_all(
    runs: list[tuple[str, SimulationConfig, int | None]], report_dir: Path, *, days: int, seed: int
) -> list[tuple[report.Scenario, float, str]]:
    """Run every scenario; write each report (in sub-folders when comparing)."""
    compared: list[tuple[report.Scenario, float, str]] = []
    for number, (label, config, _) in enumerate(runs, start=1):
        began = datetime.now(UTC)
        with tempfile.TemporaryDirectory(prefix="selpo-sim-") as scratch:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(f"simulating: {label}", total=days)
                result = simulate(
                    config, folder=Path(scratch), progress=partial(progress.advance, task)
                )
            computed = report.compute(result)
            with session_scope(result.factory) as session:
                connected = scenarios.connected_offices(session, result.region)
            result.dispose()
        finished = datetime.now(UTC)
        folder = report_dir / report.scenario_folder(number) if len(runs) > 1 else report_dir
        title = f"selpo simulation: {label}, seed {seed}, {days} d"
        paths = report.write(computed, folder, title=title)
        console.print(f"{label}: {report.summary_line(computed, began, finished)}")
        for path in paths:
            console.print(f"wrote {path}")
        scenario = report.Scenario(label, connected, computed)
        compared.append((scenario, (finished - began).total_seconds(), result.region))
    if len(compared) > 1:
        title = f"selpo simulation: {' vs '.join(s.label for s, _, _ in compared)}"
        for path in report.write_comparison([s for s, _, _ in compared], report_dir, title=title):
            console.print(f"wrote {path}")
    return compared


def _store(
    compared: list[tuple[report.Scenario, float, str]],
    runs: list[tuple[str, SimulationConfig, int | None]],
) -> None:
    now = datetime.now(UTC)
    group = f"comparison-{now:%Y%m%dT%H%M%S}" if len(compared) > 1 else None
    with _main_database() as session:
        if not inspect(session.connection()).has_table("simulation_run"):
            console.print(
                "[yellow]figures not kept for the dashboard:[/yellow] the service's database "
                "is not migrated (`selpo db upgrade`)"
            )
            return
        for (scenario, seconds, region), (_, config, plan_id) in zip(compared, runs, strict=True):
            kept = scenarios.record_run(
                session,
                report=scenario.report,
                config=config,
                kind="scenario",
                label=scenario.label,
                connected=scenario.connected_offices,
                seconds=seconds,
                now=now,
                comparison=group,
                plan_id=plan_id,
                region=region,
            )
            console.print(f"kept as simulation run {kept.id} for the dashboard")


def history_command(
    days: Annotated[int, typer.Option(min=1, max=60, help="Days of history before today.")] = 7,
    scale: Annotated[float, typer.Option(min=0.0, help="Demand multiplier.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    region: RegionCode = None,
    if_empty: Annotated[
        bool, typer.Option(help="Do nothing (and succeed) when the database holds parcels.")
    ] = False,
) -> None:
    """Load a SIMULATED history of the last days into the service's database (a demo region)."""
    engine = create_db_engine(Settings().database_url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as session:
            full = history.has_parcels(session)
        if full and if_empty:
            console.print("the database holds parcels: no simulated history loaded")
            return
        today = SystemClock().now().date()
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("simulating the last days", total=days)
            try:
                loaded = history.load_history(
                    factory,
                    today=today,
                    days=days,
                    seed=seed,
                    scale=scale,
                    region=region,
                    progress=partial(progress.advance, task),
                )
            except DomainError as exc:
                raise _fail(exc.message) from exc
    finally:
        engine.dispose()
    kpi = loaded.report.region
    console.print(
        f"simulated history loaded (run {loaded.run_id}): {loaded.days} days from "
        f"{loaded.first_day}, {kpi.shipments} parcels, {kpi.delivered} delivered. "
        "These parcels are SYNTHETIC (order ids SIM-…)."
    )
