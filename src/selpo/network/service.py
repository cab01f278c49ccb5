"""Use cases of the network domain: the office register and the pickup-point search."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.network import geo, repository
from selpo.network.errors import (
    InvalidIndex,
    PostOfficeNotFound,
    UnknownMarketplace,
    UnknownRegion,
)
from selpo.network.rules import (
    DAYS,
    OfficeCapacity,
    ParcelSize,
    day_hours_text,
    is_open_at,
    is_public_holiday,
    local_today,
    next_holidays,
    offers_fitting,
    parcel_fits,
)
from selpo.network.schemas import (
    OfficeSummary,
    PickupPointNear,
    PickupPointPage,
    PickupPointRead,
    RegionSummary,
)
from selpo.network.sources import INDEX_RE, RegionInfo


@dataclass(frozen=True)
class PickupPoint:
    """An office as the search needs it, detached from the session."""

    index: str
    name: str
    address: str
    address_is_estimate: bool
    lat: float
    lon: float
    coord_precision: str
    district: str
    settlement: str | None
    rural: bool
    status: str
    opening_hours: list[list[list[str]]]
    opening_hours_is_default: bool
    timezone: str
    capacity: OfficeCapacity
    accepts_cash: bool
    accepts_card: bool
    marketplaces: tuple[str, ...]
    region: str
    updated_at: datetime

    @property
    def fitting(self) -> bool:
        """Whether the office offers fitting (a default by its kind: rules.offers_fitting)."""
        return offers_fitting(self.rural)


@lru_cache(maxsize=4096)
def _decode_hours(raw: str) -> list[list[list[str]]]:
    hours: list[list[list[str]]] = json.loads(raw)
    return hours


def _pickup_point_from_row(row: tuple[Any, ...], marketplaces: tuple[str, ...]) -> PickupPoint:
    (
        index,
        name,
        address,
        address_is_estimate,
        lat,
        lon,
        coord_precision,
        district,
        settlement,
        rural,
        status,
        hours,
        hours_is_default,
        timezone,
        max_weight_g,
        max_length_mm,
        max_width_mm,
        max_height_mm,
        cells_s,
        cells_m,
        cells_l,
        cash,
        card,
        region,
        updated_at,
    ) = row
    return PickupPoint(
        index=index,
        name=name,
        address=address,
        address_is_estimate=address_is_estimate,
        lat=lat,
        lon=lon,
        coord_precision=coord_precision,
        district=district,
        settlement=settlement,
        rural=rural,
        status=status,
        opening_hours=_decode_hours(hours) if isinstance(hours, str) else hours,
        opening_hours_is_default=hours_is_default,
        timezone=timezone,
        capacity=OfficeCapacity(
            max_weight_g=max_weight_g,
            max_length_mm=max_length_mm,
            max_width_mm=max_width_mm,
            max_height_mm=max_height_mm,
            cells_s=cells_s,
            cells_m=cells_m,
            cells_l=cells_l,
        ),
        accepts_cash=cash,
        accepts_card=card,
        marketplaces=marketplaces,
        region=region,
        updated_at=updated_at,
    )


class PickupCatalogue:
    """Every open office with a spatial index over it, built once per registry version."""

    def __init__(
        self,
        version: int,
        points: list[PickupPoint],
        marketplace_codes: set[str],
        region_codes: set[str] | None = None,
    ):
        self.version = version
        self.points = points
        self.marketplace_codes = marketplace_codes
        self.region_codes = region_codes if region_codes is not None else {p.region for p in points}
        # Points come sorted by index (repository.pickup_rows): the listing's stable order.
        self.indexes = np.array([p.index for p in points], dtype="U6")
        self.by_index = {p.index: p for p in points}
        self._open: geo.BoolArray = np.array([p.status == "open" for p in points], dtype=bool)
        self.index = geo.PointIndex(
            np.array([p.lat for p in points], dtype=np.float64),
            np.array([p.lon for p in points], dtype=np.float64),
        )
        self._regions = np.array([p.region for p in points], dtype=object)
        self._cash: geo.BoolArray = np.array([p.accepts_cash for p in points], dtype=bool)
        self._card: geo.BoolArray = np.array([p.accepts_card for p in points], dtype=bool)
        self._fitting: geo.BoolArray = np.array([p.fitting for p in points], dtype=bool)
        # Whether each office has hours on each weekday (Monday first): shape (offices, 7).
        self._opens_weekday: geo.BoolArray = np.array(
            [[bool(day) for day in p.opening_hours] for p in points], dtype=bool
        ).reshape(len(points), 7)
        # Offices share a handful of capacities: a parcel is checked once per distinct one.
        ids: dict[OfficeCapacity, int] = {}
        self._capacity_of = np.array(
            [ids.setdefault(p.capacity, len(ids)) for p in points], dtype=np.intp
        )
        self._capacities = list(ids)
        self._serves: dict[str, geo.BoolArray] = {
            code: np.array([code in p.marketplaces for p in points], dtype=bool)
            for code in marketplace_codes
        }

    def candidate_mask(self, marketplace: str | None) -> geo.BoolArray:
        """Offices a search may return: open, and serving the marketplace if one is given."""
        if marketplace is None:
            return self._open
        mask: geo.BoolArray = np.logical_and(self._open, self._serves[marketplace])
        return mask

    def filter_mask(self, filters: PickupFilters) -> geo.BoolArray:
        """Offices that pass every filter: open, serving the marketplace, in the region,
        taking the parcel (with ``fits_only``), the payment, fitting, open on the day."""
        if filters.marketplace is not None and filters.marketplace not in self.marketplace_codes:
            raise UnknownMarketplace(filters.marketplace)
        if filters.region is not None and filters.region not in self.region_codes:
            raise UnknownRegion(filters.region)
        mask = self.candidate_mask(filters.marketplace).copy()
        if filters.region is not None:
            mask &= self._regions == filters.region
        if filters.fits_only and filters.parcel is not None:
            parcel = filters.parcel
            fits = np.array([parcel_fits(parcel, c) for c in self._capacities], dtype=bool)
            mask &= fits[self._capacity_of]
        if filters.payment == "cash":
            mask &= self._cash
        elif filters.payment == "card":
            mask &= self._card
        if filters.fitting is not None:
            mask &= self._fitting == filters.fitting
        if filters.open_on is not None:
            if is_public_holiday(filters.open_on):
                mask[:] = False
            else:
                mask &= self._opens_weekday[:, filters.open_on.weekday()]
        return mask


def load_catalogue(session: Session) -> PickupCatalogue:
    """Read the registry into a fresh catalogue."""
    version = repository.network_version(session)
    served: dict[str, list[str]] = {}
    for index, code, status in repository.connections(session):
        if status == "active":
            served.setdefault(index, []).append(code)
    points = [
        _pickup_point_from_row(row, tuple(sorted(served.get(str(row[0]), []))))
        for row in repository.pickup_rows(session)
    ]
    codes = set(repository.marketplaces_by_code(session))
    return PickupCatalogue(version, points, codes, repository.region_codes(session))


class CatalogueCache:
    """Keeps the latest catalogue; one cheap version read per request decides a rebuild."""

    def __init__(self) -> None:
        self._catalogue: PickupCatalogue | None = None
        self._lock = threading.Lock()

    def get(self, session: Session) -> PickupCatalogue:
        """The catalogue for the registry's current version."""
        version = repository.network_version(session)
        current = self._catalogue
        if current is not None and current.version == version:
            return current
        with self._lock:
            current = self._catalogue
            if current is None or current.version != version:
                current = load_catalogue(session)
                self._catalogue = current
            return current


