"""The dashboard's collection figures: bags taken for the collection partners and their
weight, per office of a district or per district of the region, over a period of whole
local days (each office's own zone, as ``kpi.Period`` cuts them).

One query: the period's bags of the scope's offices (at most a few thousand a week in a
region), summed here by office or district.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.kit.display import local_day
from selpo.models import CollectionBag, District, PostOffice
from selpo.reporting.kpi import Period

# Every zone's day lies within these bounds of UTC (UTC+14 to UTC-12).
_EARLIEST_OFFSET, _LATEST_OFFSET = timedelta(hours=14), timedelta(hours=12)


@dataclass
class Collected:
    """An office's (or a district's) bags in the period."""

    key: str  # the office index, or the district id
    name: str
    bags: int = 0
    weight_g: int = 0


@dataclass(frozen=True)
class CollectionFigures:
    """The rows (offices of a district, or the region's districts) and the total."""

    by_office: bool
    rows: list[Collected]
    total: Collected


def collection_figures(
    session: Session, period: Period, *, region_id: int, district_id: int | None = None
) -> CollectionFigures:
    """Bags and grams per office of ``district_id``, or per district of the region."""
    start = datetime.combine(period.first, time(0, 0), tzinfo=UTC) - _EARLIEST_OFFSET
    end = datetime.combine(period.last + timedelta(days=1), time(0, 0), tzinfo=UTC) + _LATEST_OFFSET
    query = (
        select(
            CollectionBag.taken_at,
            CollectionBag.weight_g,
            PostOffice.index,
            PostOffice.name,
            PostOffice.timezone,
            District.id,
            District.name,
        )
        .join(PostOffice, CollectionBag.office_id == PostOffice.id)
        .join(District, PostOffice.district_id == District.id)
        .where(
            District.region_id == region_id,
            CollectionBag.taken_at >= start,
            CollectionBag.taken_at < end,
        )
    )
    if district_id is not None:
        query = query.where(District.id == district_id)
    by_office = district_id is not None
    rows: dict[str, Collected] = {}
    total = Collected(key="total", name="")
    for taken_at, grams, index, name, zone, d_id, d_name in session.execute(query):
        if not period.first <= local_day(taken_at, zone) <= period.last:
            continue
        key, label = (index, name) if by_office else (str(d_id), d_name)
        row = rows.setdefault(key, Collected(key=key, name=label))
        row.bags += 1
        row.weight_g += int(grams)
        total.bags += 1
        total.weight_g += int(grams)
    ordered = sorted(rows.values(), key=lambda r: r.key if by_office else r.name)
    return CollectionFigures(by_office=by_office, rows=ordered, total=total)
