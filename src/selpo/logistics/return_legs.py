"""The way back on the route runs: each run's return leg, the hub's acceptance of it, and
the line-haul to the marketplaces' warehouses with its act.

A run's return leg takes what its offices have ready (``return_leg_item`` rows
``waiting``: refused and expired parcels, buyers' returns, partners' bags), oldest first,
within the van's capacity over the whole way back (``return_loading``, the pure kernel);
what does not fit waits for the next run and is counted (``runs_waited``, the leg's
``waited``). The leg is fixed (``load_leg``) by the worker once the van has made its last
call (``advance_return_legs``, like the outbound leg's departures) or ahead of the run by the
dispatcher (the manifest the driver signs); each thing is then ``loaded`` at its office's
call time. The hub accepts the leg against its manifest (``accept_at_hub``: scanned things
are ``at_hub``, the rest is missing, scans not on the leg are extra), and the line-haul to
each marketplace's warehouse makes a gap-free numbered act (``deliver_to_warehouses``) that
ends each thing ``delivered``. After each step ``way_back.moved`` tells the thing's domain
(a shipment leaves its cell when loaded, and ends ``returned`` at the act, webhooks follow).

Services flush, never commit; time always comes in as ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.kit.display import local_day
from selpo.logistics import repository, timetable
from selpo.logistics.errors import ReturnLegNotLoaded, RouteRunNotFound, WarehouseActNotFound
from selpo.logistics.eta import next_run
from selpo.logistics.manifests import parse_run_id, run_id
from selpo.logistics.return_leg_schemas import (
    HubAcceptanceRead,
    ReturnLegLine,
    ReturnLegRead,
    ReturnLegStop,
    WarehouseActLine,
    WarehouseActRead,
)
from selpo.logistics.return_loading import LegLoad, Waiting
from selpo.logistics.return_loading import load_leg as plan_load
from selpo.logistics.timetables import (
    CACHE,
    LoadedTimetable,
    current_timetable,
    district_hub_code,
)
from selpo.logistics.way_back import AT_HUB, DELIVERED, LOADED, WAITING, moved
from selpo.models import (
    Marketplace,
    PostOffice,
    ReturnLeg,
    ReturnLegItem,
    Warehouse,
    WarehouseAct,
    WarehouseActSerial,
)

LEGS_PER_PASS: Final[int] = 200
"""Return legs one worker pass fixes at most (catching up after downtime); the next goes on."""


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Row:
    item: ReturnLegItem
    office_index: str
    office_name: str
    marketplace: str | None
    warehouse: str | None


def _rows(session: Session, query_items: Iterable[ReturnLegItem]) -> list[_Row]:
    """The items with their office, marketplace and warehouse names (three small reads)."""
    items = list(query_items)
    if not items:
        return []
    offices = {
        o.id: o
        for o in session.scalars(
            select(PostOffice).where(PostOffice.id.in_(sorted({i.office_id for i in items})))
        )
    }
    markets = dict(session.execute(select(Marketplace.id, Marketplace.code)).all())
    houses = dict(session.execute(select(Warehouse.id, Warehouse.code)).all())
    return [
        _Row(
            i,
            offices[i.office_id].index,
            offices[i.office_id].name,
            None if i.marketplace_id is None else markets.get(i.marketplace_id),
            None if i.warehouse_id is None else houses.get(i.warehouse_id),
        )
        for i in items
    ]


def _run_offices(
    session: Session, loaded: LoadedTimetable, route: timetable.Route
) -> dict[int, str]:
    """Office id -> postal index, for the run's stops."""
    indexes = list(loaded.stop_of[route.id])
    query = select(PostOffice.id, PostOffice.index).where(PostOffice.index.in_(indexes))
    return dict(session.execute(query).all())


def _waiting_at(
    session: Session, office_ids: Iterable[int], until: datetime
) -> list[ReturnLegItem]:
    query = (
        select(ReturnLegItem)
        .where(
            ReturnLegItem.status == WAITING,
            ReturnLegItem.office_id.in_(sorted(office_ids)),
            ReturnLegItem.ready_at <= until,
        )
        .order_by(ReturnLegItem.ready_at, ReturnLegItem.id)
    )
    return list(session.scalars(query))


def _stored(session: Session, route_id: str, departure: datetime) -> ReturnLeg | None:
    return session.scalar(
        select(ReturnLeg).where(ReturnLeg.route_code == route_id, ReturnLeg.departure == departure)
    )


