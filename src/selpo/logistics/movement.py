"""Parcel movement: the worker job that moves parcels along the timetable.

``advance_parcels`` departs every run that is due (planning its manifest, as
``manifests.build_manifest`` would, if nobody did) and records ``departed_hub``, then
``arrived_at_office`` when the van reaches the office, through
``shipment.service.record_scans`` (one batch per run and one for the arrivals). A hub's or an
office's own scan replaces ours: an event already recorded is not recorded again.
``record_arrivals``, ``pending_arrivals`` and ``next_departure`` let the simulation step its
virtual clock between those moments.

Services flush, never commit; time always comes in as ``now``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from selpo.logistics import repository, timetable
from selpo.logistics.eta import (
    next_run,
)
from selpo.logistics.manifests import (
    WaitingParcel,
    first_run,
    in_stop_order,
    load_run,
    persist_run,
    waiting_parcels,
)
from selpo.logistics.timetables import CACHE, LoadedTimetable
from selpo.shipment import service as shipment_service
from selpo.shipment.lifecycle import Status

log = logging.getLogger("selpo.logistics")

ACTOR: Final[str] = "timetable"
"""Who the worker's tracking events name."""
ARRIVALS_PER_PASS: Final[int] = 5_000
"""Van arrivals one pass records at most, the earliest first; the next pass goes on."""
MAX_RUNS_PER_PASS: Final[int] = 64
"""Runs of one route ``advance_parcels`` plans and departs in one pass (catching up after
downtime); runs that left already are passed over without counting, so parcels waiting for
weeks never hold the route back."""


_ON_THE_WAY: Final[frozenset[str]] = frozenset({Status.HANDED_OVER, Status.IN_TRANSIT})
_HERE: Final[frozenset[str]] = frozenset({Status.ARRIVED_AT_OFFICE, Status.READY_FOR_PICKUP})


def _depart(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    parcels: Sequence[WaitingParcel],
    now: datetime,
) -> int:
    """The run leaves with ``parcels`` (its loaded entries, just planned): its entries are
    marked departed and ``departed_hub`` is recorded, in one batch, for every parcel whose
    hub did not scan it already."""
    repository.mark_departed(session, route.id, departure)
    ids = [p.row.shipment_id for p in parcels]
    # A departure recorded before the parcel was mis-sorted belongs to its earlier trip.
    departed = repository.latest_event_of(session, ids, "departed_hub")
    missorted = repository.latest_event_of(session, ids, "missorted")
    already = {i for i, at in departed.items() if i not in missorted or at > missorted[i]}
    raw = {"route_id": route.id, "departure": departure.isoformat()}
    by_number = {p.row.tracking_number: p.row.shipment_id for p in parcels}
    scans = [
        shipment_service.Scan(
            p.row.tracking_number,
            "departed_hub",
            departure,
            office_index=loaded.hub_postal_index.get(route.hub),
            actor=ACTOR,
            raw=raw,
        )
        for p in in_stop_order(loaded.stop_of[route.id], parcels)
        if p.row.shipment_id not in already and p.row.status in _ON_THE_WAY
    ]
    return _record_scans(session, _every_place(session, scans, by_number), now)


def _every_place(
    session: Session, scans: list[shipment_service.Scan], shipment_of: dict[str, int]
) -> list[shipment_service.Scan]:
    """The van carries an order whole: a scan of an order of several places becomes one scan
    of each of its places still on the way (``shipment_of``: order number -> shipment id)."""
    travelling = shipment_service.travelling_places(session, shipment_of.values())
    if not travelling:
        return scans
    expanded: list[shipment_service.Scan] = []
    for scan in scans:
        numbers = travelling.get(shipment_of[scan.tracking_number])
        if numbers is None:
            expanded.append(scan)
        else:
            expanded.extend(replace(scan, tracking_number=n) for n in numbers)
    return expanded


def _record_scans(session: Session, scans: list[shipment_service.Scan], now: datetime) -> int:
    """Record the worker's scans in one batch; return how many were recorded."""
    outcomes = shipment_service.record_scans(session, scans=scans, now=now)
    for scan, outcome in zip(scans, outcomes, strict=True):
        if outcome.error is not None:  # pragma: no cover - the status was checked before
            log.warning("%s of %s not recorded: %s", scan.code, scan.tracking_number, outcome.error)
    return sum(1 for o in outcomes if o.error is None)


