"""The catalogue of webhook events: each type's ``data`` payload as a model, what it means and
an example.

The emitters (shipment and logistics services) build their payload dicts themselves; the
tests drive the real flows and validate every emitted payload against these models, which
forbid fields they do not name, so the catalogue cannot drift from what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    )
}
