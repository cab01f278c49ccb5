"""A partner's bag on the way back: its status follows its ``return_leg_item`` row.

``logistics.way_back.moved`` calls :func:`bag_moved` after each step of a ``partner_bag``
row, in the same transaction: ``loaded`` (on a return run), ``at_hub`` (the hub's
acceptance), ``delivered`` (the partner's collection act). A bag never moves back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from selpo.collection import rules
from selpo.models import CollectionBag, ReturnLegItem


def bag_moved(session: Session, item: ReturnLegItem, step: str, now: datetime) -> None:
    """Move the bag of ``item`` on to ``step`` (a step it is already past changes nothing)."""
    bag = session.get(CollectionBag, item.ref_id)
    if bag is None:
        return
    status = rules.next_status(bag.status, step)
    if status != bag.status:
        bag.status = status
        bag.status_at = now
