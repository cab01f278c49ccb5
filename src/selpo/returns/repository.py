"""Every query of customer returns (the sandbox's rows are kept apart by the session)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selpo.db import failure_counted, unlocked
from selpo.models import (
    CustomerReturn,
    CustomerReturnItem,
    PostOffice,
    ReturnCodeGuard,
    Shipment,
    TrackingEvent,
    Warehouse,
)


def by_id(
    session: Session, return_id: int, *, marketplace_id: int | None = None, lock: bool = False
) -> CustomerReturn | None:
    """A return by id (only the marketplace's when given); ``lock`` holds its row."""
    query = select(CustomerReturn).where(CustomerReturn.id == return_id)
    if marketplace_id is not None:
        query = query.where(CustomerReturn.marketplace_id == marketplace_id)
    if lock:
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    return session.scalars(query).first()


def by_external_id(
    session: Session, marketplace_id: int, external_return_id: str
) -> CustomerReturn | None:
    """The marketplace's return under its own id."""
    query = select(CustomerReturn).where(
        CustomerReturn.marketplace_id == marketplace_id,
        CustomerReturn.external_return_id == external_return_id,
    )
    return session.scalars(query).first()


def by_code_hash(session: Session, code_hash: str) -> CustomerReturn | None:
    """The return whose code has this hash."""
    return session.scalars(
        select(CustomerReturn).where(CustomerReturn.code_hash == code_hash)
    ).first()


def of_shipment(
    session: Session, shipment_id: int, *, statuses: Collection[str] | None = None
) -> list[CustomerReturn]:
    """The returns of an order, oldest first."""
    query = select(CustomerReturn).where(CustomerReturn.shipment_id == shipment_id)
    if statuses is not None:
        query = query.where(CustomerReturn.status.in_(list(statuses)))
    return list(session.scalars(query.order_by(CustomerReturn.id)))


def items_of(session: Session, return_id: int) -> list[CustomerReturnItem]:
    """A return's lines in the order's order."""
    query = (
        select(CustomerReturnItem)
        .where(CustomerReturnItem.return_id == return_id)
        .order_by(CustomerReturnItem.position)
    )
    return list(session.scalars(query))


def items_of_many(
    session: Session, return_ids: Collection[int]
) -> dict[int, list[CustomerReturnItem]]:
    """The lines of many returns, by return id."""
    found: dict[int, list[CustomerReturnItem]] = {i: [] for i in return_ids}
    if not found:
        return found
    query = (
        select(CustomerReturnItem)
        .where(CustomerReturnItem.return_id.in_(list(found)))
        .order_by(CustomerReturnItem.return_id, CustomerReturnItem.position)
    )
    for item in session.scalars(query):
        found[item.return_id].append(item)
    return found


def page(
    session: Session,
    *,
    marketplace_id: int,
    status: str | None,
    after_id: int,
    limit: int,
) -> list[CustomerReturn]:
    """A page of the marketplace's returns in registration order."""
    query = select(CustomerReturn).where(
        CustomerReturn.marketplace_id == marketplace_id, CustomerReturn.id > after_id
    )
    if status is not None:
        query = query.where(CustomerReturn.status == status)
    return list(session.scalars(query.order_by(CustomerReturn.id).limit(limit)))


def received_at(session: Session, shipment_id: int) -> datetime | None:
    """When the buyer received the order (its delivery event)."""
    query = select(func.max(TrackingEvent.occurred_at)).where(
        TrackingEvent.shipment_id == shipment_id,
        TrackingEvent.applied.is_(True),
        TrackingEvent.code.in_(["delivered", "partially_delivered"]),
    )
    return session.scalar(query)


def offices_by_id(session: Session, ids: Collection[int]) -> dict[int, PostOffice]:
    """Offices by id."""
    if not ids:
        return {}
    return {o.id: o for o in session.scalars(select(PostOffice).where(PostOffice.id.in_(ids)))}


def shipments_by_id(session: Session, ids: Collection[int]) -> dict[int, Shipment]:
    """Shipments by id."""
    if not ids:
        return {}
    return {s.id: s for s in session.scalars(select(Shipment).where(Shipment.id.in_(ids)))}


def warehouse_code(session: Session, warehouse_id: int | None) -> str | None:
    """A warehouse's code."""
    if warehouse_id is None:
        return None
    warehouse = session.get(Warehouse, warehouse_id)
    return warehouse.code if warehouse else None


def warehouse_name(session: Session, warehouse_id: int | None) -> str:
    """A warehouse's name (``склад магазина`` when none is known)."""
    warehouse = session.get(Warehouse, warehouse_id) if warehouse_id is not None else None
    return warehouse.name if warehouse else "склад магазина"


# ---------------------------------------------------------------------------- the guard


def guard(session: Session, office_id: int) -> ReturnCodeGuard:
    """The office's return-search guard row (created if needed; read, not locked)."""
    query = select(ReturnCodeGuard).where(ReturnCodeGuard.post_office_id == office_id)
    found = session.scalars(query.execution_options(populate_existing=True)).first()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            session.add(ReturnCodeGuard(post_office_id=office_id, failures=0))
    except IntegrityError:
        pass  # another request created it first
    return session.scalars(query).one()


def count_failure(
    session: Session, office_id: int, *, now: datetime, max_failures: int, lock_until: datetime
) -> tuple[int, datetime | None] | None:
    """One wrong code (or wrong phone digits) in one atomic UPDATE ... RETURNING; ``None``:
    the search is locked now and nothing was counted."""
    failures, locked_until = failure_counted(
        ReturnCodeGuard.failures,
        ReturnCodeGuard.locked_until,
        max_failures=max_failures,
        lock_until=lock_until,
    )
    statement = (
        update(ReturnCodeGuard)
        .where(
            ReturnCodeGuard.post_office_id == office_id,
            unlocked(ReturnCodeGuard.locked_until, now),
        )
        .values(failures=failures, locked_until=locked_until)
        .returning(ReturnCodeGuard.failures, ReturnCodeGuard.locked_until)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(statement).first()
    return None if row is None else (int(row[0]), row[1])


def clear_failures(session: Session, office_id: int, *, now: datetime) -> None:
    """Forget the wrong attempts after a right one (only if there were any: no write on
    every right search)."""
    statement = (
        update(ReturnCodeGuard)
        .where(
            ReturnCodeGuard.post_office_id == office_id,
            ReturnCodeGuard.failures > 0,
            unlocked(ReturnCodeGuard.locked_until, now),
        )
        .values(failures=0)
        .execution_options(synchronize_session=False)
    )
    session.execute(statement)
