"""OpenAPI examples of the logistics API: real answers of the bundled data, trimmed to a stop
or two."""

from __future__ import annotations

from typing import Any

QUOTE_REQUEST: dict[str, Any] = {
    "destination_index": "155650",
    "weight_g": 1200,
    "length_mm": 300,
    "width_mm": 200,
    "height_mm": 100,
    "declared_value_kop": 150000,
    "cod_kop": 150000,
}

ROUTE_WRITE: dict[str, Any] = {
    "hub": "DH-153000",
    "weekdays": ["mon", "wed", "fri"],
    "departure": "08:00",
    "capacity_parcels": 500,
    "capacity_litres": 7000,
    "return_after_min": 300,
    "runs_on_holidays": False,
    "vehicle": "DH-153000-tvan1",
    "stops": [
        {"office_index": "153027", "arrival_after_min": 0},
        {"office_index": "153025", "arrival_after_min": 15},
    ],
}

QUOTE: Any = {
    "destination_index": "155650",
    "price_kop": 27650,
    "currency": "RUB",
    "earliest": "2026-11-26T06:00:00Z",
    "latest": "2026-11-28T06:00:00Z",
    "promised_date": "2026-11-28",
    "route_id": "DH-155650-T01",
    "departure": "2026-11-26T05:00:00Z",
    "warehouse": "W-PODOLSK",
    "handover_at": "2026-11-25T09:00:00Z",
    "timezone": "Europe/Moscow",
    "price": {
        "base_kop": 23900,
        "cod_fee_kop": 3000,
        "insurance_kop": 750,
        "zone": 2,
        "chargeable_weight_g": 1200,
        "distance_km": 453.1,
    },
}

ROUTE_RUNS: Any = [
    {
        "id": "DH-153000-T01@2026-11-26T05:00:00Z",
        "route_id": "DH-153000-T01",
        "hub": "DH-153000",
        "departure": "2026-11-26T05:00:00Z",
        "departure_local": "2026-11-26 08:00",
        "vehicle": "DH-153000-tvan1",
        "stops": 20,
        "capacity_parcels": 500,
        "capacity_litres": 7000,
        "manifest": "none",
        "parcels": 0,
        "litres": 0.0,
    }
]

MANIFEST: Any = {
    "id": "DH-153000-T01@2026-11-26T05:00:00Z",
    "route_id": "DH-153000-T01",
    "hub": "DH-153000",
    "hub_name": "Иваново (районный узел)",
    "vehicle": "DH-153000-tvan1",
    "timezone": "Europe/Moscow",
    "departure": "2026-11-26T05:00:00Z",
    "return_at": "2026-11-26T10:00:00Z",
    "capacity_parcels": 500,
    "capacity_litres": 7000,
    "parcels": 0,
    "litres": 0.0,
    "weight_g": 0,
    "stored": False,
    "departed": False,
    "stops": [
        {
            "seq": 1,
            "office_index": "153027",
            "office_name": "Иваново 27",
            "arrival_at": "2026-11-26T05:00:00Z",
            "parcels": 0,
        },
        {
            "seq": 2,
            "office_index": "153025",
            "office_name": "Иваново 25",
            "arrival_at": "2026-11-26T05:15:00Z",
            "parcels": 0,
        },
    ],
    "lines": [],
    "rolled": [],
}

ROUTE: Any = {
    "id": "DH-153000-T01",
    "hub": "DH-153000",
    "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat"],
    "departure": "08:00",
    "capacity_parcels": 500,
    "capacity_litres": 7000,
    "return_after_min": 300.0,
    "runs_on_holidays": False,
    "synthetic": True,
    "vehicle": "DH-153000-tvan1",
    "stops": [
        {"seq": 1, "office_index": "153027", "arrival_after_min": 0.0},
        {"seq": 2, "office_index": "153025", "arrival_after_min": 15.0},
    ],
}

TIMETABLE: Any = {
    "routes": 46,
    "stops": 301,
    "synthetic_routes": 46,
    "hubs": 22,
    "line_hauls": 25,
    "vehicles": 44,
    "offices_served": 301,
    "offices_unserved": [],
    "version": 1,
}

WAREHOUSES: Any = [
    {
        "code": "W-IVANOVO",
        "name": "Склад маркетплейсов Иваново",
        "lat": 56.97,
        "lon": 41.05,
        "timezone": "Europe/Moscow",
        "handling_min": 0.0,
        "is_default": False,
        "line_hauls": [
            {
                "id": "W-IVANOVO->RSC-153950@12:00",
                "origin": "W-IVANOVO",
                "destination": "RSC-153950",
                "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "departure": "12:00",
                "duration_min": 60.0,
                "synthetic": True,
            }
        ],
    }
]

ROUTES_CSV: Any = (
    "route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min,runs_on_holidays,synthetic,vehicle\n"
    "DH-153000-T01,DH-153000,mon|tue|wed|thu|fri|sat,08:00,500,7000,300,1,153027,0,0,1,DH-153000-tvan1\n"
    "DH-153000-T01,DH-153000,mon|tue|wed|thu|fri|sat,08:00,500,7000,300,2,153025,15,0,1,DH-153000-tvan1\n"
)
