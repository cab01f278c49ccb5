"""Hand-over acts: the register a marketplace's warehouse and the driver sign for the parcels
that leave on the line-haul (Russian Post's form 103, CDEK's акт приёма-передачи), and the
hub's acceptance that checks the parcels against it.

* ``create_handover``: the act for named shipments, or for every one still ``created``. Its
  number is gap-free per marketplace and year (``H-2026-000001``, the year in the warehouse's
  zone): the counter row moves on in the creating transaction, so an act refused or rolled
  back gives its number back, and concurrent creators queue on the row. Making the act is the
  hand-over: every shipment on it that is still ``created`` gets its ``handed_over`` event
  (and webhooks) at once, so it can no longer be cancelled and waits for the line-haul.
* A shipment is on one open act at most (409 otherwise; a partial unique index holds it too);
  cancelled shipments and those past the hand-over are refused (409), another marketplace's
  or unknown ones are 404, an unknown warehouse is 422.
* The hub's scans (``arrived_at_sorting_centre`` / ``arrived_at_hub``, however they arrive)
  mark the act's entries (``shipment.handover_scans``); ``accept_handover`` closes the act with
  the numbers the hub scanned: ``missing`` (on the act, never scanned), ``extra`` (scanned,
  not on it), status ``accepted`` or ``accepted_with_discrepancies``.

Services flush, never commit; time always comes in as ``now``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selpo.errors import Conflict, InvalidInput, NotFound
from selpo.kit.display import local_day
from selpo.models import (
    Handover,
    HandoverEntry,
    HandoverSerial,
    Hub,
    Marketplace,
    Shipment,
    Warehouse,
)
from selpo.shipment import repository
from selpo.shipment import service as shipment_service
from selpo.shipment.handover_pdf import ActPrint, render_handover
from selpo.shipment.handover_schemas import (
    MAX_ACT,
    AcceptanceCreate,
    AcceptanceRead,
    HandoverCreate,
    HandoverLine,
    HandoverPage,
    HandoverRead,
    HandoverStatus,
    HandoverSummary,
)
from selpo.shipment.lifecycle import Status
from selpo.shipment.tracking import InvalidTrackingNumber, parse_tracking_number

OPEN: Final = "open"
ACCEPTED: Final = "accepted"
ACCEPTED_WITH_DISCREPANCIES: Final = "accepted_with_discrepancies"
ACTOR: Final[str] = "handover"
"""Who the act's ``handed_over`` events name."""
HUB_ACTOR: Final[str] = "hub-acceptance"
ACCEPTABLE: Final[frozenset[str]] = frozenset({Status.CREATED, Status.HANDED_OVER})
"""Statuses a shipment may have to go on an act: not yet handed over, or handed over (a
warehouse's own scan, or missing from an earlier act) and on no open act."""
MAX_DAYS: Final[int] = 366
"""The longest period ``GET /v1/handovers`` lists."""


# ---------------------------------------------------------------------------- refusals


class UnknownWarehouse(InvalidInput):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown warehouse {code!r}", field="warehouse")


class UnknownHub(InvalidInput):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown hub {code!r}", field="hub")


class HandoverNotFound(NotFound):
    def __init__(self, handover_id: int) -> None:
        super().__init__(f"no hand-over act {handover_id}", field="id")


class ShipmentsNotFound(NotFound):
    """Numbers that are not this marketplace's shipments (unknown or another's: one list)."""

    def __init__(self, numbers: list[str]) -> None:
        super().__init__(
            f"{len(numbers)} tracking number(s) are not your shipments: {', '.join(numbers[:10])}",
            field="tracking_numbers",
            unknown=numbers,
        )


class HandoverRefused(Conflict):
    """Shipments that cannot go on the act now, each with its reason."""

    def __init__(self, refused: list[dict[str, object]]) -> None:
        reasons = "; ".join(f"{r['tracking_number']}: {r['reason']}" for r in refused[:10])
        super().__init__(
            f"{len(refused)} shipment(s) cannot go on an act: {reasons}",
            field="tracking_numbers",
            refused=refused,
        )


class NothingToHandOver(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "none of your shipments is waiting for an act (status created)",
            field="tracking_numbers",
        )


