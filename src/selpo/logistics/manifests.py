"""Manifests: what one route run carries, planned, stored and read; the route runs of a day.

``build_manifest``: the parcels at the hub for one route run, oldest promise first, within
the van's parcels and litres; what does not fit rolls to the next run, and if that run makes
the parcel later than its promised date the promise is recomputed from the new run
(``promises.promise_bound``) and the marketplace told (``shipment.promised_date_changed``).
``get_manifest`` reads a stored run or previews one; ``list_route_runs`` /
``build_manifests`` take every run of a hub leaving on a local day. A run is named
``<route_id>@<departure>`` (``run_id``, ``parse_run_id``).

Planning one run (``waiting_parcels``, ``load_run``, ``persist_run``) is shared with
``selpo.logistics.movement``, which departs the runs. Services flush, never commit; time
always comes in as ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.kit.display import local_day
from selpo.logistics import repository, timetable
from selpo.logistics.errors import (
    RouteRunNotFound,
)
from selpo.logistics.eta import (
    next_run,
)
from selpo.logistics.promises import promise_bound
from selpo.logistics.schemas import (
    ManifestLine,
    ManifestRead,
    ManifestStop,
    RolledLine,
    RouteRunRead,
)
from selpo.logistics.timetable import (
    RouteRun,
)
from selpo.logistics.timetables import LoadedTimetable, current_timetable, district_hub_code
from selpo.models import ManifestEntry
from selpo.notify import service as notify_service


def run_id(route_id: str, departure: datetime) -> str:
    """``<route_id>@<departure as UTC ISO 8601>``, e.g. ``DH-<index>-V01@2026-11-26T05:00:00Z``."""
    return f"{route_id}@{departure.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def parse_run_id(value: str) -> tuple[str, datetime]:
    """(route id, departure in UTC) of a run id; 422 naming ``run_id`` when malformed."""
    route_id, sep, moment = value.rpartition("@")
    if not sep or not route_id:
        raise InvalidInput(f"{value!r} is not <route_id>@<departure ISO 8601>", field="run_id")
    try:
        departure = datetime.fromisoformat(moment.replace(" ", "+"))
    except ValueError:
        raise InvalidInput(f"{moment!r} is not an ISO 8601 moment", field="run_id") from None
    if departure.tzinfo is None:
        raise InvalidInput("the departure needs a UTC offset (or Z)", field="run_id")
    return route_id, departure.astimezone(UTC)


def parcel_litres(length_mm: int, width_mm: int, height_mm: int) -> float:
    """A parcel's outer volume in litres (its box, as it takes room in a van)."""
    return length_mm * width_mm * height_mm / 1_000_000.0


@dataclass(frozen=True)
class WaitingParcel:
    """A parcel at the hub waiting for a van, with the run that first carries it."""

    row: repository.WaitingRow
    handover: datetime
    litres: float
    first_run: RouteRun | None

    @property
    def order(self) -> tuple[date, datetime, int]:
        return (self.row.promised_date or date.max, self.handover, self.row.shipment_id)


def first_run(loaded: LoadedTimetable, handover: datetime, office_index: str) -> RouteRun | None:
    """The run that first carries a parcel handed over at ``handover`` to the office."""
    warehouse = loaded.default_warehouse
    if warehouse is None or office_index not in loaded.network.office_position:
        return None
    return loaded.earliest(warehouse, handover, office_index)[1]


def waiting_parcels(
    session: Session, loaded: LoadedTimetable, offices: Iterable[str] | None = None
) -> list[WaitingParcel]:
    """The parcels waiting at the hubs (only those for ``offices`` if given)."""
    rows = repository.waiting_parcels(session, None if offices is None else set(offices))
    # Parcels handed over together for one office share their first run: one lookup each.
    first: dict[tuple[datetime, str], RouteRun | None] = {}
    parcels = []
    for row in rows:
        handover = row.handed_over_at or row.created_at
        key = (handover, row.office_index)
        if key not in first:
            first[key] = first_run(loaded, handover, row.office_index)
        parcels.append(
            WaitingParcel(
                row,
                handover,
                parcel_litres(row.length_mm, row.width_mm, row.height_mm),
                first[key],
            )
        )
    return parcels


