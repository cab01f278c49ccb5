"""How values are shown to people: money, numbers and moments in a local zone.

Everything goes through Babel with the Russian locale (``ru_RU``), whose CLDR data ships
with the package (no network). Stored times are UTC; each function takes the IANA zone of
the office or region the reader stands in, so a receipt in Novosibirsk shows Novosibirsk
hours.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from babel.numbers import format_percent as _format_percent

LOCALE = "ru_RU"
TIME = "HH:mm"
DAY = "dd.MM.yyyy"
DAY_AND_TIME = "dd.MM.yyyy HH:mm"


def format_roubles(kopecks: int) -> str:
    """150050 → ``1 500,50 ₽`` (the locale's grouping and sign)."""
    return format_currency(Decimal(kopecks).scaleb(-2), "RUB", locale=LOCALE)


def format_number(value: float | int | Decimal, digits: int = 0) -> str:
    """A number with the locale's grouping and ``digits`` decimals: ``12 345,6``."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def format_percent(share: float | Decimal, digits: int = 1) -> str:
    """A share (0.123) as a percentage: ``12,3 %``."""
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "\u00a0%"
    return _format_percent(share, format=pattern, locale=LOCALE)


def local_moment(moment: datetime, zone: str) -> datetime:
    """The aware ``moment`` as a wall-clock time in ``zone``."""
    return moment.astimezone(ZoneInfo(zone))


def local_day(moment: datetime, zone: str) -> date:
    """The calendar day ``moment`` falls on in ``zone``."""
    return local_moment(moment, zone).date()


def format_day(day: date) -> str:
    """``07.12.2026``."""
    return format_date(day, DAY, locale=LOCALE)


def format_local_time(moment: datetime, zone: str) -> str:
    """The hour and minute of ``moment`` in ``zone``: ``14:05``."""
    return format_datetime(moment, TIME, tzinfo=ZoneInfo(zone), locale=LOCALE)


def format_local_date(moment: datetime, zone: str) -> str:
    """The day of ``moment`` in ``zone``: ``07.12.2026``."""
    return format_datetime(moment, DAY, tzinfo=ZoneInfo(zone), locale=LOCALE)


def format_local_datetime(moment: datetime, zone: str) -> str:
    """The day and time of ``moment`` in ``zone``: ``07.12.2026 14:05``."""
    return format_datetime(moment, DAY_AND_TIME, tzinfo=ZoneInfo(zone), locale=LOCALE)


def plural(count: int, one: str, few: str, many: str) -> str:
    """The form of a Russian noun phrase for ``count`` (the locale's plural rule):
    1 код, 3 кода, 5 кодов, 21 код."""
    form = Locale.parse(LOCALE).plural_form(count)
    return {"one": one, "few": few}.get(form, many)
