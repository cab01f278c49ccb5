"""Use cases of the network domain: the office register and the pickup-point search."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.network import geo, repository
from selpo.network.errors import InvalidIndex, PostOfficeNotFound, UnknownMarketplace
from selpo.network.rules import OfficeCapacity, ParcelSize, is_open_at, parcel_fits
from selpo.network.schemas import OfficeSummary, PickupPointNear, PickupPointRead, RegionSummary
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
    )


class PickupCatalogue:
    """Every open office with a spatial index over it, built once per registry version."""

    def __init__(self, version: int, points: list[PickupPoint], marketplace_codes: set[str]):
        self.version = version
        self.points = points
        self.marketplace_codes = marketplace_codes
        self.by_index = {p.index: p for p in points}
        self._open: geo.BoolArray = np.array([p.status == "open" for p in points], dtype=bool)
        self.index = geo.PointIndex(
            np.array([p.lat for p in points], dtype=np.float64),
            np.array([p.lon for p in points], dtype=np.float64),
        )
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
    return PickupCatalogue(version, points, codes)


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
        payment_methods=payment,
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
    if search.marketplace is not None and search.marketplace not in catalogue.marketplace_codes:
        raise UnknownMarketplace(search.marketplace)
    mask = catalogue.candidate_mask(search.marketplace)
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