def _check_run(loaded: LoadedTimetable, route_id: str, departure: datetime) -> timetable.Route:
    route = loaded.route(route_id)
    try:
        actual = next_run(loaded.network, route_id, departure, strict=False)
    except ValueError as exc:  # a moment outside the holiday calendar's years
        raise InvalidInput(str(exc), field="run_id") from None
    if actual.departure != departure:
        raise RouteRunNotFound(
            run_id(route_id, departure),
            f"the next run of {route_id} leaves at {actual.departure.isoformat()}",
        )
    return route


# ---------------------------------------------------------------------------- planning


@dataclass
class _Plan:
    route: timetable.Route
    departure: datetime
    load: LegLoad
    items: dict[int, ReturnLegItem]
    office_of: dict[int, str]  # office id -> index
    call_at: dict[str, datetime]  # office index -> the van's call

    @property
    def last_call(self) -> datetime:
        return max(self.call_at.values())


def _plan(
    session: Session, loaded: LoadedTimetable, route: timetable.Route, departure: datetime
) -> _Plan:
    stops = loaded.stop_of[route.id]
    call_at = {index: departure + arrival for index, (_seq, arrival) in stops.items()}
    office_of = _run_offices(session, loaded, route)
    items = {
        i.id: i
        for i in _waiting_at(session, office_of, max(call_at.values()))
        if i.office_id in office_of
    }
    things = [
        Waiting(i.id, i.ready_at, i.litres, call_at[office_of[i.office_id]]) for i in items.values()
    ]
    load = plan_load(things, route.capacity_parcels, route.capacity_litres)
    return _Plan(route, departure, load, items, office_of, call_at)


def _line(
    row: _Row, plan_stops: dict[str, tuple[int, timedelta]], departure: datetime
) -> ReturnLegLine:
    seq, arrival = plan_stops.get(row.office_index, (0, timedelta(0)))
    item = row.item
    return ReturnLegLine(
        barcode=item.barcode,
        kind=item.kind,
        status=item.status,
        office_index=row.office_index,
        office_name=row.office_name,
        stop_seq=seq,
        call_at=departure + arrival,
        ready_at=item.ready_at,
        marketplace=row.marketplace,
        warehouse=row.warehouse,
        partner_code=item.partner_code,
        litres=round(item.litres, 3),
        weight_g=item.weight_g,
        runs_waited=item.runs_waited,
    )


def _read(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    on_leg: Sequence[ReturnLegItem],
    left: Sequence[ReturnLegItem],
    too_big: Sequence[ReturnLegItem],
    leg: ReturnLeg | None,
) -> ReturnLegRead:
    stops = loaded.stop_of[route.id]
    rows = _rows(session, [*on_leg, *left])
    lines = [_line(r, stops, departure) for r in rows[: len(on_leg)]]
    lines.sort(key=lambda line: (line.stop_seq, line.ready_at, line.barcode))
    waiting = [_line(r, stops, departure) for r in rows[len(on_leg) :]]
    litres = round(sum(line.litres for line in lines), 3)
    return ReturnLegRead(
        id=run_id(route.id, departure),
        route_id=route.id,
        hub=route.hub,
        hub_name=loaded.hub_name.get(route.hub, route.hub),
        vehicle=route.vehicle,
        timezone=loaded.facility_timezone[route.hub],
        departure=departure,
        back_at=departure + route.return_after,
        capacity_parcels=route.capacity_parcels,
        capacity_litres=route.capacity_litres,
        items=len(lines),
        litres=litres,
        weight_g=sum(line.weight_g for line in lines),
        load_factor=load_factor(len(lines), litres, route.capacity_parcels, route.capacity_litres),
        stored=leg is not None,
        accepted_at=None if leg is None else leg.accepted_at,
        stops=[
            ReturnLegStop(
                seq=n,
                office_index=stop.office,
                office_name=loaded.office_name.get(stop.office, ""),
                call_at=departure + stop.arrival,
                loaded=sum(1 for line in lines if line.office_index == stop.office),
                waiting=sum(1 for line in waiting if line.office_index == stop.office),
            )
            for n, stop in enumerate(route.stops, start=1)
        ],
        lines=lines,
        waiting=waiting,
        too_big=[i.barcode for i in too_big],
    )


def load_factor(items: int, litres: float, capacity_parcels: int, capacity_litres: float) -> float:
    """How full the way back is: the larger of the two shares of the van, 0..1."""
    shares = [items / capacity_parcels if capacity_parcels else 0.0]
    shares.append(litres / capacity_litres if capacity_litres else 0.0)
    return round(max(shares), 4)


