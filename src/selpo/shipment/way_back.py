"""A shipment on the way back: what each step of the return leg means for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from selpo.models import ReturnLegItem, Shipment
from selpo.shipment import service
from selpo.shipment.lifecycle import Status


def shipment_moved(session: Session, item: ReturnLegItem, step: str, now: datetime) -> None:
    """The parcel's return leg took a step: loaded on the van, it leaves its cell (a refused
    or expired parcel keeps its cell until then); at the warehouse's act it is back with the
    marketplace (``returned``). Loading and the hub leave its status at ``returning``."""
    if step == "loaded":
        session.execute(
            update(Shipment)
            .where(Shipment.id == item.ref_id)
            .values(cell_code=None)
            .execution_options(synchronize_session="fetch")
        )
        return
    if step != "delivered":
        return
    shipment = session.scalars(
        select(Shipment)
        .where(Shipment.id == item.ref_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).one()
    if shipment.status == Status.RETURNING:
        service.complete_return(session, shipment=shipment, now=now, actor="warehouse-act")