def _check_run(loaded: LoadedTimetable, route_id: str, departure: datetime) -> timetable.Route:
    route = loaded.route(route_id)
    try:
        actual = next_run(loaded.network, route_id, departure, strict=False)
    except ValueError as exc:  # a moment outside the holiday calendar's years
        raise RouteRunNotFound(run_id(route_id, departure), str(exc)) from None
    if actual.departure != departure:
        raise RouteRunNotFound(
            run_id(route_id, departure),
            f"the next run of {route_id} leaves at {actual.departure.isoformat()}",
        )
    return route


def _rolled_promise(
    loaded: LoadedTimetable, route_id: str, to: RouteRun, office: str
) -> tuple[date | None, date | None]:
    """(local date the parcel is ready on run ``to``, the promise recomputed from ``to``)."""
    ready = loaded.ready_on(to, office)
    if ready is None:
        return None, None
    after = loaded.ready_on(next_run(loaded.network, route_id, to.departure), office)
    zone = loaded.office_timezone(office)
    return local_day(ready, zone), local_day(promise_bound(loaded, ready, after, office), zone)


def _manifest(
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    lines: list[ManifestLine],
    rolled: list[RolledLine],
    *,
    stored: bool,
    departed: bool,
) -> ManifestRead:
    per_office: dict[str, int] = {}
    for line in lines:
        per_office[line.office_index] = per_office.get(line.office_index, 0) + 1
    return ManifestRead(
        id=run_id(route.id, departure),
        route_id=route.id,
        hub=route.hub,
        hub_name=loaded.hub_name.get(route.hub, route.hub),
        vehicle=route.vehicle,
        timezone=loaded.facility_timezone[route.hub],
        departure=departure,
        return_at=departure + route.return_after,
        capacity_parcels=route.capacity_parcels,
        capacity_litres=route.capacity_litres,
        parcels=len(lines),
        litres=round(sum(line.litres for line in lines), 3),
        weight_g=sum(line.weight_g for line in lines),
        stored=stored,
        departed=departed,
        stops=[
            ManifestStop(
                seq=n,
                office_index=stop.office,
                office_name=loaded.office_name.get(stop.office, ""),
                arrival_at=departure + stop.arrival,
                parcels=per_office.get(stop.office, 0),
            )
            for n, stop in enumerate(route.stops, start=1)
        ],
        lines=lines,
        rolled=rolled,
    )


def _stored_manifest(
    session: Session, loaded: LoadedTimetable, route: timetable.Route, departure: datetime
) -> ManifestRead | None:
    rows = repository.run_lines(session, route.id, departure)
    if not rows:
        return None
    lines = [
        ManifestLine(
            tracking_number=s.tracking_number,
            external_order_id=s.external_order_id,
            marketplace=code,
            office_index=e.office_index,
            office_name=name,
            stop_seq=e.stop_seq,
            arrival_at=e.arrival_at,
            litres=round(e.litres, 3),
            weight_g=s.weight_g,
            cod_kop=s.cod_kop,
            promised_date=e.promised_date,
        )
        for e, s, code, name in rows
        if e.status == "loaded"
    ]
    rolled = [
        RolledLine(
            tracking_number=s.tracking_number,
            office_index=e.office_index,
            next_departure=e.rolled_to or departure,
            promised_date=s.promised_date,
            promised_date_changed=e.promised_date != s.promised_date,
        )
        for e, s, _code, _name in rows
        if e.status == "rolled"
    ]
    departed = any(e.departed_at is not None for e, _s, _c, _n in rows)
    return _manifest(loaded, route, departure, lines, rolled, stored=True, departed=departed)


@dataclass
class RunLoad:
    """What one route run takes: the parcels loaded and rolled, the run they roll to, the
    promises that move, and the parcels' plans on other runs still to leave."""

    loaded: list[WaitingParcel]
    rolled: list[WaitingParcel]
    following: RouteRun | None
    new_promise: dict[int, date]
    rolled_lines: list[RolledLine]
    elsewhere: list[ManifestEntry]


