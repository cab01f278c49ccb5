"""Queries of the logistics domain: the timetable tables, waiting parcels, manifest entries."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, select, update
from sqlalchemy.orm import Session

from selpo.models import (
    District,
    Hub,
    LineHaul,
    ManifestEntry,
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    Region,
    Route,
    RouteStop,
    Shipment,
    TimetableVersion,
    TrackingEvent,
    Warehouse,
)

WAITING_STATUSES = ("handed_over", "in_transit")


# ---------------------------------------------------------------------------- version


def timetable_stamp(session: Session) -> tuple[int, str] | None:
    """(version, token) of the timetable, ``None`` before one was generated or imported."""
    row = session.get(TimetableVersion, 1)
    return None if row is None else (row.version, row.token)


def bump_timetable_version(session: Session, now: datetime) -> int:
    """Record that warehouses, line-hauls or routes changed, so caches rebuild."""
    row = session.get(TimetableVersion, 1, with_for_update=True)
    if row is None:
        row = TimetableVersion(id=1, version=0, token="", changed_at=now)
        session.add(row)
    row.version += 1
    row.token = uuid.uuid4().hex
    row.changed_at = now
    session.flush()
    return row.version


def lock_timetable(session: Session) -> None:
    """Hold the timetable's version row until the transaction ends (one dispatcher at a time)."""
    session.execute(
        select(TimetableVersion.id).where(TimetableVersion.id == 1).with_for_update(key_share=True)
    )


# ---------------------------------------------------------------------------- registry


def region_timezones(session: Session) -> dict[int, str]:
    """Region id -> IANA zone."""
    return {int(i): str(tz) for i, tz in session.execute(select(Region.id, Region.timezone))}


def hubs(session: Session) -> list[Hub]:
    """Every hub (sorting centres and district hubs), by code."""
    return list(session.scalars(select(Hub).order_by(Hub.code)))


@dataclass(frozen=True)
class OfficeRow:
    """What the timetable needs of an open office."""

    id: int
    index: str
    name: str
    lat: float
    lon: float
    rural: bool
    parent_index: str | None
    opening_hours: list[Any]
    timezone: str
    region_id: int


def open_offices(session: Session, region_id: int | None = None) -> list[OfficeRow]:
    """Every open office (of one region, or of all), by index, as plain rows."""
    query = (
        select(
            PostOffice.id,
            PostOffice.index,
            PostOffice.name,
            PostOffice.lat,
            PostOffice.lon,
            PostOffice.rural,
            PostOffice.parent_index,
            PostOffice.opening_hours,
            PostOffice.timezone,
            District.region_id,
        )
        .join(District, PostOffice.district_id == District.id)
        .where(PostOffice.status == "open")
        .order_by(PostOffice.index)
    )
    if region_id is not None:
        query = query.where(District.region_id == region_id)
    return [OfficeRow(*row) for row in session.execute(query)]


def open_office_indexes(session: Session) -> list[str]:
    """The index of every open office, in order (no other column: cheap for the country)."""
    query = select(PostOffice.index).where(PostOffice.status == "open").order_by(PostOffice.index)
    return list(session.scalars(query))


def regions(session: Session) -> list[Region]:
    """Every region, by code."""
    return list(session.scalars(select(Region).order_by(Region.code)))


def office_ids(session: Session) -> dict[str, int]:
    """Postal index -> office id, every office."""
    return {str(i): int(o) for i, o in session.execute(select(PostOffice.index, PostOffice.id))}


def office_by_index(session: Session, index: str) -> PostOffice | None:
    """The office with this postal index."""
    return session.scalars(select(PostOffice).where(PostOffice.index == index)).one_or_none()


def serves(session: Session, *, office_id: int, marketplace_id: int) -> bool:
    """Whether the office actively serves the marketplace."""
    query = select(MarketplaceConnection.status).where(
        MarketplaceConnection.post_office_id == office_id,
        MarketplaceConnection.marketplace_id == marketplace_id,
    )
    return session.scalars(query).first() == "active"


# ---------------------------------------------------------------------------- timetable


def warehouses(session: Session) -> list[Warehouse]:
    """Every warehouse, by code."""
    return list(session.scalars(select(Warehouse).order_by(Warehouse.code)))


def line_hauls(session: Session) -> list[LineHaul]:
    """Every line-haul, by code."""
    return list(session.scalars(select(LineHaul).order_by(LineHaul.code)))


