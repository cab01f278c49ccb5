"""The Jinja2 environment of the pages and the filters that speak Russian.

Every figure, sum and moment goes through ``selpo.kit.display`` (Babel, ``ru_RU``); the
filters here only pick the function and the zone. Times are stored in UTC and shown in a local
zone: pages set ``tz`` in the template's context (the office's zone at the workstation, the
region's on the dashboard, the hub's region's on the dispatcher's pages) and the
``hm``/``dmy``/``dmyhm`` filters read it, unless a zone is passed (``run.departure|hm(zone)``,
for a page showing hubs of several regions). There is no default zone: a page that shows a
time without saying whose is a bug, and the filter says so.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from selpo.kit.display import (
    format_day,
    format_local_date,
    format_local_datetime,
    format_local_time,
    format_number,
    format_percent,
    format_roubles,
)
from selpo.web import TEMPLATES_DIR, static_url

MINUS = "\u2212"  # a typographic minus before a figure


def _zone(context: Context, zone: str | None) -> str:
    chosen = zone or context.get("tz")
    if not chosen:
        raise LookupError(f"template {context.name!r} shows a time but its context has no 'tz'")
    return str(chosen)


@pass_context
def hm(context: Context, moment: datetime | None, zone: str | None = None) -> str:
    """Local ``HH:MM``."""
    return format_local_time(moment, _zone(context, zone)) if moment else ""


@pass_context
def dmy(context: Context, moment: datetime | date | None, zone: str | None = None) -> str:
    """Local ``DD.MM.YYYY`` of a moment; a calendar day as it is."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return format_local_date(moment, _zone(context, zone))
    return format_day(moment)


@pass_context
def dmyhm(context: Context, moment: datetime | None, zone: str | None = None) -> str:
    """Local ``DD.MM.YYYY HH:MM``."""
    return format_local_datetime(moment, _zone(context, zone)) if moment else ""


def rub(kopecks: int | None) -> str:
    """Kopecks as roubles: ``1 500,00 ₽``."""
    return "" if kopecks is None else format_roubles(kopecks)


def kg(grams: int) -> str:
    """Grams as kilograms: ``1,2 кг``."""
    return format_number(grams / 1000, 1) + "\u00a0кг"


def spaced(tracking_number: str) -> str:
    """A tracking number in readable groups: accepting index, month, serial, check digit."""
    n = tracking_number
    if len(n) != 14:
        return n
    return f"{n[:6]}\u00a0{n[6:8]}\u00a0{n[8:13]}\u00a0{n[13]}"


def num(value: float | None, digits: int = 0) -> str:
    """A figure with the locale's grouping and ``digits`` decimals: ``12 345``, ``−2,5``;
    ``—`` when unknown."""
    if value is None:
        return "—"
    return (MINUS if value < 0 else "") + format_number(abs(value), digits)


def pct(value: float | None, digits: int = 1) -> str:
    """A share as per cent: ``93,4 %``; ``—`` when unknown."""
    if value is None:
        return "—"
    return format_percent(value, digits)


def figure(value: float | None, unit: str) -> str:
    """A figure in its unit: ``share`` (per cent), ``kop`` (roubles), ``days``, ``count``."""
    if value is None:
        return "—"
    if unit == "share":
        return pct(value)
    if unit == "kop":
        return rub(round(value))
    if unit == "days":
        return num(value, 1) + "\u00a0дн."
    return num(value)


def difference(value: float | None, unit: str) -> str:
    """A difference with its sign: ``+113``, ``−2,3 п. п.``, ``+1 500,00 ₽``."""
    if value is None:
        return "—"
    if abs(value) < 1e-9:
        return "0"
    sign = "+" if value > 0 else MINUS
    if unit == "share":
        return sign + num(abs(value) * 100, 1) + "\u00a0п.\u00a0п."
    return sign + figure(abs(value), unit)


def hours(value: float | None) -> str:
    """A waiting time given in hours: ``25 мин``, ``3,5 ч``, ``2,1 дн.``; ``—`` when unknown."""
    if value is None:
        return "—"
    if value < 1:
        return format_number(value * 60, 0) + "\u00a0мин"
    if value < 48:
        return format_number(value, 1) + "\u00a0ч"
    return format_number(value / 24, 1) + "\u00a0дн."


def make_templates() -> Jinja2Templates:
    """The page templates with selpo's filters."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    filters: dict[str, Any] = {
        "hm": hm,
        "dmy": dmy,
        "dmyhm": dmyhm,
        "rub": rub,
        "kg": kg,
        "spaced": spaced,
        "num": num,
        "pct": pct,
        "figure": figure,
        "difference": difference,
        "hours": hours,
    }
    templates.env.filters.update(filters)
    templates.env.globals["static"] = static_url  # {{ static('office/office.css') }}
    templates.env.trim_blocks = True
    templates.env.lstrip_blocks = True
    return templates


templates = make_templates()
