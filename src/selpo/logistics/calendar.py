"""Office calendars for the delivery-date kernel: weekly opening hours, public holidays, time zones.

Pure: numpy, ``holidays`` and the standard library only.

**Time.** The kernels count time in whole seconds. A *UTC instant* is seconds since the Unix
epoch (``int64``). A *local time* is the same count for the wall clock of a zone: seconds
since 1970-01-01 00:00 local, so ``local // DAY_S`` is the local day number and
``(day + 3) % 7`` its weekday (Monday = 0; 1970-01-01 was a Thursday). Every zone is treated
as a **fixed UTC offset**, the one it has had since 2021 (``utc_offset_s``): Russia has had no
daylight saving time since 2011 and the last change of a Russian zone's offset was
Volgograd's on 27 December 2020. A zone that still changes its offset (daylight saving time)
is refused rather than computed wrongly for part of the year.

**Opening hours** come as ``selpo.network.rules.OpeningHours`` (seven days, Monday first, each
a list of ``["HH:MM", "HH:MM"]`` local intervals, ``"24:00"`` allowed as an end) and are
checked with ``rules.validate_opening_hours``. An office is open from an interval's start up
to, not including, its end; back-to-back intervals of one day are merged.

**Holidays.** An office is closed all day on a public holiday of the country (default
``"RU"``): every date ``holidays.country_holidays("RU", years=...)`` lists, which includes the
days off moved by government decree (the New Year holidays, 4 November, bridge days).
Pre-holiday shortened days and working Saturdays are not modelled: offices keep their
weekly hours on them. Extra closed dates (a regional holiday, a closure) can be added.

**Shelving.** A parcel that arrives at an office needs ``shelving`` seconds of the clerk's
time before it can be handed out; that time is counted only while the office is open (a
simplification: a clerk who stays late is not modelled). It is ready at the first moment by
which the office has been open for ``shelving`` seconds since the arrival, and that moment is
always an open moment (shelving that ends exactly at closing time makes the parcel ready at
the next opening). ``OpeningTable.ready_local`` computes this for many parcels at once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import holidays
import numpy as np
from numpy.typing import ArrayLike, NDArray

from selpo.network.rules import OpeningHours, is_open_at, validate_opening_hours

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
PositionArray = NDArray[np.intp]

MINUTE_S: Final[int] = 60
HOUR_S: Final[int] = 3_600
DAY_S: Final[int] = 86_400
WEEK_S: Final[int] = 7 * DAY_S
EPOCH_WEEKDAY: Final[int] = 3
"""Weekday of 1970-01-01 (Monday = 0): a Thursday."""

DEFAULT_HOLIDAY_COUNTRY: Final[str] = "RU"

NEVER: Final[int] = int(np.iinfo(np.int64).min)
"""Sentinel for "no such moment" in int64 second arrays; it is numpy's NaT bit pattern, so
``array.view("datetime64[s]")`` shows it as NaT."""

# Offsets are checked over these years: every Russian zone is fixed from 2021 on.
_FIXED_OFFSET_YEARS: Final[range] = range(2021, 2051)
# Years a holiday calendar may be asked about (day numbers outside are a programming error).
_CALENDAR_YEARS: Final[range] = range(1971, 2200)
# Days from 0001-01-01 (date.toordinal() == 1) to 1970-01-01.
_EPOCH_ORDINAL: Final[int] = date(1970, 1, 1).toordinal()
# Upper bound on the intervals (or closed days) one ready-time search walks through: a year of
# a seven-day office with two intervals a day and every holiday, with a wide margin.
_MAX_STEPS: Final[int] = 2_000


def weekday_of_day(day: ArrayLike) -> IntArray:
    """Weekday (Monday = 0) of local day numbers."""
    result: IntArray = (np.asarray(day, dtype=np.int64) + EPOCH_WEEKDAY) % 7
    return result


def day_number(value: date) -> int:
    """Local day number of a calendar date (days since 1970-01-01)."""
    return value.toordinal() - _EPOCH_ORDINAL


def date_of_day(day: int) -> date:
    """Calendar date of a local day number."""
    return date.fromordinal(int(day) + _EPOCH_ORDINAL)


@lru_cache(maxsize=256)
def utc_offset_s(timezone: str) -> int:
    """The fixed UTC offset of an IANA zone, in seconds; ``ValueError`` if it is not fixed."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {timezone!r}") from exc
    offsets: set[timedelta | None] = set()
    for year in _FIXED_OFFSET_YEARS:
        for month in range(1, 13):
            for day in (1, 16):
                offsets.add(datetime(year, month, day, 12, tzinfo=UTC).astimezone(zone).utcoffset())
    if len(offsets) != 1:
        raise ValueError(
            f"time zone {timezone!r} changes its UTC offset (daylight saving time); "
            "the logistics kernels support fixed-offset zones only"
        )
    (offset,) = offsets
    assert offset is not None  # an aware datetime always has one
    return int(offset.total_seconds())


