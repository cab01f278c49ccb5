"""OpenAPI examples of the shipment API: real answers of the bundled data, trimmed.

The office index and the tracking numbers are the default region's (``[examples]`` of its
manifest), so no module names a region.
"""

from __future__ import annotations

from typing import Any

from selpo.network import regions


def _office() -> str:
    value = regions.data_example("office_index")
    return value if isinstance(value, str) else "000000"


def _numbers() -> list[str]:
    value = regions.data_example("tracking_numbers")
    if isinstance(value, list) and len(value) >= 2:
        return [str(v) for v in value]
    return ["00000026000014", "00000026000021"]


OFFICE = _office()
NUMBER, SECOND_NUMBER = _numbers()[:2]
CREATED_AT = "2026-11-25T09:00:00Z"

SHIPMENT_CREATE: dict[str, Any] = {
    "external_order_id": "ORD-2026-000123",
    "destination_index": OFFICE,
    "recipient": {"name": "Иванова Мария Петровна", "phone": "+79161234567"},
    "parcel": {
        "weight_g": 1200,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 100,
        "declared_value_kop": 150000,
        "cod_kop": 150000,
    },
    "items": [{"sku": "KETTLE-1", "name": "Чайник", "quantity": 1, "price_kop": 150000}],
    "options": {"fitting": False, "contents_check": False, "partial_redemption": False},
}

_CREATED_EVENT: dict[str, Any] = {
    "code": "created",
    "status": "created",
    "applied": True,
    "occurred_at": CREATED_AT,
    "office_index": None,
    "actor": "marketplace-api",
    "changed": None,
}

SHIPMENT: dict[str, Any] = {
    "tracking_number": NUMBER,
    "external_order_id": "ORD-2026-000123",
    "status": "created",
    "destination_index": OFFICE,
    "recipient": {"name": "И****** М. П.", "phone": "+7******4567"},
    "parcel": dict(SHIPMENT_CREATE["parcel"]),
    "items": [{**SHIPMENT_CREATE["items"][0], "refused_quantity": 0}],
    "options": dict(SHIPMENT_CREATE["options"]),
    "promised_date": "2026-11-28",
    "ready_at": None,
    "storage_deadline": None,
    "storage_extended": False,
    "cod_collected_kop": 0,
    "cod_method": None,
    "created_at": CREATED_AT,
    "updated_at": CREATED_AT,
    "events": [_CREATED_EVENT],
    "places": [
        {
            "number": 1,
            "tracking_number": NUMBER,
            "weight_g": 1200,
            "length_mm": 300,
            "width_mm": 200,
            "height_mm": 100,
            "external_place_id": None,
            "status": "created",
            "arrived_at": None,
        }
    ],
}

SHIPMENT_UPDATED: dict[str, Any] = {
    **SHIPMENT,
    "recipient": {"name": "И****** М. П.", "phone": "+7******4568"},
    "updated_at": "2026-11-25T09:30:00Z",
    "events": [
        _CREATED_EVENT,
        {
            **_CREATED_EVENT,
            "code": "updated",
            "occurred_at": "2026-11-25T09:30:00Z",
            "changed": ["recipient.phone"],
        },
    ],
}

SHIPMENT_CANCELLED: dict[str, Any] = {
    **SHIPMENT,
    "status": "cancelled",
    "updated_at": "2026-11-25T10:00:00Z",
    "events": [
        _CREATED_EVENT,
        {
            **_CREATED_EVENT,
            "code": "cancelled",
            "status": "cancelled",
            "occurred_at": "2026-11-25T10:00:00Z",
        },
    ],
}

_WALK = [
    ("handed_over", "handed_over", "2026-11-25T13:00:00Z", None, "hub-scan"),
    ("departed_hub", "in_transit", "2026-11-26T05:00:00Z", None, "hub-scan"),
    ("arrived_at_office", "arrived_at_office", "2026-11-26T06:10:00Z", OFFICE, "hub-scan"),
    ("ready_for_pickup", "ready_for_pickup", "2026-11-26T06:20:00Z", OFFICE, "office-clerk"),
    ("storage_extended", "ready_for_pickup", "2026-11-30T08:00:00Z", None, "marketplace-api"),
]