def _arrive(session: Session, now: datetime, limit: int | None = None) -> int:
    """Every van that reached an office by ``now``: ``arrived_at_office`` at the stop's time,
    in one batch, for parcels still on the way that the office did not scan itself."""
    cap = ARRIVALS_PER_PASS if limit is None else min(limit, ARRIVALS_PER_PASS)
    arrivals = repository.due_arrivals(session, now, cap)
    if not arrivals:
        return 0
    repository.mark_arrived(session, [a.entry_id for a in arrivals])
    ids = [a.shipment_id for a in arrivals]
    already = repository.shipments_with_event(session, ids, "arrived_at_office")
    # A parcel an office scanned as mis-sorted after its van left did not reach its office
    # on that van: it is back at the hub and waits for the next run.
    missorted = repository.latest_event_of(session, ids, "missorted")
    # An order of several places arrives place by place: the places still on the way (the
    # office may have scanned some, and with ready_on_first_place the order may be here).
    travelling = shipment_service.travelling_places(session, ids)
    scans = [
        shipment_service.Scan(
            number,
            "arrived_at_office",
            a.arrival_at,
            office_index=a.office_index,
            actor=ACTOR,
            raw={"route_id": a.route_code, "departure": a.departure.isoformat()},
        )
        for a in arrivals
        if (a.shipment_id in travelling or a.shipment_id not in already)
        and (a.status in _ON_THE_WAY or (a.shipment_id in travelling and a.status in _HERE))
        and not (a.shipment_id in missorted and missorted[a.shipment_id] >= a.departure)
        for number in travelling.get(a.shipment_id, [a.tracking_number])
    ]
    return _record_scans(session, scans, now)


def record_arrivals(session: Session, now: datetime) -> int:
    """The arrival half of ``advance_parcels``: ``arrived_at_office`` for every van that has
    reached its office by ``now``; return how many events were recorded."""
    if CACHE.get(session) is None:
        return 0
    repository.lock_timetable(session)
    return _arrive(session, now)


def pending_arrivals(session: Session) -> list[datetime]:
    """When each parcel on a van that left reaches its office, earliest first (one moment
    per parcel, in the order passes record them, ``ARRIVALS_PER_PASS`` at a time). Only a
    departure adds to it."""
    return repository.pending_arrival_times(session)


def next_departure(session: Session, after: datetime) -> datetime | None:
    """When the first route run leaves after ``after`` (``None`` with no timetable or
    routes). Until then ``advance_parcels`` can depart only parcels handed over meanwhile."""
    loaded = CACHE.get(session)
    if loaded is None or not loaded.network.routes:
        return None
    return min(next_run(loaded.network, r.id, after).departure for r in loaded.network.routes)


def advance_parcels(session: Session, now: datetime, *, limit: int | None = None) -> int:
    """Move parcels along the timetable up to ``now`` (a timed worker job); return how many
    tracking events were recorded. ``limit`` bounds the runs departed and the arrivals
    recorded in one pass (call again while it returns at least ``limit``).

    Every run that has left by ``now`` and carries waiting parcels is planned (unless it
    was) and departed: ``departed_hub`` at its departure; every van that has reached its
    office gives ``arrived_at_office`` at the stop's time. Runs are taken in time order, so
    after downtime (or a jump of virtual time) the parcels walk the same path they would
    have. Safe to run twice and from several workers (the timetable row is locked).

    Set-based: which runs are due comes from the waiting parcels counted per office and
    hand-over time (one grouped query); only a route with a run to plan reads its parcels,
    once per pass, and each run is planned, stored and departed in a few statements (its
    scans in one ``record_scans`` batch), the same plan ``build_manifest`` makes.
    """
    loaded = CACHE.get(session)
    if loaded is None:
        return 0
    repository.lock_timetable(session)
    due: dict[str, set[datetime]] = {}
    for office_index, handover in repository.waiting_groups(session):
        run = first_run(loaded, handover, office_index)
        if run is not None and run.departure <= now:
            due.setdefault(run.route_id, set()).add(run.departure)
    recorded = 0
    departed_runs = 0
    for route_id in sorted(due):
        if limit is not None and departed_runs >= limit:
            break
        route = loaded.route(route_id)
        pending = sorted(due[route_id])
        departure = pending[0]
        waiting: dict[int, WaitingParcel] | None = None  # the route's parcels, read when needed
        planned = 0
        while planned < MAX_RUNS_PER_PASS and (limit is None or departed_runs < limit):
            departed = repository.run_departed(session, route_id, departure)
            rolled = False
            if not departed:
                planned += 1
                departed_runs += 1
                if waiting is None:
                    stops = loaded.stop_of[route_id]
                    waiting = {
                        p.row.shipment_id: p for p in waiting_parcels(session, loaded, stops)
                    }
                load = load_run(session, loaded, route, departure, waiting.values(), now=now)
                persist_run(session, loaded, route, departure, load, now=now)
                recorded += _depart(session, loaded, route, departure, load.loaded, now)
                for parcel in load.loaded:
                    del waiting[parcel.row.shipment_id]
                for shipment_id, promise in load.new_promise.items():
                    parcel = waiting[shipment_id]
                    waiting[shipment_id] = replace(
                        parcel, row=replace(parcel.row, promised_date=promise)
                    )
                rolled = bool(load.rolled)
            later = [d for d in pending if d > departure]
            if rolled or departed:
                # Parcels that did not fit, or reached the hub after a run left without them
                # (a hand-over recorded late), go on the next run.
                later.append(next_run(loaded.network, route_id, departure).departure)
            if not later or min(later) > now:
                break
            departure = min(later)
    return recorded + _arrive(session, now, limit)