def parse_hhmm(value: str) -> int:
    """Seconds after midnight of an ``HH:MM`` clock time; ``"24:00"`` is 86,400."""
    if len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise ValueError(f"time {value!r} is not HH:MM")
    hours, minutes = int(value[:2]), int(value[3:])
    if (hours, minutes) == (24, 0):
        return DAY_S
    if hours > 23 or minutes > 59:
        raise ValueError(f"time {value!r} is not a clock time")
    return hours * HOUR_S + minutes * MINUTE_S


def weekly_intervals(hours: OpeningHours) -> list[tuple[int, int]]:
    """Open intervals as (start, end) seconds since Monday 00:00, sorted; each inside one day."""
    checked = validate_opening_hours(hours)
    intervals: list[tuple[int, int]] = []
    for weekday, day in enumerate(checked):
        merged: list[list[int]] = []
        for start_text, end_text in day:
            start = weekday * DAY_S + parse_hhmm(start_text)
            end = weekday * DAY_S + parse_hhmm(end_text)
            if merged and merged[-1][1] == start:
                merged[-1][1] = end
            else:
                merged.append([start, end])
        intervals.extend((start, end) for start, end in merged)
    return intervals


class HolidayCalendar:
    """Which local days are closed: a country's public holidays plus extra dates.

    Years are loaded from ``holidays`` on first use and kept; safe to share between threads.
    """

    def __init__(self, country: str = DEFAULT_HOLIDAY_COUNTRY, extra: Iterable[date] = ()) -> None:
        self.country = country
        self.extra = frozenset(extra)
        self._lock = threading.Lock()
        # (first day number, closed flag per day, years covered), replaced as a whole so a
        # reader never pairs one version's first day with another's table.
        self._table: tuple[int, BoolArray, range] = (0, np.zeros(0, dtype=np.bool_), range(0))
        # Fail early on an unknown country code.
        holidays.country_holidays(country, years=[2025])

    def _covering(self, first: int, last: int) -> tuple[int, BoolArray, range]:
        table = self._table
        if first in table[2] and last in table[2]:
            return table
        if first not in _CALENDAR_YEARS or last not in _CALENDAR_YEARS:
            raise ValueError(f"dates in {first}-{last} are outside the calendar's range")
        with self._lock:
            covered = self._table[2]
            if covered:
                first = min(first, covered.start)
                last = max(last, covered.stop - 1)
            # One spare year on each side, so a search running on does not reload at once.
            low, high = _CALENDAR_YEARS.start, _CALENDAR_YEARS.stop
            years = range(max(first - 1, low), min(last + 2, high))
            start_day = day_number(date(years.start, 1, 1))
            closed = np.zeros(day_number(date(years.stop, 1, 1)) - start_day, dtype=np.bool_)
            dates = set(holidays.country_holidays(self.country, years=list(years)))
            dates.update(d for d in self.extra if d.year in years)
            if dates:
                closed[np.array([day_number(d) - start_day for d in dates], dtype=np.int64)] = True
            self._table = table = (start_day, closed, years)
        return table

    def closed(self, days: ArrayLike) -> BoolArray:
        """Whether each local day number is a holiday (office closed all day)."""
        day = np.asarray(days, dtype=np.int64)
        if day.size == 0:
            return np.zeros(day.shape, dtype=np.bool_)
        first, last = int(day.min()), int(day.max())
        first_day, table, _ = self._covering(date_of_day(first).year, date_of_day(last).year)
        result: BoolArray = table[day - first_day]
        return result

    def is_closed(self, value: date) -> bool:
        """Whether a calendar date is a holiday."""
        return bool(self.closed(np.array([day_number(value)]))[0])


@lru_cache(maxsize=16)
def holiday_calendar(
    country: str = DEFAULT_HOLIDAY_COUNTRY, extra: frozenset[date] = frozenset()
) -> HolidayCalendar:
    """A shared calendar per (country, extra dates)."""
    return HolidayCalendar(country, extra)


def is_open(
    hours: OpeningHours, timezone: str, moment: datetime, calendar: HolidayCalendar
) -> bool:
    """Whether an office is open at ``moment`` (aware): its weekly hours and not a holiday."""
    local_date = moment.astimezone(ZoneInfo(timezone)).date()
    return is_open_at(hours, timezone, moment) and not calendar.is_closed(local_date)


def opens_on(hours: OpeningHours, day: date, calendar: HolidayCalendar) -> bool:
    """Whether the office opens at all on a local ``day``: hours on its weekday, no holiday."""
    return bool(hours[day.weekday()]) and not calendar.is_closed(day)


def next_open_day(
    hours: OpeningHours, day: date, calendar: HolidayCalendar, *, horizon_days: int = 366
) -> date | None:
    """The first local day from ``day`` on (``day`` itself included) the office opens;
    ``None`` for an office that never opens within ``horizon_days``."""
    if not any(hours):
        return None
    for offset in range(horizon_days):
        candidate = day + timedelta(days=offset)
        if opens_on(hours, candidate, calendar):
            return candidate
    return None


