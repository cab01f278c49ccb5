"""The clerks' workload for a period, per office and per clerk (for staffing and pay;
docs/dashboard.md): parcels accepted, shelved and issued per hour on duty, how long parcels
wait (arrival → shelf, ready → issue; median and 90th percentile) and the busiest hours of the
day.

* **who did it** — the tracking event's ``actor``: ``clerk:LOGIN`` for counter work (events
  written by the hub, the API or the simulation are not a clerk's and are left out);
* **accepted** — ``arrived_at_office`` events, **shelved** — ``ready_for_pickup``, **issued** —
  ``delivered`` and ``partially_delivered``, in the period, at the parcel's destination office;
* **hours on duty** — the clerk's signed-in time (``clerk_session``: from the sign-in to the
  sign-out, or to the session's end when never signed out, and never past now), cut to the
  period. A clerk who worked in several offices (a supervisor) has their hours shared out by
  their actions in each; a clerk with no action in the period shows at their own office with
  their hours (idle time counts for staffing);
* **waits** — arrival → shelf: from the parcel's first ``arrived_at_office`` to its shelving,
  for parcels shelved in the period (the shelving clerk's); ready → issue: from ``ready_at``
  to the issue, for parcels issued in the period (the issuing clerk's);
* **busiest hours** — the office's counter actions by local hour of the day (the office's
  zone), the three busiest first.

The period's events are read once and grouped in Python (one row per event of the scope).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from selpo.models import Clerk, ClerkSession, District, PostOffice, Shipment, TrackingEvent
from selpo.reporting.kpi import Period
from selpo.shipment.lifecycle import Status

ACCEPTED = Status.ARRIVED_AT_OFFICE.value
SHELVED = Status.READY_FOR_PICKUP.value
ISSUED = (Status.DELIVERED.value, Status.PARTIALLY_DELIVERED.value)
CLERK_ACTOR = "clerk:"
BUSIEST = 3  # hours named as the busiest


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Waits:
    """Waiting times in hours: how many, the median and the 90th percentile."""

    count: int
    median_h: float | None
    p90_h: float | None

    @classmethod
    def of(cls, hours: Iterable[float]) -> Waits:
        values = sorted(hours)
        if not values:
            return cls(0, None, None)
        p90 = values[max(0, math.ceil(0.9 * len(values)) - 1)]  # nearest rank
        return cls(len(values), statistics.median(values), p90)


@dataclass
class Load:
    """The counts of a clerk at an office (or of the whole office)."""

    hours_on_duty: float = 0.0
    accepted: int = 0
    shelved: int = 0
    issued: int = 0
    to_shelf: list[float] = field(default_factory=list)  # hours, arrival -> shelf
    to_issue: list[float] = field(default_factory=list)  # hours, ready -> issue

    @property
    def actions(self) -> int:
        return self.accepted + self.shelved + self.issued

    def per_hour(self, count: int) -> float | None:
        """``count`` per hour on duty (``None`` without hours on duty)."""
        return count / self.hours_on_duty if self.hours_on_duty > 0 else None

    @property
    def accepted_per_hour(self) -> float | None:
        return self.per_hour(self.accepted)

    @property
    def issued_per_hour(self) -> float | None:
        return self.per_hour(self.issued)

    @property
    def arrival_to_shelf(self) -> Waits:
        return Waits.of(self.to_shelf)

    @property
    def ready_to_issue(self) -> Waits:
        return Waits.of(self.to_issue)


@dataclass(frozen=True)
class ClerkLoad:
    """One clerk at one office."""

    login: str
    name: str
    load: Load


@dataclass(frozen=True)
class OfficeLoad:
    """One office: its clerks, its total, its actions by local hour."""

    index: str
    name: str
    district_id: int
    clerks: list[ClerkLoad]
    total: Load
    by_hour: list[int]  # 24 counts, local hours 0..23

    @property
    def busiest_hours(self) -> list[int]:
        """The busiest local hours of the day (at most three, busiest first)."""
        ranked = sorted((h for h in range(24) if self.by_hour[h]), key=lambda h: -self.by_hour[h])
        return ranked[:BUSIEST]


@dataclass(frozen=True)
class Workload:
    """The offices of a scope with counter work or clerks on duty in the period."""

    period: Period
    offices: list[OfficeLoad]


# ---------------------------------------------------------------------------- queries


def _scope(region_id: int, district_id: int | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        PostOffice.district_id.in_(select(District.id).where(District.region_id == region_id))
    ]
    if district_id is not None:
        conditions.append(PostOffice.district_id == district_id)
    return conditions


def _period_filter(
    moment: InstrumentedAttribute[datetime], period: Period, zones: Sequence[str]
) -> ColumnElement[bool]:
    parts = []
    for zone in zones:
        start, end = period.bounds(zone)
        parts.append(and_(PostOffice.timezone == zone, moment >= start, moment < end))
    return or_(*parts)


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


def workload(
    session: Session,
    period: Period,
    *,
    region_id: int,
    district_id: int | None = None,
    now: datetime,
) -> Workload:
    """The clerks' work at the offices of a region (or one district) in a period."""
    where = _scope(region_id, district_id)
    offices = {
        row.id: row
        for row in session.execute(
            select(
                PostOffice.id,
                PostOffice.index.label("office_index"),
                PostOffice.name,
                PostOffice.district_id,
                PostOffice.timezone,
            ).where(*where)
        )
    }
    if not offices:
        return Workload(period, [])
    zones = sorted({o.timezone for o in offices.values()})
    events = session.execute(
        select(
            TrackingEvent.shipment_id,
            TrackingEvent.code,
            TrackingEvent.occurred_at,
            TrackingEvent.actor,
            Shipment.destination_office_id,
            Shipment.ready_at,
        )
        .join(Shipment, TrackingEvent.shipment_id == Shipment.id)
        .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
        .where(
            TrackingEvent.code.in_([ACCEPTED, SHELVED, *ISSUED]),
            TrackingEvent.applied.is_(True),
            TrackingEvent.actor.startswith(CLERK_ACTOR),
            _period_filter(TrackingEvent.occurred_at, period, zones),
            *where,
        )
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    ).all()
    shelved_ids = [e.shipment_id for e in events if e.code == SHELVED]
    arrived: dict[int, datetime] = {}
    for start in range(0, len(shelved_ids), 500):
        chunk = shelved_ids[start : start + 500]
        query = (
            select(TrackingEvent.shipment_id, func.min(TrackingEvent.occurred_at))
            .where(TrackingEvent.code == ACCEPTED, TrackingEvent.shipment_id.in_(chunk))
            .group_by(TrackingEvent.shipment_id)
        )
        arrived.update((shipment_id, came) for shipment_id, came in session.execute(query))

    loads: dict[tuple[int, str], Load] = defaultdict(Load)
    by_hour: dict[int, list[int]] = defaultdict(lambda: [0] * 24)
    for e in events:
        login = e.actor.removeprefix(CLERK_ACTOR)
        office = offices[e.destination_office_id]
        load = loads[(office.id, login)]
        if e.code == ACCEPTED:
            load.accepted += 1
        elif e.code == SHELVED:
            load.shelved += 1
            came = arrived.get(e.shipment_id)
            if came is not None and came <= e.occurred_at:
                load.to_shelf.append(_hours(came, e.occurred_at))
        else:
            load.issued += 1
            if e.ready_at is not None and e.ready_at <= e.occurred_at:
                load.to_issue.append(_hours(e.ready_at, e.occurred_at))
        by_hour[office.id][e.occurred_at.astimezone(ZoneInfo(office.timezone)).hour] += 1

    _add_hours_on_duty(session, loads, offices, period, zones[0], now=now)

    logins = {login for _, login in loads}
    named = select(Clerk.login, Clerk.full_name).where(Clerk.login.in_(logins))
    names: dict[str, str | None] = {row.login: row.full_name for row in session.execute(named)}
    result = []
    for office_id in sorted({o for o, _ in loads}, key=lambda o: offices[o].office_index):
        office = offices[office_id]
        clerks = sorted(
            (
                ClerkLoad(login, names.get(login) or login, load)
                for (o, login), load in loads.items()
                if o == office_id
            ),
            key=lambda c: c.login,
        )
        total = Load()
        for clerk in clerks:
            total.hours_on_duty += clerk.load.hours_on_duty
            total.accepted += clerk.load.accepted
            total.shelved += clerk.load.shelved
            total.issued += clerk.load.issued
            total.to_shelf.extend(clerk.load.to_shelf)
            total.to_issue.extend(clerk.load.to_issue)
        result.append(
            OfficeLoad(
                index=office.office_index,
                name=office.name,
                district_id=office.district_id,
                clerks=clerks,
                total=total,
                by_hour=by_hour[office_id],
            )
        )
    return Workload(period, result)


