"""The command-line composition root: thin commands over the same services as the API."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table

from selpo.collection.cli import partner_app
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import DomainError
from selpo.jobs_cli import jobs_app
from selpo.kit.clock import SystemClock
from selpo.logistics.cli import timetable_app
from selpo.marketplace import service as marketplace_service
from selpo.network import regions
from selpo.network import service as network_service
from selpo.network.importer import import_region as run_import
from selpo.office import auth as office_auth
from selpo.office.cli import clerk_app
from selpo.payout import rules as payout_rules
from selpo.payout import service as payout_service
from selpo.planning.cli import plan_app
from selpo.region_cli import describe, region_app
from selpo.simulation.cli import history_command, simulate_command
from selpo.worker import run_worker, start_background_worker

app = typer.Typer(
    help="selpo: marketplace orders to village post offices.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(plan_app, name="plan")
app.add_typer(clerk_app, name="clerk")
app.add_typer(timetable_app, name="timetable")
app.add_typer(jobs_app, name="jobs")
app.add_typer(region_app, name="region")
app.add_typer(partner_app, name="partner")
app.command("simulate")(simulate_command)
app.command("simulate-history")(history_command)
marketplace_app = typer.Typer(
    help="Marketplaces, their API keys and offices.", no_args_is_help=True
)
app.add_typer(marketplace_app, name="marketplace")

console = Console()
err_console = Console(stderr=True)


def _settings() -> Settings:
    return Settings()


def http_app() -> FastAPI:
    """The application of one server process (``selpo serve --workers N`` starts N)."""
    from selpo.app import create_app

    return create_app(_settings())


@app.callback()
def main() -> None:
    """selpo: marketplace orders to village post offices."""


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database."""
    from selpo.migrate import upgrade_to_head

    settings = _settings()
    engine = create_db_engine(settings.database_url)
    upgrade_to_head(engine)
    engine.dispose()
    console.print(f"database at head: {engine.url.render_as_string(hide_password=True)}")


@app.command("import-region")
def import_region() -> None:
    """Import (or re-import) the default region (SELPO_DEFAULT_REGION; unset: the one the
    package curates); report what changed. ``selpo region import CODE`` imports any other."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    try:
        source = regions.load_source(regions.default_region(settings.default_region).code)
        with session_scope(make_session_factory(engine)) as session:
            report = run_import(
                session, source, clock=SystemClock(), marketplaces=regions.marketplace_seeds()
            )
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(describe(report))
    for error in report.refused:
        err_console.print(f"[yellow]refused[/yellow] {error}")
    console.print(f"{report.offices_total} offices loaded for region {report.region}")


@app.command("offices")
def offices(
    district: Annotated[str | None, typer.Option(help="Only this district or okrug")] = None,
    rural: Annotated[bool, typer.Option("--rural", help="Only rural offices")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List the imported post offices."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    with session_scope(make_session_factory(engine)) as session:
        rows = network_service.list_offices(
            session, district=district, rural=True if rural else None
        )
    engine.dispose()
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=1))
        return
    table = Table(title=f"{len(rows)} post offices")
    for column in ("index", "name", "district", "rural", "status", "marketplaces"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.index,
            row.name,
            row.district,
            "yes" if row.rural else "",
            row.status,
            ", ".join(row.marketplaces),
        )
    console.print(table)


@marketplace_app.command("add")
def marketplace_add(
    code: Annotated[str, typer.Argument(help="Code, e.g. OZON")],
    name: Annotated[str, typer.Argument(help="Display name")],
    storage_days: Annotated[int, typer.Option(help="Storage period in days")] = 7,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="A test key (sk_test_...): sandbox shipments only")
    ] = False,
) -> None:
    """Create a marketplace if needed and print a new API key alone on the last line."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    now = SystemClock().now()
    with session_scope(make_session_factory(engine)) as session:
        marketplace = marketplace_service.add_marketplace(
            session, code=code, name=name, storage_days=storage_days
        )
        issued = marketplace_service.issue_key(
            session, now=now, marketplace=marketplace, sandbox=sandbox
        )
        marketplace_code = marketplace.code
    engine.dispose()
    _print_key(marketplace_code, issued)


def _print_key(code: str, issued: marketplace_service.IssuedKey) -> None:
    kind = "test key for the sandbox" if issued.sandbox else "API key"
    err_console.print(f"marketplace {code}: new {kind} (shown once):")
    typer.echo(issued.secret)


