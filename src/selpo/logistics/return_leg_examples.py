"""OpenAPI examples of the way back's API (shapes of real answers, trimmed)."""

from __future__ import annotations

from typing import Any

_LINE: dict[str, Any] = {
    "barcode": "80012345678905",
    "kind": "shipment",
    "status": "loaded",
    "office_index": "155650",
    "office_name": "Пестяки",
    "stop_seq": 1,
    "call_at": "2026-11-23T07:10:00Z",
    "ready_at": "2026-11-20T12:04:00Z",
    "marketplace": "OZON",
    "warehouse": "WH-OZON-1",
    "partner_code": None,
    "litres": 9.0,
    "weight_g": 1500,
    "runs_waited": 0,
}

RETURN_LEG: dict[str, Any] = {
    "id": "DH-155650-V01@2026-11-23T06:00:00Z",
    "route_id": "DH-155650-V01",
    "hub": "DH-155650",
    "hub_name": "Районный узел Пестяки",
    "vehicle": "DH-155650-van1",
    "timezone": "Europe/Moscow",
    "departure": "2026-11-23T06:00:00Z",
    "back_at": "2026-11-23T10:00:00Z",
    "capacity_parcels": 1,
    "capacity_litres": 2000,
    "items": 1,
    "litres": 9.0,
    "weight_g": 1500,
    "load_factor": 1.0,
    "stored": True,
    "accepted_at": None,
    "stops": [
        {
            "seq": 1,
            "office_index": "155650",
            "office_name": "Пестяки",
            "call_at": "2026-11-23T07:10:00Z",
            "loaded": 1,
            "waiting": 0,
        }
    ],
    "lines": [_LINE],
    "waiting": [],
    "too_big": [],
}

HUB_ACCEPTANCE_REQUEST: dict[str, Any] = {"barcodes": ["80012345678905", "80012345678912"]}

HUB_ACCEPTANCE: dict[str, Any] = {
    "id": "DH-155650-V01@2026-11-23T06:00:00Z",
    "hub": "DH-155650",
    "accepted_at": "2026-11-23T10:20:00Z",
    "accepted": ["80012345678905"],
    "missing": [],
    "extra": ["80012345678912"],
}

WAREHOUSE_ACT_REQUEST: dict[str, Any] = {"hub": "DH-155650", "warehouse": None}

WAREHOUSE_ACT: dict[str, Any] = {
    "number": "WA-2026-000001",
    "hub": "DH-155650",
    "warehouse": "WH-OZON-1",
    "warehouse_name": "Склад OZON",
    "marketplace": "OZON",
    "timezone": "Europe/Moscow",
    "created_at": "2026-11-24T06:00:00Z",
    "items": 1,
    "weight_g": 1500,
    "lines": [
        {
            "line": 1,
            "barcode": "80012345678905",
            "kind": "shipment",
            "office_index": "155650",
            "weight_g": 1500,
        }
    ],
}
