"""What the partner API shows (``GET /v1/collections``, the collection acts)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

_Day = date  # fields named ``date`` would shadow the type in their class

_ROW_EXAMPLE: JsonDict = {
    "date": "2026-11-25",
    "office_index": "155650",
    "office_name": "Пестяки",
    "bags": 3,
    "weight_g": 7450,
    "kilograms": 7.45,
}
_TOTALS_EXAMPLE: JsonDict = {"bags": 3, "weight_g": 7450, "kilograms": 7.45}
_BAG_EXAMPLE: JsonDict = {
    "code": "PB1556504829135",
    "office_index": "155650",
    "material": "textile",
    "weight_g": 2450,
    "taken_at": "2026-11-25T09:00:00Z",
}
_ACT_EXAMPLE: JsonDict = {
    "number": "CA-2026-000001",
    "partner": "ECOTEX",
    "hub": "HUB-PESTYAKI",
    "created_at": "2026-11-27T10:30:00Z",
    "bags": 1,
    "weight_g": 2450,
    "kilograms": 2.45,
    "items": [_BAG_EXAMPLE],
}


class CollectionTotals(BaseModel):
    """Bags and their weight."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TOTALS_EXAMPLE]})

    bags: int
    weight_g: int = Field(description="Grams, as weighed at the counter")
    kilograms: float = Field(description="`weight_g` / 1000, to the gram")


class CollectionRow(CollectionTotals):
    """One office on one day (the office's own calendar day) with bags taken."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ROW_EXAMPLE]})

    date: _Day
    office_index: str
    office_name: str


class CollectionReport(BaseModel):
    """A partner's bags taken at the counters, per office and day, over a range of days."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "partner": "ECOTEX",
                    "from": "2026-11-25",
                    "to": "2026-11-25",
                    "rows": [_ROW_EXAMPLE],
                    "totals": _TOTALS_EXAMPLE,
                }
            ]
        },
    )

    partner: str
    first: _Day = Field(alias="from", serialization_alias="from")
    last: _Day = Field(alias="to", serialization_alias="to")
    rows: list[CollectionRow] = Field(
        description="Offices and days with bags, by day then office index (days without any "
        "bag are left out)"
    )
    totals: CollectionTotals


class ActCreate(BaseModel):
    """The partner takes its bags at its depot hub."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"bags": ["PB1556504829135"]}, {}],
        },
    )

    bags: list[str] | None = Field(
        default=None,
        max_length=5000,
        description="The bag codes the partner's driver scanned at the hub; left out: every "
        "bag of the partner waiting at its depot hub. Sent again with the same codes, it "
        "answers the act already made for them.",
    )


class ActBag(BaseModel):
    """One bag on a collection act."""

    model_config = ConfigDict(json_schema_extra={"examples": [_BAG_EXAMPLE]})

    code: str
    office_index: str
    material: str
    weight_g: int
    taken_at: datetime


class ActRead(BaseModel):
    """A collection act: the bags the partner took at its depot hub."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ACT_EXAMPLE]})

    number: str = Field(description="Gap-free per partner and year: `CA-<year>-<serial>`")
    partner: str
    hub: str = Field(description="The hub's code (the partner's depot)")
    created_at: datetime
    bags: int
    weight_g: int
    kilograms: float
    items: list[ActBag]