PAYMENTS = ("cash", "card")
LIST_MAX_LIMIT = 1_000
LIST_DEFAULT_LIMIT = 100
NEXT_HOLIDAYS = 3


@dataclass(frozen=True)
class PickupFilters:
    """What removes an office from a search, a listing or the CSV (all optional)."""

    marketplace: str | None = None
    region: str | None = None
    parcel: ParcelSize | None = None
    fits_only: bool = True  # remove the offices the parcel does not fit (else only mark them)
    payment: str | None = None  # "cash" or "card"
    fitting: bool | None = None
    open_on: date | None = None  # a local day


@dataclass(frozen=True)
class PickupSearch:
    """A pickup-point search request, already parsed."""

    lat: float
    lon: float
    radius_km: float
    limit: int
    marketplace: str | None = None
    parcel: ParcelSize | None = None
    open_at: datetime | None = None
    filters: PickupFilters = field(default_factory=PickupFilters)


def _read(point: PickupPoint, *, at: datetime, parcel: ParcelSize | None) -> PickupPointRead:
    payment = [m for m, ok in (("cash", point.accepts_cash), ("card", point.accepts_card)) if ok]
    cap = point.capacity
    return PickupPointRead(
        index=point.index,
        name=point.name,
        address=point.address,
        address_is_estimate=point.address_is_estimate,
        lat=point.lat,
        lon=point.lon,
        coord_precision=point.coord_precision,
        district=point.district,
        settlement=point.settlement,
        rural=point.rural,
        status=point.status,
        opening_hours=point.opening_hours,
        opening_hours_is_default=point.opening_hours_is_default,
        timezone=point.timezone,
        open_now=point.status == "open" and is_open_at(point.opening_hours, point.timezone, at),
        marketplaces=list(point.marketplaces),
        fits=None if parcel is None else parcel_fits(parcel, cap),
        max_weight_g=cap.max_weight_g,
        max_dimensions_mm=[cap.max_length_mm, cap.max_width_mm, cap.max_height_mm],
        cells=cap.cell_counts,
        cell_limits_mm=cap.cell_limits_mm,
        payment_methods=payment,
        accepts_cash=point.accepts_cash,
        accepts_card=point.accepts_card,
        fitting=point.fitting,
        fitting_is_default=True,
        next_holidays=list(next_holidays(local_today(point.timezone, at), NEXT_HOLIDAYS)),
        region=point.region,
        updated_at=point.updated_at,
    )