def _plan_read(session: Session, loaded: LoadedTimetable, plan: _Plan) -> ReturnLegRead:
    on_leg = [plan.items[w.key] for w in plan.load.loaded]
    left = [plan.items[w.key] for w in plan.load.waiting]
    big = [plan.items[w.key] for w in plan.load.too_big]
    return _read(session, loaded, plan.route, plan.departure, on_leg, left, big, None)


def _stored_read(
    session: Session,
    loaded: LoadedTimetable,
    route: timetable.Route,
    departure: datetime,
    leg: ReturnLeg,
) -> ReturnLegRead:
    on_leg = list(
        session.scalars(
            select(ReturnLegItem)
            .where(ReturnLegItem.route_code == route.id, ReturnLegItem.departure == departure)
            .order_by(ReturnLegItem.ready_at, ReturnLegItem.id)
        )
    )
    return _read(session, loaded, route, departure, on_leg, [], [], leg)


def get_leg(session: Session, *, route_id: str, departure: datetime) -> ReturnLegRead:
    """A run's return leg as loaded, or a preview of it (``stored`` false): what its offices
    have ready by the van's calls, oldest first, within its capacity, and what would wait."""
    loaded = current_timetable(session)
    departure = departure.astimezone(UTC)
    route = _check_run(loaded, route_id, departure)
    leg = _stored(session, route.id, departure)
    if leg is not None:
        return _stored_read(session, loaded, route, departure, leg)
    return _plan_read(session, loaded, _plan(session, loaded, route, departure))


# ---------------------------------------------------------------------------- loading


def _fix(session: Session, loaded: LoadedTimetable, plan: _Plan, now: datetime) -> ReturnLeg:
    """Store the leg: its things ``loaded`` at their office's call, the rest counted as
    waiting for lack of room; each loaded thing's domain is told."""
    route, departure = plan.route, plan.departure
    on_leg = [plan.items[w.key] for w in plan.load.loaded]
    litres = sum(i.litres for i in on_leg)
    leg = ReturnLeg(
        route_code=route.id,
        departure=departure,
        hub_code=route.hub,
        back_at=departure + route.return_after,
        capacity_parcels=route.capacity_parcels,
        capacity_litres=float(route.capacity_litres),
        items=len(on_leg),
        litres=litres,
        weight_g=sum(i.weight_g for i in on_leg),
        waited=len(plan.load.waiting),
        loaded_at=now,
    )
    session.add(leg)
    for item in on_leg:
        item.status = LOADED
        item.route_code = route.id
        item.departure = departure
        item.hub_code = route.hub
        item.loaded_at = plan.call_at[plan.office_of[item.office_id]]
    for w in plan.load.waiting:
        plan.items[w.key].runs_waited += 1
    session.flush()
    for item in on_leg:
        moved(session, item, "loaded", now)
    session.flush()
    return leg


def load_leg(
    session: Session, *, route_id: str, departure: datetime, now: datetime
) -> ReturnLegRead:
    """Fix a run's return leg (the manifest the driver signs); a leg already loaded is kept
    as it is. Things ready later than their office's call wait for the next run."""
    loaded = current_timetable(session)
    departure = departure.astimezone(UTC)
    route = _check_run(loaded, route_id, departure)
    repository.lock_timetable(session)  # one loader at a time (the worker takes it too)
    leg = _stored(session, route.id, departure)
    if leg is None:
        plan = _plan(session, loaded, route, departure)
        leg = _fix(session, loaded, plan, now)
    return _stored_read(session, loaded, route, departure, leg)


def _calls(loaded: LoadedTimetable) -> dict[str, list[tuple[str, timedelta]]]:
    """Office index -> (route, arrival after departure) of every route calling there."""
    calls: dict[str, list[tuple[str, timedelta]]] = {}
    for route_id, stops in loaded.stop_of.items():
        for index, (_seq, arrival) in stops.items():
            calls.setdefault(index, []).append((route_id, arrival))
    return calls


