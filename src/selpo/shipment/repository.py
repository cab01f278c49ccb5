"""Queries of the shipment domain."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine, create_engine, event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from selpo.db import failure_counted, unlocked
from selpo.models import (
    Hub,
    IdempotencyRecord,
    Marketplace,
    PostOffice,
    Shipment,
    ShipmentItem,
    ShipmentPlace,
    TrackingEvent,
    TrackingSerial,
)

CHUNK = 500  # ids per IN (...) list: well under every backend's parameter limit


def get_by_tracking_number(
    session: Session,
    tracking_number: str,
    *,
    marketplace_id: int | None = None,
    lock: bool = False,
) -> Shipment | None:
    """The shipment with this number (only if it belongs to ``marketplace_id`` when given).

    With ``lock`` the row is locked for update until the transaction ends (PostgreSQL; on
    SQLite the write transaction's ``BEGIN IMMEDIATE`` already serialises writers) and read
    afresh even if the session held it."""
    query = select(Shipment).where(Shipment.tracking_number == tracking_number)
    if marketplace_id is not None:
        query = query.where(Shipment.marketplace_id == marketplace_id)
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    found = session.scalars(query).first()
    if found is not None:
        return found
    # Not an order's own number: perhaps one of its other places'.
    owner = select(ShipmentPlace.shipment_id).where(
        ShipmentPlace.tracking_number == tracking_number, ShipmentPlace.number > 1
    )
    shipment_id = session.scalars(owner).first()
    if shipment_id is None:
        return None
    query = select(Shipment).where(Shipment.id == shipment_id)
    if marketplace_id is not None:
        query = query.where(Shipment.marketplace_id == marketplace_id)
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    return session.scalars(query).first()


def recorded_scan_ids(session: Session, shipment_ids: Collection[int]) -> set[tuple[int, str]]:
    """The ``(shipment id, scan id)`` of the events already recorded for these shipments from
    scans that carried an id (``source["scan_id"]``): how a retried batch of scans is known."""
    found: set[tuple[int, str]] = set()
    ids = sorted(set(shipment_ids))
    # The database picks the scan ids out of the sources (a JSON string under "scan_id"):
    # only those come back, not every event's whole source to decode.
    scan_id = TrackingEvent.source["scan_id"]
    if session.get_bind().dialect.name == "postgresql":
        is_text = func.json_typeof(scan_id) == "string"
    else:
        is_text = func.json_type(TrackingEvent.source, '$."scan_id"') == "text"
    for start in range(0, len(ids), CHUNK):
        query = select(TrackingEvent.shipment_id, scan_id.as_string()).where(
            TrackingEvent.shipment_id.in_(ids[start : start + CHUNK]), is_text
        )
        found.update(
            (int(shipment_id), str(value)) for shipment_id, value in session.execute(query)
        )
    return found


def by_place_numbers(
    session: Session, tracking_numbers: Collection[str], *, lock: bool = False
) -> dict[str, Shipment]:
    """The orders whose places 2..n have these numbers, by place number (numbers of no such
    place are left out). ``lock`` as in ``by_tracking_numbers``."""
    owners: dict[str, int] = {}
    numbers = sorted(set(tracking_numbers))
    for start in range(0, len(numbers), CHUNK):
        query = select(ShipmentPlace.tracking_number, ShipmentPlace.shipment_id).where(
            ShipmentPlace.tracking_number.in_(numbers[start : start + CHUNK]),
            ShipmentPlace.number > 1,
        )
        owners.update((n, int(i)) for n, i in session.execute(query))
    if not owners:
        return {}
    ids = sorted(set(owners.values()))
    shipments: dict[int, Shipment] = {}
    for start in range(0, len(ids), CHUNK):
        orders = (
            select(Shipment)
            .where(Shipment.id.in_(ids[start : start + CHUNK]))
            .order_by(Shipment.tracking_number)
        )
        if lock:
            orders = orders.with_for_update(key_share=True)
        shipments.update((s.id, s) for s in session.scalars(orders))
    return {n: shipments[i] for n, i in owners.items() if i in shipments}


def places_of_many(
    session: Session, shipment_ids: Collection[int]
) -> dict[int, list[ShipmentPlace]]:
    """The places of many shipments, by shipment id, each in order (a shipment made before
    places existed and never backfilled has none)."""
    found: dict[int, list[ShipmentPlace]] = {i: [] for i in shipment_ids}
    ids = sorted(found)
    for start in range(0, len(ids), CHUNK):
        query = (
            select(ShipmentPlace)
            .where(ShipmentPlace.shipment_id.in_(ids[start : start + CHUNK]))
            .order_by(ShipmentPlace.shipment_id, ShipmentPlace.number)
        )
        for place in session.scalars(query):
            found[place.shipment_id].append(place)
    return found


class PlaceState(NamedTuple):
    """What a scan needs of a place: read as plain columns, no ORM object to build."""

    id: int
    shipment_id: int
    number: int
    tracking_number: str
    status: str
    arrived_at: datetime | None


def place_states_of_many(
    session: Session, shipment_ids: Collection[int]
) -> dict[int, list[PlaceState]]:
    """``places_of_many`` as plain column tuples (what the database holds now)."""
    found: dict[int, list[PlaceState]] = {i: [] for i in shipment_ids}
    ids = sorted(found)
    for start in range(0, len(ids), CHUNK):
        query = (
            select(
                ShipmentPlace.id,
                ShipmentPlace.shipment_id,
                ShipmentPlace.number,
                ShipmentPlace.tracking_number,
                ShipmentPlace.status,
                ShipmentPlace.arrived_at,
            )
            .where(ShipmentPlace.shipment_id.in_(ids[start : start + CHUNK]))
            .order_by(ShipmentPlace.shipment_id, ShipmentPlace.number)
        )
        for row in session.execute(query):
            place = PlaceState(*row)
            found[place.shipment_id].append(place)
    return found


def place_counts(session: Session, shipment_ids: Collection[int]) -> dict[int, int]:
    """How many places each shipment has (1 for one made before places existed)."""
    found = dict.fromkeys(shipment_ids, 1)
    ids = sorted(found)
    for start in range(0, len(ids), CHUNK):
        query = (
            select(ShipmentPlace.shipment_id, func.count())
            .where(ShipmentPlace.shipment_id.in_(ids[start : start + CHUNK]))
            .group_by(ShipmentPlace.shipment_id)
        )
        found.update((int(i), max(int(n), 1)) for i, n in session.execute(query))
    return found


def order_numbers(session: Session, scanned: Collection[str]) -> dict[str, str]:
    """The order's own tracking number for each number scanned: a place's number maps to its
    order's, any other number (the order's own, or an unknown one) to itself."""
    found = {n: n for n in scanned}
    numbers = sorted(found)
    for start in range(0, len(numbers), CHUNK):
        query = (
            select(ShipmentPlace.tracking_number, Shipment.tracking_number)
            .join(Shipment, Shipment.id == ShipmentPlace.shipment_id)
            .where(ShipmentPlace.tracking_number.in_(numbers[start : start + CHUNK]))
        )
        found.update((str(p), str(o)) for p, o in session.execute(query))
    return found


def places_of(session: Session, shipment_id: int) -> list[ShipmentPlace]:
    """A shipment's places in order."""
    return places_of_many(session, [shipment_id])[shipment_id]