def search_pickup_points(
    catalogue: PickupCatalogue,
    search: PickupSearch,
    *,
    now: datetime,
    max_limit: int,
    max_radius_km: float,
) -> list[PickupPointNear]:
    """Find the open pickup points nearest to a point, optionally for a marketplace and parcel.

    A parcel that does not fit an office does not hide it: ``fits`` says so, so a marketplace
    can show the point greyed out rather than have it vanish from the map.
    """
    if not -90.0 <= search.lat <= 90.0:
        raise InvalidInput("latitude must be between -90 and 90", field="lat")
    if not -180.0 <= search.lon <= 180.0:
        raise InvalidInput("longitude must be between -180 and 180", field="lon")
    if not 0.0 <= search.radius_km <= max_radius_km:
        raise InvalidInput(f"radius_km must be between 0 and {max_radius_km:g}", field="radius_km")
    if not 1 <= search.limit <= max_limit:
        raise InvalidInput(f"limit must be between 1 and {max_limit}", field="limit")
    filters = search.filters
    if search.marketplace is not None:
        filters = replace(filters, marketplace=search.marketplace)
    mask = catalogue.filter_mask(filters)
    positions, distances = catalogue.index.nearest(
        search.lat,
        search.lon,
        limit=search.limit,
        radius_m=search.radius_km * 1000.0,
        mask=mask,
    )
    at = search.open_at or now
    results = []
    for position, distance in zip(positions.tolist(), distances.tolist(), strict=True):
        point = catalogue.points[position]
        read = _read(point, at=at, parcel=search.parcel)
        results.append(PickupPointNear(**read.model_dump(), distance_m=round(distance)))
    return results


_CURSOR_PREFIX = "after:"


