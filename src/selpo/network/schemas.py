"""Pydantic shapes of the network domain as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from selpo.errors import DomainError
from selpo.network import regions


def _zone_example(schema: JsonDict) -> None:
    """The default region's zone as the OpenAPI example: taken from the data when the schema
    is made, so no module names a zone (none when the package singles out no region)."""
    try:
        schema["examples"] = [regions.default_region().timezone]
    except DomainError:
        pass


class PickupPointRead(BaseModel):
    """A post office as a pickup point."""

    index: str = Field(description="6-digit postal index", examples=["155650"])
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
        json_schema_extra=_zone_example,
    )
    open_now: bool = Field(description="Open at `open_at` (or now)")
    marketplaces: list[str] = Field(description="Codes of the marketplaces served (active)")
    fits: bool | None = Field(
        description="Whether the given parcel fits the limits and cells; null if no parcel given"
    )
    max_weight_g: int
    max_dimensions_mm: list[int]
    cells: dict[str, int]
    payment_methods: list[str]


class PickupPointNear(PickupPointRead):
    """A pickup point with its distance from the searched point."""

    distance_m: int


class PickupPointPage(BaseModel):
    """Search results, nearest first."""

    items: list[PickupPointNear]


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
