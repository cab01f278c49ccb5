"""Key figures of the post-office network for a period: per office, summed up to districts and
the region (the regional dashboard, docs/dashboard.md).

Set-based: a handful of ``GROUP BY`` queries per call (offices, tracking events, on-time,
cells in use, cash, connections), each grouped by office whatever the number of parcels;
districts and the region are sums of the office rows. Definitions:

* **received** — parcels that reached the office: shelved (event ``ready_for_pickup``) in the
  period;
* **issued** — events ``delivered`` and ``partially_delivered`` in the period;
* **on time** — of the parcels shelved in the period with a promised date, those shelved on or
  before the date first promised (the date in the office's own time zone). A van that was full
  moves a parcel's ``promised_date`` later (``logistics.manifests``); the first promise is the
  earliest of ``manifest_entry.promised_date`` (the promise when a run was planned) and the
  current one, so a re-promised parcel still counts late;
* **storage** — parcels in cells now (``ready_for_pickup``, ``storage_expired``) against the
  office's cells (``network.rules.OfficeCapacity.cells``); **overflow** — parcels beyond the
  cells. The use of an area (district, region) is over its connected offices only: parcels on
  their shelves against their cells (an office serving no marketplace holds none, and its cells
  would only thin the figure);
* **unclaimed** — ``storage_expired`` among the parcels whose recipient outcome became known
  in the period (delivered, partly delivered, refused, storage expired);
* **cash** — cash on delivery collected in the period (``cod_collected_at``), by marketplace.

A period is whole local days, first to last inclusive, cut in each office's own time zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Date, and_, case, cast, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from selpo.errors import InvalidInput
from selpo.models import (
    District,
    ManifestEntry,
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    Shipment,
    TrackingEvent,
)
from selpo.network.errors import PostOfficeNotFound
from selpo.network.rules import OfficeCapacity
from selpo.shipment.lifecycle import Status

RECEIVED = Status.READY_FOR_PICKUP.value
ISSUED = (Status.DELIVERED.value, Status.PARTIALLY_DELIVERED.value)
UNCLAIMED = Status.STORAGE_EXPIRED.value
OUTCOMES = (*ISSUED, Status.REFUSED.value, UNCLAIMED)
# A parcel holds a cell while it waits for its recipient or, expired, for the way back.
ON_SHELF = (Status.READY_FOR_PICKUP.value, Status.STORAGE_EXPIRED.value)
DEFAULT_DAYS = 7
MAX_DAYS = 366


# ---------------------------------------------------------------------------- the period


@dataclass(frozen=True)
class Period:
    """Whole local days, ``first`` to ``last`` inclusive."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise InvalidInput("Начало периода позже его конца.", field="from")
        if self.days > MAX_DAYS:
            raise InvalidInput(f"Период — не длиннее {MAX_DAYS} дней.", field="from")

    @classmethod
    def ending(cls, last: date, days: int = DEFAULT_DAYS) -> Period:
        """The ``days`` days ending with ``last`` (the default: the last 7 days to today)."""
        return cls(last - timedelta(days=days - 1), last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        """[start, end) of the period in a time zone."""
        tz = ZoneInfo(zone)
        return (
            datetime.combine(self.first, time(0, 0), tzinfo=tz),
            datetime.combine(self.last + timedelta(days=1), time(0, 0), tzinfo=tz),
        )


# ---------------------------------------------------------------------------- the figures


def share(part: int, whole: int) -> float | None:
    """``part / whole``, or ``None`` when there is nothing to divide by."""
    return part / whole if whole else None


@dataclass
class Figures:
    """The counts of an office, a district or the region for one period."""

    offices: int = 0
    serving: int = 0  # offices with an active marketplace connection
    received: int = 0
    issued: int = 0
    promised: int = 0  # received with a promised date
    on_time: int = 0
    outcomes: int = 0
    unclaimed: int = 0
    on_shelves: int = 0  # now
    cells: int = 0
    serving_cells: int = 0  # the cells of the offices serving a marketplace
    serving_on_shelves: int = 0  # now: the parcels in their cells
    overflow: int = 0  # now: parcels beyond the cells
    cash_kop: dict[str, int] = field(default_factory=dict)  # marketplace name -> kopecks

    @property
    def on_time_share(self) -> float | None:
        return share(self.on_time, self.promised)

    @property
    def unclaimed_share(self) -> float | None:
        return share(self.unclaimed, self.outcomes)

    @property
    def storage_use(self) -> float | None:
        """Parcels on the shelves of the connected offices against their cells."""
        return share(self.serving_on_shelves, self.serving_cells)

    @property
    def cash_total_kop(self) -> int:
        return sum(self.cash_kop.values())

    def add(self, other: Figures) -> None:
        """Add another area's counts to these."""
        for name in (
            "offices",
            "serving",
            "received",
            "issued",
            "promised",
            "on_time",
            "outcomes",
            "unclaimed",
            "on_shelves",
            "cells",
            "serving_cells",
            "serving_on_shelves",
            "overflow",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for marketplace, kop in other.cash_kop.items():
            self.cash_kop[marketplace] = self.cash_kop.get(marketplace, 0) + kop

    def as_dict(self) -> dict[str, Any]:
        """Counts and shares, for JSON."""
        return {
            "offices": self.offices,
            "serving": self.serving,
            "received": self.received,
            "issued": self.issued,
            "promised": self.promised,
            "on_time": self.on_time,
            "on_time_share": self.on_time_share,
            "outcomes": self.outcomes,
            "unclaimed": self.unclaimed,
            "unclaimed_share": self.unclaimed_share,
            "on_shelves": self.on_shelves,
            "cells": self.cells,
            "serving_cells": self.serving_cells,
            "serving_on_shelves": self.serving_on_shelves,
            "storage_use": self.storage_use,
            "overflow": self.overflow,
            "cash_kop": dict(sorted(self.cash_kop.items())),
            "cash_total_kop": self.cash_total_kop,
        }


@dataclass(frozen=True)
class OfficeKpi:
    """One office's figures, and the marketplaces it serves now."""

    office_id: int
    index: str
    name: str
    district_id: int
    status: str
    marketplaces: list[str]
    figures: Figures


@dataclass(frozen=True)
class DistrictKpi:
    """One district's figures (the sum of its offices)."""

    district_id: int
    name: str
    figures: Figures


@dataclass(frozen=True)
class NetworkKpi:
    """The figures of a scope (the region, or one district) for a period."""

    period: Period
    districts: list[DistrictKpi]
    offices: list[OfficeKpi]
    total: Figures
    marketplaces: list[str]  # every marketplace with cash in the scope, by name


# ---------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class _Scope:
    region_id: int | None = None
    district_id: int | None = None
    office_id: int | None = None

    def where(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.region_id is not None:
            conditions.append(
                PostOffice.district_id.in_(
                    select(District.id).where(District.region_id == self.region_id)
                )
            )
        if self.district_id is not None:
            conditions.append(PostOffice.district_id == self.district_id)
        if self.office_id is not None:
            conditions.append(PostOffice.id == self.office_id)
        return conditions


def _zones(session: Session, scope: _Scope) -> list[str]:
    query = select(PostOffice.timezone).where(*scope.where()).distinct()
    return sorted(session.scalars(query))


def _within(
    moment: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    period: Period,
    zones: Sequence[str],
) -> ColumnElement[bool]:
    """``moment`` inside the period, cut at local midnight in the office's zone."""
    parts = []
    for zone in zones:
        start, end = period.bounds(zone)
        parts.append(and_(PostOffice.timezone == zone, moment >= start, moment < end))
    return or_(*parts) if parts else false()


def _local_date(session: Session, zones: Sequence[str], moment_at: datetime) -> Any:
    """SQL for the office-local date of ``shipment.ready_at``.

    PostgreSQL converts with the office's own zone; SQLite has no zone database, so each zone
    becomes its UTC offset at ``moment_at`` (every Russian zone keeps one offset all year).
    """
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(PostOffice.timezone, Shipment.ready_at), Date)
    offsets = {}
    for zone in zones:
        offset = moment_at.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
        offsets[zone] = f"{int(offset.total_seconds() // 60):+d} minutes"
    modifier = case(offsets, value=PostOffice.timezone, else_="+0 minutes")
    return func.date(Shipment.ready_at, modifier)


def _offices(session: Session, scope: _Scope) -> list[Any]:
    query = (
        select(
            PostOffice.id,
            PostOffice.index.label("office_index"),
            PostOffice.name,
            PostOffice.district_id,
            PostOffice.status,
            # what OfficeCapacity.of reads: the office's limits and its cells per class
            PostOffice.max_weight_g,
            PostOffice.max_length_mm,
            PostOffice.max_width_mm,
            PostOffice.max_height_mm,
            PostOffice.cells_s,
            PostOffice.cells_m,
            PostOffice.cells_l,
        )
        .where(*scope.where())
        .order_by(PostOffice.index)
    )
    return list(session.execute(query))


def _event_counts(
    session: Session, scope: _Scope, period: Period, zones: Sequence[str]
) -> dict[tuple[int, str], int]:
    query = (
        select(Shipment.destination_office_id, TrackingEvent.code, func.count(TrackingEvent.id))
        .select_from(TrackingEvent)
        .join(Shipment, TrackingEvent.shipment_id == Shipment.id)
        .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
        .where(
            TrackingEvent.code.in_([RECEIVED, *OUTCOMES]),
            TrackingEvent.applied.is_(True),
            _within(TrackingEvent.occurred_at, period, zones),
            *scope.where(),
        )
        .group_by(Shipment.destination_office_id, TrackingEvent.code)
    )
    return {(office, code): int(n) for office, code, n in session.execute(query)}


def _first_promise(session: Session) -> Any:
    """SQL: the date first promised for ``Shipment`` — the earliest of the promises its route
    runs were planned with (``manifest_entry.promised_date``) and the current one (a promise
    only ever moves later)."""
    planned = (
        select(func.min(ManifestEntry.promised_date))
        .where(ManifestEntry.shipment_id == Shipment.id)
        .correlate(Shipment)
        .scalar_subquery()
    )
    return case(
        (and_(planned.is_not(None), planned < Shipment.promised_date), planned),
        else_=Shipment.promised_date,
    )


def _on_time(
    session: Session, scope: _Scope, period: Period, zones: Sequence[str]
) -> dict[int, tuple[int, int]]:
    local = _local_date(session, zones, period.bounds(zones[0])[1])
    query = (
        select(
            Shipment.destination_office_id,
            func.count(Shipment.id),
            func.sum(case((local <= _first_promise(session), 1), else_=0)),
        )
        .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
        .where(
            Shipment.promised_date.is_not(None),
            _within(Shipment.ready_at, period, zones),
            *scope.where(),
        )
        .group_by(Shipment.destination_office_id)
    )
    return {office: (int(n), int(good or 0)) for office, n, good in session.execute(query)}


def _on_shelves(session: Session, scope: _Scope) -> dict[int, int]:
    query = (
        select(Shipment.destination_office_id, func.count(Shipment.id))
        .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
        .where(Shipment.status.in_(ON_SHELF), *scope.where())
        .group_by(Shipment.destination_office_id)
    )
    return {office: int(n) for office, n in session.execute(query)}


def _cash(
    session: Session, scope: _Scope, period: Period, zones: Sequence[str]
) -> dict[int, dict[str, int]]:
    query = (
        select(
            Shipment.destination_office_id,
            Marketplace.name,
            func.sum(Shipment.cod_collected_kop),
        )
        .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
        .join(Marketplace, Shipment.marketplace_id == Marketplace.id)
        .where(
            Shipment.cod_collected_kop > 0,
            _within(Shipment.cod_collected_at, period, zones),
            *scope.where(),
        )
        .group_by(Shipment.destination_office_id, Marketplace.name)
    )
    cash: dict[int, dict[str, int]] = {}
    for office, marketplace, kop in session.execute(query):
        cash.setdefault(office, {})[marketplace] = int(kop or 0)
    return cash


def _served(session: Session, scope: _Scope) -> dict[int, list[str]]:
    query = (
        select(MarketplaceConnection.post_office_id, Marketplace.name)
        .join(Marketplace, MarketplaceConnection.marketplace_id == Marketplace.id)
        .join(PostOffice, MarketplaceConnection.post_office_id == PostOffice.id)
        .where(MarketplaceConnection.status == "active", *scope.where())
        .order_by(Marketplace.name)
    )
    served: dict[int, list[str]] = {}
    for office, marketplace in session.execute(query):
        served.setdefault(office, []).append(marketplace)
    return served


def _office_kpis(session: Session, scope: _Scope, period: Period) -> list[OfficeKpi]:
    zones = _zones(session, scope)
    if not zones:  # no office in the scope
        return []
    events = _event_counts(session, scope, period, zones)
    on_time = _on_time(session, scope, period, zones)
    shelves = _on_shelves(session, scope)
    cash = _cash(session, scope, period, zones)
    served = _served(session, scope)
    rows = []
    for office in _offices(session, scope):
        marketplaces = served.get(office.id, [])
        promised, good = on_time.get(office.id, (0, 0))
        on_shelves = shelves.get(office.id, 0)
        cells = OfficeCapacity.of(office).cells
        figures = Figures(
            offices=1,
            serving=int(bool(marketplaces)),
            received=events.get((office.id, RECEIVED), 0),
            issued=sum(events.get((office.id, code), 0) for code in ISSUED),
            promised=promised,
            on_time=good,
            outcomes=sum(events.get((office.id, code), 0) for code in OUTCOMES),
            unclaimed=events.get((office.id, UNCLAIMED), 0),
            on_shelves=on_shelves,
            cells=cells,
            serving_cells=cells if marketplaces else 0,
            serving_on_shelves=on_shelves if marketplaces else 0,
            overflow=max(0, on_shelves - cells),
            cash_kop=cash.get(office.id, {}),
        )
        rows.append(
            OfficeKpi(
                office_id=office.id,
                index=office.office_index,
                name=office.name,
                district_id=office.district_id,
                status=office.status,
                marketplaces=marketplaces,
                figures=figures,
            )
        )
    return rows


def sum_by_district(
    offices: Iterable[OfficeKpi], names: dict[int, str]
) -> tuple[list[DistrictKpi], Figures]:
    """District sums (by district name) and the total of the offices given."""
    sums: dict[int, Figures] = {}
    total = Figures()
    for office in offices:
        sums.setdefault(office.district_id, Figures()).add(office.figures)
        total.add(office.figures)
    districts = [
        DistrictKpi(district_id=d, name=names.get(d, str(d)), figures=f) for d, f in sums.items()
    ]
    return sorted(districts, key=lambda d: d.name), total


def network_kpi(
    session: Session,
    period: Period,
    *,
    region_id: int | None = None,
    district_id: int | None = None,
) -> NetworkKpi:
    """The figures of every office of a region (or of one district of it), their districts'
    sums and the total (without a region: every office there is)."""
    scope = _Scope(region_id=region_id, district_id=district_id)
    offices = _office_kpis(session, scope, period)
    query = select(District.id, District.name)
    if region_id is not None:
        query = query.where(District.region_id == region_id)
    if district_id is not None:
        query = query.where(District.id == district_id)
    names = {row.id: row.name for row in session.execute(query)}
    districts, total = sum_by_district(offices, names)
    marketplaces = sorted({m for o in offices for m in o.figures.cash_kop})
    return NetworkKpi(
        period=period,
        districts=districts,
        offices=offices,
        total=total,
        marketplaces=marketplaces,
    )


def office_kpi(
    session: Session, period: Period, *, index: str, region_id: int | None = None
) -> OfficeKpi:
    """One office's figures for the period (its popup on the map); an office of another
    region than the one given is not found."""
    query = select(PostOffice.id).where(
        PostOffice.index == index, *_Scope(region_id=region_id).where()
    )
    office_id = session.scalar(query)
    if office_id is None:
        raise PostOfficeNotFound(index)
    return _office_kpis(session, _Scope(office_id=office_id), period)[0]