def _add_hours_on_duty(
    session: Session,
    loads: dict[tuple[int, str], Load],
    offices: dict[int, Any],
    period: Period,
    zone: str,
    *,
    now: datetime,
) -> None:
    """Each clerk's signed-in hours in the period, shared out by their actions per office (a
    clerk of one of these offices with no action shows there with their hours)."""
    start, end = period.bounds(zone)
    end = min(end, now)
    rows = session.execute(
        select(
            Clerk.login,
            Clerk.post_office_id,
            ClerkSession.created_at,
            ClerkSession.revoked_at,
            ClerkSession.expires_at,
        )
        .join(Clerk, ClerkSession.clerk_id == Clerk.id)
        .where(ClerkSession.created_at < end, ClerkSession.expires_at > start)
    ).all()
    actions: dict[str, dict[int, int]] = defaultdict(dict)
    for (office_id, login), load in loads.items():
        actions[login][office_id] = load.actions
    for row in rows:
        if row.login not in actions and row.post_office_id not in offices:
            continue  # neither working nor based in this scope
        ended = min(row.revoked_at or row.expires_at, row.expires_at, end)
        hours = _hours(max(row.created_at, start), ended)
        if hours <= 0:
            continue
        where = actions.get(row.login) or {}
        done = sum(where.values())
        if done == 0:
            if row.post_office_id in offices:
                loads[(row.post_office_id, row.login)].hours_on_duty += hours
            continue
        for office_id, count in where.items():
            loads[(office_id, row.login)].hours_on_duty += hours * count / done