def load_run(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    waiting: Iterable[WaitingParcel],
    *,
    now: datetime,
) -> RunLoad:
    """Load the run: waiting parcels whose first run it is (or an earlier one of the route),
    oldest promise first, within capacity; the rest rolls to the next run."""
    candidates = [
        p
        for p in waiting
        if p.first_run is not None
        and p.first_run.route_id == route.id
        and p.first_run.departure <= departure
    ]
    elsewhere = repository.planned_elsewhere(
        session, [p.row.shipment_id for p in candidates], route.id, departure
    )
    # A parcel already planned on an earlier run still to come stays there.
    held = {
        e.shipment_id
        for e in elsewhere
        if now < e.departure < departure and e.route_code in loaded.network.route_position
    }
    candidates = sorted(
        (p for p in candidates if p.row.shipment_id not in held), key=lambda p: p.order
    )
    loaded_parcels: list[WaitingParcel] = []
    rolled_parcels: list[WaitingParcel] = []
    count, litres = 0, 0.0
    for parcel in candidates:
        if count + 1 <= route.capacity_parcels and litres + parcel.litres <= route.capacity_litres:
            loaded_parcels.append(parcel)
            count += 1
            litres += parcel.litres
        else:
            rolled_parcels.append(parcel)
    following = next_run(loaded.network, route.id, departure) if rolled_parcels else None
    rolled: list[RolledLine] = []
    new_promise: dict[int, date] = {}
    promises: dict[str, tuple[date | None, date | None]] = {}  # by office: one run for all
    for parcel in rolled_parcels:
        assert following is not None
        office = parcel.row.office_index
        if office not in promises:
            promises[office] = _rolled_promise(loaded, route.id, following, office)
        ready_day, recomputed = promises[office]
        before = parcel.row.promised_date
        changed = recomputed is not None and (
            before is None or (ready_day is not None and ready_day > before)
        )
        if changed:
            assert recomputed is not None
            new_promise[parcel.row.shipment_id] = recomputed
        rolled.append(
            RolledLine(
                tracking_number=parcel.row.tracking_number,
                office_index=parcel.row.office_index,
                next_departure=following.departure,
                promised_date=new_promise.get(parcel.row.shipment_id, before),
                promised_date_changed=changed,
            )
        )
    return RunLoad(loaded_parcels, rolled_parcels, following, new_promise, rolled, elsewhere)


def _plan(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    *,
    now: datetime,
    persist: bool,
) -> ManifestRead:
    """Load the run (``load_run``) from the parcels waiting for its offices; store it."""
    stops = loaded.stop_of[route.id]
    load = load_run(
        session, loaded, route, departure, waiting_parcels(session, loaded, stops), now=now
    )
    lines = [
        ManifestLine(
            tracking_number=p.row.tracking_number,
            external_order_id=p.row.external_order_id,
            marketplace=p.row.marketplace,
            office_index=p.row.office_index,
            office_name=p.row.office_name,
            stop_seq=stops[p.row.office_index][0],
            arrival_at=departure + stops[p.row.office_index][1],
            litres=round(p.litres, 3),
            weight_g=p.row.weight_g,
            cod_kop=p.row.cod_kop,
            promised_date=p.row.promised_date,
        )
        for p in in_stop_order(stops, load.loaded)
    ]
    if persist:
        persist_run(session, loaded, route, departure, load, now=now)
    return _manifest(
        loaded, route, departure, lines, load.rolled_lines, stored=persist, departed=False
    )


def in_stop_order(
    stops: dict[str, tuple[int, timedelta]], parcels: Iterable[WaitingParcel]
) -> list[WaitingParcel]:
    """The parcels in the order the van reaches their offices (then oldest promise first)."""
    return sorted(parcels, key=lambda p: (stops[p.row.office_index][0], p.order))


def persist_run(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    load: RunLoad,
    *,
    now: datetime,
) -> None:
    """Store the run's manifest entries (replacing a plan of it) and move the promises the
    roll-over made later, telling each marketplace in the same transaction."""
    stops = loaded.stop_of[route.id]
    following = load.following
    # Re-planning replaces the run's entries; a parcel moved here leaves its later run.
    moved = {p.row.shipment_id for p in load.loaded}
    stale = repository.run_entry_ids(session, route.id, departure)
    stale += [e.id for e in load.elsewhere if e.departure > departure and e.shipment_id in moved]
    repository.delete_entries(session, stale)
    session.flush()
    rows = []
    for status, parcels in (("loaded", load.loaded), ("rolled", load.rolled)):
        for p in parcels:
            seq, arrival = stops[p.row.office_index]
            rows.append(
                {
                    "route_code": route.id,
                    "departure": departure,
                    "hub_code": route.hub,
                    "shipment_id": p.row.shipment_id,
                    "office_index": p.row.office_index,
                    "stop_seq": seq,
                    "arrival_at": departure + arrival,
                    "litres": p.litres,
                    "status": status,
                    "promised_date": p.row.promised_date,
                    "rolled_to": following.departure if status == "rolled" and following else None,
                    "departed_at": None,
                    "arrived_at": None,
                    "planned_at": now,
                }
            )
    if rows:
        session.execute(insert(ManifestEntry), rows)
    if not load.new_promise:
        session.flush()
        return
    assert following is not None
    shipments = repository.shipments_by_id(session, list(load.new_promise))
    events: list[notify_service.MarketplaceEvent] = []
    for shipment_id, promise in load.new_promise.items():
        shipment = shipments[shipment_id]
        before = shipment.promised_date
        shipment.promised_date = promise
        shipment.updated_at = now
        events.append(
            notify_service.MarketplaceEvent(
                shipment.marketplace_id,
                "shipment.promised_date_changed",
                {
                    "tracking_number": shipment.tracking_number,
                    "external_order_id": shipment.external_order_id,
                    "promised_date": promise,
                    "previous_promised_date": before,
                    "reason": "route_run_full",
                    "route_id": route.id,
                    "missed_departure": departure,
                    "next_departure": following.departure,
                },
            )
        )
    notify_service.publish_many(session, events=events, now=now)
    session.flush()


