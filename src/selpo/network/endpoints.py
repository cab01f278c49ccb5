"""Public pickup-point API: a thin shell over the network service."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from selpo.deps import ClockDep, SessionDep, SettingsDep
from selpo.errors import InvalidInput, problem_responses
from selpo.kit.moments import Moment
from selpo.network import service
from selpo.network.rules import ParcelSize
from selpo.network.schemas import PickupPointPage, PickupPointRead

router = APIRouter(prefix="/v1/pickup-points", tags=["pickup points"])


def _parcel(
    weight_g: int | None, length_mm: int | None, width_mm: int | None, height_mm: int | None
) -> ParcelSize | None:
    given = {
        "weight_g": weight_g,
        "length_mm": length_mm,
        "width_mm": width_mm,
        "height_mm": height_mm,
    }
    if all(v is None for v in given.values()):
        return None
    for name, value in given.items():
        if value is None:
            raise InvalidInput(f"{name} is needed when any parcel size is given", field=name)
        if value <= 0:
            raise InvalidInput(f"{name} must be positive", field=name)
    return ParcelSize(
        weight_g=weight_g or 0,
        length_mm=length_mm or 0,
        width_mm=width_mm or 0,
        height_mm=height_mm or 0,
    )


def _aware(open_at: datetime | None) -> datetime | None:
    if open_at is not None and open_at.tzinfo is None:
        raise InvalidInput(
            "open_at needs a UTC offset, e.g. 2026-11-25T10:00:00+03:00", field="open_at"
        )
    return open_at


def _catalogue(request: Request, session: SessionDep) -> service.PickupCatalogue:
    cache: service.CatalogueCache = request.app.state.catalogue_cache
    return cache.get(session)


@router.get(
    "",
    response_model=PickupPointPage,
    responses=problem_responses(422, 429),
)
def search_pickup_points(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude, degrees")],
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude, degrees")],
    radius_km: Annotated[float, Query(description="Search radius, km")] = 25.0,
    limit: Annotated[int, Query(description="Most results to return")] = 10,
    marketplace: Annotated[str | None, Query(description="Only offices serving it")] = None,
    weight_g: Annotated[int | None, Query()] = None,
    length_mm: Annotated[int | None, Query()] = None,
    width_mm: Annotated[int | None, Query()] = None,
    height_mm: Annotated[int | None, Query()] = None,
    open_at: Annotated[Moment | None, Query(description="ISO 8601 with offset")] = None,
) -> PickupPointPage:
    """Find the pickup points nearest to a point, nearest first."""
    search = service.PickupSearch(
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        limit=limit,
        marketplace=marketplace,
        parcel=_parcel(weight_g, length_mm, width_mm, height_mm),
        open_at=_aware(open_at),
    )
    items = service.search_pickup_points(
        _catalogue(request, session),
        search,
        now=clock.now(),
        max_limit=settings.search_max_limit,
        max_radius_km=settings.search_max_radius_km,
    )
    return PickupPointPage(items=items)


@router.get(
    "/{index}",
    response_model=PickupPointRead,
    responses=problem_responses(404, 422, 429),
)
def get_pickup_point(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    index: str,
    open_at: Annotated[Moment | None, Query(description="ISO 8601 with offset")] = None,
    weight_g: Annotated[int | None, Query()] = None,
    length_mm: Annotated[int | None, Query()] = None,
    width_mm: Annotated[int | None, Query()] = None,
    height_mm: Annotated[int | None, Query()] = None,
) -> PickupPointRead:
    """One pickup point by its postal index."""
    return service.get_pickup_point(
        _catalogue(request, session),
        index,
        now=clock.now(),
        open_at=_aware(open_at),
        parcel=_parcel(weight_g, length_mm, width_mm, height_mm),
    )
