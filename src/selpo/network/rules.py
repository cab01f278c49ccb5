"""Pure rules of the postal network: defaults for what the data lacks, and what fits where.

Nothing here does I/O. Every default below is an assumption, stored with an ``*_is_default``
flag on the office so it is never shown as measured (docs/data.md explains each one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

OpeningHours = list[list[list[str]]]
"""Seven days, Monday first; each a list of ``["HH:MM", "HH:MM"]`` local-time intervals."""


class OfficeKind(StrEnum):
    """What sort of place an office stands in; defaults are chosen by it."""

    TOWN = "town"
    URBAN_TYPE_SETTLEMENT = "urban_type_settlement"
    RURAL = "rural_locality"


@dataclass(frozen=True)
class CellClass:
    """A storage cell size class (inner dimensions, largest first)."""

    code: str
    length_mm: int
    width_mm: int
    height_mm: int


# Inner sizes of the shelf cells, matching the parcel-locker classes marketplaces use (S, M, L).
CELL_CLASSES: tuple[CellClass, ...] = (
    CellClass("S", 400, 300, 150),
    CellClass("M", 400, 300, 300),
    CellClass("L", 600, 400, 400),
)

_WEEKDAYS_8_20 = [["08:00", "20:00"]]
_HOURS_BY_KIND: dict[OfficeKind, OpeningHours] = {
    # Town offices: Mon-Fri 08-20, Sat 09-18, Sunday closed.
    OfficeKind.TOWN: [_WEEKDAYS_8_20] * 5 + [[["09:00", "18:00"]], []],
    # Urban-type settlements: Mon-Fri 08-19 with a lunch break, Sat 09-15.
    OfficeKind.URBAN_TYPE_SETTLEMENT: [[["08:00", "13:00"], ["14:00", "19:00"]]] * 5
    + [[["09:00", "15:00"]], []],
    # Village offices: Tue-Sat 09-17 with lunch 13-14, Sunday and Monday off (the common
    # pattern of a one-clerk rural office).
    OfficeKind.RURAL: [[]] + [[["09:00", "13:00"], ["14:00", "17:00"]]] * 5 + [[]],
}

_CELLS_BY_KIND: dict[OfficeKind, tuple[int, int, int]] = {
    OfficeKind.TOWN: (60, 40, 15),
    OfficeKind.URBAN_TYPE_SETTLEMENT: (30, 20, 8),
    OfficeKind.RURAL: (15, 10, 4),
}

# Weight limits: 20 kg where a town office has a parcel trolley, 15 kg where one clerk carries.
_MAX_WEIGHT_BY_KIND: dict[OfficeKind, int] = {
    OfficeKind.TOWN: 20_000,
    OfficeKind.URBAN_TYPE_SETTLEMENT: 20_000,
    OfficeKind.RURAL: 15_000,
}


@dataclass(frozen=True)
class OfficeDefaults:
    """Everything the data does not say about an office, chosen by its kind."""

    opening_hours: OpeningHours
    cells_s: int
    cells_m: int
    cells_l: int
    max_weight_g: int
    max_length_mm: int
    max_width_mm: int
    max_height_mm: int
    accepts_card: bool


def office_defaults(kind: OfficeKind) -> OfficeDefaults:
    """Return the documented defaults for an office of this kind."""
    cells = _CELLS_BY_KIND[kind]
    largest = CELL_CLASSES[-1]
    return OfficeDefaults(
        opening_hours=[[list(interval) for interval in day] for day in _HOURS_BY_KIND[kind]],
        cells_s=cells[0],
        cells_m=cells[1],
        cells_l=cells[2],
        max_weight_g=_MAX_WEIGHT_BY_KIND[kind],
        max_length_mm=largest.length_mm,
        max_width_mm=largest.width_mm,
        max_height_mm=largest.height_mm,
        # Card terminals came with modernisation; towns have them, villages take cash.
        accepts_card=kind is not OfficeKind.RURAL,
    )


def offers_fitting(rural: bool) -> bool:
    """Whether an office lets a customer try clothes on before taking them (a default: the
    register does not say). Town and urban-type-settlement offices have the curtained corner
    Russian Post fitted with its marketplace pick-up counters; a one-clerk village office has
    no room for one. Always shown with ``fitting_is_default``."""
    return not rural


HOLIDAY_COUNTRY = "RU"


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(HOLIDAY_COUNTRY, years=[year]))


def is_public_holiday(day: date) -> bool:
    """Whether offices are closed all day on ``day``: a public holiday of Russia or a day off
    moved by decree (the same calendar as ``logistics.calendar``, read from ``holidays``
    directly because network may not import logistics)."""
    return day in _holidays_of(day.year)


@lru_cache(maxsize=512)
def next_holidays(today: date, count: int = 3) -> tuple[date, ...]:
    """The next ``count`` closed days from ``today`` on (``today`` included)."""
    found: list[date] = []
    year = today.year
    while len(found) < count and year <= today.year + 2:
        found.extend(sorted(d for d in _holidays_of(year) if d >= today))
        year += 1
    return tuple(found[:count])


def opens_on(hours: OpeningHours, day: date) -> bool:
    """Whether an office with these hours opens at all on a local ``day``: hours on its
    weekday and not a public holiday."""
    return bool(hours[day.weekday()]) and not is_public_holiday(day)


def local_today(timezone: str, moment: datetime) -> date:
    """The local date of ``moment`` in a zone."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def day_hours_text(day: Sequence[Sequence[str]]) -> str:
    """A day's hours as ``HH:MM-HH:MM`` (intervals joined by ``,``; empty when closed)."""
    return ",".join(f"{start}-{end}" for start, end in day)