def delete_hub_line_hauls(session: Session, destination_ids: Collection[int] | None = None) -> None:
    """Remove the line-hauls that start at a hub (sorting centre -> district hub); with
    ``destination_ids``, only those to these hubs (one region's)."""
    query = delete(LineHaul).where(LineHaul.origin_hub_id.is_not(None))
    if destination_ids is not None:
        query = query.where(LineHaul.destination_hub_id.in_(sorted(destination_ids)))
    session.execute(query)


def routes(session: Session) -> list[Route]:
    """Every route, in the order they were stored (the file's order: ties go to the first)."""
    return list(session.scalars(select(Route).order_by(Route.id)))


def route_by_code(session: Session, code: str) -> Route | None:
    """The route with this code."""
    return session.scalars(select(Route).where(Route.code == code)).one_or_none()


def stops(
    session: Session, route_ids: Collection[int] | None = None
) -> list[tuple[int, int, str, int]]:
    """(route id, seq, office index, arrival after departure in s) in route and stop order."""
    query = (
        select(RouteStop.route_id, RouteStop.seq, PostOffice.index, RouteStop.arrival_after_s)
        .join(PostOffice, PostOffice.id == RouteStop.post_office_id)
        .order_by(RouteStop.route_id, RouteStop.seq)
    )
    if route_ids is not None:
        query = query.where(RouteStop.route_id.in_(sorted(route_ids)))
    return [(r, s, i, a) for r, s, i, a in session.execute(query)]


def delete_routes(session: Session, route_ids: Collection[int] | None = None) -> None:
    """Remove routes and their stops (all of them when ``route_ids`` is None)."""
    if route_ids is None:
        session.execute(delete(RouteStop))
        session.execute(delete(Route))
        return
    ids = sorted(route_ids)
    session.execute(delete(RouteStop).where(RouteStop.route_id.in_(ids)))
    session.execute(delete(Route).where(Route.id.in_(ids)))


# ---------------------------------------------------------------------------- parcels


@dataclass(frozen=True)
class WaitingRow:
    """A parcel handed over and not yet on a van that left: what dispatch needs of it."""

    shipment_id: int
    tracking_number: str
    external_order_id: str
    marketplace_id: int
    marketplace: str
    status: str
    office_index: str
    office_name: str
    created_at: datetime
    handed_over_at: datetime | None
    promised_date: date | None
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    cod_kop: int


def _code_is(code: str) -> ColumnElement[bool]:
    """``tracking_event.code = code``, written so that no index serves it and the query goes
    by the shipment's own events (``ix_tracking_event_shipment_id``): without statistics,
    SQLite's planner would take the (code, occurred_at) index and read every event of that
    code for each shipment."""
    return func.coalesce(TrackingEvent.code, "") == code


def _handed_over_at() -> Any:
    """The first hand-over event of the outer query's shipment."""
    return (
        select(func.min(TrackingEvent.occurred_at))
        .where(TrackingEvent.shipment_id == Shipment.id, _code_is("handed_over"))
        .correlate(Shipment)
        .scalar_subquery()
    )


def _waiting_filter() -> Any:
    """Handed over (or in transit) and on no manifest whose run has left (a run it was
    mis-sorted from since does not count).

    Only a parcel in transit needs the look at its manifests: one still ``handed_over`` has
    never left on a van (leaving records ``departed_hub``, which moves it on for good), and
    a parcel waiting for days has a manifest entry for every run it rolled over from.
    """
    # A parcel mis-sorted (scanned at another office) after its van left is back at the hub
    # and waits for the next run like any other.
    missorted_since = exists().where(
        TrackingEvent.shipment_id == Shipment.id,
        _code_is("missorted"),
        TrackingEvent.occurred_at >= ManifestEntry.departed_at,
    )
    departed = exists().where(
        ManifestEntry.shipment_id == Shipment.id,
        ManifestEntry.status == "loaded",
        ManifestEntry.departed_at.is_not(None),
        ~missorted_since,
    )
    return Shipment.status.in_(WAITING_STATUSES) & ((Shipment.status == "handed_over") | ~departed)


def waiting_parcels(
    session: Session, office_indexes: Collection[str] | None = None
) -> list[WaitingRow]:
    """Parcels handed over (or in transit) that are on no manifest whose run has left."""
    query = (
        select(
            Shipment.id,
            Shipment.tracking_number,
            Shipment.external_order_id,
            Shipment.marketplace_id,
            Marketplace.code,
            Shipment.status,
            PostOffice.index,
            PostOffice.name,
            Shipment.created_at,
            _handed_over_at(),
            Shipment.promised_date,
            Shipment.weight_g,
            Shipment.length_mm,
            Shipment.width_mm,
            Shipment.height_mm,
            Shipment.cod_kop,
        )
        .join(PostOffice, PostOffice.id == Shipment.destination_office_id)
        .join(Marketplace, Marketplace.id == Shipment.marketplace_id)
        .where(_waiting_filter())
        .order_by(Shipment.id)
    )
    if office_indexes is not None:
        query = query.where(PostOffice.index.in_(sorted(office_indexes)))
    rows: list[tuple[Any, ...]] = [tuple(row) for row in session.execute(query)]
    return [WaitingRow(*row) for row in rows]


