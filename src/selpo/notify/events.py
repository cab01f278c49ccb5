"""The catalogue of webhook events: each type's ``data`` payload as a model, what it means and
an example.

The emitters (shipment, logistics and payout services) build their payload dicts themselves; the
tests drive the real flows and validate every emitted payload against these models, which
forbid fields they do not name, so the catalogue cannot drift from what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_Day = date  # a field named ``date`` would shadow the type in its class


class _EventData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_number: str = Field(description="The shipment's tracking number")
    external_order_id: str = Field(description="The marketplace's own order id")


class ShipmentCreatedData(_EventData):
    """``data`` of ``shipment.created``."""

    status: str = Field(description="The new shipment's status: `created`")
    destination_index: str = Field(description="Postal index of the destination office")
    shipment_id: int = Field(description="selpo's internal id of the shipment")


class ShipmentStatusChangedData(_EventData):
    """``data`` of ``shipment.status_changed``."""

    status: str = Field(description="The status after the change")
    event_code: str = Field(description="The tracking event that moved it (a scan code)")
    occurred_at: datetime = Field(description="When the event happened")
    office_index: str | None = Field(description="Where it happened, if at an office")
    storage_deadline: datetime | None = Field(
        description="Until when the office keeps the parcel, once it waits for pick-up"
    )


class ShipmentPromisedDateChangedData(_EventData):
    """``data`` of ``shipment.promised_date_changed``."""

    promised_date: date = Field(description="The new promised delivery date")
    previous_promised_date: date | None = Field(description="The promise before the change")
    reason: Literal["route_run_full"] = Field(
        description="Why it moved: `route_run_full`, the van's run was full"
    )
    route_id: str = Field(description="The route whose run could not take the parcel")
    missed_departure: datetime = Field(description="The departure the parcel missed")
    next_departure: datetime = Field(description="The departure expected to take it")


class ShipmentCancelledData(_EventData):
    """``data`` of ``shipment.cancelled``."""

    status: str = Field(description="`cancelled`")
    cancelled_at: datetime = Field(description="When the marketplace cancelled it")


class ShipmentUpdatedData(_EventData):
    """``data`` of ``shipment.updated``."""

    status: str = Field(description="The shipment's status (a change does not move it)")
    changed: list[str] = Field(description="The changed fields, dotted (`recipient.phone`)")
    values: dict[str, Any] = Field(
        description="The changed fields' new values (name and phone masked); a new "
        "destination adds the new `promised_date`"
    )
    updated_at: datetime = Field(description="When the change was made")


class ShipmentStorageExtendedData(_EventData):
    """``data`` of ``shipment.storage_extended``."""

    status: str = Field(description="`ready_for_pickup`: the parcel still waits at the office")
    storage_deadline: datetime = Field(description="The new end of the storage period")
    previous_storage_deadline: datetime = Field(description="The end before the extension")
    extended_at: datetime = Field(description="When the marketplace extended it")


class ShipmentPlaceArrivedData(_EventData):
    """``data`` of ``shipment.place_arrived``."""

    status: str = Field(description="The order's status after the place arrived")
    place: int = Field(description="The place's number, 1..places")
    places: int = Field(description="How many places the order has")
    place_tracking_number: str = Field(description="The place's own tracking number")
    arrived: int = Field(description="How many of the order's places are at the office now")
    occurred_at: datetime = Field(description="When the place was scanned in")
    office_index: str | None = Field(description="The office it arrived at")


class ShipmentStorageExpiringData(_EventData):
    """``data`` of ``shipment.storage_expiring``."""

    office_index: str = Field(description="Postal index of the office that keeps the parcel")
    storage_deadline: datetime = Field(description="When the office stops keeping it")
    reminded_at: datetime = Field(description="When the recipient was reminded (by SMS)")


class ShipmentCodCollectedData(_EventData):
    """``data`` of ``shipment.cod_collected``."""

    amount_kop: int = Field(description="Cash on delivery taken at the counter, in kopecks")
    method: Literal["cash", "card"] = Field(description="`cash` or `card`")
    office_index: str = Field(description="Postal index of the office that took it")
    collected_at: datetime = Field(description="When it was taken")


class ShipmentDeliveredData(_EventData):
    """``data`` of ``shipment.delivered``."""

    delivered_at: datetime = Field(description="When the recipient took the parcel")
    office_index: str = Field(description="Postal index of the office that issued it")
    cod_collected_kop: int = Field(
        description="Cash on delivery taken, in kopecks (0: nothing was due)"
    )
    method: Literal["cash", "card"] | None = Field(
        description="How it was paid: `cash`, `card`, or `null` when nothing was due"
    )
    identified_by: Literal["code", "document"] = Field(
        default="code",
        description="How the recipient was identified: `code` (the pickup code) or "
        "`document` (an identity document, where the marketplace allows it)",
    )
    document_type: (
        Literal[
            "passport_ru",
            "foreign_passport_ru",
            "driving_licence",
            "military_id",
            "foreign_passport",
            "residence_permit",
        ]
        | None
    ) = Field(
        default=None,
        description="With `document`: the document's type (its number never leaves the office)",
    )


class DeliveredItem(BaseModel):
    """One line of a partly taken order."""

    model_config = ConfigDict(extra="forbid")

    position: int = Field(description="The line's position in the order (0-based)")
    sku: str = Field(description="The marketplace's article")
    name: str = Field(description="The line's name")
    quantity_delivered: int = Field(description="Units the recipient took")
    quantity_refused: int = Field(description="Units refused, going back to the marketplace")


class ShipmentPartiallyDeliveredData(ShipmentDeliveredData):
    """``data`` of ``shipment.partially_delivered``."""

    items: list[DeliveredItem] = Field(description="Every line: units taken and refused")


class PayoutReadyData(BaseModel):
    """``data`` of ``payout.ready``."""

    model_config = ConfigDict(extra="forbid")

    date: _Day = Field(description="The closed day (each office's own calendar day)")
    cash_kop: int = Field(description="Cash on delivery taken in cash that day, in kopecks")
    card_kop: int = Field(description="Cash on delivery taken by card that day, in kopecks")
    collected_kop: int = Field(description="`cash_kop` + `card_kop`")
    fee_kop: int = Field(description="The operator's fee on the day's collections")
    refunded_kop: int = Field(
        description="Cash the counters paid back to buyers for returns that day"
    )
    to_transfer_kop: int = Field(
        description="What selpo transfers: `collected_kop` - `fee_kop` - `refunded_kop`"
    )
    shipments: int = Field(description="How many shipments the day's money comes from")


class ShipmentReadyForPickupData(_EventData):
    """``data`` of ``shipment.ready_for_pickup``."""

    status: str = Field(description="`ready_for_pickup`")
    office_index: str = Field(description="Postal index of the office where the parcel waits")
    storage_deadline: datetime = Field(description="Until when the office keeps the parcel")
    cell: str | None = Field(description="The storage cell it was put in, if the office says")
    pickup_code: str | None = Field(
        description="The recipient's 6-digit pickup code, for the marketplace's app: only for "
        "a marketplace that opted in and only over https (null otherwise); wiped from selpo's "
        "outbox once delivered"
    )
    pickup_qr: str | None = Field(
        description="The text to show as a QR code in the app (the tracking number and the "
        "code, 20 digits); the counter's scanner reads it instead of the typed code. Null "
        "whenever `pickup_code` is"
    )


class ShipmentRecalledData(_EventData):
    """``data`` of ``shipment.recalled``."""

    status: str = Field(
        description="`recalled`; recalled at the office (`at_office`), its return starts at "
        "once (a `shipment.status_changed` to `returning` follows), on its way at the office's "
        "acceptance"
    )
    status_before: str = Field(description="The status it was recalled from")
    at_office: bool = Field(description="Whether it was at the office when recalled")
    office_index: str = Field(description="Postal index of its office (where it goes back from)")
    recalled_at: datetime = Field(description="When the marketplace recalled it")


class _ReturnData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    return_id: int = Field(description="selpo's id of the return (`GET /v1/returns/{id}`)")
    external_return_id: str = Field(description="The marketplace's own return id")
    tracking_number: str = Field(description="The order's (the shipment's) tracking number")
    external_order_id: str = Field(description="The marketplace's own order id")
    status: str = Field(description="The return's status after this step")
    return_tracking_number: str | None = Field(
        description="The 14-digit number on the return's label"
    )


class ReturnAcceptedItem(BaseModel):
    """A line the clerk checked in."""

    model_config = ConfigDict(extra="forbid")

    position: int = Field(description="The line's position in the order")
    sku: str
    quantity: int = Field(description="Units taken at the counter (0: not brought)")


class ReturnAcceptedData(_ReturnData):
    """``data`` of ``return.accepted``."""

    office_index: str = Field(description="The office that took it")
    items: list[ReturnAcceptedItem] = Field(description="Each line: the units checked in")
    refund_kop: int = Field(
        description="Cash paid back to the buyer at the counter (0: none); deducted from the "
        "day's payout"
    )
    accepted_at: datetime = Field(description="When the counter took it")


class ReturnInTransitData(_ReturnData):
    """``data`` of ``return.in_transit``."""

    office_index: str = Field(description="The office it left")
    route_code: str | None = Field(description="The route whose run took it")
    departure: datetime | None = Field(description="That run's departure")
    loaded_at: datetime = Field(description="When it was loaded")


class ReturnDeliveredData(_ReturnData):
    """``data`` of ``return.delivered``."""

    warehouse_code: str | None = Field(description="The warehouse that took it")
    act_number: str | None = Field(description="The warehouse's act it is on")
    delivered_at: datetime = Field(description="When the warehouse signed for it")


@dataclass(frozen=True)
class EventKind:
    """One webhook event type of the catalogue."""

    event_type: str
    model: type[BaseModel]
    description: str
    example: dict[str, Any]

    def payload_schema(self) -> dict[str, Any]:
        """The JSON Schema of the event's ``data``."""
        return self.model.model_json_schema()


