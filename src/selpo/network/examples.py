"""OpenAPI examples of the pickup-point API: an office as the API shows it. The index, the
region's code and zone are the default region's (``regions.data_example``); the rest is
illustrative."""

from __future__ import annotations

from typing import Any

from selpo.network import regions


def _data(name: str, fallback: str) -> str:
    value = regions.data_example(name)
    return value if isinstance(value, str) else fallback


INDEX = _data("office_index", "000000")
_WEEKDAY = [["08:00", "13:00"], ["14:00", "19:00"]]

PICKUP_POINT: dict[str, Any] = {
    "index": INDEX,
    "name": "ОПС Сосновка",
    "address": f"{INDEX}, Сосновка, ул. Центральная, 1",
    "address_is_estimate": True,
    "lat": 56.7086,
    "lon": 42.66954,
    "coord_precision": "settlement_centroid",
    "district": "Сосновский район",
    "settlement": "Сосновка",
    "rural": False,
    "status": "open",
    "opening_hours": [_WEEKDAY] * 5 + [[["09:00", "15:00"]], []],
    "opening_hours_is_default": True,
    "timezone": _data("timezone", "Europe/Moscow"),
    "open_now": True,
    "marketplaces": ["OZON", "YANDEX_MARKET"],
    "fits": True,
    "max_weight_g": 20000,
    "max_dimensions_mm": [600, 400, 400],
    "cells": {"S": 30, "M": 20, "L": 8},
    "cell_limits_mm": {"S": [400, 300, 150], "M": [400, 300, 300], "L": [600, 400, 400]},
    "payment_methods": ["cash", "card"],
    "accepts_cash": True,
    "accepts_card": True,
    "fitting": True,
    "fitting_is_default": True,
    "next_holidays": ["2026-12-31", "2027-01-01", "2027-01-02"],
    "region": _data("region", "00"),
    "updated_at": "2026-11-20T09:00:00Z",
}

PICKUP_POINT_PAGE: dict[str, Any] = {
    "items": [{**PICKUP_POINT, "distance_m": 1240}],
    "next_cursor": None,
}
