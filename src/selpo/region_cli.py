"""``selpo region``: import any region of the reference (with its synthetic timetable), list the
regions in the database. An entry point beside ``cli.py`` (like ``jobs_cli.py``): it composes the
network domain and logistics, which ``network`` itself may not import.

Thin: the region's data comes from ``network.regions``, the import from
``network.importer``, the region's synthetic timetable from ``logistics.timetables``; one
transaction per region.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session

from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import DomainError, InvalidInput
from selpo.kit.clock import FrozenClock, SystemClock
from selpo.logistics import timetables
from selpo.logistics.errors import RealTimetableExists
from selpo.network import regions
from selpo.network import service as network_service
from selpo.network.importer import ImportReport, import_region
from selpo.network.sources import RegionSource

region_app = typer.Typer(
    help="Regions: import one (or every one) from the reference data, list them.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)


def describe(report: ImportReport) -> str:
    """One line of what an import did."""
    return (
        f"region {report.region}: offices {len(report.added)} added, "
        f"{len(report.changed)} changed, {len(report.unchanged)} unchanged, "
        f"{len(report.closed)} closed; {report.settlements} localities "
        f"({report.settlements_added} added, {report.settlements_changed} changed), "
        f"{report.districts} districts, {report.hubs} hubs; "
        f"{report.connections_added} marketplace connections seeded"
    )


def import_with_timetable(session: Session, source: RegionSource) -> tuple[ImportReport, str]:
    """Import a region, then make up its synthetic timetable unless the operator loaded its
    routes; returns the report and a line about the timetable."""
    now = SystemClock().now()
    report = import_region(
        session, source, clock=FrozenClock(now), marketplaces=regions.marketplace_seeds()
    )
    try:
        made = timetables.generate_timetable(session, now=now, region=source.info.code)
    except RealTimetableExists:
        return report, "timetable: kept the operator's routes"
    except InvalidInput as exc:  # no hub or no open office: nothing to route
        return report, f"timetable: none ({exc.message})"
    return report, f"timetable: synthetic, version {made.version}"


def import_one(settings: Settings, code_or_name: str) -> tuple[ImportReport, str]:
    """Import one region and its timetable in one transaction."""
    source = regions.load_source(code_or_name)
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return import_with_timetable(session, source)
    finally:
        engine.dispose()


@region_app.command("import")
def import_command(
    region: Annotated[
        str | None, typer.Argument(help="Region code (33) or name (vladimir, Владимирская)")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Import every region of the reference")] = (
        False
    ),
) -> None:
    """Import (or re-import) a region: districts, localities, offices, hubs, warehouses."""
    settings = Settings()
    if every == (region is not None):
        err_console.print("[red]error:[/red] name one region, or --all")
        raise typer.Exit(2)
    try:
        if region is not None:
            report, timetable = import_one(settings, region)
            console.print(describe(report))
            console.print(timetable)
            for error in report.refused:
                err_console.print(f"[yellow]refused[/yellow] {error}")
            return
        known = regions.known_regions()
        refused = 0
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
        ) as progress:
            task = progress.add_task("regions", total=len(known))
            for info in known:
                progress.update(task, description=f"{info.code} {info.name}")
                report, _timetable = import_one(settings, info.code)
                refused += len(report.refused)
                progress.console.print(describe(report))
                progress.advance(task)
        console.print(f"{len(known)} regions imported; {refused} rows refused")
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc


@region_app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    all_known: Annotated[
        bool, typer.Option("--all-known", help="Also the reference's regions not imported yet")
    ] = False,
) -> None:
    """The regions in the database: code, name, time zone, offices, localities, population."""
    settings = Settings()
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = network_service.region_summaries(session)
    finally:
        engine.dispose()
    if all_known:
        rows = network_service.with_known_regions(rows, regions.known_regions())
    if as_json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=1)
        )
        return
    table = Table(title=f"{sum(r.imported for r in rows)} regions in the database")
    for column in ("code", "name", "time zone", "offices", "localities", "population"):
        table.add_column(column, justify="right" if column in {"offices", "localities"} else "left")
    for row in rows:
        table.add_row(
            row.code,
            row.name if row.imported else f"[dim]{row.name}[/dim]",
            row.timezone,
            str(row.offices) if row.imported else "",
            str(row.localities) if row.imported else "",
            f"{row.population:,}".replace(",", " ") if row.population else "",
        )
    console.print(table)
