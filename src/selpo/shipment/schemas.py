"""Shapes of the shipment API (pydantic): what marketplaces send and what they get back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from selpo.kit.moments import Moment
from selpo.kit.phone import parse_russian_mobile
from selpo.network import regions
from selpo.shipment.places import MAX_PLACES

MAX_KOP = 100_000_000_00  # 100 million roubles: beyond any parcel


def _clean_name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("the recipient's name is empty")
    return value


class Recipient(BaseModel):
    """Who collects the parcel."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(description="Russian mobile number, +79XXXXXXXXX", examples=["+79161234567"])

    @field_validator("phone")
    @classmethod
    def _mobile(cls, value: str) -> str:
        return parse_russian_mobile(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _clean_name(value)


class Parcel(BaseModel):
    """The parcel's weight, outer size and value, in grams, millimetres and kopecks."""

    model_config = ConfigDict(extra="forbid")

    weight_g: int = Field(gt=0, le=100_000)
    length_mm: int = Field(gt=0, le=3000)
    width_mm: int = Field(gt=0, le=3000)
    height_mm: int = Field(gt=0, le=3000)
    declared_value_kop: int = Field(ge=0, le=MAX_KOP)
    cod_kop: int = Field(default=0, ge=0, le=MAX_KOP)


_SIZE = ("weight_g", "length_mm", "width_mm", "height_mm")


def _size_optional(schema: JsonDict) -> None:
    required = schema.get("required")
    if isinstance(required, list):
        schema["required"] = [f for f in required if f not in _SIZE]


class ParcelIn(Parcel):
    """The parcel's weight, outer size and value. With ``places`` the weight and size may be
    left out: the weight is then the places' sum, the size the largest place's."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_size_optional)


class PlaceIn(BaseModel):
    """One place (box) of an order of several places: it travels, is labelled and scanned
    on its own."""

    model_config = ConfigDict(extra="forbid")

    weight_g: int = Field(gt=0, le=100_000)
    length_mm: int = Field(gt=0, le=3000)
    width_mm: int = Field(gt=0, le=3000)
    height_mm: int = Field(gt=0, le=3000)
    external_place_id: str | None = Field(
        default=None, max_length=100, description="The marketplace's own id of the box"
    )


def _place_size(place: Any) -> tuple[int, int, int, int] | None:
    """A raw place's weight and size, or ``None`` when they are not all whole numbers."""
    if not isinstance(place, dict):
        return None
    values: list[int] = []
    for name in _SIZE:
        value = place.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        values.append(value)
    weight, length, width, height = values
    return weight, length, width, height


def fill_parcel_from_places(data: Any) -> Any:
    """A raw shipment body with the parcel's missing weight (the places' sum) and size (the
    largest place's, by volume) taken from its places; anything else left as it came."""
    if not isinstance(data, dict):
        return data
    places = data.get("places")
    parcel = data.get("parcel")
    if not isinstance(places, list) or not places or not isinstance(parcel, dict):
        return data
    sizes = [_place_size(p) for p in places]
    if any(size is None for size in sizes):
        return data
    known = [size for size in sizes if size is not None]
    largest = max(known, key=lambda size: size[1] * size[2] * size[3])
    derived = {
        "weight_g": sum(size[0] for size in known),
        "length_mm": largest[1],
        "width_mm": largest[2],
        "height_mm": largest[3],
    }
    filled = {**derived, **{k: v for k, v in parcel.items() if v is not None or k not in _SIZE}}
    return {**data, "parcel": filled}


class Item(BaseModel):
    """One line of the order."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    quantity: int = Field(gt=0, le=10_000)
    price_kop: int = Field(ge=0, le=MAX_KOP)


class Options(BaseModel):
    """Services the marketplace orders with the shipment."""

    model_config = ConfigDict(extra="forbid")

    fitting: bool = False
    contents_check: bool = False
    partial_redemption: bool = False


class ShipmentCreate(BaseModel):
    """A new shipment addressed to a post office."""

    model_config = ConfigDict(extra="forbid")

    external_order_id: str = Field(min_length=1, max_length=100)
    destination_index: str = Field(
        pattern=r"^\d{6}$", json_schema_extra=regions.schema_example("office_index")
    )
    recipient: Recipient
    parcel: ParcelIn
    items: list[Item] = Field(min_length=1, max_length=500)
    options: Options = Field(default_factory=Options)
    places: list[PlaceIn] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PLACES,
        description=f"1 to {MAX_PLACES} places (boxes) travelling separately, each with its "
        "own tracking number and label; left out, the shipment is one place",
    )

    @model_validator(mode="before")
    @classmethod
    def _size_from_places(cls, data: Any) -> Any:
        return fill_parcel_from_places(data)

    def place_sizes(self) -> list[PlaceIn]:
        """The places as sent, or the one place the parcel is."""
        if self.places:
            return list(self.places)
        parcel = self.parcel
        return [
            PlaceIn(
                weight_g=parcel.weight_g,
                length_mm=parcel.length_mm,
                width_mm=parcel.width_mm,
                height_mm=parcel.height_mm,
            )
        ]


# A field of a change left out of the body is ``None``; a ``null`` sent is refused, so the
# schema does not offer it.
Absent = SkipJsonSchema[None]


class _Patch(BaseModel):
    """A part of a change: only the fields sent, none of them null, at least one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _some_field_and_no_null(self) -> _Patch:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null (a field cannot be removed)")
        return self

    def sent(self) -> dict[str, Any]:
        """The fields sent, flattened to dotted names (``recipient.phone``)."""
        flat: dict[str, Any] = {}
        for name in sorted(self.model_fields_set):
            value = getattr(self, name)
            if isinstance(value, _Patch):
                flat.update((f"{name}.{k}", v) for k, v in value.sent().items())
            else:
                flat[name] = value
        return flat


class RecipientPatch(_Patch):
    """A new name or phone of the recipient."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | Absent = None
    phone: str | Absent = Field(
        default=None, description="Russian mobile number, +79XXXXXXXXX", examples=["+79161234567"]
    )

    @field_validator("phone")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return None if value is None else parse_russian_mobile(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _clean_name(value)


class ParcelPatch(_Patch):
    """A new amount to collect on delivery (never above the declared value)."""

    cod_kop: Annotated[int, Field(ge=0, le=MAX_KOP)] | Absent = None


class OptionsPatch(_Patch):
    """Services switched on or off."""

    fitting: bool | Absent = None
    contents_check: bool | Absent = None
    partial_redemption: bool | Absent = None


class ShipmentPatch(_Patch):
    """A change of a shipment, shaped like the shipment (a JSON merge patch without removal):
    only the fields sent change. Which may still change depends on the status (see
    ``GET /v1/shipments/{n}``'s ``status`` and docs/shipments.md)."""

    recipient: RecipientPatch | Absent = None
    parcel: ParcelPatch | Absent = None
    destination_index: Annotated[str, Field(pattern=r"^\d{6}$")] | Absent = Field(
        default=None, json_schema_extra=regions.schema_example("office_index")
    )
    options: OptionsPatch | Absent = None


class TrackingEventRead(BaseModel):
    """One tracking event."""

    code: str
    status: str
    applied: bool
    occurred_at: datetime
    office_index: str | None
    actor: str
    changed: list[str] | None = Field(
        default=None,
        description="For an ``updated`` event: which fields the marketplace changed",
        examples=[["recipient.phone", "parcel.cod_kop"]],
    )


class PlaceRead(BaseModel):
    """One place of a shipment with where it is."""

    number: int = Field(description="1..n; place 1's tracking number is the shipment's")
    tracking_number: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    external_place_id: str | None
    status: str = Field(
        description="The place's own status while it travels (created, handed_over, "
        "in_transit, arrived_at_office, lost); once it is at the office with its order, "
        "the order's status"
    )
    arrived_at: datetime | None


class ItemRead(Item):
    """An order line with what the recipient refused."""

    refused_quantity: int


class ShipmentRead(BaseModel):
    """A shipment as its marketplace sees it (personal data masked)."""

    tracking_number: str
    external_order_id: str
    status: str
    destination_index: str
    recipient: dict[str, str] = Field(description="Masked name and phone")
    parcel: Parcel
    items: list[ItemRead]
    options: dict[str, Any]
    promised_date: date | None
    ready_at: datetime | None
    storage_deadline: datetime | None
    storage_extended: bool
    cod_collected_kop: int
    cod_method: str | None
    created_at: datetime
    updated_at: datetime
    events: list[TrackingEventRead]
    places: list[PlaceRead]


class ShipmentSummary(BaseModel):
    """A shipment in a list (no events, personal data masked)."""

    tracking_number: str
    external_order_id: str
    status: str
    destination_index: str
    recipient: dict[str, str]
    promised_date: date | None
    storage_deadline: datetime | None
    updated_at: datetime
    places: list[PlaceRead]


class ShipmentPage(BaseModel):
    """One page of shipments with the cursor of the next."""

    items: list[ShipmentSummary]
    next_cursor: str | None


class BatchItemResult(BaseModel):
    """The outcome of one shipment of a batch."""

    position: int
    status_code: int
    shipment: ShipmentRead | None = None
    error: dict[str, Any] | None = None


class BatchResult(BaseModel):
    """Per-item outcomes of a batch."""

    created: int
    failed: int
    results: list[BatchItemResult]


class TrackingEventCreate(BaseModel):
    """A scan reported by a hub or an office system (operator key)."""

    model_config = ConfigDict(extra="forbid")

    tracking_number: str
    code: str
    occurred_at: Moment
    office_index: str | None = Field(default=None, pattern=r"^\d{6}$")
    actor: str = Field(default="hub-scan", max_length=100)
    raw: dict[str, Any] | None = None


class TrackingEventBatchItem(TrackingEventCreate):
    """One scan of a batch: ``scan_id`` is the scanner's own id for it, so a batch sent
    again records nothing twice."""

    scan_id: str = Field(min_length=1, max_length=100)


class TrackingEventBatchItemResult(BaseModel):
    """The outcome of one scan of a batch: 201 recorded (``applied``: it moved the status),
    200 recorded before under the same ``scan_id``, else the status and problem of its
    refusal. ``status`` is the parcel's once the whole batch is recorded."""

    position: int
    status_code: int
    scan_id: str | None = None
    tracking_number: str | None = None
    applied: bool = False
    status: str | None = None
    error: dict[str, Any] | None = None


class TrackingEventBatchResult(BaseModel):
    """Per-scan outcomes of a batch of scans."""

    recorded: int
    repeated: int
    failed: int
    results: list[TrackingEventBatchItemResult]


class CodReport(BaseModel):
    """Cash on delivery reconciled for one marketplace and day."""

    date: date
    marketplace: str
    shipments: int
    due_kop: int
    collected_kop: int
    collected_cash_kop: int
    collected_card_kop: int
    difference_kop: int
    tracking_numbers: list[str]


MAX_LABELS = 500


def _labels_example(schema: JsonDict) -> None:
    numbers = regions.data_example("tracking_numbers")
    if numbers is not None:
        schema["examples"] = [{"tracking_numbers": numbers, "format": "a4"}]  # type: ignore[dict-item]


class LabelsRequest(BaseModel):
    """Labels of many shipments in one PDF."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_labels_example,
    )

    tracking_numbers: list[Annotated[str, Field(max_length=32)]] = Field(
        min_length=1,
        max_length=MAX_LABELS,
        description=f"1 to {MAX_LABELS} of your shipments' tracking numbers; "
        "a number given twice is printed once",
        json_schema_extra=regions.schema_example("tracking_numbers"),
    )
    format: Literal["a6", "a4"] = Field(
        default="a6",
        description="`a6`: one 100×150 mm label a page (thermal printers); "
        "`a4`: four labels an A4 page, 2×2 with cut marks",
    )


class RefusedItem(BaseModel):
    """Units of one line the recipient does not take (a partial delivery)."""

    model_config = ConfigDict(extra="forbid")

    position: int = Field(ge=0, le=999, description="The line's position in `items`, from 0")
    quantity: int = Field(ge=1, le=100_000, description="How many of its units are refused")


class SandboxAdvance(BaseModel):
    """Where to move a sandbox shipment (``POST /v1/sandbox/shipments/{n}/advance``)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[
        "handed_over",
        "in_transit",
        "arrived_at_office",
        "ready_for_pickup",
        "delivered",
        "partially_delivered",
        "refused",
        "storage_expired",
        "returning",
        "returned",
        "cancelled",
        "lost",
    ] = Field(description="The status to reach; every status on the way is passed through")
    refused_items: list[RefusedItem] | None = Field(
        default=None,
        max_length=100,
        description="With `partially_delivered` only: what the recipient refuses (default: "
        "one unit of the last line; the order must allow partial redemption)",
    )