class HandoverAlreadyAccepted(Conflict):
    def __init__(self, handover: Handover) -> None:
        super().__init__(
            f"act {handover.number} was already accepted ({handover.status})",
            field="id",
            status_now=handover.status,
        )


# ---------------------------------------------------------------------------- reading


def _places_of(session: Session, shipment_ids: Collection[int]) -> dict[int, int]:
    """How many places (packages) each shipment has."""
    return repository.place_counts(session, shipment_ids)


def _order_numbers(session: Session, scanned: Sequence[str]) -> dict[str, str]:
    """The order's own tracking number for each number a hub scanned (a place's number
    stands for its order)."""
    return repository.order_numbers(session, scanned)


def _numbers(values: Sequence[str], field: str = "tracking_numbers") -> list[str]:
    """Parsed tracking numbers, each once in the order first given; 422 naming the bad ones."""
    parsed: dict[str, None] = {}
    bad: list[str] = []
    for value in values:
        try:
            parsed[parse_tracking_number(value)] = None
        except InvalidTrackingNumber:
            bad.append(value)
    if bad:
        raise InvalidInput(
            f"not tracking numbers: {', '.join(bad[:10])}", field=field, invalid=bad[:100]
        )
    return list(parsed)


def _entries(session: Session, handover_id: int) -> list[HandoverEntry]:
    query = (
        select(HandoverEntry)
        .where(HandoverEntry.handover_id == handover_id)
        .order_by(HandoverEntry.line)
    )
    return list(session.scalars(query))


def _acceptance(handover: Handover, entries: Sequence[HandoverEntry]) -> AcceptanceRead | None:
    if handover.accepted_at is None:
        return None
    return AcceptanceRead(
        accepted_at=handover.accepted_at,
        hub=handover.accepted_hub,
        missing=[e.tracking_number for e in entries if e.scanned_at is None],
        extra=list(handover.extra or []),
    )


def _status(handover: Handover) -> HandoverStatus:
    if handover.status == ACCEPTED:
        return ACCEPTED
    if handover.status == ACCEPTED_WITH_DISCREPANCIES:
        return ACCEPTED_WITH_DISCREPANCIES
    return OPEN


def _summary(
    handover: Handover, warehouse: str, entries: Sequence[HandoverEntry], scanned: int
) -> HandoverSummary:
    return HandoverSummary(
        id=handover.id,
        number=handover.number,
        warehouse=warehouse,
        created_at=handover.created_at,
        status=_status(handover),
        count=handover.count,
        places=handover.places,
        weight_g=handover.weight_g,
        declared_value_kop=handover.declared_value_kop,
        cod_kop=handover.cod_kop,
        scanned=scanned,
        acceptance=_acceptance(handover, entries),
    )


def read_handover(session: Session, handover: Handover) -> HandoverRead:
    """The act as the API shows it: totals, lines, the hub's findings."""
    warehouse = session.get_one(Warehouse, handover.warehouse_id)
    entries = _entries(session, handover.id)
    summary = _summary(
        handover, warehouse.code, entries, sum(1 for e in entries if e.scanned_at is not None)
    )
    lines = [
        HandoverLine(
            line=e.line,
            tracking_number=e.tracking_number,
            external_order_id=e.external_order_id,
            places=e.places,
            weight_g=e.weight_g,
            declared_value_kop=e.declared_value_kop,
            cod_kop=e.cod_kop,
            scanned_at=e.scanned_at,
        )
        for e in entries
    ]
    return HandoverRead(**summary.model_dump(), shipments=lines)


def get_handover(session: Session, *, marketplace_id: int | None, handover_id: int) -> Handover:
    """An act by id: a marketplace's own only (another's is 404, as unknown); the operator's
    (``marketplace_id`` ``None``) any."""
    handover = session.get(Handover, handover_id)
    if handover is None or (
        marketplace_id is not None and handover.marketplace_id != marketplace_id
    ):
        raise HandoverNotFound(handover_id)
    return handover