def _next_call(
    session: Session,
    loaded: LoadedTimetable,
    calls: Sequence[tuple[str, timedelta]],
    ready_at: datetime,
    known: dict[tuple[str, datetime], bool],
) -> tuple[datetime, str, datetime] | None:
    """(the run's last call, route, departure) of the first run calling at the office at or
    after ``ready_at`` whose return leg is not fixed yet; ``None`` with no route."""
    best: tuple[datetime, str, datetime] | None = None
    for route_id, arrival in calls:
        route = loaded.route(route_id)
        last = max(arrival for _s, arrival in loaded.stop_of[route_id].values())
        run = next_run(loaded.network, route_id, ready_at - arrival, strict=False)
        for _ in range(64):
            key = (route_id, run.departure)
            if key not in known:
                known[key] = _stored(session, route_id, run.departure) is not None
            if not known[key]:
                break
            run = next_run(loaded.network, route.id, run.departure)
        candidate = (run.departure + last, route_id, run.departure)
        if best is None or candidate < best:
            best = candidate
    return best


def next_last_call(session: Session, after: datetime) -> datetime | None:
    """When the first route run makes its last call after ``after`` (``None`` with no
    timetable or routes): until then ``advance_return_legs`` has no new leg to fix. The
    simulation, its database's only writer, passes over the steps before it."""
    loaded = CACHE.get(session)
    if loaded is None or not loaded.network.routes:
        return None
    moments = []
    for route in loaded.network.routes:
        last = max(stop.arrival for stop in route.stops)
        moments.append(next_run(loaded.network, route.id, after - last).departure + last)
    return min(moments)


def _earliest_waiting(session: Session) -> dict[int, datetime]:
    """Office id -> since when its oldest waiting thing is ready (one grouped query)."""
    query = (
        select(ReturnLegItem.office_id, func.min(ReturnLegItem.ready_at))
        .where(ReturnLegItem.status == WAITING)
        .group_by(ReturnLegItem.office_id)
    )
    return dict(session.execute(query).all())


def advance_return_legs(session: Session, now: datetime, *, limit: int | None = None) -> int:
    """Fix every return leg whose van has made its last call by ``now`` and whose offices
    have something ready (a timed worker job); return how many things were loaded.

    Runs are taken in time order, so after downtime (or a jump of virtual time) what waits
    walks the same runs it would have: a thing left for lack of room is on the next run's
    list, oldest first. Safe to run twice and from several workers (the timetable row is
    locked; a leg is fixed once)."""
    loaded = CACHE.get(session)
    if loaded is None:
        return 0
    if _earliest_waiting(session) == {}:
        return 0
    repository.lock_timetable(session)
    cap = LEGS_PER_PASS if limit is None else min(limit, LEGS_PER_PASS)
    indexes: dict[int, str] = {}
    known: dict[tuple[str, datetime], bool] = {}
    moved_count, fixed = 0, 0
    while fixed < cap:
        earliest = _earliest_waiting(session)
        missing = [o for o in earliest if o not in indexes]
        if missing:
            query = select(PostOffice.id, PostOffice.index).where(PostOffice.id.in_(missing))
            indexes.update(dict(session.execute(query).all()))
        ready_at = {indexes[o]: ready for o, ready in earliest.items() if o in indexes}
        due = [
            d
            for d in (
                _due_run(session, loaded, r, ready_at, known) for r in _routes(loaded, ready_at)
            )
            if d and d[0] <= now
        ]
        if not due:
            break
        _last, route_id, departure = min(due)
        route = loaded.route(route_id)
        plan = _plan(session, loaded, route, departure)
        _fix(session, loaded, plan, now)
        known[(route_id, departure)] = True
        moved_count += len(plan.load.loaded)
        fixed += 1
    return moved_count


def _routes(loaded: LoadedTimetable, ready_at: dict[str, datetime]) -> list[str]:
    """The routes calling at an office that has something ready."""
    return [r for r, stops in loaded.stop_of.items() if any(i in ready_at for i in stops)]


def _due_run(
    session: Session,
    loaded: LoadedTimetable,
    route_id: str,
    ready_at: dict[str, datetime],
    known: dict[tuple[str, datetime], bool],
) -> tuple[datetime, str, datetime] | None:
    """(its last call, route, departure) of the route's first run not fixed yet that finds
    something ready at one of its offices: a thing ready at ``r`` at an office the run
    reaches ``a`` after leaving is on every run leaving at or after ``r - a``."""
    stops = loaded.stop_of[route_id]
    start = min(ready_at[i] - arrival for i, (_s, arrival) in stops.items() if i in ready_at)
    last = max(arrival for _s, arrival in stops.values())
    run = next_run(loaded.network, route_id, start, strict=False)
    for _ in range(64):
        key = (route_id, run.departure)
        if key not in known:
            known[key] = _stored(session, route_id, run.departure) is not None
        if not known[key]:
            return (run.departure + last, route_id, run.departure)
        run = next_run(loaded.network, route_id, run.departure)
    return None


