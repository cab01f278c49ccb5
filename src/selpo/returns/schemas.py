"""The shapes of the returns API (``/v1/returns``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ReturnItemIn(BaseModel):
    """A line of the order the buyer returns: its position in the order and how many units."""

    model_config = ConfigDict(extra="forbid")

    position: int = Field(ge=0, le=10_000, description="The line's position in the order (0..)")
    quantity: int = Field(ge=1, le=100_000, description="Units returned (at most those taken)")


class ReturnCreate(BaseModel):
    """A buyer's return, registered by its marketplace."""

    model_config = ConfigDict(extra="forbid")

    tracking_number: str = Field(description="The issued shipment's tracking number")
    external_return_id: str = Field(
        min_length=1, max_length=100, description="The marketplace's own return id (unique)"
    )
    reason: str = Field(min_length=1, max_length=500, description="Why the buyer returns it")
    items: list[ReturnItemIn] = Field(min_length=1, max_length=1000)
    cash_refund: bool | None = Field(
        default=None,
        description="Whether the counter pays the cash on delivery back in cash (a COD order "
        "only); omitted: the marketplace's setting (`selpo marketplace set --refund-cash`)",
    )


class ReturnItemRead(BaseModel):
    """A line of a return."""

    position: int
    sku: str
    name: str
    quantity: int = Field(description="Units the buyer returns")
    price_kop: int
    accepted_quantity: int | None = Field(description="Units the clerk checked in (once accepted)")


class ReturnRead(BaseModel):
    """A buyer's return as its marketplace sees it."""

    id: int
    external_return_id: str
    tracking_number: str = Field(description="The order's (the shipment's) tracking number")
    external_order_id: str
    status: str = Field(description="registered, accepted, in_transit or delivered")
    reason: str
    items: list[ReturnItemRead]
    return_deadline: datetime = Field(description="The last moment the buyer may bring it")
    cash_refund: bool = Field(description="Whether the counter pays the COD back in cash")
    refund_kop: int = Field(description="Cash paid back at the counter, in kopecks")
    return_tracking_number: str | None = Field(
        description="The 14-digit number of the return parcel (its label), once accepted"
    )
    office_index: str | None = Field(description="Where the buyer brought it")
    accepted_at: datetime | None
    in_transit_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ReturnRegistered(ReturnRead):
    """A return just registered, with the code to show the buyer (given this once)."""

    return_code: str = Field(
        description="10 digits the buyer shows at the counter (text or barcode); shown once, "
        "only its keyed hash is kept"
    )


class ReturnPage(BaseModel):
    """One page of returns with the cursor of the next."""

    items: list[ReturnRead]
    next_cursor: str | None
