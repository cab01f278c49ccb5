"""Pydantic shapes of the network domain as the API shows them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from selpo.network import regions


class PickupPointRead(BaseModel):
    """A post office as a pickup point."""

    index: str = Field(
        description="6-digit postal index", json_schema_extra=regions.schema_example("office_index")
    )
    name: str
    address: str
    address_is_estimate: bool = Field(
        description="True while the address is built from the data, not surveyed"
    )
    lat: float
    lon: float
    coord_precision: str = Field(description="settlement_centroid, approx_settlement_geonames, ...")
    district: str
    settlement: str | None
    rural: bool
    status: str = Field(description="open, temporarily_closed or closed")
    opening_hours: list[list[list[str]]] = Field(
        description='7 days, Monday first, each a list of ["HH:MM", "HH:MM"] local intervals'
    )
    opening_hours_is_default: bool
    timezone: str = Field(
        description="The office's IANA time zone (its region's): hours and open_now are local",
        json_schema_extra=regions.schema_example("timezone"),
    )
    open_now: bool = Field(description="Open at `open_at` (or now)")
    marketplaces: list[str] = Field(description="Codes of the marketplaces served (active)")
    fits: bool | None = Field(
        description="Whether the given parcel fits the limits and cells; null if no parcel given"
    )
    max_weight_g: int
    max_dimensions_mm: list[int] = Field(description="Largest length, width, height, mm")
    cells: dict[str, int] = Field(description="Cells per class", examples=[{"S": 15, "M": 10}])
    cell_limits_mm: dict[str, list[int]] = Field(
        description="Inner length, width, height (mm) of each cell class the office has",
        examples=[{"S": [400, 300, 150], "M": [400, 300, 300], "L": [600, 400, 400]}],
    )
    payment_methods: list[str] = Field(description="cash and/or card", examples=[["cash"]])
    accepts_cash: bool
    accepts_card: bool
    fitting: bool = Field(description="Whether a customer may try clothes on before taking them")
    fitting_is_default: bool = Field(
        description="Always true for now: fitting is a default by the office's kind (town "
        "and urban-type settlement offices offer it, village offices do not), not surveyed"
    )
    next_holidays: list[date] = Field(
        description="The next public holidays (local dates) the office is closed all day",
        examples=[["2026-12-31", "2027-01-01", "2027-01-02"]],
    )
    region: str = Field(
        description="Code of the office's region",
        json_schema_extra=regions.schema_example("region"),
    )
    updated_at: datetime = Field(description="When the register last changed this office")


class PickupPointNear(PickupPointRead):
    """A pickup point with its distance from the searched point."""

    distance_m: int | None = Field(
        default=None, description="Metres from the searched point; null when listing without one"
    )


class PickupPointPage(BaseModel):
    """Search results, nearest first; or, without a point, a page of the list by index."""

    items: list[PickupPointNear]
    next_cursor: str | None = Field(
        default=None,
        description="Pass as `cursor` for the next page (listing without a point); "
        "null on the last page and in a search around a point",
    )


class OfficeSummary(BaseModel):
    """One line of the office register (CLI listing)."""

    index: str
    name: str
    district: str
    settlement: str | None
    rural: bool
    status: str
    lat: float
    lon: float
    coord_precision: str
    marketplaces: list[str]


class RegionSummary(BaseModel):
    """A region as ``selpo region list`` shows it: what the database holds of it."""

    code: str
    slug: str | None
    name: str
    timezone: str
    capital: str | None
    offices: int  # open offices
    localities: int
    population: int | None
    imported: bool
    imported_at: datetime | None