CATALOGUE: dict[str, EventKind] = {
    kind.event_type: kind
    for kind in (
        EventKind(
            "shipment.created",
            ShipmentCreatedData,
            "a shipment was created",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "created",
                "destination_index": "101000",
                "shipment_id": 17,
            },
        ),
        EventKind(
            "shipment.status_changed",
            ShipmentStatusChangedData,
            "a shipment moved in its lifecycle",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "ready_for_pickup",
                "event_code": "ready_for_pickup",
                "occurred_at": "2026-11-25T09:00:00+00:00",
                "office_index": "101000",
                "storage_deadline": "2026-12-02T20:59:59+00:00",
            },
        ),
        EventKind(
            "shipment.promised_date_changed",
            ShipmentPromisedDateChangedData,
            "the promised delivery date moved",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "promised_date": "2026-11-27",
                "previous_promised_date": "2026-11-26",
                "reason": "route_run_full",
                "route_id": "MSK-NORTH",
                "missed_departure": "2026-11-23T05:00:00Z",
                "next_departure": "2026-11-26T05:00:00Z",
            },
        ),
        EventKind(
            "shipment.cancelled",
            ShipmentCancelledData,
            "a shipment was cancelled",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "cancelled",
                "cancelled_at": "2026-11-21T10:00:00+00:00",
            },
        ),
        EventKind(
            "shipment.updated",
            ShipmentUpdatedData,
            "the marketplace changed a shipment (`PATCH`): `changed` names the fields, "
            "`values` their new values (name and phone masked)",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "created",
                "changed": ["options.fitting", "recipient.phone"],
                "values": {"options.fitting": True, "recipient.phone": "+7******4567"},
                "updated_at": "2026-11-21T09:00:00+00:00",
            },
        ),
        EventKind(
            "shipment.storage_extended",
            ShipmentStorageExtendedData,
            "the marketplace extended the storage period (once per parcel)",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "ready_for_pickup",
                "storage_deadline": "2026-12-09T20:59:59Z",
                "previous_storage_deadline": "2026-12-02T20:59:59Z",
                "extended_at": "2026-11-30T12:00:00Z",
            },
        ),
        EventKind(
            "shipment.place_arrived",
            ShipmentPlaceArrivedData,
            "a place of an order of several places reached the office (the order arrives "
            "with its last place, or its first where the marketplace has "
            "`ready_on_first_place`)",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "in_transit",
                "place": 2,
                "places": 3,
                "place_tracking_number": "10100005000184",
                "arrived": 1,
                "occurred_at": "2026-11-25T09:00:00+00:00",
                "office_index": "101000",
            },
        ),
        EventKind(
            "shipment.storage_expiring",
            ShipmentStorageExpiringData,
            "the storage period ends soon: the recipient was reminded by SMS (once per "
            "period; an extension allows another)",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "office_index": "101000",
                "storage_deadline": "2026-12-02T20:59:59Z",
                "reminded_at": "2026-11-30T09:00:00Z",
            },
        ),
        EventKind(
            "shipment.cod_collected",
            ShipmentCodCollectedData,
            "the counter took cash on delivery (in cash or by card) for what the recipient took",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "amount_kop": 350000,
                "method": "card",
                "office_index": "101000",
                "collected_at": "2026-11-27T14:05:00Z",
            },
        ),
        EventKind(
            "shipment.delivered",
            ShipmentDeliveredData,
            "the recipient took the whole parcel; the amount collected and how",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "delivered_at": "2026-11-27T14:05:00Z",
                "office_index": "101000",
                "cod_collected_kop": 350000,
                "method": "card",
                "identified_by": "code",
                "document_type": None,
            },
        ),
        EventKind(
            "shipment.partially_delivered",
            ShipmentPartiallyDeliveredData,
            "the recipient took part of the order: each line's units taken and refused, and "
            "the cash on delivery taken for the units taken only",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "delivered_at": "2026-11-27T14:05:00Z",
                "office_index": "101000",
                "cod_collected_kop": 35000,
                "method": "cash",
                "identified_by": "document",
                "document_type": "passport_ru",
                "items": [
                    {
                        "position": 0,
                        "sku": "A",
                        "name": "Кружка",
                        "quantity_delivered": 1,
                        "quantity_refused": 0,
                    },
                    {
                        "position": 1,
                        "sku": "B",
                        "name": "Тарелка",
                        "quantity_delivered": 1,
                        "quantity_refused": 1,
                    },
                ],
            },
        ),
        EventKind(
            "payout.ready",
            PayoutReadyData,
            "a day on which something was collected closed (past midnight in every office's "
            "zone): what was collected for the marketplace that day, the operator's fee and "
            "the amount to transfer; the shipments behind it at `GET /v1/payouts`",
            {
                "date": "2026-11-27",
                "cash_kop": 35000,
                "card_kop": 350000,
                "collected_kop": 385000,
                "fee_kop": 5775,
                "refunded_kop": 0,
                "to_transfer_kop": 379225,
                "shipments": 2,
            },
        ),
        EventKind(
            "shipment.ready_for_pickup",
            ShipmentReadyForPickupData,
            "the parcel is on the office's shelf, waiting for its recipient; a marketplace "
            "that opted in gets the pickup code and its QR payload for its app, over https "
            "only (and the event again with the new code when the code is reissued)",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "ready_for_pickup",
                "office_index": "101000",
                "storage_deadline": "2026-12-02T20:59:59Z",
                "cell": "M-04",
                "pickup_code": "482913",
                "pickup_qr": "10100005000177482913",
            },
        ),
        EventKind(
            "shipment.recalled",
            ShipmentRecalledData,
            "the marketplace recalled the parcel before it was issued: it is no longer "
            "offered (the recipient was told by SMS) and goes back on the next run from its "
            "office; `shipment.status_changed` follows each step, and the warehouse's act "
            "ends it `returned`",
            {
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "recalled",
                "status_before": "ready_for_pickup",
                "at_office": True,
                "office_index": "101000",
                "recalled_at": "2026-11-26T10:00:00Z",
            },
        ),
        EventKind(
            "return.accepted",
            ReturnAcceptedData,
            "the buyer brought a registered return to a counter: the units checked in, the "
            "return's own tracking number, and the cash paid back there (if any)",
            {
                "return_id": 12,
                "external_return_id": "RET-1001",
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "accepted",
                "return_tracking_number": "10100012000016",
                "office_index": "101000",
                "items": [{"position": 0, "sku": "SKU-1", "quantity": 1}],
                "refund_kop": 150000,
                "accepted_at": "2026-12-01T11:00:00Z",
            },
        ),
        EventKind(
            "return.in_transit",
            ReturnInTransitData,
            "the return left its office on a route run's way back",
            {
                "return_id": 12,
                "external_return_id": "RET-1001",
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "in_transit",
                "return_tracking_number": "10100012000016",
                "office_index": "101000",
                "route_code": "MSK-NORTH",
                "departure": "2026-12-02T05:00:00Z",
                "loaded_at": "2026-12-02T06:10:00Z",
            },
        ),
        EventKind(
            "return.delivered",
            ReturnDeliveredData,
            "the return reached the marketplace's warehouse (on its act)",
            {
                "return_id": 12,
                "external_return_id": "RET-1001",
                "tracking_number": "10100005000177",
                "external_order_id": "ORD-1001",
                "status": "delivered",
                "return_tracking_number": "10100012000016",
                "warehouse_code": "WH-CENTRAL",
                "act_number": "W-2026-000031",
                "delivered_at": "2026-12-03T09:00:00Z",
            },
        ),
    )
}