@marketplace_app.command("places")
def marketplace_places(
    code: Annotated[str, typer.Argument(help="Code, e.g. OZON")],
    ready_on_first: Annotated[
        bool,
        typer.Option(
            "--ready-on-first/--all-places",
            help="An order of several places is ready when its first place is at the office "
            "(the rest announced as they come), or only once every place is (the default)",
        ),
    ],
) -> None:
    """Set when the marketplace's orders of several places are ready for pickup."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            marketplace_service.set_ready_on_first_place(
                session, code=code, ready_on_first=ready_on_first
            )
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    rule = "its first place" if ready_on_first else "every place"
    typer.echo(f"marketplace {code}: an order of several places is ready when {rule} is in")


@marketplace_app.command("key")
def marketplace_key(
    code: Annotated[str, typer.Argument(help="Marketplace code")],
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="A test key (sk_test_...): sandbox shipments only")
    ] = False,
    label: Annotated[str | None, typer.Option(help="Whose key, or what for")] = None,
) -> None:
    """Print another API key of a marketplace alone on the last line."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            marketplace = marketplace_service.get_by_code(session, code.upper())
            issued = marketplace_service.issue_key(
                session,
                now=SystemClock().now(),
                marketplace=marketplace,
                label=label,
                sandbox=sandbox,
            )
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    _print_key(code.upper(), issued)


@marketplace_app.command("set")
def marketplace_set(
    code: Annotated[str, typer.Argument(help="Marketplace code")],
    pickup_code_webhook: Annotated[
        bool | None,
        typer.Option(
            "--pickup-code-webhook/--no-pickup-code-webhook",
            help="Send the pickup code and its QR payload in shipment.ready_for_pickup "
            "(https subscriptions only)",
        ),
    ] = None,
    issue_by_document: Annotated[
        bool | None,
        typer.Option(
            "--issue-by-document/--no-issue-by-document",
            help="Let the counter hand parcels over on an identity document when the "
            "recipient has no pickup code (its type and last four characters recorded)",
        ),
    ] = None,
    return_days: Annotated[
        int | None,
        typer.Option(
            "--return-days",
            help="Days after receiving an order within which a buyer may return it at a "
            "connected office (1..365)",
        ),
    ] = None,
    refund_cash: Annotated[
        bool | None,
        typer.Option(
            "--refund-cash/--no-refund-cash",
            help="The counter pays a cash-on-delivery order's money back in cash when the "
            "buyer returns it (deducted from the day's payout)",
        ),
    ] = None,
) -> None:
    """Change a marketplace's settings (only the options given)."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            marketplace = marketplace_service.get_by_code(session, code.upper())
            if pickup_code_webhook is not None:
                marketplace_service.set_pickup_code_in_webhook(
                    marketplace, enabled=pickup_code_webhook
                )
            if issue_by_document is not None:
                marketplace_service.set_issue_by_document(marketplace, allowed=issue_by_document)
            marketplace_service.set_returns(
                marketplace, return_days=return_days, refund_cash=refund_cash
            )
            enabled = marketplace.pickup_code_in_webhook
            by_document = marketplace.issue_by_document
            days, cash = marketplace.return_days, marketplace.refund_cash_at_counter
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(
        f"{code.upper()}: pickup code in webhooks {'on' if enabled else 'off'}, "
        f"issue by identity document {'allowed' if by_document else 'not allowed'}"
    )
    console.print(
        f"{code.upper()}: returns within {days} days; cash refunds at the counter "
        f"{'on' if cash else 'off'}"
    )


@marketplace_app.command("admin-key")
def marketplace_admin_key(
    label: Annotated[str, typer.Option(help="Whose key")] = "operator",
) -> None:
    """Print a new operator (admin) API key alone on the last line."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    with session_scope(make_session_factory(engine)) as session:
        issued = marketplace_service.issue_key(
            session, now=SystemClock().now(), marketplace=None, label=label
        )
    engine.dispose()
    err_console.print("new admin API key (shown once):")
    typer.echo(issued.secret)


@marketplace_app.command("connect")
def marketplace_connect(
    code: Annotated[str, typer.Argument(help="Marketplace code")],
    indexes: Annotated[list[str] | None, typer.Argument(help="Office indexes")] = None,
    all_offices: Annotated[bool, typer.Option("--all", help="Every open office")] = False,
) -> None:
    """Connect offices to a marketplace (activate them as its pickup points)."""
    if not indexes and not all_offices:
        err_console.print("[red]error:[/red] give office indexes or --all")
        raise typer.Exit(2)
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    now = SystemClock().now()
    try:
        with session_scope(make_session_factory(engine)) as session:
            marketplace = marketplace_service.get_by_code(session, code.upper())
            changed = marketplace_service.connect_offices(
                session,
                marketplace=marketplace,
                indexes=None if all_offices else list(indexes or []),
                today=now.date(),
                now=now,
            )
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(f"{changed} offices connected to {code.upper()}")


