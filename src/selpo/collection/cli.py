"""``selpo partner``: collection partners (add one, show its key once, list them).

Thin: one transaction per command over ``collection.service``; a refusal is a message and
exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from selpo.collection import printing, service
from selpo.collection.rules import material_ru
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import DomainError
from selpo.kit.clock import SystemClock

partner_app = typer.Typer(
    help="Collection partners (recyclers, charities): bags taken at the offices.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)


def _fail(exc: DomainError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(2)


@partner_app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="Code, e.g. ECOTEX")],
    name: Annotated[str, typer.Argument(help="Display name")],
    takes: Annotated[
        str, typer.Option(help="What it takes: material codes by commas (textile,knitwear)")
    ],
    offices: Annotated[
        str,
        typer.Option(
            help="Office indexes by commas, `region` (every office of the depot's region) "
            "or `region:CODE`"
        ),
    ],
    depot: Annotated[str, typer.Option(help="The hub code of its depot")],
    coupon_prefix: Annotated[
        str | None, typer.Option(help="Issue coupons with this prefix (1-8 letters, digits)")
    ] = None,
    coupon_min_kg: Annotated[
        float, typer.Option(help="A coupon for a bag of at least this many kg")
    ] = 0.0,
    coupon_note: Annotated[
        str | None, typer.Option(help="What the coupon gives, printed on the receipt")
    ] = None,
) -> None:
    """Add a collection partner (or set one anew); its key: `selpo partner key CODE`."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            partner = service.add_partner(
                session,
                code=code,
                name=name,
                takes=takes.split(","),
                offices=offices,
                depot=depot,
                now=SystemClock().now(),
                coupon_prefix=coupon_prefix,
                coupon_min_g=round(coupon_min_kg * 1000),
                coupon_note=coupon_note,
            )
            count = service.office_count(session, partner)
            line = (
                f"partner {partner.code}: takes "
                f"{', '.join(material_ru(m) for m in partner.takes)}; {count} offices; "
                f"depot {depot}"
                + (f"; coupons {partner.coupon_prefix}-…" if partner.coupon_prefix else "")
            )
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    typer.echo(line)


@partner_app.command("key")
def key(code: Annotated[str, typer.Argument(help="The partner's code")]) -> None:
    """A new key for the partner, printed alone on the last line (shown once; the one before
    stops working)."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            partner = service.get_partner(session, code)
            secret = service.issue_key(session, partner=partner, now=SystemClock().now())
            partner_code = partner.code
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    err_console.print(f"partner {partner_code}: new key (shown once):")
    typer.echo(secret)


@partner_app.command("collect")
def collect(
    code: Annotated[str, typer.Argument(help="The partner's code")],
    bag: Annotated[
        list[str] | None, typer.Option("--bag", help="A bag code scanned at the hub (repeat)")
    ] = None,
    pdf: Annotated[Path | None, typer.Option(help="Write the act's PDF to this file")] = None,
) -> None:
    """The partner takes its bags at its depot hub (the hub's operator records it when the
    partner has no integration of its own): the act's number, and its PDF if asked."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            partner = service.get_partner(session, code)
            act, created = service.make_act(
                session, partner_id=partner.id, codes=bag or None, now=SystemClock().now()
            )
            hub, zone = service.hub_name(session, act.hub)
            name = partner.name
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        engine.dispose()
    if pdf is not None:
        printed = printing.ActPrint(act=act, partner_name=name, hub_name=hub, timezone=zone)
        pdf.write_bytes(printing.render_act(printed))
    made = "made" if created else "already made for these bags"
    bags = f"{act.bags} bag" + ("" if act.bags == 1 else "s")
    typer.echo(f"act {act.number} {made}: {bags}, {act.kilograms} kg at {act.hub}")


@partner_app.command("list")
def list_command() -> None:
    """The partners: what they take, how many offices, their depot."""
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            rows = [
                (
                    p.code,
                    p.name,
                    ", ".join(p.takes),
                    str(service.office_count(session, p)),
                    "yes" if p.key_prefix else "",
                    p.coupon_prefix or "",
                )
                for p in service.list_partners(session)
            ]
    finally:
        engine.dispose()
    table = Table(title=f"{len(rows)} collection partners")
    for column in ("code", "name", "takes", "offices", "key", "coupons"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