def list_handovers(
    session: Session, *, marketplace_id: int, first: date, last: date
) -> HandoverPage:
    """The marketplace's acts made on the days ``first`` to ``last`` (each act's day in its
    warehouse's zone), oldest first, with their totals."""
    if last < first:
        raise InvalidInput("to is before from", field="to")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"a period of at most {MAX_DAYS} days", field="to")
    # Every zone is within a day of UTC: read a day more on each side, keep the local days.
    lower = datetime.combine(first - timedelta(days=1), datetime.min.time(), ZoneInfo("UTC"))
    upper = datetime.combine(last + timedelta(days=2), datetime.min.time(), ZoneInfo("UTC"))
    query = (
        select(Handover, Warehouse.code, Warehouse.timezone)
        .join(Warehouse, Warehouse.id == Handover.warehouse_id)
        .where(
            Handover.marketplace_id == marketplace_id,
            Handover.created_at >= lower,
            Handover.created_at < upper,
        )
        .order_by(Handover.created_at, Handover.id)
    )
    rows = [
        (h, code)
        for h, code, zone in session.execute(query)
        if first <= local_day(h.created_at, zone) <= last
    ]
    ids = [h.id for h, _ in rows]
    scanned: dict[int, int] = {}
    missing: dict[int, list[HandoverEntry]] = {}
    if ids:
        counts = (
            select(HandoverEntry.handover_id, func.count())
            .where(HandoverEntry.handover_id.in_(ids), HandoverEntry.scanned_at.is_not(None))
            .group_by(HandoverEntry.handover_id)
        )
        scanned = {hid: int(n) for hid, n in session.execute(counts)}
        accepted = [h.id for h, _ in rows if h.accepted_at is not None]
        if accepted:
            unseen = (
                select(HandoverEntry)
                .where(HandoverEntry.handover_id.in_(accepted), HandoverEntry.scanned_at.is_(None))
                .order_by(HandoverEntry.handover_id, HandoverEntry.line)
            )
            for entry in session.scalars(unseen):
                missing.setdefault(entry.handover_id, []).append(entry)
    return HandoverPage(
        from_=first,
        to=last,
        handovers=[
            _summary(h, code, missing.get(h.id, []), scanned.get(h.id, 0)) for h, code in rows
        ],
    )


# ---------------------------------------------------------------------------- making an act


def _next_serial(session: Session, marketplace_id: int, year: int) -> int:
    """The next act number of the marketplace's year, counted in the caller's transaction:
    one atomic UPDATE ... RETURNING (concurrent creators queue on the row until commit, and
    a rollback gives the number back: no gaps)."""
    statement = (
        update(HandoverSerial)
        .where(HandoverSerial.marketplace_id == marketplace_id, HandoverSerial.year == year)
        .values(last_serial=HandoverSerial.last_serial + 1)
        .returning(HandoverSerial.last_serial)
    )
    last = session.execute(statement).scalar_one_or_none()
    if last is not None:
        return int(last)
    try:
        with session.begin_nested():
            session.add(HandoverSerial(marketplace_id=marketplace_id, year=year, last_serial=0))
    except IntegrityError:
        pass  # another transaction made the year's row first: use it
    return int(session.execute(statement).scalar_one())


def act_number(year: int, serial: int) -> str:
    """How an act's number reads: ``H-2026-000042``."""
    return f"H-{year}-{serial:06d}"


def _warehouse(session: Session, code: str) -> Warehouse:
    warehouse = session.scalar(select(Warehouse).where(Warehouse.code == code))
    if warehouse is None:
        raise UnknownWarehouse(code)
    return warehouse


def _waiting_numbers(session: Session, marketplace_id: int) -> list[str]:
    """The marketplace's shipments still ``created``, oldest first, ``MAX_ACT`` at most."""
    query = (
        select(Shipment.tracking_number)
        .where(Shipment.marketplace_id == marketplace_id, Shipment.status == Status.CREATED)
        .order_by(Shipment.id)
        .limit(MAX_ACT)
    )
    return list(session.scalars(query))


def _own_numbers(session: Session, marketplace_id: int, numbers: Sequence[str]) -> set[str]:
    own: set[str] = set()
    for start in range(0, len(numbers), 500):
        query = select(Shipment.tracking_number).where(
            Shipment.marketplace_id == marketplace_id,
            Shipment.tracking_number.in_(numbers[start : start + 500]),
        )
        own.update(session.scalars(query))
    return own


