"""Shapes of the logistics API (pydantic): quotes, routes, route runs and manifests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from selpo.kit.moments import moment_in_range
from selpo.network import regions

MAX_KOP = 100_000_000_00  # as for shipments: beyond any parcel


class QuoteRequest(BaseModel):
    """What a marketplace asks: where to, what parcel, handed over when (and where)."""

    model_config = ConfigDict(extra="forbid")

    destination_index: str = Field(
        pattern=r"^\d{6}$", json_schema_extra=regions.schema_example("office_index")
    )
    weight_g: int = Field(gt=0, le=100_000)
    length_mm: int = Field(gt=0, le=3000)
    width_mm: int = Field(gt=0, le=3000)
    height_mm: int = Field(gt=0, le=3000)
    declared_value_kop: int = Field(default=0, ge=0, le=MAX_KOP)
    cod_kop: int = Field(default=0, ge=0, le=MAX_KOP)
    handover_at: Annotated[AwareDatetime, AfterValidator(moment_in_range)] | None = Field(
        default=None,
        description="When the parcel is handed over at the warehouse, ISO 8601 with offset; "
        "default now",
        examples=["2026-11-20T18:00:00+03:00"],
    )
    warehouse: str | None = Field(
        default=None,
        max_length=32,
        description="Warehouse code (GET /v1/warehouses); default the operator's default one",
        examples=["W-PODOLSK"],
    )


class PriceBreakdown(BaseModel):
    """How the price was made up (``selpo.logistics.tariff``)."""

    base_kop: int
    cod_fee_kop: int
    insurance_kop: int
    zone: int
    chargeable_weight_g: int
    distance_km: float


class QuoteRead(BaseModel):
    """Price and delivery window for one parcel."""

    destination_index: str
    price_kop: int
    currency: Literal["RUB"] = "RUB"
    earliest: datetime = Field(description="When the parcel can first be collected (UTC)")
    latest: datetime = Field(description="The promise: ready for pickup by then (UTC)")
    promised_date: date = Field(description="The office's local date of `latest`")
    route_id: str = Field(description="The route whose run carries the parcel")
    departure: datetime = Field(description="That run's departure from the hub (UTC)")
    warehouse: str
    handover_at: datetime
    timezone: str = Field(description="The office's time zone")
    price: PriceBreakdown


class StopRead(BaseModel):
    """A route's call at an office."""

    seq: int
    office_index: str
    arrival_after_min: float


WEEK_MIN = 7 * 24 * 60  # no van is out longer than a week (bounds refuse inf and 1e300)


class StopWrite(BaseModel):
    """A stop of a route being written, in order."""

    model_config = ConfigDict(extra="forbid")

    office_index: str = Field(pattern=r"^\d{6}$")
    arrival_after_min: float = Field(ge=0, le=WEEK_MIN)


class RouteWrite(BaseModel):
    """A route as an operator writes it (PUT /v1/routes/{route_id})."""

    model_config = ConfigDict(extra="forbid")

    hub: str = Field(
        min_length=1, max_length=32, json_schema_extra=regions.schema_example("hub_code")
    )
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    departure: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["08:00"])
    capacity_parcels: int = Field(gt=0, le=100_000)
    capacity_litres: int = Field(gt=0, le=1_000_000)
    return_after_min: float = Field(ge=0, le=WEEK_MIN)
    runs_on_holidays: bool = False
    vehicle: str = Field(default="", max_length=64)
    stops: list[StopWrite] = Field(min_length=1, max_length=200)


class RouteRead(BaseModel):
    """A route of the timetable."""

    id: str
    hub: str
    weekdays: list[str]
    departure: str = Field(description="Local time at the hub, HH:MM")
    capacity_parcels: int
    capacity_litres: int
    return_after_min: float
    runs_on_holidays: bool
    synthetic: bool
    vehicle: str
    stops: list[StopRead]


class LineHaulRead(BaseModel):
    """A truck on the timetable between two facilities."""

    id: str
    origin: str
    destination: str
    weekdays: list[str]
    departure: str
    duration_min: float
    synthetic: bool


class WarehouseRead(BaseModel):
    """A warehouse parcels are handed over at, and its trucks."""

    code: str
    name: str
    lat: float
    lon: float
    timezone: str
    handling_min: float
    is_default: bool
    line_hauls: list[LineHaulRead]


class TimetableReport(BaseModel):
    """What generating or importing the timetable did."""

    routes: int
    stops: int
    synthetic_routes: int
    hubs: int
    line_hauls: int
    vehicles: int
    offices_served: int
    offices_unserved: list[str]
    version: int


class RouteRunRead(BaseModel):
    """One run of a route on a day, and its manifest so far."""

    id: str = Field(description="`<route_id>@<departure, UTC ISO 8601>`")
    route_id: str
    hub: str
    departure: datetime
    departure_local: str
    vehicle: str
    stops: int
    capacity_parcels: int
    capacity_litres: int
    manifest: Literal["none", "planned", "departed"]
    parcels: int
    litres: float


class ManifestLine(BaseModel):
    """A parcel on a manifest."""

    tracking_number: str
    external_order_id: str
    marketplace: str
    office_index: str
    office_name: str
    stop_seq: int
    arrival_at: datetime
    litres: float
    weight_g: int
    cod_kop: int
    promised_date: date | None


class RolledLine(BaseModel):
    """A parcel that did not fit: it goes on the next run."""

    tracking_number: str
    office_index: str
    next_departure: datetime
    promised_date: date | None = Field(description="The promise after the roll-over")
    promised_date_changed: bool


class ManifestStop(BaseModel):
    """A stop of the run with what is unloaded there."""

    seq: int
    office_index: str
    office_name: str
    arrival_at: datetime
    parcels: int


class ManifestRead(BaseModel):
    """The load list of one route run."""

    id: str
    route_id: str
    hub: str
    hub_name: str
    vehicle: str
    timezone: str
    departure: datetime
    return_at: datetime
    capacity_parcels: int
    capacity_litres: int
    parcels: int
    litres: float
    weight_g: int
    stored: bool = Field(description="False: a preview, nothing has been planned yet")
    departed: bool
    stops: list[ManifestStop]
    lines: list[ManifestLine]
    rolled: list[RolledLine]