# ---------------------------------------------------------------------------- the hub


def accept_at_hub(
    session: Session,
    *,
    route_id: str,
    departure: datetime,
    barcodes: Sequence[str],
    now: datetime,
) -> HubAcceptanceRead:
    """The hub scans what came off the van against the leg's manifest: each scanned thing of
    the leg is ``at_hub``; what is on the leg and not scanned is missing (a later acceptance
    may still find it); what is scanned and not on the leg is extra, and nothing changes
    for it. The leg keeps the latest count of both."""
    loaded = current_timetable(session)
    departure = departure.astimezone(UTC)
    route = _check_run(loaded, route_id, departure)
    leg = session.scalar(
        select(ReturnLeg)
        .where(ReturnLeg.route_code == route.id, ReturnLeg.departure == departure)
        .with_for_update(key_share=True)
    )
    if leg is None:
        raise ReturnLegNotLoaded(run_id(route.id, departure))
    scanned = list(dict.fromkeys(b.strip() for b in barcodes if b.strip()))
    if not scanned:
        raise InvalidInput("scan at least one barcode", field="barcodes")
    items = list(
        session.scalars(
            select(ReturnLegItem)
            .where(ReturnLegItem.route_code == route.id, ReturnLegItem.departure == departure)
            .order_by(ReturnLegItem.id)
            .with_for_update(key_share=True)
        )
    )
    by_code = {i.barcode: i for i in items}
    accepted: list[str] = []
    for code in scanned:
        item = by_code.get(code)
        if item is None or item.status != LOADED:
            continue
        item.status = AT_HUB
        item.at_hub_at = now
        item.hub_code = route.hub
        accepted.append(code)
    session.flush()
    for code in accepted:
        moved(session, by_code[code], "at_hub", now)
    extra = [code for code in scanned if code not in by_code]
    missing = [i.barcode for i in items if i.status == LOADED]
    leg.accepted_at = now
    leg.missing = len(missing)
    leg.extra = sorted(set(leg.extra or []) | set(extra))
    session.flush()
    return HubAcceptanceRead(
        id=run_id(route.id, departure),
        hub=route.hub,
        accepted_at=now,
        accepted=accepted,
        missing=missing,
        extra=extra,
    )


# ---------------------------------------------------------------------------- warehouses


def _next_serial(session: Session, year: int) -> int:
    """The year's next act number, moved on in the caller's transaction (one atomic UPDATE
    ... RETURNING; a rollback gives it back: no gaps)."""
    statement = (
        update(WarehouseActSerial)
        .where(WarehouseActSerial.year == year)
        .values(last_serial=WarehouseActSerial.last_serial + 1)
        .returning(WarehouseActSerial.last_serial)
    )
    last = session.execute(statement).scalar_one_or_none()
    if last is not None:
        return int(last)
    try:
        with session.begin_nested():
            session.add(WarehouseActSerial(year=year, last_serial=0))
    except IntegrityError:
        pass  # another transaction made the year's row first
    return int(session.execute(statement).scalar_one())


def act_number(year: int, serial: int) -> str:
    """How a warehouse act's number reads: ``WA-2026-000042``."""
    return f"WA-{year}-{serial:06d}"


def deliver_to_warehouses(
    session: Session, *, hub: str, now: datetime, warehouse: str | None = None
) -> list[WarehouseActRead]:
    """The line-haul from the hub: everything at the hub for a marketplace's warehouse goes
    there, one act per warehouse and marketplace (numbered without gaps per year, in the
    warehouse's zone); each thing is ``delivered`` and its domain told (a shipment ends
    ``returned``, its marketplace hears ``shipment.status_changed``). Partners' bags stay at the
    hub for their partner's own act."""
    code = district_hub_code(session, hub)
    query = (
        select(ReturnLegItem)
        .where(
            ReturnLegItem.status == AT_HUB,
            ReturnLegItem.hub_code == code,
            ReturnLegItem.warehouse_id.is_not(None),
        )
        .order_by(ReturnLegItem.warehouse_id, ReturnLegItem.marketplace_id, ReturnLegItem.id)
        .with_for_update(key_share=True)
    )
    houses = {w.id: w for w in session.scalars(select(Warehouse))}
    if warehouse is not None:
        chosen = [w for w in houses.values() if w.code == warehouse]
        if not chosen:
            raise InvalidInput(f"no warehouse {warehouse!r}", field="warehouse")
        query = query.where(ReturnLegItem.warehouse_id == chosen[0].id)
    groups: dict[tuple[int, int | None], list[ReturnLegItem]] = {}
    for item in session.scalars(query):
        assert item.warehouse_id is not None
        groups.setdefault((item.warehouse_id, item.marketplace_id), []).append(item)
    acts: list[WarehouseAct] = []
    for (warehouse_id, marketplace_id), items in groups.items():
        year = local_day(now, houses[warehouse_id].timezone).year
        serial = _next_serial(session, year)
        act = WarehouseAct(
            year=year,
            serial=serial,
            number=act_number(year, serial),
            hub_code=code,
            warehouse_id=warehouse_id,
            marketplace_id=marketplace_id,
            items=len(items),
            weight_g=sum(i.weight_g for i in items),
            created_at=now,
        )
        session.add(act)
        for item in items:
            item.status = DELIVERED
            item.act_number = act.number
            item.delivered_at = now
        session.flush()
        for item in items:
            moved(session, item, "delivered", now)
        acts.append(act)
    session.flush()
    return [_act_read(session, act) for act in acts]


