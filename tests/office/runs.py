"""A route run to Pestyaki and Alekhino for the acceptance tests: the timetable imported from
CSV (the Pestyaki district hub, DH-155650), parcels handed over the day before ``TEST_NOW``,
and the van departed by the real worker job (``movement.advance_parcels``), so its manifest is
the one logistics stored.

The run leaves the hub at 11:30 Moscow time (08:30 UTC) on ``TEST_NOW``'s day and reaches
Pestyaki at 11:50, Alekhino at 12:10; ``TEST_NOW`` is 12:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.logistics import movement, timetables
from tests.conftest import TEST_NOW

ROUTE = "PESTYAKI-1"
DEPARTURE = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
RUN = f"{ROUTE}@2026-11-25T08:30:00Z"
ROUTES_CSV = f"""\
route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min
{ROUTE},DH-155650,mon|tue|wed|thu|fri|sat|sun,11:30,150,2000,240,1,155650,20
{ROUTE},DH-155650,mon|tue|wed|thu|fri|sat|sun,11:30,150,2000,240,2,155654,40
"""
# When the parcels of the run are handed over: the day before, so the run is their first.
HANDOVER = TEST_NOW - timedelta(days=1)


def import_timetable(session: Session, clock: FrozenClock, csv: str = ROUTES_CSV) -> None:
    """The route timetable of this module."""
    timetables.import_routes(session, csv, now=clock.now())


def depart(session: Session, clock: FrozenClock) -> None:
    """The worker at 11:35: the van of ``RUN`` leaves with its manifest (not arrived yet)."""
    clock.set(DEPARTURE + timedelta(minutes=5))
    movement.advance_parcels(session, clock.now())