def build_manifest(
    session: Session, *, route_id: str, departure: datetime, now: datetime
) -> ManifestRead:
    """Plan (or re-plan) one route run's manifest and store it; a run that left is kept as is.

    Parcels that do not fit roll to the next run; a parcel that the next run makes later than
    its promised date gets a recomputed promise and its marketplace a
    ``shipment.promised_date_changed`` webhook.
    """
    loaded = current_timetable(session)
    departure = departure.astimezone(UTC)
    route = _check_run(loaded, route_id, departure)
    repository.lock_timetable(session)  # one planner at a time (the worker takes it too)
    stored = _stored_manifest(session, loaded, route, departure)
    if stored is not None and stored.departed:
        return stored
    return _plan(session, loaded, route, departure, now=now, persist=True)


def get_manifest(
    session: Session, *, route_id: str, departure: datetime, now: datetime
) -> ManifestRead:
    """A run's manifest as stored, or a preview of it (``stored`` false) if none is yet."""
    loaded = current_timetable(session)
    departure = departure.astimezone(UTC)
    route = _check_run(loaded, route_id, departure)
    stored = _stored_manifest(session, loaded, route, departure)
    if stored is not None:
        return stored
    return _plan(session, loaded, route, departure, now=now, persist=False)


def _runs_on(
    loaded: LoadedTimetable, day: date, hub: str | None
) -> list[tuple[timetable.Route, datetime]]:
    runs = []
    for route in loaded.network.routes:
        if hub is not None and route.hub != hub:
            continue
        zone = ZoneInfo(loaded.facility_timezone[route.hub])
        start = datetime.combine(day, time(0), tzinfo=zone)
        run = next_run(loaded.network, route.id, start, strict=False)
        if run.departure.astimezone(zone).date() == day:
            runs.append((route, run.departure))
    return sorted(runs, key=lambda r: (r[1], r[0].id))


def list_route_runs(session: Session, *, day: date, hub: str | None = None) -> list[RouteRunRead]:
    """The route runs leaving on a local day (optionally from one hub), with their manifests."""
    loaded = current_timetable(session)
    code = None if hub is None else district_hub_code(session, hub)
    try:
        runs = _runs_on(loaded, day, code)
    except ValueError as exc:  # a day outside the holiday calendar's years
        raise InvalidInput(str(exc), field="date") from None
    if not runs:
        return []
    stats = repository.run_stats(
        session, min(d for _, d in runs), max(d for _, d in runs) + timedelta(seconds=1)
    )
    result = []
    for route, departure in runs:
        found = stats.get((route.id, departure))
        zone = ZoneInfo(loaded.facility_timezone[route.hub])
        result.append(
            RouteRunRead(
                id=run_id(route.id, departure),
                route_id=route.id,
                hub=route.hub,
                departure=departure,
                departure_local=departure.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                vehicle=route.vehicle,
                stops=len(route.stops),
                capacity_parcels=route.capacity_parcels,
                capacity_litres=route.capacity_litres,
                manifest="none" if found is None else "departed" if found.departed else "planned",
                parcels=0 if found is None else found.parcels,
                litres=0.0 if found is None else round(found.litres, 3),
            )
        )
    return result


def build_manifests(session: Session, *, day: date, hub: str, now: datetime) -> list[ManifestRead]:
    """Plan every run of a hub leaving on a local day, in departure order."""
    loaded = current_timetable(session)
    code = district_hub_code(session, hub)
    return [
        build_manifest(session, route_id=route.id, departure=departure, now=now)
        for route, departure in _runs_on(loaded, day, code)
    ]
