"""Hub scans mark the parcels of open hand-over acts (``shipment.service.record_scans`` calls
``mark_scanned`` with every scan it records, whoever sent it: the operator's
``POST /v1/tracking-events``, a batch, the simulation).

Kept apart from ``shipment.handover`` (which records its scans through the shipment service)
so that the shipment service can call it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from selpo.models import HandoverEntry

HUB_ACCEPTANCE_CODES: Final[frozenset[str]] = frozenset(
    {"arrived_at_sorting_centre", "arrived_at_hub"}
)
"""Event codes that say the hub has the parcel in hand: its acceptance of the line-haul."""
CHUNK: Final[int] = 500


def mark_scanned(session: Session, scans: Iterable[tuple[int, str, datetime]]) -> int:
    """Mark the open-act entries of the shipments a hub scanned (``(shipment id, event code,
    when)``; other codes are passed over); an entry keeps its first scan. Return how many
    entries were marked."""
    first: dict[int, datetime] = {}
    for shipment_id, code, at in scans:
        if code in HUB_ACCEPTANCE_CODES and (shipment_id not in first or at < first[shipment_id]):
            first[shipment_id] = at
    if not first:
        return 0
    ids = sorted(first)
    waiting: list[tuple[int, int]] = []
    for start in range(0, len(ids), CHUNK):
        query = select(HandoverEntry.id, HandoverEntry.shipment_id).where(
            HandoverEntry.shipment_id.in_(ids[start : start + CHUNK]),
            HandoverEntry.on_open_act.is_(True),
            HandoverEntry.scanned_at.is_(None),
        )
        waiting.extend((entry_id, shipment_id) for entry_id, shipment_id in session.execute(query))
    if waiting:
        session.execute(
            update(HandoverEntry),
            [{"id": entry_id, "scanned_at": first[sid]} for entry_id, sid in waiting],
        )
    return len(waiting)
