"""Days and moments the API accepts: the years 2000 to 2099.

Checked on the year as written, before any shift to UTC (which overflows at the ends of the
calendar: ``0001-01-01T00:00+14:00``), so a far date is a 422, never a 500 from a query.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator

FIRST_YEAR, LAST_YEAR = 2000, 2099


def day_in_range(value: date) -> date:
    """The day, if it falls in the years the API takes (else ValueError)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must fall in the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


def moment_in_range(value: datetime) -> datetime:
    """The moment, if its day falls in those years (a missing offset is for the caller)."""
    day_in_range(value.date())
    return value


Day = Annotated[date, AfterValidator(day_in_range)]
Moment = Annotated[datetime, AfterValidator(moment_in_range)]
