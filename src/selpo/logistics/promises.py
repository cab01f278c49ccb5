"""Delivery dates and quotes: the window and price of a parcel, and the promised date a new
shipment carries.

``quote``: the price from ``selpo.logistics.tariff``; ``earliest`` is the kernel's ready
moment; ``latest`` (``promise_bound``) the later of ``earliest + QUOTE_BUFFER`` (2 days) and
the ready moment if the first run is missed (``skip_runs=1``), so one full van never breaks a
promise, moved to the office's next open day if it falls on a closed one (both ends of the
window are then on open days). ``promised_date`` is the office's local date of ``latest``
(``selpo.kit.display.local_day``); ``promised_dates`` answers it for many offices at one
hand-over moment. Whether the office takes the parcel at all is
``selpo.network.rules.parcel_refusal``.

Reads the timetable of ``selpo.logistics.timetables``; services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.kit.display import local_day
from selpo.logistics import repository
from selpo.logistics.calendar import holiday_calendar, on_an_open_day
from selpo.logistics.distance import GreatCircleDistance
from selpo.logistics.errors import (
    OfficeNotServed,
    UnknownWarehouse,
)
from selpo.logistics.eta import (
    DEFAULT_QUOTE_BUFFER,
    quote_window,
)
from selpo.logistics.schemas import (
    PriceBreakdown,
    QuoteRead,
    QuoteRequest,
)
from selpo.logistics.tariff import DEFAULT_TARIFF, Tariff, price
from selpo.logistics.timetable import (
    RouteRun,
)
from selpo.logistics.timetables import CACHE, LoadedTimetable, current_timetable
from selpo.network.rules import OfficeCapacity, ParcelSize, parcel_refusal

QUOTE_BUFFER: Final[timedelta] = DEFAULT_QUOTE_BUFFER
"""Latest = earliest + 2 days at least (a missed daily run and a day's slack on the roads)."""
HANDOVER_PAST: Final[timedelta] = timedelta(days=31)
HANDOVER_FUTURE: Final[timedelta] = timedelta(days=366)
"""A quote's hand-over may lie this far back (a late what-if) or ahead (planning a year)."""


def promise_bound(
    loaded: LoadedTimetable, earliest: datetime, after_miss: datetime | None, office: str
) -> datetime:
    """The promise bound: earliest + buffer, or the next run's date if that is later,
    moved to the opening of the office's next open day when it falls on a day the
    office is closed (a weekday without hours or a public holiday)."""
    _, latest = quote_window(earliest, QUOTE_BUFFER)
    bound = latest if after_miss is None else max(latest, after_miss)
    target = loaded.network.offices[loaded.network.office_position[office]]
    calendar = holiday_calendar(loaded.network.holiday_country)
    return on_an_open_day(target.opening_hours, target.timezone, bound, calendar)


def _warehouse(loaded: LoadedTimetable, code: str | None) -> str:
    if code is None:
        if loaded.default_warehouse is None:
            raise UnknownWarehouse("(default)")
        return loaded.default_warehouse
    if code not in {w.id for w in loaded.network.warehouses}:
        raise UnknownWarehouse(code)
    return code


def _distance_m(loaded: LoadedTimetable, warehouse: str, office: str) -> float:
    lat, lon = loaded.facility_position_m[warehouse]
    target = loaded.network.offices[loaded.network.office_position[office]]
    matrix = GreatCircleDistance().matrix_m([lat], [lon], [target.lat], [target.lon])
    return float(matrix[0, 0])


def _window(
    loaded: LoadedTimetable, warehouse: str, handover: datetime, office: str
) -> tuple[datetime, datetime, RouteRun] | None:
    earliest, run = loaded.earliest(warehouse, handover, office)
    if earliest is None or run is None:
        return None
    after_miss, _ = loaded.earliest(warehouse, handover, office, skip_runs=1)
    return earliest, promise_bound(loaded, earliest, after_miss, office), run


def quote(
    session: Session,
    *,
    marketplace_id: int,
    request: QuoteRequest,
    now: datetime,
    tariff: Tariff = DEFAULT_TARIFF,
) -> QuoteRead:
    """Price and delivery window of a parcel handed over at ``request.handover_at`` (or now).

    Refused with 422 naming the field: an unknown, closed or not-serving office
    (``destination_index``), a parcel the office cannot take (``weight_g``, ``length_mm``),
    COD above the declared value (``cod_kop``), an unknown warehouse, or an office no route
    serves; 503 without a timetable.
    """
    index = request.destination_index
    office = repository.office_by_index(session, index)
    if office is None:
        raise InvalidInput(f"no post office has index {index}", field="destination_index")
    if office.status != "open":
        raise InvalidInput(f"office {index} is {office.status}", field="destination_index")
    if not repository.serves(session, office_id=office.id, marketplace_id=marketplace_id):
        raise InvalidInput(
            f"office {index} does not serve this marketplace", field="destination_index"
        )
    if request.cod_kop > request.declared_value_kop:
        raise InvalidInput(
            f"cod_kop {request.cod_kop} exceeds declared_value_kop {request.declared_value_kop}",
            field="cod_kop",
        )
    refusal = parcel_refusal(ParcelSize.of(request), OfficeCapacity.of(office))
    if refusal is not None:
        raise InvalidInput(refusal.reason(index, request.weight_g), field=refusal.field)
    handover = (request.handover_at or now).astimezone(UTC)
    if not now - HANDOVER_PAST <= handover <= now + HANDOVER_FUTURE:
        raise InvalidInput(
            f"handover_at must lie between {HANDOVER_PAST.days} days ago and "
            f"{HANDOVER_FUTURE.days} days ahead",
            field="handover_at",
        )
    loaded = current_timetable(session)
    warehouse = _warehouse(loaded, request.warehouse)
    if index not in loaded.network.office_position:
        raise OfficeNotServed(index)
    window = _window(loaded, warehouse, handover, index)
    if window is None:
        raise OfficeNotServed(index)
    earliest, latest, run = window
    zone = loaded.office_timezone(index)
    cost = price(
        tariff,
        distance_m=_distance_m(loaded, warehouse, index),
        weight_g=request.weight_g,
        length_mm=request.length_mm,
        width_mm=request.width_mm,
        height_mm=request.height_mm,
        declared_value_kop=request.declared_value_kop,
        cod_kop=request.cod_kop,
    )
    return QuoteRead(
        destination_index=index,
        price_kop=cost.total_kop,
        earliest=earliest,
        latest=latest,
        promised_date=local_day(latest, zone),
        route_id=run.route_id,
        departure=run.departure,
        warehouse=warehouse,
        handover_at=handover,
        timezone=zone,
        price=PriceBreakdown(
            base_kop=cost.base_kop,
            cod_fee_kop=cost.cod_fee_kop,
            insurance_kop=cost.insurance_kop,
            zone=cost.zone,
            chargeable_weight_g=cost.chargeable_weight_g,
            distance_km=round(cost.distance_m / 1000.0, 1),
        ),
    )


def promised_date(
    session: Session, *, office_index: str, handover: datetime, warehouse: str | None = None
) -> date | None:
    """The promised date for a parcel handed over now: the local date of the quote's latest.

    ``None`` when there is no timetable or no route serves the office.
    """
    return promised_dates(session, now=handover, warehouse=warehouse)(office_index)


def promised_dates(
    session: Session, *, now: datetime, warehouse: str | None = None
) -> Callable[[str], date | None]:
    """A function office index -> promised date for parcels handed over ``now`` (the default
    warehouse unless named); it answers ``None`` without a timetable or a serving route.

    ``shipment.service.create_shipments(promise=...)`` calls it for every new shipment.
    """
    loaded = CACHE.get(session)
    if loaded is None or (warehouse is None and loaded.default_warehouse is None):
        return lambda _index: None
    origin = warehouse or loaded.default_warehouse
    assert origin is not None
    answers: dict[str, date | None] = {}

    def promise(index: str) -> date | None:
        if index not in answers:
            answers[index] = None
            if index in loaded.network.office_position:
                try:
                    window = _window(loaded, origin, now, index)
                except ValueError:  # an unknown warehouse: no promise rather than no shipment
                    window = None
                if window is not None:
                    answers[index] = local_day(window[1], loaded.office_timezone(index))
        return answers[index]

    return promise
