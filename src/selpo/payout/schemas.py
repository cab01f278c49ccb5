"""The payouts the marketplace API shows (``GET /v1/payouts``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

_Day = date  # fields named ``date`` would shadow the type in their class

_SHIPMENT_EXAMPLE: JsonDict = {
    "tracking_number": "10100005000177",
    "external_order_id": "ORD-1001",
    "office_index": "101000",
    "method": "card",
    "collected_kop": 350000,
    "fee_kop": 5250,
    "collected_at": "2026-11-27T14:05:00Z",
}
_SECOND_EXAMPLE: JsonDict = {
    "tracking_number": "10100005000184",
    "external_order_id": "ORD-1002",
    "office_index": "101000",
    "method": "cash",
    "collected_kop": 35000,
    "fee_kop": 525,
    "collected_at": "2026-11-27T15:30:00Z",
}
_DAY_EXAMPLE: JsonDict = {
    "date": "2026-11-27",
    "closed": True,
    "fee_rate": "0.0150",
    "cash_kop": 35000,
    "card_kop": 350000,
    "collected_kop": 385000,
    "fee_kop": 5775,
    "refunded_kop": 0,
    "to_transfer_kop": 379225,
    "shipments": [_SHIPMENT_EXAMPLE, _SECOND_EXAMPLE],
    "refunds": [],
}
_TOTALS_EXAMPLE: JsonDict = {
    "cash_kop": 35000,
    "card_kop": 350000,
    "collected_kop": 385000,
    "fee_kop": 5775,
    "refunded_kop": 0,
    "to_transfer_kop": 379225,
}
_REFUND_EXAMPLE: JsonDict = {
    "return_id": 12,
    "external_return_id": "RET-1001",
    "tracking_number": "10100005000177",
    "return_tracking_number": "10100012000016",
    "office_index": "101000",
    "refund_kop": 25000,
    "refunded_at": "2026-12-01T11:00:00Z",
}


class PayoutShipment(BaseModel):
    """One shipment behind a day's payout: what its counter collected and the fee on it."""

    model_config = ConfigDict(json_schema_extra={"examples": [_SHIPMENT_EXAMPLE]})

    tracking_number: str
    external_order_id: str
    office_index: str = Field(description="The office that collected it")
    method: Literal["cash", "card"]
    collected_kop: int = Field(description="Cash on delivery for the items taken, kopecks")
    fee_kop: int = Field(description="This shipment's share of the day's fee")
    collected_at: datetime


class PayoutRefund(BaseModel):
    """Cash a counter paid back to a buyer for a return, on the marketplace's behalf."""

    model_config = ConfigDict(json_schema_extra={"examples": [_REFUND_EXAMPLE]})

    return_id: int
    external_return_id: str
    tracking_number: str = Field(description="The order's tracking number")
    return_tracking_number: str = Field(description="The return parcel's own number")
    office_index: str = Field(description="The office that paid it")
    refund_kop: int
    refunded_at: datetime


class PayoutTotals(BaseModel):
    """Sums over days."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TOTALS_EXAMPLE]})

    cash_kop: int
    card_kop: int
    collected_kop: int = Field(description="`cash_kop` + `card_kop`")
    fee_kop: int = Field(description="The operator's fee (on what was collected)")
    refunded_kop: int = Field(
        description="Cash the counters paid back to buyers for returns (docs/returns.md)"
    )
    to_transfer_kop: int = Field(
        description="`collected_kop` - `fee_kop` - `refunded_kop`: what selpo transfers "
        "(negative: what the marketplace owes for the day's refunds)"
    )


class PayoutDayRead(PayoutTotals):
    """One day (each office's own calendar day) of a marketplace's payout."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DAY_EXAMPLE]})

    date: _Day
    closed: bool = Field(
        description="The day is closed: its figures are final and `payout.ready` was sent"
    )
    fee_rate: str = Field(
        description="The rate of this day's fee, a fraction (`0.0150` = 1.5 %): the rate in "
        "force when it closed, or today's rate while it is open"
    )
    shipments: list[PayoutShipment]
    refunds: list[PayoutRefund] = Field(description="The returns whose cash was paid back")


class PayoutReport(BaseModel):
    """A marketplace's payouts, day by day, over a range of days."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "marketplace": "OZON",
                    "from": "2026-11-27",
                    "to": "2026-11-27",
                    "currency": "RUB",
                    "fee_rate": "0.0150",
                    "days": [_DAY_EXAMPLE],
                    "totals": _TOTALS_EXAMPLE,
                }
            ]
        },
    )

    marketplace: str
    first: _Day = Field(alias="from", serialization_alias="from")
    last: _Day = Field(alias="to", serialization_alias="to")
    currency: Literal["RUB"] = "RUB"
    fee_rate: str = Field(description="The marketplace's fee rate today, a fraction")
    days: list[PayoutDayRead]
    totals: PayoutTotals