def on_an_open_day(
    hours: OpeningHours, timezone: str, moment: datetime, calendar: HolidayCalendar
) -> datetime:
    """``moment`` if the office opens on its local day, else the opening of the next day it
    does (UTC); unchanged for an office that never opens."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    day = next_open_day(hours, local.date(), calendar)
    if day is None or day == local.date():
        return moment
    first = min(parse_hhmm(start) for start, _ in hours[day.weekday()])
    opening = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(seconds=first)
    return opening.astimezone(UTC)


def _hours_key(hours: OpeningHours) -> tuple[tuple[tuple[str, ...], ...], ...]:
    return tuple(tuple(tuple(interval) for interval in day) for day in hours)


class OpeningTable:
    """Weekly opening hours of many offices, compiled for vectorised ready-time searches.

    Offices with the same hours share one *pattern* (row). Row ``p`` holds that pattern's
    intervals in seconds since Monday 00:00, then the first interval again one week later
    (so "the next interval" always exists in the row), then padding; rows are laid end to end
    with an offset of ``2 * WEEK_S`` each, so one ``searchsorted`` serves every row at once.
    """

    _SPAN: Final[int] = 2 * WEEK_S

    def __init__(self, hours: Sequence[OpeningHours]) -> None:
        patterns: list[list[tuple[int, int]]] = []
        by_key: dict[tuple[tuple[tuple[str, ...], ...], ...], int] = {}
        by_id: dict[int, int] = {}  # offices often share one hours object
        pattern_of = np.empty(len(hours), dtype=np.intp)
        for i, office_hours in enumerate(hours):
            row = by_id.get(id(office_hours))
            if row is None:
                key = _hours_key(office_hours)
                row = by_key.get(key)
                if row is None:
                    try:
                        intervals = weekly_intervals(office_hours)
                    except (ValueError, TypeError, IndexError) as exc:
                        raise ValueError(f"opening hours #{i}: {exc}") from exc
                    row = by_key[key] = len(patterns)
                    patterns.append(intervals)
                by_id[id(office_hours)] = row
            pattern_of[i] = row
        self.pattern_of: PositionArray = pattern_of
        self.patterns: tuple[tuple[tuple[int, int], ...], ...] = tuple(tuple(p) for p in patterns)
        width = max((len(p) for p in patterns), default=0) + 1
        pad = self._SPAN - 1
        starts = np.full((len(patterns), width), pad, dtype=np.int64)
        ends = np.full((len(patterns), width), pad, dtype=np.int64)
        for row, intervals in enumerate(patterns):
            if intervals:
                wrapped = [*intervals, (intervals[0][0] + WEEK_S, intervals[0][1] + WEEK_S)]
                starts[row, : len(wrapped)] = [s for s, _ in wrapped]
                ends[row, : len(wrapped)] = [e for _, e in wrapped]
        offsets = (np.arange(len(patterns), dtype=np.int64) * self._SPAN)[:, None]
        self._starts = (starts + offsets).ravel()
        self._ends = (ends + offsets).ravel()
        self.never_open: BoolArray = np.array([not p for p in patterns], dtype=np.bool_)

    def __len__(self) -> int:
        return int(self.pattern_of.shape[0])

    def ready_local(
        self,
        rows: PositionArray,
        local_s: IntArray,
        shelving_s: int,
        calendar: HolidayCalendar,
    ) -> IntArray:
        """When parcels arriving at ``local_s`` are ready, with ``shelving_s`` of open time.

        ``rows`` are pattern rows (``pattern_of[office]``), ``local_s`` local arrival times
        (``NEVER`` passes through). The result is local time, ``NEVER`` where the office is
        never open (or not within ~2,000 intervals).
        """
        if shelving_s < 0:
            raise ValueError("shelving must not be negative")
        rows = np.asarray(rows, dtype=np.intp)
        local = np.asarray(local_s, dtype=np.int64)
        out = np.full(local.shape, NEVER, dtype=np.int64)
        pending = np.flatnonzero((local != NEVER) & ~self.never_open[rows])
        t = local[pending]
        remaining = np.full(pending.shape, shelving_s, dtype=np.int64)
        row_offset = rows[pending].astype(np.int64) * self._SPAN
        for _ in range(_MAX_STEPS):
            if pending.size == 0:
                break
            day = t // DAY_S
            week_start = (day - weekday_of_day(day)) * DAY_S
            within = t - week_start
            # The interval containing ``within`` or the next one: the first ending after it.
            k = np.searchsorted(self._ends, within + row_offset, side="right")
            start = self._starts[k] - row_offset
            end = self._ends[k] - row_offset
            opens = week_start + np.maximum(start, within)
            closes = week_start + end
            open_day = opens // DAY_S
            holiday = calendar.closed(open_day)
            available = closes - opens
            done = ~holiday & (remaining < available)
            out[pending[done]] = opens[done] + remaining[done]
            keep = ~done
            next_t = np.where(holiday, (open_day + 1) * DAY_S, closes)
            remaining = np.where(holiday, remaining, remaining - available)[keep]
            t = next_t[keep]
            pending = pending[keep]
            row_offset = row_offset[keep]
        return out
