"""A buyer's return on the way back: what each step of the return leg means for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.models import CustomerReturn, ReturnLegItem, Shipment
from selpo.notify import service as notify_service
from selpo.returns import repository
from selpo.returns.rules import ACCEPTED, DELIVERED, IN_TRANSIT
from selpo.returns.service import event_head


def return_moved(session: Session, item: ReturnLegItem, step: str, now: datetime) -> None:
    """The return's leg took a step: loaded on a run it is ``in_transit``
    (``return.in_transit``); at the warehouse's act it is ``delivered``
    (``return.delivered``). The hub's acceptance leaves it in transit. A step it already
    took (a replay) changes nothing and sends nothing; a return only moves forward."""
    ret = session.scalars(
        select(CustomerReturn)
        .where(CustomerReturn.id == item.ref_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    shipment = session.get(Shipment, ret.shipment_id)
    assert shipment is not None
    office = repository.offices_by_id(session, {item.office_id})[item.office_id]
    if step == "loaded" and ret.status == ACCEPTED:
        ret.status = IN_TRANSIT
        ret.in_transit_at = now
        ret.updated_at = now
        data: dict[str, object] = {
            **event_head(ret, shipment),
            "office_index": office.index,
            "route_code": item.route_code,
            "departure": item.departure.isoformat() if item.departure else None,
            "loaded_at": now.isoformat(),
        }
        event = "return.in_transit"
    elif step == "delivered" and ret.status in (ACCEPTED, IN_TRANSIT):
        ret.status = DELIVERED
        ret.in_transit_at = ret.in_transit_at or now
        ret.delivered_at = now
        ret.updated_at = now
        data = {
            **event_head(ret, shipment),
            "warehouse_code": repository.warehouse_code(session, item.warehouse_id),
            "act_number": item.act_number,
            "delivered_at": now.isoformat(),
        }
        event = "return.delivered"
    else:
        return
    session.flush()
    notify_service.publish_event(
        session, marketplace_id=ret.marketplace_id, event_type=event, data=data, now=now
    )