def waiting_groups(session: Session) -> list[tuple[str, datetime]]:
    """(office index, hand-over time) of the waiting parcels, each pair once: what decides
    their first run, without reading every parcel. The hand-over time is the first
    ``handed_over`` event, else the creation."""
    handover = func.coalesce(_handed_over_at(), Shipment.created_at).label("handover")
    query = (
        select(Shipment.destination_office_id, handover)
        .where(_waiting_filter())
        .group_by(Shipment.destination_office_id, handover)
    )
    pairs = [(int(office), at) for office, at in session.execute(query)]
    if not pairs:
        return []
    ids = sorted({office for office, _ in pairs})
    offices = select(PostOffice.id, PostOffice.index).where(PostOffice.id.in_(ids))
    index = {int(i): str(postal) for i, postal in session.execute(offices)}
    return sorted((index[office], at) for office, at in pairs)


def latest_event_of(
    session: Session, shipment_ids: Collection[int], code: str
) -> dict[int, datetime]:
    """When each of the shipments last had an event with this code (those without left out)."""
    found: dict[int, datetime] = {}
    ids = sorted(shipment_ids)
    for start in range(0, len(ids), 500):
        query = (
            select(TrackingEvent.shipment_id, func.max(TrackingEvent.occurred_at))
            .where(TrackingEvent.shipment_id.in_(ids[start : start + 500]), _code_is(code))
            .group_by(TrackingEvent.shipment_id)
        )
        found.update((int(i), at) for i, at in session.execute(query) if at is not None)
    return found


def shipments_with_event(session: Session, shipment_ids: Collection[int], code: str) -> set[int]:
    """Which of the shipments already have an event with this code."""
    found: set[int] = set()
    ids = sorted(shipment_ids)
    for start in range(0, len(ids), 500):
        query = select(TrackingEvent.shipment_id).where(
            TrackingEvent.shipment_id.in_(ids[start : start + 500]), _code_is(code)
        )
        found.update(session.scalars(query))
    return found


# ---------------------------------------------------------------------------- manifests


def planned_elsewhere(
    session: Session, shipment_ids: Collection[int], route_code: str, departure: datetime
) -> list[ManifestEntry]:
    """Loaded entries of these shipments on other runs that have not left."""
    entries: list[ManifestEntry] = []
    ids = sorted(shipment_ids)
    for start in range(0, len(ids), 500):
        query = select(ManifestEntry).where(
            ManifestEntry.shipment_id.in_(ids[start : start + 500]),
            ManifestEntry.status == "loaded",
            ManifestEntry.departed_at.is_(None),
            ~((ManifestEntry.route_code == route_code) & (ManifestEntry.departure == departure)),
        )
        entries.extend(session.scalars(query))
    return entries


def delete_entries(session: Session, entry_ids: Collection[int]) -> None:
    """Remove manifest entries."""
    ids = sorted(entry_ids)
    for start in range(0, len(ids), 500):
        session.execute(delete(ManifestEntry).where(ManifestEntry.id.in_(ids[start : start + 500])))


def run_lines(
    session: Session, route_code: str, departure: datetime
) -> list[tuple[ManifestEntry, Shipment, str, str]]:
    """A run's entries with their shipment, marketplace code and office name."""
    query = (
        select(ManifestEntry, Shipment, Marketplace.code, PostOffice.name)
        .join(Shipment, Shipment.id == ManifestEntry.shipment_id)
        .join(Marketplace, Marketplace.id == Shipment.marketplace_id)
        .join(PostOffice, PostOffice.id == Shipment.destination_office_id)
        .where(ManifestEntry.route_code == route_code, ManifestEntry.departure == departure)
        .order_by(ManifestEntry.stop_seq, ManifestEntry.id)
    )
    return [(e, s, m, n) for e, s, m, n in session.execute(query)]


@dataclass(frozen=True)
class ArrivalRow:
    """A loaded entry whose van reached the office, with its shipment's number and status."""

    entry_id: int
    shipment_id: int
    tracking_number: str
    status: str
    route_code: str
    departure: datetime
    office_index: str
    arrival_at: datetime


