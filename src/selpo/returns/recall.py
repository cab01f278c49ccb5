"""The marketplace's recall of a parcel, and its way back.

``shipment.service.recall_shipment`` moves the parcel (``recalled``, the SMS, the webhooks;
at the office its return starts at once). What goes back from an office rides the route runs'
return legs, which sit above shipments; so this module, above both, puts a parcel that is
``returning`` after a recall on the way back (``logistics.way_back.send_back``, kind
``shipment``): at once when it was recalled at the office, or at the office's acceptance
when it was recalled on its way (``recalled_arrived``, called by the counter's acceptance).
The warehouse's act then ends it ``returned`` (``shipment.way_back.shipment_moved``).
A sandbox parcel never rides a van: it is recalled, and goes back on request only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from selpo.db import in_sandbox
from selpo.logistics import way_back
from selpo.models import PostOffice, Shipment
from selpo.shipment import repository as shipment_repository
from selpo.shipment import service as shipment_service
from selpo.shipment.errors import ShipmentNotFound
from selpo.shipment.lifecycle import Status


def recall(
    session: Session,
    *,
    marketplace_id: int,
    tracking_number: str,
    now: datetime,
    base_url: str | None = None,
) -> Shipment:
    """Recall the marketplace's parcel before it is issued (409 after): see
    ``shipment.service.recall_shipment``; a parcel at the office goes on the way back now."""
    shipment = shipment_repository.get_by_tracking_number(
        session, tracking_number, marketplace_id=marketplace_id, lock=True
    )
    if shipment is None:
        raise ShipmentNotFound(tracking_number)
    shipment_service.recall_shipment(session, shipment=shipment, now=now, base_url=base_url)
    if shipment.status == Status.RETURNING:
        send_shipment_back(session, shipment=shipment, now=now)
    return shipment


def send_shipment_back(session: Session, *, shipment: Shipment, now: datetime) -> None:
    """Put a returning parcel on the way back from its office to its warehouse (the one of
    its hand-over act, else the default: ``way_back.send_shipments_back``, as for a refused
    parcel); nothing for a sandbox parcel."""
    if in_sandbox(session):
        return
    way_back.send_shipments_back(session, shipments=[shipment], now=now)


def recalled_arrived(
    session: Session, *, shipment: Shipment, office: PostOffice, now: datetime, actor: str
) -> None:
    """A parcel recalled on its way was accepted at its office: its return starts
    (recalled -> returning) and it waits for the next run back. The caller has recorded the
    arrival scan (kept, status unchanged) and holds the parcel's row."""
    if shipment.status != Status.RECALLED or shipment.destination_office_id != office.id:
        return
    shipment_service.start_return(session, shipment=shipment, now=now, actor=actor)
    send_shipment_back(session, shipment=shipment, now=now)
