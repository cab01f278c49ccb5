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
    help="Clerks, supervisors and regional managers of the workstation and the dashboard.",
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
    office_index: str | None,
    district: str | None,
    login: str,
    password: str | None,
    name: str | None,
    manager: bool = False,
) -> None:
    secret, generated = _password(password)
    engine = create_db_engine(Settings().database_url)
    now = SystemClock().now()
    try:
        with session_scope(make_session_factory(engine)) as session:
            if office_index is not None:
                clerk = auth.add_clerk(
                    session,
                    office_index=office_index,
                    login=login,
                    password=secret,
                    now=now,
                    full_name=name,
                )
                where = f"office {office_index}"
            elif manager:
                clerk = auth.add_manager(
                    session, login=login, password=secret, now=now, full_name=name
                )
                where = "manager of the region"
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


@clerk_app.command("add")
def add(
    office_index: Annotated[str, typer.Argument(help="The clerk's office index, e.g. 155650")],
    login: Annotated[str, typer.Argument(help="Login (latin lower case)")],
    password: Annotated[
        str | None, typer.Option(help="Password (default: ask, or generate and print once)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Full name")] = None,
) -> None:
    """Add a clerk of one office; a generated password is printed once, alone on the last line."""
    _run_add(office_index=office_index, district=None, login=login, password=password, name=name)


@clerk_app.command("add-supervisor")
def add_supervisor(
    district: Annotated[str, typer.Argument(help="District name, e.g. 'Пестяковский район'")],
    login: Annotated[str, typer.Argument(help="Login (latin lower case)")],
    password: Annotated[
        str | None, typer.Option(help="Password (default: ask, or generate and print once)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Full name")] = None,
) -> None:
    """Add a supervisor who may work in every office of a district."""
    _run_add(office_index=None, district=district, login=login, password=password, name=name)


@clerk_app.command("add-manager")
def add_manager(
    login: Annotated[str, typer.Argument(help="Login (latin lower case)")],
    password: Annotated[
        str | None, typer.Option(help="Password (default: ask, or generate and print once)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Full name")] = None,
) -> None:
    """Add a regional manager: the dashboard of the whole region (/region), no counter work."""
    _run_add(
        office_index=None, district=None, login=login, password=password, name=name, manager=True
    )


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