def due_arrivals(session: Session, now: datetime, limit: int) -> list[ArrivalRow]:
    """Loaded entries whose van has left and reached the office by ``now``, not yet recorded,
    by arrival time."""
    query = (
        select(
            ManifestEntry.id,
            ManifestEntry.shipment_id,
            Shipment.tracking_number,
            Shipment.status,
            ManifestEntry.route_code,
            ManifestEntry.departure,
            ManifestEntry.office_index,
            ManifestEntry.arrival_at,
        )
        .join(Shipment, Shipment.id == ManifestEntry.shipment_id)
        .where(
            ManifestEntry.status == "loaded",
            ManifestEntry.departed_at.is_not(None),
            ManifestEntry.arrived_at.is_(None),
            ManifestEntry.arrival_at <= now,
        )
        .order_by(ManifestEntry.arrival_at, ManifestEntry.id)
        .limit(limit)
    )
    rows: list[tuple[Any, ...]] = [tuple(row) for row in session.execute(query)]
    return [ArrivalRow(*row) for row in rows]


def pending_arrival_times(session: Session) -> list[datetime]:
    """When each van still on its way reaches the office: the stop time of every loaded,
    departed entry not yet arrived, in arrival order (one per entry)."""
    query = (
        select(ManifestEntry.arrival_at)
        .where(
            ManifestEntry.status == "loaded",
            ManifestEntry.departed_at.is_not(None),
            ManifestEntry.arrived_at.is_(None),
        )
        .order_by(ManifestEntry.arrival_at, ManifestEntry.id)
    )
    return list(session.scalars(query))


def mark_arrived(session: Session, entry_ids: Collection[int]) -> None:
    """The vans of these entries reached their offices: ``arrived_at`` = the stop's time."""
    ids = sorted(entry_ids)
    for start in range(0, len(ids), 500):
        session.execute(
            update(ManifestEntry)
            .where(ManifestEntry.id.in_(ids[start : start + 500]))
            .values(arrived_at=ManifestEntry.arrival_at)
            .execution_options(synchronize_session="fetch")
        )


def mark_departed(session: Session, route_code: str, departure: datetime) -> None:
    """The run left: its loaded entries get ``departed_at`` = the departure."""
    session.execute(
        update(ManifestEntry)
        .where(
            ManifestEntry.route_code == route_code,
            ManifestEntry.departure == departure,
            ManifestEntry.status == "loaded",
            ManifestEntry.departed_at.is_(None),
        )
        .values(departed_at=departure)
        .execution_options(synchronize_session="fetch")
    )


def run_departed(session: Session, route_code: str, departure: datetime) -> bool:
    """Whether the run has left (one of its entries is marked departed)."""
    query = select(
        exists().where(
            ManifestEntry.route_code == route_code,
            ManifestEntry.departure == departure,
            ManifestEntry.departed_at.is_not(None),
        )
    )
    return bool(session.scalar(query))


def run_entry_ids(session: Session, route_code: str, departure: datetime) -> list[int]:
    """The ids of every entry of one run."""
    query = select(ManifestEntry.id).where(
        ManifestEntry.route_code == route_code, ManifestEntry.departure == departure
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class RunStats:
    """What the manifest of a run holds so far."""

    parcels: int
    litres: float
    departed: bool


def run_stats(
    session: Session, start: datetime, end: datetime
) -> dict[tuple[str, datetime], RunStats]:
    """Loaded parcels and litres per run leaving in [start, end)."""
    query = (
        select(
            ManifestEntry.route_code,
            ManifestEntry.departure,
            func.count(ManifestEntry.id),
            func.coalesce(func.sum(ManifestEntry.litres), 0.0),
            func.count(ManifestEntry.departed_at),
        )
        .where(
            ManifestEntry.departure >= start,
            ManifestEntry.departure < end,
            ManifestEntry.status == "loaded",
        )
        .group_by(ManifestEntry.route_code, ManifestEntry.departure)
    )
    return {
        (code, departure): RunStats(int(count), float(litres), int(departed) > 0)
        for code, departure, count, litres, departed in session.execute(query)
    }


def shipments_by_id(session: Session, ids: Sequence[int]) -> dict[int, Shipment]:
    """Shipments by id."""
    found: dict[int, Shipment] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        query = select(Shipment).where(Shipment.id.in_(unique[start : start + 500]))
        found.update((s.id, s) for s in session.scalars(query))
    return found