def by_tracking_numbers(
    session: Session, tracking_numbers: Collection[str], *, lock: bool = False
) -> dict[str, Shipment]:
    """The shipments with these numbers, by number (missing ones are left out).

    With ``lock`` the rows are locked for update until the transaction ends (PostgreSQL),
    all in tracking-number order (chunk after chunk, and within each), so that two callers
    locking overlapping sets cannot deadlock each other.
    """
    found: dict[str, Shipment] = {}
    numbers = sorted(set(tracking_numbers))
    for start in range(0, len(numbers), CHUNK):
        query = (
            select(Shipment)
            .where(Shipment.tracking_number.in_(numbers[start : start + CHUNK]))
            .order_by(Shipment.tracking_number)
        )
        if lock:
            query = query.with_for_update(key_share=True)
        found.update((s.tracking_number, s) for s in session.scalars(query))
    return found


def ids_by_tracking_numbers(session: Session, tracking_numbers: Sequence[str]) -> dict[str, int]:
    """The ids of the shipments with these numbers, by number (missing ones are left out)."""
    found: dict[str, int] = {}
    numbers = list(tracking_numbers)
    for start in range(0, len(numbers), CHUNK):
        query = select(Shipment.tracking_number, Shipment.id).where(
            Shipment.tracking_number.in_(numbers[start : start + CHUNK])
        )
        found.update((str(n), int(i)) for n, i in session.execute(query))
    return found


def existing_orders(
    session: Session, marketplace_id: int, external_ids: Sequence[str]
) -> dict[str, str]:
    """external_order_id → tracking number for the ids this marketplace already used."""
    found: dict[str, str] = {}
    ids = list(external_ids)
    for start in range(0, len(ids), 500):
        query = select(Shipment.external_order_id, Shipment.tracking_number).where(
            Shipment.marketplace_id == marketplace_id,
            Shipment.external_order_id.in_(ids[start : start + 500]),
        )
        found.update((e, t) for e, t in session.execute(query))
    return found