def _parse_hhmm(value: str) -> time:
    if len(value) != 5 or value[2] != ":":
        raise ValueError(f"time {value!r} is not HH:MM")
    hours, minutes = int(value[:2]), int(value[3:])
    if hours == 24 and minutes == 0:
        return time(23, 59, 59, 999999)
    return time(hours, minutes)


def validate_opening_hours(hours: Sequence[Sequence[Sequence[str]]]) -> OpeningHours:
    """Check seven days of increasing, non-overlapping ``HH:MM`` intervals; return a copy."""
    if len(hours) != 7:
        raise ValueError(f"opening hours need 7 days (Monday first), got {len(hours)}")
    checked: OpeningHours = []
    for day_name, day in zip(DAYS, hours, strict=True):
        previous_end: time | None = None
        intervals: list[list[str]] = []
        for interval in day:
            if len(interval) != 2:
                raise ValueError(f"{day_name}: an interval is [open, close]")
            start, end = _parse_hhmm(interval[0]), _parse_hhmm(interval[1])
            if start >= end:
                raise ValueError(f"{day_name}: {interval[0]} is not before {interval[1]}")
            if previous_end is not None and start < previous_end:
                raise ValueError(f"{day_name}: intervals overlap or are out of order")
            previous_end = end
            intervals.append([interval[0], interval[1]])
        checked.append(intervals)
    return checked


def is_open_at(hours: OpeningHours, timezone: str, moment: datetime) -> bool:
    """Whether an office with these hours is open at ``moment`` (aware) in its own time zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    clock = local.time().replace(tzinfo=None)
    for start, end in hours[local.weekday()]:
        if _parse_hhmm(start) <= clock < _parse_hhmm(end):
            return True
    return False


class HasSize(Protocol):
    """Anything with a parcel's weight and outer dimensions (a request, a shipment row)."""

    @property
    def weight_g(self) -> int: ...
    @property
    def length_mm(self) -> int: ...
    @property
    def width_mm(self) -> int: ...
    @property
    def height_mm(self) -> int: ...


class HasCapacity(Protocol):
    """Anything with an office's limits and cell counts (the ``post_office`` row, a read model)."""

    @property
    def max_weight_g(self) -> int: ...
    @property
    def max_length_mm(self) -> int: ...
    @property
    def max_width_mm(self) -> int: ...
    @property
    def max_height_mm(self) -> int: ...
    @property
    def cells_s(self) -> int: ...
    @property
    def cells_m(self) -> int: ...
    @property
    def cells_l(self) -> int: ...


