"""The sandbox: a marketplace's test parcels move through their life on request.

A test key (``sk_test_...``) works in a sandbox session (``db.enter_sandbox``): what it creates
is sandbox data, and it sees nothing else; every other session (counters, vans, reports, the
worker) never sees a sandbox parcel. So a sandbox parcel moves only here: ``advance`` walks it
(``lifecycle.walk``) through every status on the way to the one asked for, each step by the
same use case a real parcel's step takes (a hub's scan, shelving, the counter's hand-over or
refusal, a return), so the marketplace gets the same webhooks in the same order. Nobody is
texted (``notify.service.queue_sms_many`` sends nothing from a sandbox session); the cash on
delivery of a delivered parcel is taken in cash.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from selpo.db import in_sandbox
from selpo.errors import InvalidInput
from selpo.models import PostOffice, Shipment
from selpo.shipment import repository, service
from selpo.shipment.errors import ShipmentNotFound, TransitionRefused
from selpo.shipment.lifecycle import Status, reachable, walk

S = Status
ACTOR = "sandbox"
RefusedItems = dict[int, int]


class NotInSandbox(RuntimeError):
    """A sandbox move was asked of a live session (a bug: the route checks the key first)."""


def _scan(code: str, *, at_office: bool = False) -> Callable[[Session, Shipment, datetime], object]:
    def step(session: Session, shipment: Shipment, now: datetime) -> None:
        office = session.get(PostOffice, shipment.destination_office_id) if at_office else None
        # An order of several places moves place by place: each one still on its way is
        # scanned, so the order arrives whole, as at a real office.
        travelling = service.travelling_places(session, [shipment.id]).get(shipment.id)
        for number in travelling or [shipment.tracking_number]:
            service.record_scan(
                session,
                tracking_number=number,
                code=code,
                occurred_at=now,
                now=now,
                office_index=office.index if office else None,
                actor=ACTOR,
            )

    return step


def _default_refusal(session: Session, shipment: Shipment) -> RefusedItems:
    """One unit of the last line refused: the smallest partial redemption there is."""
    items = repository.items_of(session, shipment.id)
    if not shipment.options.get("partial_redemption", False):
        raise TransitionRefused(
            "this order does not allow partial redemption (options.partial_redemption)",
            current=shipment.status,
            allowed=[],
        )
    if sum(i.quantity for i in items) < 2:
        raise TransitionRefused(
            "an order of a single item cannot be partly delivered",
            current=shipment.status,
            allowed=[],
        )
    last = items[-1]
    return {last.position: 1}


def advance(
    session: Session,
    *,
    marketplace_id: int,
    tracking_number: str,
    status: Status,
    now: datetime,
    policy: service.PickupPolicy,
    refused_items: RefusedItems | None = None,
) -> Shipment:
    """Walk the marketplace's sandbox parcel to ``status`` through every status on the way,
    each step with its event and webhooks; a status the table does not lead to is refused
    (409 with the current status and the ones it can reach) before anything changes.

    Delivery takes the cash on delivery in cash; a partial delivery refuses
    ``refused_items`` {item position: quantity} (default: one unit of the last line).
    """
    if not in_sandbox(session):
        raise NotInSandbox("sandbox parcels move in a sandbox session only")
    shipment = repository.get_by_tracking_number(
        session, tracking_number, marketplace_id=marketplace_id, lock=True
    )
    if shipment is None:
        raise ShipmentNotFound(tracking_number)
    current = Status(shipment.status)
    steps = walk(current, status)
    if steps is None:
        allowed = [s.value for s in reachable(current)]
        raise TransitionRefused(
            f"a {current} shipment cannot reach {status}; it can reach: "
            f"{', '.join(allowed) or 'nothing (final)'}",
            current=current.value,
            allowed=allowed,
        )
    if refused_items is not None and status != S.PARTIALLY_DELIVERED:
        raise InvalidInput(
            "refused_items go with status partially_delivered only", field="refused_items"
        )
    if S.PARTIALLY_DELIVERED in steps and refused_items is None:
        refused_items = _default_refusal(session, shipment)

    def deliver(session: Session, shipment: Shipment, now: datetime) -> None:
        service.issue_to_recipient(
            session, shipment=shipment, now=now, cod_method="cash", clerk=ACTOR
        )

    def deliver_part(session: Session, shipment: Shipment, now: datetime) -> None:
        service.issue_to_recipient(
            session,
            shipment=shipment,
            now=now,
            refused_items=refused_items,
            cod_method="cash",
            clerk=ACTOR,
        )

    def shelve(session: Session, shipment: Shipment, now: datetime) -> None:
        service.make_ready_for_pickup(
            session, shipment=shipment, now=now, policy=policy, actor=ACTOR
        )

    moves: dict[Status, Callable[[Session, Shipment, datetime], object]] = {
        S.HANDED_OVER: _scan("handed_over"),
        S.IN_TRANSIT: _scan("in_transit"),
        S.ARRIVED_AT_OFFICE: _scan("arrived_at_office", at_office=True),
        S.READY_FOR_PICKUP: shelve,
        S.DELIVERED: deliver,
        S.PARTIALLY_DELIVERED: deliver_part,
        S.REFUSED: lambda s, p, n: service.refuse(s, shipment=p, now=n, clerk=ACTOR),
        S.STORAGE_EXPIRED: lambda s, p, n: service.expire_storage_of(
            s, shipments=[p], now=n, actor=ACTOR
        ),
        S.RETURNING: lambda s, p, n: service.start_return(s, shipment=p, now=n, actor=ACTOR),
        S.RETURNED: lambda s, p, n: service.complete_return(s, shipment=p, now=n, actor=ACTOR),
        # Recalled at the office, a parcel starts its return at once (it ends ``returning``).
        S.RECALLED: lambda s, p, n: service.recall_shipment(s, shipment=p, now=n),
        S.LOST: _scan("lost"),
        S.CANCELLED: lambda s, p, n: service.cancel_shipment(s, shipment=p, now=n),
    }
    for step in steps:
        moves[step](session, shipment, now)
    return shipment