def items_of(session: Session, shipment_id: int) -> list[ShipmentItem]:
    """A shipment's order lines in order."""
    query = (
        select(ShipmentItem)
        .where(ShipmentItem.shipment_id == shipment_id)
        .order_by(ShipmentItem.position)
    )
    return list(session.scalars(query))


def items_of_many(session: Session, shipment_ids: Collection[int]) -> dict[int, list[ShipmentItem]]:
    """The order lines of many shipments, by shipment id, each in order."""
    found: dict[int, list[ShipmentItem]] = {i: [] for i in shipment_ids}
    ids = sorted(found)
    for start in range(0, len(ids), CHUNK):
        query = (
            select(ShipmentItem)
            .where(ShipmentItem.shipment_id.in_(ids[start : start + CHUNK]))
            .order_by(ShipmentItem.shipment_id, ShipmentItem.position)
        )
        for item in session.scalars(query):
            found[item.shipment_id].append(item)
    return found


def events_of(session: Session, shipment_id: int) -> list[TrackingEvent]:
    """A shipment's tracking events in the order they happened."""
    query = (
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment_id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    )
    return list(session.scalars(query))


def latest_event_times(session: Session, shipment_ids: Collection[int]) -> dict[int, datetime]:
    """When the latest recorded event of each shipment happened (shipments with none left out)."""
    found: dict[int, datetime] = {}
    ids = sorted(set(shipment_ids))
    for start in range(0, len(ids), CHUNK):
        query = (
            select(TrackingEvent.shipment_id, func.max(TrackingEvent.occurred_at))
            .where(TrackingEvent.shipment_id.in_(ids[start : start + CHUNK]))
            .group_by(TrackingEvent.shipment_id)
        )
        found.update((int(i), latest) for i, latest in session.execute(query) if latest)
    return found


def _code_unlocked(now: datetime) -> ColumnElement[bool]:
    return unlocked(Shipment.pickup_code_locked_until, now)


def count_code_failure(
    session: Session, shipment_id: int, *, now: datetime, max_failures: int, lock_until: datetime
) -> tuple[int, datetime | None] | None:
    """Count one wrong pickup code in one atomic UPDATE ... RETURNING: the failures after
    it and the lock (the count starts again at 0 when it reaches ``max_failures`` and the
    code locks until ``lock_until``). ``None``: the code is locked now, nothing counted.

    Concurrent callers queue on the row; each sees the count the one before it left, and
    once the code is locked the WHERE clause matches no row, so the count cannot overshoot.
    """
    failures, locked_until = failure_counted(
        Shipment.pickup_code_failures,
        Shipment.pickup_code_locked_until,
        max_failures=max_failures,
        lock_until=lock_until,
    )
    statement = (
        update(Shipment)
        .where(Shipment.id == shipment_id, _code_unlocked(now))
        .values(pickup_code_failures=failures, pickup_code_locked_until=locked_until)
        .returning(Shipment.pickup_code_failures, Shipment.pickup_code_locked_until)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(statement).first()
    return None if row is None else (int(row[0]), row[1])


def clear_code_failures(session: Session, shipment_id: int, *, now: datetime) -> bool:
    """Forget the wrong codes after a right one, atomically; ``False``: locked now."""
    statement = (
        update(Shipment)
        .where(Shipment.id == shipment_id, _code_unlocked(now))
        .values(pickup_code_failures=0, pickup_code_locked_until=None)
        .returning(Shipment.id)
        .execution_options(synchronize_session=False)
    )
    return session.execute(statement).first() is not None


def code_locked_until(session: Session, shipment_id: int) -> datetime | None:
    """The pickup code's lock as committed now (not as this session last read it)."""
    query = select(Shipment.pickup_code_locked_until).where(Shipment.id == shipment_id)
    return session.execute(query).scalar_one_or_none()


def known_indexes(session: Session, indexes: Collection[str]) -> set[str]:
    """Which of these postal indexes belong to a post office or a hub."""
    wanted = sorted(set(indexes))
    if not wanted:
        return set()
    offices = select(PostOffice.index).where(PostOffice.index.in_(wanted))
    hubs = select(Hub.index).where(Hub.index.in_(wanted))
    return {str(i) for i in session.scalars(offices.union(hubs)) if i is not None}


def offices_by_id(session: Session, office_ids: Collection[int]) -> dict[int, PostOffice]:
    """Offices by id, in one query."""
    ids = sorted(set(office_ids))
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(PostOffice).where(PostOffice.id.in_(ids)))}


def marketplaces_by_id(
    session: Session, marketplace_ids: Collection[int]
) -> dict[int, Marketplace]:
    """Marketplaces by id, in one query."""
    ids = sorted(set(marketplace_ids))
    if not ids:
        return {}
    query = select(Marketplace).where(Marketplace.id.in_(ids))
    return {m.id: m for m in session.scalars(query)}


