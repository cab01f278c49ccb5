"""A day typed into a staff page: ``ДД.ММ.ГГГГ`` as the pages show it (the date picker of
``static/region/datepicker.js`` writes it), or ISO ``ГГГГ-ММ-ДД`` as links carry it."""

from __future__ import annotations

import re
from datetime import date

from selpo.errors import InvalidInput
from selpo.kit.moments import day_in_range

RUSSIAN_DAY = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
MESSAGE = "Дата — в виде ДД.ММ.ГГГГ, например 25.11.2026."


def parse_day(text: str, *, field: str) -> date:
    """The day written as ``25.11.2026`` or ``2026-11-25``; a 422 in Russian otherwise (or
    outside the years 2000–2099)."""
    found = RUSSIAN_DAY.match(text)
    try:
        if found:
            day, month, year = (int(part) for part in found.groups())
            return day_in_range(date(year, month, day))
        return day_in_range(date.fromisoformat(text.strip()))
    except ValueError:
        raise InvalidInput(MESSAGE, field=field) from None