# ---------------------------------------------------------------------------- CSV

CSV_HEADER = [
    "Индекс",
    "Отделение",
    "Сотрудник",
    "Логин",
    "Часов на смене",
    "Принято",
    "Разложено",
    "Выдано",
    "Принято в час",
    "Выдано в час",
    "Прибытие → ячейка, медиана, ч",
    "Прибытие → ячейка, 90 %, ч",
    "Готова → выдана, медиана, ч",
    "Готова → выдана, 90 %, ч",
    "Самые загруженные часы",
]


def _decimal(value: float | None, digits: int = 2) -> str:
    """A number as Russian spreadsheets read it (a decimal comma, no grouping); empty if none."""
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def _row(index: str, office: str, name: str, login: str, load: Load, busiest: str) -> list[str]:
    to_shelf, to_issue = load.arrival_to_shelf, load.ready_to_issue
    return [
        index,
        office,
        name,
        login,
        _decimal(load.hours_on_duty),
        str(load.accepted),
        str(load.shelved),
        str(load.issued),
        _decimal(load.accepted_per_hour),
        _decimal(load.issued_per_hour),
        _decimal(to_shelf.median_h),
        _decimal(to_shelf.p90_h),
        _decimal(to_issue.median_h),
        _decimal(to_issue.p90_h),
        busiest,
    ]


def hour_span(hour: int) -> str:
    """A local hour of the day as a span: ``10–11``."""
    return f"{hour:02d}–{(hour + 1) % 24:02d}"


def csv_rows(work: Workload) -> list[list[str]]:
    """The header, then per office a row per clerk and the office's total («всего»)."""
    rows = [CSV_HEADER]
    for office in work.offices:
        busiest = ", ".join(hour_span(h) for h in office.busiest_hours)
        for clerk in office.clerks:
            rows.append(_row(office.index, office.name, clerk.name, clerk.login, clerk.load, ""))
        rows.append(_row(office.index, office.name, "всего", "", office.total, busiest))
    return rows


__all__ = ["Load", "OfficeLoad", "Waits", "Workload", "csv_rows", "hour_span", "workload"]
