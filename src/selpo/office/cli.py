"""``selpo clerk …``: accounts of the office workstation."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import DomainError
from selpo.kit.clock import SystemClock
from selpo.office import auth

clerk_app = typer.Typer(
    help="Clerks, supervisors, managers and dispatchers of the workstation and the dashboard.",
    no_args_is_help=True,
)

console = Console()
err_console = Console(stderr=True)


def _password(given: str | None) -> tuple[str, bool]:
    """The password to set, and whether it was generated (then it is printed once)."""
    if given:
        return given, False
    if sys.stdin.isatty():
        typed: str = typer.prompt(
            "Password (Enter: generate one)",
            default="",
            show_default=False,
            hide_input=True,
            confirmation_prompt=False,
        )
        if typed:
            again: str = typer.prompt("Repeat the password", hide_input=True)
            if again != typed:
                err_console.print("[red]error:[/red] the passwords differ")
                raise typer.Exit(2)
            return typed, False
    return auth.generate_password(), True


def _run_add(
    *,
    login: str,
    password: str | None,
    name: str | None,
    office_index: str | None = None,
    district: str | None = None,
    role: str = "clerk",
    regions: list[str] | None = None,
) -> None:
    secret, generated = _password(password)
    engine = create_db_engine(Settings().database_url)
    now = SystemClock().now()
    try:
        with session_scope(make_session_factory(engine)) as session:
            if role == "manager" or role == "dispatcher":
                add = auth.add_manager if role == "manager" else auth.add_dispatcher
                clerk = add(
                    session,
                    login=login,
                    password=secret,
                    now=now,
                    full_name=name,
                    region_codes=regions or [],
                )
                where = f"{role} of region {', '.join(dict.fromkeys(regions or []))}"
            elif office_index is not None:
                clerk = auth.add_clerk(
                    session,
                    office_index=office_index,
                    login=login,
                    password=secret,
                    now=now,
                    full_name=name,
                )
                where = f"office {office_index}"
            else:
                assert district is not None
                clerk = auth.add_supervisor(
                    session,
                    district_name=district,
                    login=login,
                    password=secret,
                    now=now,
                    full_name=name,
                )
                where = f"district {district}"
            saved_login = clerk.login
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    if generated:
        err_console.print(f"{saved_login} ({where}): password (shown once):")
        typer.echo(secret)
    else:
        console.print(f"{saved_login} ({where}) added")


PasswordOption = Annotated[
    str | None, typer.Option(help="Password (default: ask, or generate and print once)")
]
NameOption = Annotated[str | None, typer.Option(help="Full name")]
LoginArgument = Annotated[str, typer.Argument(help="Login (latin lower case)")]
RegionsOption = Annotated[
    list[str],
    typer.Option(
        "--region",
        help="Region code, e.g. 37 (repeat for several regions; see `selpo region list`)",
    ),
]


@clerk_app.command("add")
def add(
    office_index: Annotated[
        str, typer.Argument(help="The clerk's office: its six-digit postal index")
    ],
    login: LoginArgument,
    password: PasswordOption = None,
    name: NameOption = None,
) -> None:
    """Add a clerk of one office; a generated password is printed once, alone on the last line."""
    _run_add(office_index=office_index, login=login, password=password, name=name)


@clerk_app.command("add-supervisor")
def add_supervisor(
    district: Annotated[str, typer.Argument(help="District name, e.g. 'Пестяковский район'")],
    login: LoginArgument,
    password: PasswordOption = None,
    name: NameOption = None,
) -> None:
    """Add a supervisor who may work in every office of a district."""
    _run_add(district=district, role="supervisor", login=login, password=password, name=name)


@clerk_app.command("add-manager")
def add_manager(
    login: LoginArgument,
    region: RegionsOption,
    password: PasswordOption = None,
    name: NameOption = None,
) -> None:
    """Add a manager of regions: their dashboards (/region), no counter work."""
    _run_add(role="manager", regions=region, login=login, password=password, name=name)


@clerk_app.command("add-dispatcher")
def add_dispatcher(
    login: LoginArgument,
    region: RegionsOption,
    password: PasswordOption = None,
    name: NameOption = None,
) -> None:
    """Add a dispatcher of regions: the route runs and manifests of their district hubs
    (/office/dispatch)."""
    _run_add(role="dispatcher", regions=region, login=login, password=password, name=name)


@clerk_app.command("add-region")
def add_region(login: LoginArgument, region: RegionsOption) -> None:
    """Give a manager or dispatcher more regions (e.g. one imported after the account was made)."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            auth.grant_regions(session, login=login, region_codes=region)
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(f"{login}: region {', '.join(dict.fromkeys(region))} granted")


@clerk_app.command("list")
def list_clerks() -> None:
    """List the accounts (never the passwords)."""
    engine = create_db_engine(Settings().database_url)
    with session_scope(make_session_factory(engine)) as session:
        rows = [
            (c.login, c.role, where, c.full_name or "", str(c.locked_until or "-"))
            for c, where in auth.list_clerks(session)
        ]
    engine.dispose()
    table = Table(title=f"{len(rows)} accounts")
    for column in ("login", "role", "works in", "name", "locked until"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


@clerk_app.command("unlock")
def unlock(login: Annotated[str, typer.Argument(help="Login")]) -> None:
    """Lift a lock-out after too many wrong passwords."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            auth.unlock(session, login=login)
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(f"{login} unlocked")


@clerk_app.command("password")
def password(
    login: Annotated[str, typer.Argument(help="Login")],
    new: Annotated[
        str | None, typer.Option("--password", help="New password (default: ask or generate)")
    ] = None,
) -> None:
    """Set a new password (ends the clerk's open sessions)."""
    secret, generated = _password(new)
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            auth.set_password(session, login=login, password=secret, now=SystemClock().now())
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    if generated:
        err_console.print(f"{login}: new password (shown once):")
        typer.echo(secret)
    else:
        console.print(f"{login}: password changed")