@dataclass(frozen=True)
class ParcelSize:
    """A parcel's weight and outer dimensions (any order)."""

    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int

    @classmethod
    def of(cls, parcel: HasSize) -> ParcelSize:
        """The size of a request or a stored shipment."""
        return cls(parcel.weight_g, parcel.length_mm, parcel.width_mm, parcel.height_mm)


@dataclass(frozen=True)
class OfficeCapacity:
    """What an office can take: its limits and which cell classes it has."""

    max_weight_g: int
    max_length_mm: int
    max_width_mm: int
    max_height_mm: int
    cells_s: int
    cells_m: int
    cells_l: int

    @classmethod
    def of(cls, office: HasCapacity) -> OfficeCapacity:
        """The capacity of a stored office (or anything shaped like one)."""
        return cls(
            office.max_weight_g,
            office.max_length_mm,
            office.max_width_mm,
            office.max_height_mm,
            office.cells_s,
            office.cells_m,
            office.cells_l,
        )

    @property
    def cell_counts(self) -> dict[str, int]:
        """Cells per class, smallest first: ``{"S": 60, "M": 40, "L": 15}``."""
        return {"S": self.cells_s, "M": self.cells_m, "L": self.cells_l}

    @property
    def cell_limits_mm(self) -> dict[str, list[int]]:
        """Inner dimensions of each cell class the office has: ``{"S": [400, 300, 150], ...}``."""
        counts = self.cell_counts
        return {
            c.code: [c.length_mm, c.width_mm, c.height_mm] for c in CELL_CLASSES if counts[c.code]
        }

    @property
    def cells(self) -> int:
        """How many parcels the office can shelve at once: its cells of every class."""
        return self.cells_s + self.cells_m + self.cells_l


def _fits_box(parcel: ParcelSize, length: int, width: int, height: int) -> bool:
    dims = sorted((parcel.length_mm, parcel.width_mm, parcel.height_mm), reverse=True)
    box = sorted((length, width, height), reverse=True)
    return all(d <= b for d, b in zip(dims, box, strict=True))


def smallest_cell_class(parcel: ParcelSize, office: OfficeCapacity) -> CellClass | None:
    """The smallest cell class the office has that holds the parcel, or ``None``."""
    counts = office.cell_counts
    for cell in CELL_CLASSES:
        if counts[cell.code] > 0 and _fits_box(
            parcel, cell.length_mm, cell.width_mm, cell.height_mm
        ):
            return cell
    return None


@dataclass(frozen=True)
class ParcelRefusal:
    """Why an office does not take a parcel: the field at fault and what to say."""

    field: str  # "weight_g" or "length_mm", the parcel's field at fault
    limit_g: int | None = None  # the office's weight limit, when the weight is at fault

    def reason(self, index: str, weight_g: int) -> str:
        """The sentence the API answers with, naming office ``index``."""
        if self.limit_g is not None:
            return f"{weight_g} g exceeds office {index}'s limit of {self.limit_g} g"
        return f"the parcel does not fit office {index}'s largest cell"


def parcel_refusal(parcel: ParcelSize, office: OfficeCapacity) -> ParcelRefusal | None:
    """Why the office does not take the parcel (its weight first, then its size), or ``None``
    when it does: within the weight and size limits and held by a cell class it has."""
    if parcel.weight_g > office.max_weight_g:
        return ParcelRefusal("weight_g", limit_g=office.max_weight_g)
    if not _fits_box(parcel, office.max_length_mm, office.max_width_mm, office.max_height_mm):
        return ParcelRefusal("length_mm")
    if smallest_cell_class(parcel, office) is None:
        return ParcelRefusal("length_mm")
    return None


def parcel_fits(parcel: ParcelSize, office: OfficeCapacity) -> bool:
    """Whether the office accepts the parcel: weight, size limits and a cell that holds it."""
    return parcel_refusal(parcel, office) is None