SHIPMENT_EXTENDED: dict[str, Any] = {
    **SHIPMENT,
    "status": "ready_for_pickup",
    "ready_at": "2026-11-26T06:20:00Z",
    "storage_deadline": "2026-12-06T20:59:59Z",
    "storage_extended": True,
    "updated_at": "2026-11-30T08:00:00Z",
    "events": [
        _CREATED_EVENT,
        *(
            {
                "code": code,
                "status": status,
                "applied": True,
                "occurred_at": at,
                "office_index": office,
                "actor": actor,
                "changed": None,
            }
            for code, status, at, office, actor in _WALK
        ),
    ],
}

SHIPMENT_HANDED_OVER: dict[str, Any] = {
    **SHIPMENT,
    "status": "handed_over",
    "updated_at": "2026-11-25T13:00:00Z",
    "events": SHIPMENT_EXTENDED["events"][:2],
}

TRACKING_EVENT_CREATE: dict[str, Any] = {
    "tracking_number": NUMBER,
    "code": "handed_over",
    "occurred_at": "2026-11-25T16:00:00+03:00",
    "actor": "hub-scan",
}

TRACKING_EVENT_BATCH: list[dict[str, Any]] = [
    {
        "scan_id": "HUB-IVN-2026-11-25-000001",
        "tracking_number": NUMBER,
        "code": "arrived_at_hub",
        "occurred_at": "2026-11-25T18:00:00+03:00",
    },
    {
        "scan_id": "HUB-IVN-2026-11-25-000002",
        "tracking_number": NUMBER,
        "code": "teleported",
        "occurred_at": "2026-11-25T18:00:05+03:00",
    },
]

TRACKING_EVENT_BATCH_RESULT: dict[str, Any] = {
    "recorded": 1,
    "repeated": 0,
    "failed": 1,
    "results": [
        {
            "position": 0,
            "status_code": 201,
            "scan_id": "HUB-IVN-2026-11-25-000001",
            "tracking_number": NUMBER,
            "applied": True,
            "status": "in_transit",
            "error": None,
        },
        {
            "position": 1,
            "status_code": 422,
            "scan_id": "HUB-IVN-2026-11-25-000002",
            "tracking_number": NUMBER,
            "applied": False,
            "status": None,
            "error": {
                "type": "about:blank",
                "title": "Invalid input",
                "status": 422,
                "detail": "unknown event code 'teleported'; known: ...",
                "errors": [
                    {"field": "code", "reason": "unknown event code 'teleported'; known: ..."}
                ],
            },
        },
    ],
}

SHIPMENT_PAGE: dict[str, Any] = {
    "items": [
        {
            key: SHIPMENT[key]
            for key in (
                "tracking_number",
                "external_order_id",
                "status",
                "destination_index",
                "recipient",
                "promised_date",
                "storage_deadline",
                "updated_at",
                "places",
            )
        }
    ],
    "next_cursor": "eyJpZCI6IDF9",
}

BATCH_REQUEST: list[dict[str, Any]] = [
    SHIPMENT_CREATE,
    {**SHIPMENT_CREATE, "external_order_id": "ORD-2026-000124", "destination_index": "000000"},
]

BATCH_RESULT: dict[str, Any] = {
    "created": 1,
    "failed": 1,
    "results": [
        {"position": 0, "status_code": 201, "shipment": SHIPMENT, "error": None},
        {
            "position": 1,
            "status_code": 422,
            "shipment": None,
            "error": {
                "type": "about:blank",
                "title": "Invalid input",
                "status": 422,
                "detail": "no post office has index 000000",
                "errors": [
                    {
                        "field": "destination_index",
                        "reason": "no post office has index 000000",
                    }
                ],
            },
        },
    ],
}

COD_REPORT: dict[str, Any] = {
    "date": "2026-11-27",
    "marketplace": "OZON",
    "shipments": 2,
    "due_kop": 210000,
    "collected_kop": 210000,
    "collected_cash_kop": 150000,
    "collected_card_kop": 60000,
    "difference_kop": 0,
    "tracking_numbers": [NUMBER, SECOND_NUMBER],
}