def _act_read(session: Session, act: WarehouseAct) -> WarehouseActRead:
    items = list(
        session.scalars(
            select(ReturnLegItem)
            .where(ReturnLegItem.act_number == act.number)
            .order_by(ReturnLegItem.id)
        )
    )
    rows = _rows(session, items)
    house = session.get(Warehouse, act.warehouse_id)
    assert house is not None
    market = None if act.marketplace_id is None else session.get(Marketplace, act.marketplace_id)
    return WarehouseActRead(
        number=act.number,
        hub=act.hub_code,
        warehouse=house.code,
        warehouse_name=house.name,
        marketplace=None if market is None else market.code,
        timezone=house.timezone,
        created_at=act.created_at,
        items=act.items,
        weight_g=act.weight_g,
        lines=[
            WarehouseActLine(
                line=n,
                barcode=r.item.barcode,
                kind=r.item.kind,
                office_index=r.office_index,
                weight_g=r.item.weight_g,
            )
            for n, r in enumerate(rows, start=1)
        ],
    )


def get_warehouse_act(session: Session, *, number: str) -> WarehouseActRead:
    """A warehouse act by its number."""
    act = session.scalar(select(WarehouseAct).where(WarehouseAct.number == number))
    if act is None:
        raise WarehouseActNotFound(number)
    return _act_read(session, act)


# ---------------------------------------------------------------------------- the office


@dataclass(frozen=True)
class OfficeOutlook:
    """What an office sends back on its next run: the run, what goes, what waits."""

    run_id: str | None
    route_id: str | None
    call_at: datetime | None
    going: list[ReturnLegLine]
    waiting: list[ReturnLegLine]


def office_outlook(session: Session, *, office_index: str, now: datetime) -> OfficeOutlook:
    """The office's things going back: those on the next run calling at it (a preview of
    that run's return leg, so what the run's other offices have ready first counts too)
    and those that will wait for lack of room; with no timetable or no route, all wait."""
    loaded = CACHE.get(session)
    office = session.scalar(select(PostOffice).where(PostOffice.index == office_index))
    if office is None:
        return OfficeOutlook(None, None, None, [], [])
    mine = list(
        session.scalars(
            select(ReturnLegItem)
            .where(ReturnLegItem.office_id == office.id, ReturnLegItem.status == WAITING)
            .order_by(ReturnLegItem.ready_at, ReturnLegItem.id)
        )
    )
    calls = [] if loaded is None else _calls(loaded).get(office_index, [])
    found = None if loaded is None else _next_call(session, loaded, calls, now, {})
    if loaded is None or found is None:
        lines = [_line(r, {}, now) for r in _rows(session, mine)]
        return OfficeOutlook(None, None, None, [], lines)
    _last, route_id, departure = found
    route = loaded.route(route_id)
    preview = _plan_read(session, loaded, _plan(session, loaded, route, departure))
    going = [line for line in preview.lines if line.office_index == office_index]
    going_codes = {line.barcode for line in going}
    stops = loaded.stop_of[route_id]
    waiting = [
        _line(r, stops, departure)
        for r in _rows(session, [i for i in mine if i.barcode not in going_codes])
    ]
    return OfficeOutlook(
        run_id(route_id, departure),
        route_id,
        departure + stops[office_index][1],
        going,
        waiting,
    )


def parse_leg_id(value: str) -> tuple[str, datetime]:
    """(route id, departure) of a run id (``<route_id>@<departure>``); 422 when malformed."""
    return parse_run_id(value)