def _open_acts(session: Session, shipment_ids: Collection[int]) -> dict[int, tuple[int, str]]:
    """The open act each of these shipments is on: shipment id -> (act id, act number)."""
    found: dict[int, tuple[int, str]] = {}
    ids = sorted(shipment_ids)
    for start in range(0, len(ids), 500):
        query = (
            select(HandoverEntry.shipment_id, Handover.id, Handover.number)
            .join(Handover, Handover.id == HandoverEntry.handover_id)
            .where(
                HandoverEntry.shipment_id.in_(ids[start : start + 500]),
                HandoverEntry.on_open_act.is_(True),
            )
        )
        found.update((sid, (hid, number)) for sid, hid, number in session.execute(query))
    return found


def _refusals(
    shipments: Sequence[Shipment], on_open: dict[int, tuple[int, str]]
) -> list[dict[str, object]]:
    refused: list[dict[str, object]] = []
    for shipment in shipments:
        entry: dict[str, object] = {
            "tracking_number": shipment.tracking_number,
            "status": shipment.status,
        }
        if shipment.status == Status.CANCELLED:
            refused.append({**entry, "reason": "cancelled"})
        elif shipment.status not in ACCEPTABLE:
            refused.append({**entry, "reason": f"already {shipment.status}"})
        elif shipment.id in on_open:
            act_id, number = on_open[shipment.id]
            refused.append({**entry, "reason": f"on open act {number}", "handover_id": act_id})
    return refused


def create_handover(
    session: Session, *, marketplace: Marketplace, request: HandoverCreate, now: datetime
) -> Handover:
    """Make the act for the warehouse's parcels (see the module's description); the act's
    shipments still ``created`` are handed over by it. A refusal changes nothing."""
    warehouse = _warehouse(session, request.warehouse)
    if request.tracking_numbers is None:
        numbers = _waiting_numbers(session, marketplace.id)
    else:
        numbers = _numbers(request.tracking_numbers)
        own = _own_numbers(session, marketplace.id, numbers)
        unknown = [n for n in numbers if n not in own]
        if unknown:
            raise ShipmentsNotFound(unknown)
    # Locked in tracking-number order (as every shipment write locks them): a concurrent act,
    # cancel or scan of the same parcels waits, and what is read next is what it left.
    locked = repository.by_tracking_numbers(session, numbers, lock=True)
    shipments = [locked[n] for n in numbers if n in locked]
    on_open = _open_acts(session, [s.id for s in shipments])
    refused = _refusals(shipments, on_open)
    if request.tracking_numbers is None:
        # "Everything waiting": what a concurrent act took meanwhile is simply not waiting.
        taken = {str(r["tracking_number"]) for r in refused}
        shipments = [s for s in shipments if s.tracking_number not in taken]
        if not shipments:
            raise NothingToHandOver()
    elif refused:
        raise HandoverRefused(refused)

    year = local_day(now, warehouse.timezone).year
    serial = _next_serial(session, marketplace.id, year)
    places = _places_of(session, [s.id for s in shipments])
    handover = Handover(
        marketplace_id=marketplace.id,
        warehouse_id=warehouse.id,
        year=year,
        serial=serial,
        number=act_number(year, serial),
        status=OPEN,
        count=len(shipments),
        places=sum(places[s.id] for s in shipments),
        weight_g=sum(s.weight_g for s in shipments),
        declared_value_kop=sum(s.declared_value_kop for s in shipments),
        cod_kop=sum(s.cod_kop for s in shipments),
        created_at=now,
    )
    session.add(handover)
    session.flush()
    # One executemany (the entries' ids are not needed here: no objects, no RETURNING).
    session.execute(
        insert(HandoverEntry),
        [
            {
                "handover_id": handover.id,
                "shipment_id": s.id,
                "line": line,
                "on_open_act": True,
                "tracking_number": s.tracking_number,
                "external_order_id": s.external_order_id,
                "places": places[s.id],
                "weight_g": s.weight_g,
                "declared_value_kop": s.declared_value_kop,
                "cod_kop": s.cod_kop,
                "scanned_at": None,
            }
            for line, s in enumerate(shipments, start=1)
        ],
    )
    raw = {"handover_id": handover.id, "handover": handover.number, "warehouse": warehouse.code}
    scans = [
        shipment_service.Scan(s.tracking_number, "handed_over", now, actor=ACTOR, raw=raw)
        for s in shipments
        if s.status == Status.CREATED
    ]
    for outcome in shipment_service.record_scans(session, scans=scans, now=now, locked=locked):
        if outcome.error is not None:  # pragma: no cover - the statuses were checked, locked
            raise outcome.error
    # The other places of an order of several go to the driver too: each is scanned on its
    # own, once the order is handed over (a place's scan moves only the place then).
    places_of = repository.places_of_many(session, {s.id for s in shipments})
    place_scans = [
        shipment_service.Scan(place.tracking_number, "handed_over", now, actor=ACTOR, raw=raw)
        for places in places_of.values()
        if len(places) > 1
        for place in places
        if place.status == Status.CREATED
    ]
    for outcome in shipment_service.record_scans(session, scans=place_scans, now=now):
        if outcome.error is not None:  # pragma: no cover - the statuses were checked, locked
            raise outcome.error
    return handover