@marketplace_app.command("keys")
def marketplace_keys(code: Annotated[str, typer.Argument(help="Marketplace code")]) -> None:
    """List a marketplace's API keys (prefixes and use, never the secrets)."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            marketplace = marketplace_service.get_by_code(session, code.upper())
            keys = marketplace_service.list_keys(session, marketplace=marketplace)
            rows = [
                (
                    k.prefix,
                    "test" if k.sandbox else "live",
                    str(k.created_at),
                    str(k.last_used_at or "-"),
                    str(k.revoked_at or "-"),
                )
                for k in keys
            ]
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    table = Table(title=f"API keys of {code.upper()}")
    for column in ("prefix", "mode", "created", "last used", "revoked"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


@marketplace_app.command("revoke")
def marketplace_revoke(prefix: Annotated[str, typer.Argument(help="Key prefix")]) -> None:
    """Revoke an API key by its prefix."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            marketplace_service.revoke_key(session, prefix=prefix, now=SystemClock().now())
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(f"key {prefix} revoked")


@marketplace_app.command("set-fee")
def marketplace_set_fee(
    code: Annotated[str, typer.Argument(help="Marketplace code")],
    rate: Annotated[str, typer.Argument(help="The fee on collected COD: 1.5% or 0.015")],
) -> None:
    """Set the operator's fee rate on the cash on delivery collected for a marketplace."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            marketplace = payout_service.set_fee_rate(session, code=code, rate=rate)
            shown = payout_rules.fee_rate_percent(marketplace.fee_rate_bp)
            marketplace_code = marketplace.code
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(f"{marketplace_code}: fee {shown} of the cash on delivery collected")


@app.command("first-start-keys")
def first_start_keys() -> None:
    """Issue and print an API key for each marketplace and the operator that has none yet, and
    the first regional manager's password."""
    settings = _settings()
    engine = create_db_engine(settings.database_url)
    with session_scope(make_session_factory(engine)) as session:
        issued = marketplace_service.issue_first_keys(session, now=SystemClock().now())
        manager = office_auth.first_manager(session, now=SystemClock().now())
    engine.dispose()
    if manager is not None:
        console.print("Regional dashboard /region (password shown once: keep it):")
        typer.echo(f"{'login':<16} {manager[0]}")
        typer.echo(f"{'password':<16} {manager[1]}")
    if not issued:
        console.print(
            "API keys were issued on the first start; "
            "`selpo marketplace add CODE NAME` issues another."
        )
        return
    # Plain lines, never a table: a key cut to the terminal's width would be lost for good.
    console.print("API keys (shown once: keep them):")
    for who, secret in issued.items():
        typer.echo(f"{who:<16} {secret}")


@app.command("worker")
def worker(
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit")] = False,
    stop_after: Annotated[
        float | None, typer.Option("--stop-after", help="Stop after this many seconds")
    ] = None,
) -> None:
    """Deliver the outbox (webhooks, SMS) and run the timed jobs until stopped."""
    _log_to_terminal()
    run_worker(_settings(), once=once, stop_after_s=stop_after)


def _log_to_terminal() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    worker: Annotated[
        bool, typer.Option(help="Also run the worker (outbox, timed jobs) in this process")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes (each has its own pool of up to 40 database connections)",
        ),
    ] = 1,
) -> None:
    """Serve the API and the web pages."""
    import uvicorn

    from selpo.app import create_app

    settings = _settings()
    application = create_app(settings)
    with session_scope(application.state.session_factory) as session:
        count = len(network_service.list_offices(session))
    base = f"http://{host}:{port}"
    console.print(f"selpo on {base} with {count} offices ({settings.database_url})")
    console.print(f"  API docs:       {base}/docs")
    console.print(f"  office:         {base}/office")
    console.print(f"  dashboard:      {base}/region")
    console.print(f"  pickup points:  {base}/v1/pickup-points?lat=56.7086&lon=42.6695")
    console.print(f"  health:         {base}/healthz")
    background = None
    _log_to_terminal()  # selpo.access: one line per request, with its id (never the query)
    if worker:
        background = start_background_worker(settings)
    if background is not None:
        console.print("  worker:         running in this process (outbox, timed jobs)")
    try:
        # uvicorn's own access line would print query strings; selpo.access replaces it.
        if workers == 1:
            uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)
        else:
            application.state.engine.dispose()  # each process builds its own application
            uvicorn.run(
                "selpo.cli:http_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=False,
            )
    finally:
        if background is not None:
            background.stop()


def run() -> None:
    """Entry point that renders domain errors as a message and an exit code."""
    try:
        app()
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise SystemExit(2) from exc
