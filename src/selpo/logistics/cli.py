"""`selpo timetable …`: the route timetable and dispatch, a thin shell over the service."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import DomainError
from selpo.kit.clock import SystemClock
from selpo.logistics import manifests, movement, timetables
from selpo.logistics.errors import RouteFileRefused
from selpo.logistics.schemas import TimetableReport

timetable_app = typer.Typer(
    help="The route timetable: generate, import, export; route runs and their manifests.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)


def _fail(exc: DomainError) -> typer.Exit:
    if isinstance(exc, RouteFileRefused):
        err_console.print("[red]error:[/red] route file refused, nothing changed:")
        for problem in exc.problems:
            err_console.print(f"  line {problem.line}: {problem.reason}")
    else:
        err_console.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(2)


def _report(report: TimetableReport, what: str) -> None:
    console.print(
        f"{what}: {report.routes} routes ({report.synthetic_routes} synthetic) from "
        f"{report.hubs} hubs, {report.stops} stops, {report.vehicles} vans, "
        f"{report.line_hauls} line-hauls; {report.offices_served} offices served; "
        f"timetable version {report.version}"
    )
    if report.offices_unserved:
        err_console.print(
            f"[yellow]{len(report.offices_unserved)} open offices on no route:[/yellow] "
            + ", ".join(report.offices_unserved[:30])
            + (" ..." if len(report.offices_unserved) > 30 else "")
        )


@timetable_app.command("generate")
def generate(
    seed: Annotated[
        int, typer.Option(help="Seed of the synthetic rule (same seed, same routes)")
    ] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Replace routes the operator loaded too")
    ] = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if there are routes already")
    ] = False,
    region: Annotated[
        str | None,
        typer.Option(help="Only this region (code or slug); the others' routes stay as they are"),
    ] = None,
) -> None:
    """Make up the synthetic route timetable from the registry (each region on its own)."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            existing = timetables.timetable_report(session)
            if if_missing and existing.routes:
                console.print(f"kept the timetable: {existing.routes} routes")
                return
            report = timetables.generate_timetable(
                session, now=SystemClock().now(), seed=seed, replace_real=force, region=region
            )
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    _report(report, "generated")


@timetable_app.command("import-routes")
def import_routes(
    file: Annotated[Path, typer.Argument(help="Route CSV (docs/logistics.md, 'Route CSV')")],
) -> None:
    """Replace the route timetable with a CSV file; a bad file changes nothing."""
    engine = create_db_engine(Settings().database_url)
    try:
        with (
            file.open(encoding="utf-8", newline="") as handle,
            session_scope(make_session_factory(engine)) as session,
        ):
            report = timetables.import_routes(session, handle, now=SystemClock().now())
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot read {file}: {exc.strerror}")
        raise typer.Exit(2) from exc
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    _report(report, f"imported {file}")


@timetable_app.command("export-routes")
def export_routes(
    file: Annotated[Path, typer.Argument(help="Where to write the CSV ('-' for stdout)")],
) -> None:
    """Write the route timetable as CSV (the format import-routes reads)."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            text = timetables.export_routes(session)
    finally:
        engine.dispose()
    if str(file) == "-":
        sys.stdout.write(text)
        return
    file.write_text(text, encoding="utf-8")
    rows = max(text.count("\n") - 1, 0)
    err_console.print(f"{rows} stops written to {file}")


@timetable_app.command("show")
def show(
    hub: Annotated[str | None, typer.Option(help="Only this hub (code or index)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List the routes of the timetable."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            routes = timetables.list_routes(session, hub=hub)
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in routes], ensure_ascii=False, indent=1))
        return
    table = Table(title=f"{len(routes)} routes")
    for column in ("route", "days", "leaves", "stops", "back after", "capacity", "vehicle"):
        table.add_column(column)
    for r in routes:
        table.add_row(
            r.id + (" *" if r.synthetic else ""),
            "|".join(r.weekdays),
            r.departure,
            str(len(r.stops)),
            f"{r.return_after_min / 60:.1f} h",
            f"{r.capacity_parcels} / {r.capacity_litres} l",
            r.vehicle,
        )
    console.print(table)
    console.print("* synthetic (made up by the documented rule, docs/logistics.md)")


@timetable_app.command("runs")
def runs(
    day: Annotated[
        str | None, typer.Option("--date", help="Local date YYYY-MM-DD (default today)")
    ] = None,
    hub: Annotated[str | None, typer.Option(help="Only this hub (code or index)")] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Plan (store) the manifests too")] = False,
) -> None:
    """The route runs of a day and their manifests."""
    now = SystemClock().now()
    try:
        wanted = date.fromisoformat(day) if day else now.date()
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] --date {day!r} is not YYYY-MM-DD")
        raise typer.Exit(2) from exc
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            if plan:
                if hub is None:
                    err_console.print("[red]error:[/red] --plan needs --hub")
                    raise typer.Exit(2)
                manifests.build_manifests(session, day=wanted, hub=hub, now=now)
            rows = manifests.list_route_runs(session, day=wanted, hub=hub)
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    table = Table(title=f"route runs on {wanted.isoformat()}")
    for column in ("run", "leaves", "stops", "manifest", "parcels", "litres"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r.id,
            r.departure_local,
            str(r.stops),
            r.manifest,
            f"{r.parcels} / {r.capacity_parcels}",
            f"{r.litres:.0f} / {r.capacity_litres}",
        )
    console.print(table)


@timetable_app.command("advance")
def advance(
    at: Annotated[
        str | None, typer.Option("--at", help="Move parcels up to this ISO 8601 moment")
    ] = None,
) -> None:
    """Depart the due route runs and record arrivals up to now (what the worker does); an
    earlier --at catches up to that moment, a future one is refused (it would record scans
    that have not happened)."""
    settings = Settings()
    now = SystemClock().now()
    if at is not None:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError as exc:
            err_console.print(f"[red]error:[/red] --at {at!r} is not ISO 8601")
            raise typer.Exit(2) from exc
        if moment.tzinfo is None:
            err_console.print("[red]error:[/red] --at needs a UTC offset")
            raise typer.Exit(2)
        skew = timedelta(minutes=settings.scan_clock_skew_minutes)
        if moment > now + skew:
            err_console.print(
                f"[red]error:[/red] --at {moment.isoformat()} is in the future (now is "
                f"{now.isoformat()}): scans are recorded only for what has happened"
            )
            raise typer.Exit(2)
        now = moment.astimezone(UTC)
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            count = movement.advance_parcels(session, now)
    finally:
        engine.dispose()
    console.print(f"{count} tracking events recorded up to {now.isoformat()}")


@timetable_app.command("warehouses")
def warehouses() -> None:
    """List the warehouses and their trucks to the sorting centre."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = timetables.list_warehouses(session)
    finally:
        engine.dispose()
    table = Table(title=f"{len(rows)} warehouses")
    for column in ("code", "name", "default", "trucks"):
        table.add_column(column)
    for w in rows:
        trucks = "; ".join(
            f"{'|'.join(h.weekdays)} {h.departure} -> {h.destination} ({h.duration_min / 60:g} h)"
            for h in w.line_hauls
        )
        table.add_row(w.code, w.name, "yes" if w.is_default else "", trucks)
    console.print(table)