# ---------------------------------------------------------------------------- the hub


def _hub(session: Session, code: str | None) -> Hub | None:
    if code is None:
        return None
    hub = session.scalar(select(Hub).where(Hub.code == code))
    if hub is None:
        raise UnknownHub(code)
    return hub


def accept_handover(
    session: Session,
    *,
    handover_id: int,
    acceptance: AcceptanceCreate,
    now: datetime,
    max_skew: timedelta = shipment_service.SCAN_CLOCK_SKEW,
) -> Handover:
    """Close the hub's acceptance of an act with the numbers it scanned (operator).

    A scanned number on the act marks its entry (one scanned earlier by a hub scan keeps
    that time) and records the hub's ``arrived_at_sorting_centre`` scan for it; every
    entry still unmarked is ``missing``, every scanned number not on the act ``extra``; the
    act becomes ``accepted`` (neither) or ``accepted_with_discrepancies``. Once only (409).
    """
    handover = session.scalar(
        select(Handover)
        .where(Handover.id == handover_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if handover is None:
        raise HandoverNotFound(handover_id)
    if handover.status != OPEN:
        raise HandoverAlreadyAccepted(handover)
    accepted_at = acceptance.accepted_at or now
    if accepted_at.tzinfo is None:
        raise InvalidInput("accepted_at needs a UTC offset", field="accepted_at")
    if accepted_at > now + max_skew:
        raise InvalidInput("accepted_at is in the future", field="accepted_at")
    if accepted_at < handover.created_at:
        raise InvalidInput("accepted_at is before the act was made", field="accepted_at")
    hub = _hub(session, acceptance.hub)
    numbers = _numbers(acceptance.tracking_numbers)
    entries = _entries(session, handover.id)
    by_number = {e.tracking_number: e for e in entries}
    order_of = _order_numbers(session, numbers)
    newly: list[HandoverEntry] = []
    for number in numbers:
        entry = by_number.get(order_of[number])
        if entry is not None and entry.scanned_at is None:
            entry.scanned_at = accepted_at
            newly.append(entry)
    extra = [n for n in numbers if order_of[n] not in by_number]
    missing = [e for e in entries if e.scanned_at is None]
    for entry in entries:
        entry.on_open_act = False
    handover.status = ACCEPTED if not missing and not extra else ACCEPTED_WITH_DISCREPANCIES
    handover.accepted_at = accepted_at
    handover.accepted_hub = hub.code if hub is not None else None
    handover.extra = extra
    session.flush()
    raw = {"handover_id": handover.id, "handover": handover.number}
    scans = [
        shipment_service.Scan(
            e.tracking_number,
            "arrived_at_sorting_centre",
            accepted_at,
            office_index=hub.index if hub is not None else None,
            actor=HUB_ACTOR,
            raw=raw,
        )
        for e in newly
    ]
    # A parcel already further along (say the hub's own scan moved it on) keeps its status:
    # such a refusal is the parcel's history, not the act's concern.
    shipment_service.record_scans(session, scans=scans, now=now, max_skew=max_skew)
    return handover


def print_handover(session: Session, handover: Handover) -> bytes:
    """The act as an A4 PDF in Russian, for the warehouse and the driver to sign."""
    read = read_handover(session, handover)
    warehouse = session.get_one(Warehouse, handover.warehouse_id)
    marketplace = session.get_one(Marketplace, handover.marketplace_id)
    return render_handover(
        ActPrint(
            act=read,
            warehouse_name=warehouse.name,
            timezone=warehouse.timezone,
            marketplace_name=marketplace.name,
        )
    )
