"""Shapes of the way back's API (pydantic): a run's return leg, the hub's acceptance of it,
the warehouse acts of the line-haul to the marketplaces' warehouses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["shipment", "customer_return", "partner_bag"]


class ReturnLegLine(BaseModel):
    """A thing on the way back: what the driver and the hub scan, where it goes."""

    barcode: str = Field(description="14-digit tracking number, or a partner bag's code")
    kind: Kind
    status: Literal["waiting", "loaded", "at_hub", "delivered"]
    office_index: str
    office_name: str
    stop_seq: int
    call_at: datetime = Field(description="when the van calls at the office")
    ready_at: datetime = Field(description="since when it waits at the office")
    marketplace: str | None
    warehouse: str | None = Field(description="the warehouse it ends at (or null: a partner)")
    partner_code: str | None
    litres: float
    weight_g: int
    runs_waited: int = Field(description="runs that left it behind for lack of room")


class ReturnLegStop(BaseModel):
    """A call of the run with what the van takes there and what stays."""

    seq: int
    office_index: str
    office_name: str
    call_at: datetime
    loaded: int
    waiting: int


class ReturnLegRead(BaseModel):
    """The return leg of one route run: the driver's manifest of the way back."""

    id: str = Field(description="the run: <route_id>@<departure>")
    route_id: str
    hub: str
    hub_name: str
    vehicle: str
    timezone: str
    departure: datetime
    back_at: datetime = Field(description="the van back at the hub")
    capacity_parcels: int
    capacity_litres: int
    items: int
    litres: float
    weight_g: int
    load_factor: float = Field(description="the larger of items/capacity and litres/capacity")
    stored: bool = Field(description="false: a preview, the leg is not loaded yet")
    accepted_at: datetime | None = Field(description="the hub's acceptance, if any")
    stops: list[ReturnLegStop]
    lines: list[ReturnLegLine]
    waiting: list[ReturnLegLine] = Field(
        description="ready at the run's offices and left for lack of room, oldest first: "
        "they go on the next run"
    )
    too_big: list[str] = Field(description="barcodes no empty van of the route can take")


class HubAcceptanceRequest(BaseModel):
    """What the hub scanned off the van."""

    model_config = ConfigDict(extra="forbid")

    barcodes: list[str] = Field(min_length=1, max_length=5000)


class HubAcceptanceRead(BaseModel):
    """The hub's acceptance of a return leg against its manifest."""

    id: str
    hub: str
    accepted_at: datetime
    accepted: list[str] = Field(description="on the leg and scanned: now at the hub")
    missing: list[str] = Field(description="on the leg, not scanned (yet)")
    extra: list[str] = Field(description="scanned, not on the leg: nothing changes for them")


class WarehouseActRequest(BaseModel):
    """The line-haul from a district hub to the marketplaces' warehouses."""

    model_config = ConfigDict(extra="forbid")

    hub: str = Field(description="district hub code (DH- and its index) or its postal index")
    warehouse: str | None = Field(default=None, description="one warehouse's code; null: all")


class WarehouseActLine(BaseModel):
    """A thing delivered to the warehouse on the act."""

    line: int
    barcode: str
    kind: Kind
    office_index: str
    weight_g: int


class WarehouseActRead(BaseModel):
    """A warehouse act: what the way back delivered to one marketplace's warehouse."""

    number: str = Field(description="WA-<year>-<serial>, gap-free per year")
    hub: str
    warehouse: str
    warehouse_name: str
    marketplace: str | None
    timezone: str = Field(description="the warehouse's zone (the act's local time)")
    created_at: datetime
    items: int
    weight_g: int
    lines: list[WarehouseActLine]