def page(
    session: Session,
    *,
    marketplace_id: int,
    status: str | None,
    updated_since: datetime | None,
    after_id: int,
    limit: int,
) -> list[tuple[Shipment, str]]:
    """Shipments with their destination index, by id after ``after_id``."""
    query = (
        select(Shipment, PostOffice.index)
        .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
        .where(Shipment.marketplace_id == marketplace_id, Shipment.id > after_id)
        .order_by(Shipment.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(Shipment.status == status)
    if updated_since is not None:
        query = query.where(Shipment.updated_at >= updated_since)
    return [(s, i) for s, i in session.execute(query)]


def allocate_serials(session: Session, prefix: str, count: int) -> int:
    """Reserve ``count`` consecutive serials under ``prefix``; return the last one.

    On PostgreSQL (a session bound to an engine) the serials come from this process's block
    (``SerialBlocks``): most creations write nothing for their numbers, and a block is taken
    in a short transaction of its own, so no two requests queue on the counter row. On
    SQLite, and in a transaction the caller runs on a connection of its own (tests), they
    are counted in the caller's transaction: SQLite's write lock is the whole database's and
    is already held, so the counter row costs nothing more, and a rollback gives them back.
    """
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name != "sqlite":
        return serial_blocks(bind).take(prefix, count)
    return _bump_counter(session, prefix, count)


def _bump_counter(session: Session, prefix: str, count: int) -> int:
    """Move the prefix's counter on by ``count`` in ``session``'s transaction; return it.

    One atomic UPDATE ... RETURNING: concurrent callers queue on the row lock, so two
    transactions never get the same serial.
    """
    statement = (
        update(TrackingSerial)
        .where(TrackingSerial.prefix == prefix)
        .values(last_serial=TrackingSerial.last_serial + count)
        .returning(TrackingSerial.last_serial)
    )
    last = session.execute(statement).scalar_one_or_none()
    if last is not None:
        return int(last)
    try:
        with session.begin_nested():
            session.add(TrackingSerial(prefix=prefix, last_serial=0))
    except IntegrityError:
        pass  # another transaction created the row first: use it
    last = session.execute(statement).scalar_one()
    return int(last)


SERIAL_BLOCK = 100  # serials a process takes at once


class SerialBlocks:
    """Serials this process reserved in blocks, handed out from memory.

    A block is taken with the counter's atomic UPDATE in a transaction of its own, committed
    at once, on a small pool of its own (a request holding a pooled connection never waits
    for another from the same pool). Blocks never overlap, across processes too, because the
    counter only grows. What a process has not handed out when it stops is never used: gaps
    in the numbers are expected (at most one block per prefix per process start).
    """

    def __init__(self, engine: Engine, *, block: int = SERIAL_BLOCK) -> None:
        self.engine = engine
        self.block = block
        self._lock = threading.Lock()
        self._free: dict[str, tuple[int, int]] = {}  # prefix -> (next free, last reserved)

    def take(self, prefix: str, count: int) -> int:
        """Hand out ``count`` consecutive serials; return the last one."""
        with self._lock:
            first, last = self._free.get(prefix, (1, 0))
            if last - first + 1 < count:
                size = max(self.block, count)
                with Session(self.engine) as session, session.begin():
                    last = _bump_counter(session, prefix, size)
                first = last - size + 1  # what was left of the old block is a gap
            self._free[prefix] = (first + count, last)
            return first + count - 1


_serial_blocks: weakref.WeakKeyDictionary[Engine, SerialBlocks] = weakref.WeakKeyDictionary()
_serial_blocks_lock = threading.Lock()


def serial_blocks(engine: Engine) -> SerialBlocks:
    """The serial blocks of this process on ``engine``'s database."""
    with _serial_blocks_lock:
        blocks = _serial_blocks.get(engine)
        if blocks is None:
            own = create_engine(engine.url, pool_size=1, max_overflow=4, pool_pre_ping=True)
            event.listen(engine, "engine_disposed", lambda _engine: own.dispose())
            # An engine dropped without dispose() (a short-lived app) closes this one too,
            # rather than leaving its idle connection to the garbage collector.
            weakref.finalize(engine, own.dispose)
            blocks = _serial_blocks[engine] = SerialBlocks(own)
        return blocks


def get_idempotency_record(
    session: Session, marketplace_id: int, key: str
) -> IdempotencyRecord | None:
    """The stored first answer for this key."""
    query = select(IdempotencyRecord).where(
        IdempotencyRecord.marketplace_id == marketplace_id, IdempotencyRecord.key == key
    )
    return session.scalars(query).first()
