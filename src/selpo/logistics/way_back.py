"""The way back: what leaves the offices on the route runs' return legs.

Every domain that sends something back puts it here with :func:`send_back` — a shipment
going back to its marketplace, a buyer's return taken at the counter, a collection
partner's bag — and hears of each step it takes with :func:`moved`. The return legs
(loading within the vehicle's capacity, the driver's manifest, the hub's acceptance, the
line-haul to the warehouse and its act) move the rows through ``waiting`` -> ``loaded`` ->
``at_hub`` -> ``delivered`` and call :func:`moved` after each step, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.models import Handover, HandoverEntry, ReturnLegItem, Shipment, Warehouse

Kind = Literal["shipment", "customer_return", "partner_bag"]
Step = Literal["loaded", "at_hub", "delivered"]

KINDS: tuple[Kind, ...] = ("shipment", "customer_return", "partner_bag")
WAITING = "waiting"
LOADED = "loaded"
AT_HUB = "at_hub"
DELIVERED = "delivered"
STATUSES: tuple[str, ...] = (WAITING, LOADED, AT_HUB, DELIVERED)


def send_back(
    session: Session,
    *,
    kind: Kind,
    ref_id: int,
    barcode: str,
    office_id: int,
    weight_g: int,
    litres: float,
    ready_at: datetime,
    now: datetime,
    marketplace_id: int | None = None,
    warehouse_id: int | None = None,
    partner_code: str | None = None,
) -> ReturnLegItem:
    """Put one thing on the way back from its office, waiting for the next run.

    Idempotent per thing (``kind``, ``ref_id``): sending the same thing twice returns the row
    it already has. The caller holds its own row's lock (the shipment, the return, the bag),
    so two callers never race for the same thing."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of thing going back: {kind}")
    if (warehouse_id is None) == (partner_code is None) and kind != "shipment":
        raise ValueError("a thing goes back to a warehouse or to a partner, one of the two")
    existing = session.scalar(
        select(ReturnLegItem).where(ReturnLegItem.kind == kind, ReturnLegItem.ref_id == ref_id)
    )
    if existing is not None:
        return existing
    item = ReturnLegItem(
        kind=kind,
        ref_id=ref_id,
        barcode=barcode,
        office_id=office_id,
        marketplace_id=marketplace_id,
        warehouse_id=warehouse_id,
        partner_code=partner_code,
        weight_g=weight_g,
        litres=litres,
        ready_at=ready_at,
        status=WAITING,
        created_at=now,
    )
    session.add(item)
    session.flush()
    return item


def moved(session: Session, item: ReturnLegItem, step: Step, now: datetime) -> None:
    """Tell the thing's own domain that it took a step on the way back.

    One branch per kind; each domain's function takes ``(session, item, step, now)``:
    - ``shipment``: ``delivered`` (the warehouse's act) ends it ``returned``;
    - ``customer_return``: the return's own webhooks (``return.in_transit`` on ``loaded``,
      ``return.delivered`` on ``delivered``);
    - ``partner_bag``: the bag's status, for the partner's reports and act.
    """
    if item.kind == "shipment":
        from selpo.shipment import way_back as shipment_way_back

        shipment_way_back.shipment_moved(session, item, step, now)
    elif item.kind == "partner_bag":
        from selpo.collection import way_back as collection_way_back

        collection_way_back.bag_moved(session, item, step, now)
    elif item.kind == "customer_return":
        from selpo.returns import way_back as returns_way_back

        returns_way_back.return_moved(session, item, step, now)


def default_warehouse_id(session: Session) -> int | None:
    """The warehouse things go back to when nothing names one: the default warehouse (the
    one quotes start from), else the first."""
    query = select(Warehouse.id).order_by(Warehouse.is_default.desc(), Warehouse.id).limit(1)
    return session.scalar(query)


def handover_warehouses(session: Session, shipment_ids: Collection[int]) -> dict[int, int]:
    """Shipment id -> the warehouse of its latest hand-over act (where it came from)."""
    if not shipment_ids:
        return {}
    query = (
        select(HandoverEntry.shipment_id, Handover.warehouse_id)
        .join(Handover, HandoverEntry.handover_id == Handover.id)
        .where(HandoverEntry.shipment_id.in_(sorted(shipment_ids)))
        .order_by(Handover.id)
    )
    return dict(session.execute(query).all())


def home_warehouse_id(session: Session, shipment_id: int) -> int | None:
    """Where what goes back of an order ends: the warehouse of its latest hand-over act, else
    the default warehouse (``default_warehouse_id``)."""
    return handover_warehouses(session, [shipment_id]).get(shipment_id) or (
        default_warehouse_id(session)
    )


def send_shipments_back(
    session: Session, *, shipments: Sequence[Shipment], now: datetime
) -> list[ReturnLegItem]:
    """Parcels whose return started at their office (refused, storage expired, partly taken,
    recalled) wait there for the next run's way back, oldest first.

    Each goes back to the warehouse of its hand-over act (where the marketplace gave it to
    us), or the default warehouse when it came without one. Its cell stays taken until the
    van loads it (``selpo.shipment.way_back.shipment_moved``)."""
    if not shipments:
        return []
    came_from = handover_warehouses(session, [s.id for s in shipments])
    fallback = default_warehouse_id(session) if len(came_from) < len(shipments) else None
    return [
        send_back(
            session,
            kind="shipment",
            ref_id=s.id,
            barcode=s.tracking_number,
            office_id=s.destination_office_id,
            weight_g=s.weight_g,
            litres=s.length_mm * s.width_mm * s.height_mm / 1_000_000.0,
            ready_at=now,
            now=now,
            marketplace_id=s.marketplace_id,
            warehouse_id=came_from.get(s.id, fallback),
        )
        for s in shipments
    ]
