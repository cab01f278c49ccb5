"""``selpo simulate``: run the simulation and write the report (the lead wires the command)."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from selpo.simulation import report
from selpo.simulation.service import SimulationConfig, simulate

console = Console()


def _read_indexes(path: Path) -> list[str]:
    """Office indexes, one per line (blank lines and ``#`` comments ignored; CSV: 1st column)."""
    indexes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        value = line.split("#", 1)[0].split(",", 1)[0].strip()
        if value.isdigit() and len(value) == 6:
            indexes.append(value)
    return indexes


def simulate_command(
    days: Annotated[int, typer.Option(min=1, help="Days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same figures.")] = 1,
    scale: Annotated[float, typer.Option(min=0.0, help="Demand multiplier.")] = 1.0,
    report_dir: Annotated[
        Path, typer.Option("--report", help="Folder for kpi.csv, offices.csv, index.html.")
    ] = Path("var/simulation"),
    start: Annotated[str, typer.Option(help="First simulated day (YYYY-MM-DD).")] = "2026-11-02",
    plan_offices: Annotated[
        Path | None,
        typer.Option(help="File of office indexes to connect to every marketplace first."),
    ] = None,
    connect_all: Annotated[
        bool, typer.Option(help="Connect every open office to every marketplace.")
    ] = False,
    database_url: Annotated[
        str | None, typer.Option(help="Scratch database URL (default: a temporary SQLite file).")
    ] = None,
) -> None:
    """Simulate demand on a virtual clock through the real services and report KPIs."""
    try:
        first = date.fromisoformat(start)
    except ValueError as exc:
        raise typer.BadParameter(f"not a date: {start!r}", param_hint="--start") from exc
    connect = _read_indexes(plan_offices) if plan_offices is not None else None
    if plan_offices is not None and not connect:
        raise typer.BadParameter("no office index in the file", param_hint="--plan-offices")
    config = SimulationConfig(
        days=days,
        seed=seed,
        scale=scale,
        start=first,
        url=database_url,
        connect=connect,
        connect_all=connect_all,
    )
    began = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="selpo-sim-") as scratch:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("simulating", total=days)
            result = simulate(
                config, folder=Path(scratch), progress=lambda n: progress.advance(task, n)
            )
        computed = report.compute(result)
        result.dispose()
    paths = report.write(computed, report_dir, title=f"selpo simulation, seed {seed}, {days} d")
    console.print(report.summary_line(computed, began, datetime.now(UTC)))
    for path in paths:
        console.print(f"wrote {path}")


app = typer.Typer(help="Simulate demand through the real services.")
app.command("run")(simulate_command)
