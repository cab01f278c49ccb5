"""Queries of the office workstation."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from selpo.db import failure_counted, unlocked
from selpo.kit.lockout import Lockout
from selpo.models import (
    Acceptance,
    AcceptanceScan,
    Clerk,
    ClerkSignInGuard,
    CodeSearchGuard,
    CustomerReturn,
    IssueReceipt,
    ManifestEntry,
    Marketplace,
    PostOffice,
    ReceiptSerial,
    ShelvingScan,
    Shipment,
    ShipmentItem,
    ShipmentPlace,
    TrackingEvent,
)

# Where a parcel sits in a cell: waiting for its recipient, or refused, expired or partly
# taken and waiting to go back — it keeps its cell until a return run's van loads it (the
# loading clears ``cell_code``: ``selpo.shipment.way_back.shipment_moved``).
IN_CELL = ("ready_for_pickup", "storage_expired", "refused", "partially_delivered", "returning")
# On its way to the office; a parcel recalled on its way still comes (its return starts here).
EXPECTED = ("handed_over", "in_transit", "recalled")
TO_RETURN = ("storage_expired", "refused", "partially_delivered")


def lock_office(session: Session, office_id: int) -> PostOffice:
    """The office row, locked until the transaction ends (serialises shelving per office).

    The lock reads the id only; the office itself comes from the session when it holds it
    already (the request's desk does), so its row is not read and built a second time."""
    query = select(PostOffice.id).where(PostOffice.id == office_id).with_for_update(key_share=True)
    session.execute(query).one()
    office = session.get(PostOffice, office_id)
    assert office is not None  # locked just now
    return office


def office_by_id(session: Session, office_id: int) -> PostOffice | None:
    """An office by id."""
    return session.get(PostOffice, office_id)


def shipment_by_number(session: Session, tracking_number: str) -> Shipment | None:
    """Any shipment by tracking number, or by the number of one of its places (the office
    checks whose it is)."""
    found = session.scalars(
        select(Shipment).where(Shipment.tracking_number == tracking_number)
    ).first()
    if found is not None:
        return found
    owner = select(ShipmentPlace.shipment_id).where(
        ShipmentPlace.tracking_number == tracking_number
    )
    return session.scalars(select(Shipment).where(Shipment.id.in_(owner))).first()


def lock_shipment(session: Session, shipment_id: int) -> Shipment:
    """A shipment, locked until the transaction ends."""
    query = (
        select(Shipment)
        .where(Shipment.id == shipment_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one()


def shipments_by_ids(session: Session, ids: Collection[int]) -> dict[int, Shipment]:
    """Shipments by id."""
    if not ids:
        return {}
    rows = session.scalars(select(Shipment).where(Shipment.id.in_(sorted(ids))))
    return {s.id: s for s in rows}


def office_shipments(
    session: Session, office_id: int, statuses: Sequence[str], *, limit: int = 1000
) -> list[Shipment]:
    """This office's shipments in these statuses, oldest change first."""
    query = (
        select(Shipment)
        .where(Shipment.destination_office_id == office_id, Shipment.status.in_(statuses))
        .order_by(Shipment.updated_at, Shipment.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def count_office_shipments(session: Session, office_id: int, statuses: Sequence[str]) -> int:
    """How many of this office's shipments are in these statuses."""
    query = select(func.count(Shipment.id)).where(
        Shipment.destination_office_id == office_id, Shipment.status.in_(statuses)
    )
    return int(session.scalar(query) or 0)


def occupied_cells(session: Session, office_id: int) -> dict[str, Shipment]:
    """Cell code → the parcel in it, for this office."""
    query = select(Shipment).where(
        Shipment.destination_office_id == office_id,
        Shipment.status.in_(IN_CELL),
        Shipment.cell_code.is_not(None),
    )
    return {s.cell_code: s for s in session.scalars(query) if s.cell_code}


def occupied_cell_numbers(session: Session, office_id: int) -> dict[str, str]:
    """Cell code → the tracking number of the parcel in it, for this office (two columns, no
    parcel objects built: for a shelving, which needs no more)."""
    query = select(Shipment.cell_code, Shipment.tracking_number).where(
        Shipment.destination_office_id == office_id,
        Shipment.status.in_(IN_CELL),
        Shipment.cell_code.is_not(None),
    )
    return {cell: number for cell, number in session.execute(query) if cell}


def marketplaces(session: Session) -> dict[int, Marketplace]:
    """Every marketplace by id (a handful)."""
    return {m.id: m for m in session.scalars(select(Marketplace))}


def items_of(session: Session, shipment_id: int) -> list[ShipmentItem]:
    """A shipment's order lines by position."""
    query = (
        select(ShipmentItem)
        .where(ShipmentItem.shipment_id == shipment_id)
        .order_by(ShipmentItem.position)
    )
    return list(session.scalars(query))


def clerk_logins(session: Session, ids: Collection[int]) -> dict[int, str]:
    """Clerk id → login."""
    if not ids:
        return {}
    query = select(Clerk.id, Clerk.login).where(Clerk.id.in_(sorted(ids)))
    return {row.id: row.login for row in session.execute(query)}


# ---------------------------------------------------------------------------- acceptance


def open_acceptance(session: Session, office_id: int) -> Acceptance | None:
    """The office's acceptance being scanned, if any."""
    query = (
        select(Acceptance)
        .where(Acceptance.post_office_id == office_id, Acceptance.status == "open")
        .order_by(Acceptance.id.desc())
    )
    return session.scalars(query).first()


def recent_acceptances(session: Session, office_id: int, *, limit: int = 10) -> list[Acceptance]:
    """The office's latest acceptances, newest first."""
    query = (
        select(Acceptance)
        .where(Acceptance.post_office_id == office_id)
        .order_by(Acceptance.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def acceptances_between(
    session: Session, office_id: int, start: datetime, end: datetime
) -> list[Acceptance]:
    """Acceptances of the office opened in [start, end)."""
    query = (
        select(Acceptance)
        .where(
            Acceptance.post_office_id == office_id,
            Acceptance.opened_at >= start,
            Acceptance.opened_at < end,
        )
        .order_by(Acceptance.id)
    )
    return list(session.scalars(query))


def scans_of(session: Session, acceptance_id: int) -> list[AcceptanceScan]:
    """An acceptance's scans in the order they were made."""
    query = (
        select(AcceptanceScan)
        .where(AcceptanceScan.acceptance_id == acceptance_id)
        .order_by(AcceptanceScan.id)
    )
    return list(session.scalars(query))


def first_scan_of(session: Session, acceptance_id: int, shipment_id: int) -> AcceptanceScan | None:
    """The first scan of a shipment in an acceptance."""
    query = (
        select(AcceptanceScan)
        .where(
            AcceptanceScan.acceptance_id == acceptance_id,
            AcceptanceScan.shipment_id == shipment_id,
        )
        .order_by(AcceptanceScan.id)
    )
    return session.scalars(query).first()


def acceptance_scan_by_client_id(session: Session, client_scan_id: str) -> AcceptanceScan | None:
    """The acceptance scan recorded under the id the counter's browser gave it."""
    query = select(AcceptanceScan).where(AcceptanceScan.client_scan_id == client_scan_id)
    return session.scalars(query).first()


def shelving_scan_by_client_id(session: Session, client_scan_id: str) -> ShelvingScan | None:
    """The shelving recorded under the id the counter's browser gave its scan."""
    query = select(ShelvingScan).where(ShelvingScan.client_scan_id == client_scan_id)
    return session.scalars(query).first()


def arrived_at(session: Session, shipment_id: int) -> datetime | None:
    """When the parcel's latest arrival at an office was scanned."""
    query = select(func.max(TrackingEvent.occurred_at)).where(
        TrackingEvent.shipment_id == shipment_id, TrackingEvent.code == "arrived_at_office"
    )
    moment: datetime | None = session.scalar(query)
    return moment


# ---------------------------------------------------------------------------- route runs

# How long before its van reaches an office a run may have left its hub (bounds the scan of
# ``manifest_entry`` by its indexed departure).
RUN_LEAD = timedelta(days=2)


@dataclass(frozen=True)
class RunRow:
    """A route run stopping at an office: its van there, and what it carries for it."""

    route_code: str
    departure: datetime
    arrival_at: datetime
    parcels: int
    departed: bool


def arriving_runs(
    session: Session, office_index: str, start: datetime, end: datetime
) -> list[RunRow]:
    """The route runs whose manifest carries parcels for this office and whose van reaches
    it in [start, end), by arrival (one grouped query)."""
    query = (
        select(
            ManifestEntry.route_code,
            ManifestEntry.departure,
            func.min(ManifestEntry.arrival_at),
            func.count(ManifestEntry.id),
            func.max(ManifestEntry.departed_at),
        )
        .where(
            ManifestEntry.departure >= start - RUN_LEAD,
            ManifestEntry.departure < end,
            ManifestEntry.office_index == office_index,
            ManifestEntry.status == "loaded",
            ManifestEntry.arrival_at >= start,
            ManifestEntry.arrival_at < end,
        )
        .group_by(ManifestEntry.route_code, ManifestEntry.departure)
    )
    rows = [
        RunRow(code, departure, arrival, int(count), departed is not None)
        for code, departure, arrival, count, departed in session.execute(query)
    ]
    return sorted(rows, key=lambda r: (r.arrival_at, r.route_code))


def run_acceptances(
    session: Session, office_id: int, runs: Collection[tuple[str, datetime]]
) -> dict[tuple[str, datetime], int]:
    """(route code, departure) -> the latest acceptance of that run at the office."""
    if not runs:
        return {}
    query = (
        select(Acceptance.route_code, Acceptance.run_departure, func.max(Acceptance.id))
        .where(
            Acceptance.post_office_id == office_id,
            Acceptance.route_code.in_(sorted({code for code, _ in runs})),
            Acceptance.run_departure.in_(sorted({departure for _, departure in runs})),
        )
        .group_by(Acceptance.route_code, Acceptance.run_departure)
    )
    found = {}
    for code, departure, acceptance_id in session.execute(query):
        if code is not None and departure is not None:
            found[(code, departure)] = int(acceptance_id)
    return found


def run_shipment_ids(
    session: Session, route_code: str, departure: datetime, office_index: str
) -> list[int]:
    """The shipments a run's manifest carries (loaded) for this office, in manifest order."""
    query = (
        select(ManifestEntry.shipment_id)
        .where(
            ManifestEntry.route_code == route_code,
            ManifestEntry.departure == departure,
            ManifestEntry.office_index == office_index,
            ManifestEntry.status == "loaded",
        )
        .order_by(ManifestEntry.id)
    )
    return list(session.scalars(query))


def run_row(
    session: Session, route_code: str, departure: datetime, office_index: str
) -> RunRow | None:
    """A run as it stops at this office, by its manifest (``None``: it carries nothing for it)."""
    query = select(
        func.min(ManifestEntry.arrival_at),
        func.count(ManifestEntry.id),
        func.max(ManifestEntry.departed_at),
    ).where(
        ManifestEntry.route_code == route_code,
        ManifestEntry.departure == departure,
        ManifestEntry.office_index == office_index,
        ManifestEntry.status == "loaded",
    )
    arrival, count, departed = session.execute(query).one()
    if arrival is None:
        return None
    return RunRow(route_code, departure, arrival, int(count), departed is not None)


def on_run(
    session: Session, route_code: str, departure: datetime, office_index: str, shipment_id: int
) -> bool:
    """Whether a run's manifest carries this shipment for this office."""
    query = select(ManifestEntry.id).where(
        ManifestEntry.route_code == route_code,
        ManifestEntry.departure == departure,
        ManifestEntry.office_index == office_index,
        ManifestEntry.shipment_id == shipment_id,
        ManifestEntry.status == "loaded",
    )
    return session.scalars(query.limit(1)).first() is not None


def places_by_shipment(
    session: Session, shipment_ids: Collection[int]
) -> dict[int, list[ShipmentPlace]]:
    """The places of these shipments, by shipment, in place order."""
    if not shipment_ids:
        return {}
    query = (
        select(ShipmentPlace)
        .where(ShipmentPlace.shipment_id.in_(sorted(shipment_ids)))
        .order_by(ShipmentPlace.shipment_id, ShipmentPlace.number)
    )
    found: dict[int, list[ShipmentPlace]] = {}
    for place in session.scalars(query):
        found.setdefault(place.shipment_id, []).append(place)
    return found


def run_accepted_barcodes(
    session: Session,
    office_id: int,
    route_code: str,
    departure: datetime,
    *,
    besides: int,
    barcodes: Collection[str] | None = None,
) -> set[str]:
    """The barcodes (parcels, places) an earlier acceptance of the same run at this office
    (any but ``besides``) accepted: the run delivered them already."""
    query = (
        select(AcceptanceScan.barcode)
        .join(Acceptance, Acceptance.id == AcceptanceScan.acceptance_id)
        .where(
            Acceptance.post_office_id == office_id,
            Acceptance.route_code == route_code,
            Acceptance.run_departure == departure,
            Acceptance.id != besides,
            AcceptanceScan.result == "accepted",
        )
    )
    if barcodes is not None:
        query = query.where(AcceptanceScan.barcode.in_(sorted(barcodes)))
    return set(session.scalars(query))


def damaged_shipment_ids(session: Session, shipment_ids: Collection[int]) -> set[int]:
    """Which of these shipments were marked damaged at some acceptance."""
    if not shipment_ids:
        return set()
    query = select(AcceptanceScan.shipment_id).where(
        AcceptanceScan.shipment_id.in_(sorted(shipment_ids)), AcceptanceScan.damaged.is_(True)
    )
    return {i for i in session.scalars(query) if i is not None}


# ---------------------------------------------------------------------------- code search


def lock_code_guard(session: Session, office_id: int) -> CodeSearchGuard:
    """The office's code-search guard row, created if needed, locked for the transaction."""
    query = (
        select(CodeSearchGuard)
        .where(CodeSearchGuard.post_office_id == office_id)
        .with_for_update(key_share=True)
    )
    guard = session.scalars(query).first()
    if guard is not None:
        return guard
    try:
        with session.begin_nested():
            session.add(CodeSearchGuard(post_office_id=office_id, failures=0))
    except IntegrityError:
        pass  # another request created it first
    return session.scalars(query).one()


# ---------------------------------------------------------------------------- sign-in


def sign_in_guard(session: Session, login: str, address: str) -> ClerkSignInGuard | None:
    """What is counted against this login from this address (``None``: nothing yet)."""
    return session.get(ClerkSignInGuard, (login, address), populate_existing=True)


def _pair(login: str, address: str) -> list[ColumnElement[bool]]:
    return [ClerkSignInGuard.login == login, ClerkSignInGuard.address == address]


def _pair_unlocked(now: datetime) -> ColumnElement[bool]:
    return unlocked(ClerkSignInGuard.locked_until, now)


def _upsert_pair(
    session: Session, statement: Update, new_row: ClerkSignInGuard
) -> tuple[bool, Any]:
    """Run a guarded UPDATE ... RETURNING on the pair's row, creating the row (as
    ``new_row``) when there is none: (whether it was written, the returned row)."""
    for _ in range(2):
        row = session.execute(statement).first()
        if row is not None:
            return True, row
        if sign_in_guard(session, new_row.login, new_row.address) is not None:
            return False, None  # the row is there and locked
        try:
            with session.begin_nested():
                session.add(new_row)
            return True, None
        except IntegrityError:
            continue  # a concurrent attempt created it first: count on its row
    return False, None  # pragma: no cover - created and locked between two statements


def count_sign_in_failure(
    session: Session,
    login: str,
    address: str,
    *,
    now: datetime,
    lockout: Lockout,
) -> tuple[int, datetime | None] | None:
    """Count a wrong password from this address in one atomic statement under ``lockout``:
    the failures after it and the pair's lock; ``None`` when the pair is locked now
    (nothing counted)."""
    failures, locked_until = failure_counted(
        ClerkSignInGuard.failures,
        ClerkSignInGuard.locked_until,
        max_failures=lockout.max_failures,
        lock_until=lockout.lock_until(now),
    )
    statement = (
        update(ClerkSignInGuard)
        .where(*_pair(login, address), _pair_unlocked(now))
        .values(failures=failures, locked_until=locked_until, last_failed_at=now)
        .returning(ClerkSignInGuard.failures, ClerkSignInGuard.locked_until)
        .execution_options(synchronize_session=False)
    )
    first, first_lock = lockout.after_failure(0, now)  # the pair's first wrong password
    new_row = ClerkSignInGuard(
        login=login,
        address=address,
        failures=first,
        locked_until=first_lock,
        last_failed_at=now,
    )
    written, row = _upsert_pair(session, statement, new_row)
    if not written:
        return None
    if row is None:
        return new_row.failures, new_row.locked_until
    return int(row[0]), row[1]


def clear_sign_in_failures(session: Session, login: str, address: str, *, now: datetime) -> bool:
    """A right password from this address: forget its failures and remember the address
    as the account's own; ``False`` when the pair is locked now."""
    statement = (
        update(ClerkSignInGuard)
        .where(*_pair(login, address), _pair_unlocked(now))
        .values(failures=0, succeeded_at=now)
        .returning(ClerkSignInGuard.login)
        .execution_options(synchronize_session=False)
    )
    new_row = ClerkSignInGuard(login=login, address=address, failures=0, succeeded_at=now)
    written, _ = _upsert_pair(session, statement, new_row)
    return written


def _account_unlocked(now: datetime) -> ColumnElement[bool]:
    return unlocked(Clerk.locked_until, now)


def count_account_failure(
    session: Session, clerk_id: int, *, now: datetime, lockout: Lockout
) -> tuple[int, datetime | None] | None:
    """Count a wrong password against the whole account (from any address), atomically
    under ``lockout``: the failures after it and the account's lock; ``None`` when it is
    locked now."""
    failures, locked_until = failure_counted(
        Clerk.failed_logins,
        Clerk.locked_until,
        max_failures=lockout.max_failures,
        lock_until=lockout.lock_until(now),
    )
    statement = (
        update(Clerk)
        .where(Clerk.id == clerk_id, _account_unlocked(now))
        .values(failed_logins=failures, locked_until=locked_until)
        .returning(Clerk.failed_logins, Clerk.locked_until)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(statement).first()
    return None if row is None else (int(row[0]), row[1])


def clear_account_failures(session: Session, clerk_id: int, *, now: datetime) -> bool:
    """A right password: the account's count starts again; ``False`` when it is locked now
    (the lock stays)."""
    statement = (
        update(Clerk)
        .where(Clerk.id == clerk_id, _account_unlocked(now))
        .values(failed_logins=0, locked_until=None)
        .returning(Clerk.id)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).first() is not None


def forget_sign_in_failures(session: Session, login: str) -> None:
    """Lift every address's lock of this login (the operator's unlock, a new password)."""
    session.execute(
        delete(ClerkSignInGuard)
        .where(ClerkSignInGuard.login == login, ClerkSignInGuard.succeeded_at.is_(None))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ClerkSignInGuard)
        .where(ClerkSignInGuard.login == login)
        .values(failures=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------------------- the day


def office_event_counts(
    session: Session, office_id: int, start: datetime, end: datetime
) -> dict[str, int]:
    """Applied tracking events of this office's parcels in [start, end), by code."""
    query = (
        select(TrackingEvent.code, func.count(TrackingEvent.id))
        .join(Shipment, TrackingEvent.shipment_id == Shipment.id)
        .where(
            Shipment.destination_office_id == office_id,
            TrackingEvent.applied.is_(True),
            TrackingEvent.occurred_at >= start,
            TrackingEvent.occurred_at < end,
        )
        .group_by(TrackingEvent.code)
    )
    return {code: int(count) for code, count in session.execute(query)}


def office_cash(
    session: Session, office_id: int, start: datetime, end: datetime
) -> list[tuple[str, str, int, int]]:
    """(marketplace name, method, parcels, kopecks) collected at the office in [start, end)."""
    query = (
        select(
            Marketplace.name,
            Shipment.cod_method,
            func.count(Shipment.id),
            func.sum(Shipment.cod_collected_kop),
        )
        .join(Marketplace, Shipment.marketplace_id == Marketplace.id)
        .where(
            Shipment.destination_office_id == office_id,
            Shipment.cod_collected_at >= start,
            Shipment.cod_collected_at < end,
            Shipment.cod_collected_kop > 0,
        )
        .group_by(Marketplace.name, Shipment.cod_method)
        .order_by(Marketplace.name, Shipment.cod_method)
    )
    return [
        (name, method or "", int(count), int(total or 0))
        for name, method, count, total in session.execute(query)
    ]


# ---------------------------------------------------------------------------- search


# Parcels an office has something to do with now (on their way to it, at it, going back):
# the surname search reads these names (compared in Python: SQLite's lower() knows no
# Cyrillic), the others are found by their numbers.
ACTIVE = (
    *EXPECTED,
    "arrived_at_office",
    "ready_for_pickup",
    "storage_expired",
    "refused",
    "partially_delivered",
)


def _office_parcels(office_id: int) -> Any:
    return select(Shipment).where(
        Shipment.destination_office_id == office_id, Shipment.sandbox.is_(False)
    )


def office_parcels_by_order(
    session: Session, office_id: int, order_id: str, *, limit: int
) -> list[Shipment]:
    """This office's parcels of a marketplace order number (any marketplace), newest first."""
    query = (
        _office_parcels(office_id)
        .where(Shipment.external_order_id == order_id)
        .order_by(Shipment.updated_at.desc(), Shipment.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def office_parcels_by_phone(
    session: Session, office_id: int, last4: str, *, limit: int
) -> list[Shipment]:
    """This office's parcels whose recipient's phone ends in these four digits, newest
    first."""
    query = (
        _office_parcels(office_id)
        .where(Shipment.phone_last4 == last4)
        .order_by(Shipment.updated_at.desc(), Shipment.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def office_active_names(session: Session, office_id: int, *, limit: int) -> list[tuple[int, str]]:
    """(id, recipient's name) of this office's parcels in ``ACTIVE`` statuses, newest first:
    two columns, not the rows (the surname is compared in Python)."""
    query = (
        select(Shipment.id, Shipment.recipient_name)
        .where(
            Shipment.destination_office_id == office_id,
            Shipment.sandbox.is_(False),
            Shipment.status.in_(ACTIVE),
            Shipment.recipient_name.is_not(None),
        )
        .order_by(Shipment.updated_at.desc(), Shipment.id.desc())
        .limit(limit)
    )
    return [(int(row.id), str(row.recipient_name)) for row in session.execute(query)]


# ---------------------------------------------------------------------------- receipts


def next_receipt_number(session: Session, office_id: int, year: int) -> int:
    """The next receipt number of the office's year, counted in the caller's transaction:
    one atomic UPDATE ... RETURNING (concurrent issues queue on the row until commit; a
    rollback gives the number back: no gaps)."""
    statement = (
        update(ReceiptSerial)
        .where(ReceiptSerial.post_office_id == office_id, ReceiptSerial.year == year)
        .values(last_number=ReceiptSerial.last_number + 1)
        .returning(ReceiptSerial.last_number)
        .execution_options(synchronize_session=False)
    )
    last = session.execute(statement).scalar_one_or_none()
    if last is not None:
        return int(last)
    try:
        with session.begin_nested():
            session.add(ReceiptSerial(post_office_id=office_id, year=year, last_number=0))
    except IntegrityError:
        pass  # another issue made the year's row first: count on it
    return int(session.execute(statement).scalar_one())


def receipt_of(session: Session, shipment_id: int) -> IssueReceipt | None:
    """The receipt of an issued parcel (none for parcels issued before receipts had numbers)."""
    query = select(IssueReceipt).where(IssueReceipt.shipment_id == shipment_id)
    return session.scalars(query).first()


def office_customer_returns(
    session: Session, office_id: int, start: datetime, end: datetime
) -> tuple[int, int]:
    """(buyers' returns taken, kopecks paid back in cash) at the office in [start, end)."""
    query = select(func.count(CustomerReturn.id), func.sum(CustomerReturn.refund_kop)).where(
        CustomerReturn.office_id == office_id,
        CustomerReturn.accepted_at >= start,
        CustomerReturn.accepted_at < end,
    )
    count, total = session.execute(query).one()
    return int(count or 0), int(total or 0)
