"""What anyone holding a tracking number may see of the parcel: the recipient's own page.

A tracking number is all the page asks for, so whoever knows or guesses one sees this view;
it therefore holds nothing personal and nothing that opens the parcel: no name, no phone, no
pickup code or its hash, no cell, no order number, no marketplace. It holds the status and
the history (event codes; the page words them), the destination office's index, address and
hours over the coming days (its weekly hours and the public holidays, in its zone), the last
day of storage, and the amount to pay while cash on delivery is still due.

Sandbox (test) shipments are not shown to anyone here: they answer as unknown numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.kit.display import local_day
from selpo.logistics.calendar import holiday_calendar
from selpo.models import PostOffice, Shipment, TrackingEvent
from selpo.shipment.lifecycle import Status
from selpo.shipment.tracking import is_valid_tracking_number

DAYS_SHOWN = 7  # the office's hours from today on
# Events that say nothing to the recipient: a marketplace's change of the order's data.
HIDDEN_EVENTS = frozenset({"updated"})
# Statuses in which the recipient will still collect (and pay for) the parcel.
COLLECTABLE = frozenset(
    {
        Status.CREATED,
        Status.HANDED_OVER,
        Status.IN_TRANSIT,
        Status.ARRIVED_AT_OFFICE,
        Status.READY_FOR_PICKUP,
    }
)


@dataclass(frozen=True)
class Step:
    """One event of the parcel's history."""

    code: str  # the tracking event's code (``arrived_at_office``)
    status_after: str
    at: datetime


@dataclass(frozen=True)
class OfficeDay:
    """The office on one local day: its hours, or none (a day off or a public holiday)."""

    day: date
    hours: tuple[tuple[str, str], ...]
    holiday: bool


@dataclass(frozen=True)
class RecipientView:
    """The parcel as its recipient's page shows it (and nothing more)."""

    tracking_number: str
    status: str
    collectable: bool  # on its way to the office or waiting there (not issued, not gone)
    history: tuple[Step, ...]  # newest first
    promised_date: date | None  # while on the way
    office_index: str
    office_name: str
    office_address: str
    office_open: bool  # False: the office is temporarily closed or closed
    timezone: str
    days: tuple[OfficeDay, ...]
    storage_deadline: datetime | None  # while the parcel waits
    to_pay_kop: int  # cash on delivery still due (0: nothing)
    cash: bool  # the office takes cash
    card: bool  # the office takes cards


def clean_number(raw: str) -> str:
    """A tracking number as people type or paste it: spaces (plain and no-break), dashes
    and dots dropped (``1010 0005 0001 77`` → ``10100005000177``)."""
    return "".join(ch for ch in raw if ch not in " \u00a0\u202f\t-.")


def _shipment(session: Session, tracking_number: str) -> Shipment | None:
    query = select(Shipment).where(Shipment.tracking_number == tracking_number)
    # Test shipments (a ``sandbox`` flag, when the schema has one) are nobody's parcel here.
    sandbox = getattr(Shipment, "sandbox", None)
    if sandbox is not None:
        query = query.where(sandbox.is_(False))
    return session.scalars(query).first()


def _history(session: Session, shipment_id: int) -> tuple[Step, ...]:
    events = session.scalars(
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment_id)
        .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
    )
    return tuple(
        Step(event.code, event.status_after, event.occurred_at)
        for event in events
        if event.code not in HIDDEN_EVENTS
    )


def office_days(office: PostOffice, first: date, count: int = DAYS_SHOWN) -> tuple[OfficeDay, ...]:
    """The office's hours on ``count`` local days from ``first``: its weekly hours, none on
    a public holiday."""
    calendar = holiday_calendar()
    days = []
    for offset in range(count):
        day = first + timedelta(days=offset)
        holiday = calendar.is_closed(day)
        weekly = office.opening_hours[day.weekday()] if office.opening_hours else []
        hours = () if holiday else tuple((str(a), str(b)) for a, b in weekly)
        days.append(OfficeDay(day, hours, holiday))
    return tuple(days)


def find(session: Session, raw_number: str, *, now: datetime) -> RecipientView | None:
    """The recipient's view of a parcel; ``None`` for a malformed or unknown number (a
    sandbox parcel included), which the page answers alike."""
    number = clean_number(raw_number)
    if not is_valid_tracking_number(number):
        return None
    shipment = _shipment(session, number)
    if shipment is None:
        return None
    office = session.get(PostOffice, shipment.destination_office_id)
    assert office is not None  # a foreign key guarantees it
    status = Status(shipment.status)
    waiting = status == Status.READY_FOR_PICKUP
    on_the_way = status in (Status.CREATED, Status.HANDED_OVER, Status.IN_TRANSIT)
    due = max(0, shipment.cod_kop - shipment.cod_collected_kop) if status in COLLECTABLE else 0
    return RecipientView(
        tracking_number=shipment.tracking_number,
        status=status.value,
        collectable=status in COLLECTABLE,
        history=_history(session, shipment.id),
        promised_date=shipment.promised_date if on_the_way else None,
        office_index=office.index,
        office_name=office.name,
        office_address=office.address,
        office_open=office.status == "open",
        timezone=office.timezone,
        days=office_days(office, local_day(now, office.timezone)),
        storage_deadline=shipment.storage_deadline if waiting else None,
        to_pay_kop=due,
        cash=office.accepts_cash,
        card=office.accepts_card,
    )