def encode_cursor(index: str) -> str:
    """An opaque cursor: the listing goes on after this index."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The index a cursor goes on after; a cursor this API did not make is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    index = raw.removeprefix(_CURSOR_PREFIX)
    if not raw.startswith(_CURSOR_PREFIX) or not INDEX_RE.match(index):
        raise InvalidInput("cursor is not one this API returned", field="cursor")
    return index


def list_pickup_points(
    catalogue: PickupCatalogue,
    filters: PickupFilters,
    *,
    now: datetime,
    limit: int = LIST_DEFAULT_LIMIT,
    cursor: str | None = None,
    open_at: datetime | None = None,
) -> PickupPointPage:
    """Every office that passes the filters, by index, a page at a time.

    The cursor names the last index shown, so an office added or removed between two pages
    neither repeats nor shifts an office that was already there.
    """
    if not 1 <= limit <= LIST_MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {LIST_MAX_LIMIT}", field="limit")
    mask = catalogue.filter_mask(filters)
    start = 0
    if cursor is not None:
        after = decode_cursor(cursor)
        start = int(np.searchsorted(catalogue.indexes, after, side="right"))
    positions = (np.flatnonzero(mask[start:]) + start)[: limit + 1].tolist()
    at = open_at or now
    items = [
        PickupPointNear(
            **_read(catalogue.points[p], at=at, parcel=filters.parcel).model_dump(),
            distance_m=None,
        )
        for p in positions[:limit]
    ]
    more = len(positions) > limit
    return PickupPointPage(
        items=items, next_cursor=encode_cursor(items[-1].index) if more and items else None
    )


def matching_positions(
    catalogue: PickupCatalogue,
    filters: PickupFilters,
    *,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float = 25.0,
    max_radius_km: float = 500.0,
) -> list[int]:
    """Every office that passes the filters: nearest first within the radius around a point,
    or by index without one."""
    if not 0.0 <= radius_km <= max_radius_km:
        raise InvalidInput(f"radius_km must be between 0 and {max_radius_km:g}", field="radius_km")
    mask = catalogue.filter_mask(filters)
    if lat is None or lon is None:
        positions: list[int] = np.flatnonzero(mask).tolist()
        return positions
    found, _ = catalogue.index.nearest(
        lat, lon, limit=max(int(mask.sum()), 1), radius_m=radius_km * 1000.0, mask=mask
    )
    nearest: list[int] = found.tolist()
    return nearest


CSV_COLUMNS = (
    "index",
    "name",
    "address",
    "region",
    "district",
    "lat",
    "lon",
    "coord_precision",
    *(f"hours_{day}" for day in DAYS),
    "next_holidays",
    "cells_s",
    "cells_m",
    "cells_l",
    "max_weight_g",
    "max_length_mm",
    "max_width_mm",
    "max_height_mm",
    "cash",
    "card",
    "fitting",
    "marketplaces",
    "updated_at",
)


def _csv_row(point: PickupPoint, now: datetime) -> list[object]:
    cap = point.capacity
    holidays_ahead = next_holidays(local_today(point.timezone, now), NEXT_HOLIDAYS)
    return [
        point.index,
        point.name,
        point.address,
        point.region,
        point.district,
        point.lat,
        point.lon,
        point.coord_precision,
        *(day_hours_text(day) for day in point.opening_hours),
        " ".join(d.isoformat() for d in holidays_ahead),
        cap.cells_s,
        cap.cells_m,
        cap.cells_l,
        cap.max_weight_g,
        cap.max_length_mm,
        cap.max_width_mm,
        cap.max_height_mm,
        int(point.accepts_cash),
        int(point.accepts_card),
        int(point.fitting),
        " ".join(point.marketplaces),
        point.updated_at.isoformat(),
    ]


def pickup_points_csv(
    catalogue: PickupCatalogue, positions: list[int], *, now: datetime, chunk: int = 500
) -> Iterator[str]:
    """The offices at these positions as CSV text, a header row then a chunk of rows at a
    time (the caller streams it)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for start in range(0, len(positions), chunk):
        for position in positions[start : start + chunk]:
            writer.writerow(_csv_row(catalogue.points[position], now))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def get_pickup_point(
    catalogue: PickupCatalogue,
    index: str,
    *,
    now: datetime,
    open_at: datetime | None = None,
    parcel: ParcelSize | None = None,
) -> PickupPointRead:
    """One office as a pickup point."""
    if not INDEX_RE.match(index):
        raise InvalidIndex(index)
    point = catalogue.by_index.get(index)
    if point is None:
        raise PostOfficeNotFound(index)
    return _read(point, at=open_at or now, parcel=parcel)


def list_offices(
    session: Session, *, district: str | None = None, rural: bool | None = None
) -> list[OfficeSummary]:
    """The office register, optionally one district's or only the rural offices."""
    served: dict[str, list[str]] = {}
    for index, code, status in repository.connections(session):
        if status == "active":
            served.setdefault(index, []).append(code)
    return [
        OfficeSummary(
            index=office.index,
            name=office.name,
            district=d.name,
            settlement=s.name if s else None,
            rural=office.rural,
            status=office.status,
            lat=office.lat,
            lon=office.lon,
            coord_precision=office.coord_precision,
            marketplaces=sorted(served.get(office.index, [])),
        )
        for office, d, s in repository.list_offices(session, district=district, rural=rural)
    ]


def region_summaries(session: Session) -> list[RegionSummary]:
    """The regions in the database: code, name, zone, open offices, localities, population."""
    return [
        RegionSummary(
            code=region.code,
            slug=region.slug,
            name=region.name,
            timezone=region.timezone,
            capital=region.capital,
            offices=offices,
            localities=localities,
            population=region.population,
            imported=True,
            imported_at=region.imported_at,
        )
        for region, offices, localities in repository.region_counts(session)
    ]


def with_known_regions(
    imported: list[RegionSummary], known: Iterable[RegionInfo]
) -> list[RegionSummary]:
    """The imported regions and, greyed, the reference's others (no counts), by code."""
    have = {r.code for r in imported}
    rest = [
        RegionSummary(
            code=info.code,
            slug=info.slug,
            name=info.name,
            timezone=info.timezone,
            capital=info.capital,
            offices=0,
            localities=0,
            population=None,
            imported=False,
            imported_at=None,
        )
        for info in known
        if info.code not in have
    ]
    return sorted([*imported, *rest], key=lambda r: r.code)
