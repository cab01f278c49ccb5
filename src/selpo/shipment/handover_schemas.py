"""Shapes of the hand-over act API (pydantic): ``/v1/handovers`` and the hub's acceptance."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from selpo.kit.moments import Moment
from selpo.kit.openapi import keep_nulls
from selpo.network import regions

MAX_ACT = 5000
"""Shipments on one act at most (the driver's register; a truck's load is far less)."""
MAX_SCANS = 10_000
"""Tracking numbers one acceptance may list (the act's, and extra ones the hub found)."""

HandoverStatus = Literal["open", "accepted", "accepted_with_discrepancies"]
TrackingText = Annotated[str, Field(max_length=32)]


def _create_example(schema: JsonDict) -> None:
    numbers = regions.data_example("tracking_numbers")
    if numbers is not None:
        schema["examples"] = [{"warehouse": "W-PODOLSK", "tracking_numbers": numbers}]  # type: ignore[dict-item]


def _acceptance_example(schema: JsonDict) -> None:
    numbers = regions.data_example("tracking_numbers")
    if isinstance(numbers, list) and numbers:
        schema["examples"] = keep_nulls(
            [{"tracking_numbers": numbers[:1], "hub": None, "accepted_at": None}]
        )


def _read_example(schema: JsonDict) -> None:
    numbers = regions.data_example("tracking_numbers")
    if not isinstance(numbers, list) or len(numbers) < 2:
        return
    first, second = str(numbers[0]), str(numbers[1])
    schema["examples"] = keep_nulls(read_example(first, second))


def read_example(first: str, second: str) -> list[JsonDict]:
    """An accepted act of two parcels, the second missing at the hub."""
    return [
        {
            "id": 42,
            "number": "H-2026-000042",
            "warehouse": "W-PODOLSK",
            "created_at": "2026-12-07T13:05:00Z",
            "status": "accepted_with_discrepancies",
            "count": 2,
            "places": 2,
            "weight_g": 2400,
            "declared_value_kop": 300000,
            "cod_kop": 150000,
            "scanned": 1,
            "acceptance": {
                "accepted_at": "2026-12-07T21:40:00Z",
                "hub": None,
                "missing": [second],
                "extra": [],
            },
            "shipments": [
                {
                    "line": 1,
                    "tracking_number": first,
                    "external_order_id": "ORDER-1",
                    "places": 1,
                    "weight_g": 1200,
                    "declared_value_kop": 150000,
                    "cod_kop": 150000,
                    "scanned_at": "2026-12-07T21:32:10Z",
                },
                {
                    "line": 2,
                    "tracking_number": second,
                    "external_order_id": "ORDER-2",
                    "places": 1,
                    "weight_g": 1200,
                    "declared_value_kop": 150000,
                    "cod_kop": 0,
                    "scanned_at": None,
                },
            ],
        }
    ]


class HandoverCreate(BaseModel):
    """An act for the parcels a warehouse hands to the driver."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_create_example)

    warehouse: str = Field(
        min_length=1,
        max_length=32,
        description="The warehouse's code (`GET /v1/warehouses`)",
        examples=["W-PODOLSK"],
    )
    tracking_numbers: list[TrackingText] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ACT,
        description=f"1 to {MAX_ACT} of your shipments (created, or handed over and on no open "
        "act); omitted: every shipment of yours still `created`, oldest first, up to "
        f"{MAX_ACT}. A number given twice is listed once.",
    )


class HandoverLine(BaseModel):
    """One shipment on the act, as printed."""

    line: int = Field(description="The row on the act, from 1")
    tracking_number: str
    external_order_id: str
    places: int
    weight_g: int
    declared_value_kop: int
    cod_kop: int
    scanned_at: datetime | None = Field(
        description="When the hub scanned it at the acceptance (`null`: not yet, or missing)"
    )


class AcceptanceRead(BaseModel):
    """The hub's acceptance of an act: what it found against the act."""

    accepted_at: datetime
    hub: str | None = Field(description="The hub's code, when the acceptance named it")
    missing: list[str] = Field(description="On the act, never scanned at the hub")
    extra: list[str] = Field(description="Scanned at the acceptance, not on the act")


class HandoverSummary(BaseModel):
    """An act with its totals (the list shows these)."""

    id: int
    number: str = Field(examples=["H-2026-000001"])
    warehouse: str = Field(examples=["W-PODOLSK"])
    created_at: datetime
    status: HandoverStatus
    count: int = Field(description="Shipments on the act")
    places: int = Field(description="Places (packages) on the act")
    weight_g: int
    declared_value_kop: int
    cod_kop: int
    scanned: int = Field(description="Shipments the hub has scanned so far")
    acceptance: AcceptanceRead | None = Field(
        description="`null` while the act is open; the hub's findings once it is accepted"
    )


class HandoverRead(HandoverSummary):
    """An act, its shipments and the hub's acceptance."""

    model_config = ConfigDict(json_schema_extra=_read_example)

    shipments: list[HandoverLine]


def _page_example(schema: JsonDict) -> None:
    numbers = regions.data_example("tracking_numbers")
    if not isinstance(numbers, list) or len(numbers) < 2:
        return
    act = read_example(str(numbers[0]), str(numbers[1]))[0]
    summary = {key: value for key, value in act.items() if key != "shipments"}
    schema["examples"] = keep_nulls(
        [{"from": "2026-12-01", "to": "2026-12-07", "handovers": [summary]}]
    )


class HandoverPage(BaseModel):
    """The acts made on the days from ``from`` to ``to`` (the warehouse's days), oldest first."""

    model_config = ConfigDict(populate_by_name=True, json_schema_extra=_page_example)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    handovers: list[HandoverSummary]


class AcceptanceCreate(BaseModel):
    """The hub closes its acceptance of an act with the numbers it scanned."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_acceptance_example)

    tracking_numbers: list[TrackingText] = Field(
        max_length=MAX_SCANS,
        description="Every tracking number scanned from this act's delivery (may be empty: "
        "parcels already scanned at the hub by `POST /v1/tracking-events` count too)",
    )
    hub: str | None = Field(
        default=None,
        max_length=32,
        description="The accepting hub's code",
        json_schema_extra=regions.schema_example("hub_code"),
    )
    accepted_at: Moment | None = Field(
        default=None, description="When the acceptance ended, ISO 8601 with offset; default now"
    )
