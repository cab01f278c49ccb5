"""OpenAPI examples of the returns API and the recall (the default region's numbers)."""

from __future__ import annotations

from typing import Any

from selpo.shipment.examples import NUMBER, OFFICE, SHIPMENT

RETURN_CREATE: dict[str, Any] = {
    "tracking_number": NUMBER,
    "external_return_id": "RET-2026-000045",
    "reason": "не подошёл размер",
    "items": [{"position": 0, "quantity": 1}],
    "cash_refund": True,
}

RETURN: dict[str, Any] = {
    "id": 12,
    "external_return_id": "RET-2026-000045",
    "tracking_number": NUMBER,
    "external_order_id": "ORD-2026-000123",
    "status": "registered",
    "reason": "не подошёл размер",
    "items": [
        {
            "position": 0,
            "sku": "SKU-1",
            "name": "Кресло",
            "quantity": 1,
            "price_kop": 150000,
            "accepted_quantity": None,
        }
    ],
    "return_deadline": "2026-12-11T20:59:59Z",
    "cash_refund": True,
    "refund_kop": 0,
    "return_tracking_number": None,
    "office_index": None,
    "accepted_at": None,
    "in_transit_at": None,
    "delivered_at": None,
    "created_at": "2026-11-28T10:00:00Z",
    "updated_at": "2026-11-28T10:00:00Z",
}

RETURN_REGISTERED: dict[str, Any] = {**RETURN, "return_code": "4829130571"}

RETURN_ACCEPTED: dict[str, Any] = {
    **RETURN,
    "status": "accepted",
    "items": [{**RETURN["items"][0], "accepted_quantity": 1}],
    "refund_kop": 150000,
    "return_tracking_number": OFFICE + "12000015",
    "office_index": OFFICE,
    "accepted_at": "2026-12-01T11:00:00Z",
    "updated_at": "2026-12-01T11:00:00Z",
}

RETURN_PAGE: dict[str, Any] = {"items": [RETURN_ACCEPTED], "next_cursor": None}

SHIPMENT_RECALLED: dict[str, Any] = {
    **SHIPMENT,
    "status": "recalled",
    "updated_at": "2026-11-26T10:00:00Z",
}
