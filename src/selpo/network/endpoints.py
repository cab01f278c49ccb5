"""Public pickup-point API: a thin shell over the network service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from selpo.deps import ClockDep, ReadSessionDep, SettingsDep
from selpo.errors import InvalidInput, problem_responses
from selpo.kit.moments import Moment
from selpo.kit.openapi import example_answer
from selpo.network import regions, service
from selpo.network.examples import PICKUP_POINT, PICKUP_POINT_PAGE
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


def _catalogue(request: Request, session: Session) -> service.PickupCatalogue:
    cache: service.CatalogueCache = request.app.state.catalogue_cache
    return cache.get(session)


_CSV = "text/csv"
_CSV_EXAMPLE = (
    "index,name,address,region,district,lat,lon,coord_precision,hours_mon,hours_tue,"
    "hours_wed,hours_thu,hours_fri,hours_sat,hours_sun,next_holidays,cells_s,cells_m,cells_l,"
    "max_weight_g,max_length_mm,max_width_mm,max_height_mm,cash,card,fitting,marketplaces,"
    "updated_at\r\n"
) + f"{regions.data_example('pickup_points_csv_row') or ''}\r\n"


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == _CSV for part in accept.split(","))


@router.get(
    "",
    response_model=PickupPointPage,
    responses={
        200: {
            "description": (
                "JSON: nearest first around a point, or a page of the list by index. "
                "With `Accept: text/csv`: every matching office as CSV, no pagination."
            ),
            "content": {
                _CSV: {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
                **example_answer(PICKUP_POINT_PAGE)[200]["content"],
            },
        },
        **problem_responses(422, 429),
    },
)
def search_pickup_points(
    request: Request,
    session: ReadSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    lat: Annotated[
        float | None, Query(ge=-90, le=90, description="Latitude, degrees (with lon)")
    ] = None,
    lon: Annotated[
        float | None, Query(ge=-180, le=180, description="Longitude, degrees (with lat)")
    ] = None,
    radius_km: Annotated[float, Query(description="Search radius around the point, km")] = 25.0,
    limit: Annotated[
        int | None,
        Query(description="Most results: 1-1000; default 10 around a point, 100 in a listing"),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=64, description="`next_cursor` of the previous page (listing only)"),
    ] = None,
    marketplace: Annotated[str | None, Query(description="Only offices serving it")] = None,
    region: Annotated[
        str | None, Query(max_length=16, description="Only offices of this region (its code)")
    ] = None,
    payment: Annotated[
        Literal["cash", "card"] | None, Query(description="Only offices taking this payment")
    ] = None,
    fitting: Annotated[
        bool | None, Query(description="Only offices with (true) or without (false) fitting")
    ] = None,
    open_on: Annotated[
        date | None,
        Query(description="Only offices open on this local day (weekly hours and holidays)"),
    ] = None,
    fits_only: Annotated[
        bool,
        Query(
            description="With a parcel's size: only the offices it fits (the default); "
            "false keeps the others too, marked `fits: false`"
        ),
    ] = True,
    weight_g: Annotated[int | None, Query()] = None,
    length_mm: Annotated[int | None, Query()] = None,
    width_mm: Annotated[int | None, Query()] = None,
    height_mm: Annotated[int | None, Query()] = None,
    open_at: Annotated[Moment | None, Query(description="ISO 8601 with offset")] = None,
) -> PickupPointPage | StreamingResponse:
    """Pickup points: nearest first around a point, or the whole filtered list by index.

    With `lat` and `lon`: the nearest offices within `radius_km`, nearest first. Without
    them: every office, by index, `limit` at a time; pass `next_cursor` back as `cursor`.
    With `Accept: text/csv`: every matching office as one CSV (for a nightly sync).
    """
    if (lat is None) != (lon is None):
        missing = "lat" if lat is None else "lon"
        raise InvalidInput(f"{missing} is needed with the other coordinate", field=missing)
    parcel = _parcel(weight_g, length_mm, width_mm, height_mm)
    if open_on is not None and not date(2000, 1, 1) <= open_on <= date(2100, 12, 31):
        raise InvalidInput("open_on must be a date between 2000 and 2100", field="open_on")
    filters = service.PickupFilters(
        marketplace=marketplace,
        region=region,
        parcel=parcel,
        fits_only=fits_only,
        payment=payment,
        fitting=fitting,
        open_on=open_on,
    )
    catalogue = _catalogue(request, session)
    now = clock.now()
    if _wants_csv(request):
        positions = service.matching_positions(
            catalogue,
            filters,
            lat=lat,
            lon=lon,
            radius_km=radius_km,
            max_radius_km=settings.search_max_radius_km,
        )
        return StreamingResponse(
            service.pickup_points_csv(catalogue, positions, now=now),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="pickup-points.csv"'},
        )
    if lat is None or lon is None:
        return service.list_pickup_points(
            catalogue,
            filters,
            now=now,
            limit=service.LIST_DEFAULT_LIMIT if limit is None else limit,
            cursor=cursor,
            open_at=_aware(open_at),
        )
    if cursor is not None:
        raise InvalidInput("cursor pages a listing without lat and lon", field="cursor")
    search = service.PickupSearch(
        lat=lat,
        lon=lon,
        radius_km=radius_km,
        limit=10 if limit is None else limit,
        parcel=parcel,
        open_at=_aware(open_at),
        filters=filters,
    )
    items = service.search_pickup_points(
        catalogue,
        search,
        now=now,
        max_limit=settings.search_max_limit,
        max_radius_km=settings.search_max_radius_km,
    )
    return PickupPointPage(items=items)


@router.get(
    "/{index}",
    response_model=PickupPointRead,
    responses={**example_answer(PICKUP_POINT), **problem_responses(404, 422, 429)},
)
def get_pickup_point(
    request: Request,
    session: ReadSessionDep,
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
