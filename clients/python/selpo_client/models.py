"""Typed shapes of selpo's marketplace API, hand-written after its OpenAPI (``/openapi.json``).

What the client sends is checked here before it leaves (``extra="forbid"``: a misspelt field
fails at once, as the server would refuse it); what the server answers is read leniently
(``extra="allow"``): a field the server adds later is kept on the model, never an error.
Money is integer kopecks (``*_kop``), weights grams, sizes millimetres; times are UTC-aware.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Answer(BaseModel):
    """A body the server answered: unknown fields are kept (forward compatible)."""

    model_config = ConfigDict(extra="allow")


class Request(BaseModel):
    """A body the client sends: unknown fields are refused before the request goes out."""

    model_config = ConfigDict(extra="forbid")

    def body(self) -> dict[str, Any]:
        """The JSON body: the fields set, without the ``None`` ones."""
        return self.model_dump(mode="json", exclude_none=True)


# --------------------------------------------------------------------------------- shipments


class Recipient(Request):
    """Who collects the parcel: a name and a Russian mobile number (``+79XXXXXXXXX``)."""

    name: str = Field(min_length=1, max_length=200)
    phone: str


class Parcel(Request):
    """The parcel's weight, outer size and value. With ``places`` the weight and size may be
    left out (the server sums the places' weights and takes the largest place's size)."""

    weight_g: int | None = Field(default=None, gt=0)
    length_mm: int | None = Field(default=None, gt=0)
    width_mm: int | None = Field(default=None, gt=0)
    height_mm: int | None = Field(default=None, gt=0)
    declared_value_kop: int = Field(ge=0)
    cod_kop: int = Field(default=0, ge=0)


class Item(Request):
    """One line of the order."""

    sku: str
    name: str
    quantity: int = Field(gt=0)
    price_kop: int = Field(ge=0)


class Options(Request):
    """Services ordered with the shipment."""

    fitting: bool = False
    contents_check: bool = False
    partial_redemption: bool = False


class NewPlace(Request):
    """One place (box) of a multi-place order (added with the places feature)."""

    weight_g: int = Field(gt=0)
    length_mm: int = Field(gt=0)
    width_mm: int = Field(gt=0)
    height_mm: int = Field(gt=0)
    external_place_id: str | None = None


class NewShipment(Request):
    """A new shipment addressed to a post office (``POST /v1/shipments``)."""

    external_order_id: str = Field(min_length=1, max_length=100)
    destination_index: str = Field(pattern=r"^\d{6}$")
    recipient: Recipient
    parcel: Parcel
    items: list[Item] = Field(min_length=1)
    options: Options | None = None
    places: list[NewPlace] | None = Field(default=None, min_length=1, max_length=20)


class RecipientChange(Request):
    """A new name and/or phone of the recipient."""

    name: str | None = None
    phone: str | None = None


class ParcelChange(Request):
    """A new amount to collect (never above the declared value)."""

    cod_kop: int | None = Field(default=None, ge=0)


class OptionsChange(Request):
    """Services switched on or off."""

    fitting: bool | None = None
    contents_check: bool | None = None
    partial_redemption: bool | None = None


class ShipmentChange(Request):
    """A change of a shipment (``PATCH``): only the fields given change."""

    recipient: RecipientChange | None = None
    parcel: ParcelChange | None = None
    destination_index: str | None = Field(default=None, pattern=r"^\d{6}$")
    options: OptionsChange | None = None


class TrackingEvent(Answer):
    """One tracking event of a shipment."""

    code: str
    status: str
    applied: bool
    occurred_at: datetime
    office_index: str | None = None
    actor: str
    changed: list[str] | None = None


class ItemRead(Answer):
    """An order line with what the recipient refused."""

    sku: str
    name: str
    quantity: int
    price_kop: int
    refused_quantity: int = 0


class ParcelRead(Answer):
    """The parcel as recorded."""

    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    declared_value_kop: int
    cod_kop: int


class Place(Answer):
    """One place of the order with its own tracking number (added with the places feature)."""

    number: int
    tracking_number: str
    weight_g: int
    length_mm: int
    width_mm: int
    height_mm: int
    external_place_id: str | None = None
    status: str
    arrived_at: datetime | None = None


class Shipment(Answer):
    """A shipment as its marketplace sees it (the recipient masked)."""

    tracking_number: str
    external_order_id: str
    status: str
    destination_index: str
    recipient: dict[str, str]
    parcel: ParcelRead
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
    events: list[TrackingEvent]
    places: list[Place] = Field(default_factory=list)


class ShipmentSummary(Answer):
    """A shipment in a list (no events)."""

    tracking_number: str
    external_order_id: str
    status: str
    destination_index: str
    recipient: dict[str, str]
    promised_date: date | None
    storage_deadline: datetime | None
    updated_at: datetime


class ShipmentPage(Answer):
    """One page of shipments and the cursor of the next (``None`` on the last)."""

    items: list[ShipmentSummary]
    next_cursor: str | None


class BatchItemResult(Answer):
    """The outcome of one shipment of a batch: the shipment, or its problem."""

    position: int
    status_code: int
    shipment: Shipment | None = None
    error: dict[str, Any] | None = None


class BatchResult(Answer):
    """Per-item outcomes of a batch; a bad item fails alone."""

    created: int
    failed: int
    results: list[BatchItemResult]


class NewScan(Request):
    """A hub's or an office system's scan, sent with the operator key
    (``POST /v1/tracking-events/batch``); ``scan_id`` is the scanner's own id for it, so a
    batch sent again records nothing twice."""

    scan_id: str = Field(min_length=1, max_length=100)
    tracking_number: str
    code: str
    occurred_at: datetime
    office_index: str | None = Field(default=None, pattern=r"^\d{6}$")
    actor: str | None = Field(default=None, max_length=100)
    raw: dict[str, Any] | None = None


class ScanResult(Answer):
    """The outcome of one scan of a batch: 201 recorded, 200 recorded before (same
    ``scan_id``), else its problem in ``error``; ``status`` is the parcel's after the batch."""

    position: int
    status_code: int
    scan_id: str | None = None
    tracking_number: str | None = None
    applied: bool = False
    status: str | None = None
    error: dict[str, Any] | None = None


class ScanBatchResult(Answer):
    """Per-scan outcomes of a batch of scans; a bad scan fails alone."""

    recorded: int
    repeated: int
    failed: int
    results: list[ScanResult]


class CodReport(Answer):
    """Cash on delivery reconciled for one day."""

    date: date
    marketplace: str
    shipments: int
    due_kop: int
    collected_kop: int
    collected_cash_kop: int
    collected_card_kop: int
    difference_kop: int
    tracking_numbers: list[str]


# ------------------------------------------------------------------------------ pickup points


class PickupPoint(Answer):
    """A post office as a pickup point."""

    index: str
    name: str
    address: str
    lat: float
    lon: float
    coord_precision: str
    status: str
    opening_hours: list[list[list[str]]]
    timezone: str
    open_now: bool
    marketplaces: list[str]
    fits: bool | None = None
    max_weight_g: int
    max_dimensions_mm: list[int]
    cells: dict[str, int]
    cell_limits_mm: dict[str, list[int]] = Field(default_factory=dict)
    payment_methods: list[str] = Field(default_factory=list)
    accepts_cash: bool | None = None
    accepts_card: bool | None = None
    fitting: bool | None = None
    next_holidays: list[date] = Field(default_factory=list)
    region: str | None = None
    updated_at: datetime | None = None
    distance_m: int | None = None


class PickupPointPage(Answer):
    """Search results (nearest first) or a page of the listing by index."""

    items: list[PickupPoint]
    next_cursor: str | None = None


# ------------------------------------------------------------------------------------- quotes


class QuoteRequest(Request):
    """A parcel to price (``POST /v1/quotes``)."""

    destination_index: str = Field(pattern=r"^\d{6}$")
    weight_g: int = Field(gt=0)
    length_mm: int = Field(gt=0)
    width_mm: int = Field(gt=0)
    height_mm: int = Field(gt=0)
    declared_value_kop: int = Field(default=0, ge=0)
    cod_kop: int = Field(default=0, ge=0)
    handover_at: datetime | None = None
    warehouse: str | None = None


class PriceBreakdown(Answer):
    """How the price is made up."""

    base_kop: int
    cod_fee_kop: int
    insurance_kop: int
    zone: int
    chargeable_weight_g: int
    distance_km: float


class Quote(Answer):
    """Price and delivery window."""

    destination_index: str
    price_kop: int
    currency: str
    earliest: datetime
    latest: datetime
    promised_date: date
    route_id: str
    departure: datetime
    warehouse: str
    handover_at: datetime
    timezone: str
    price: PriceBreakdown


# ----------------------------------------------------------------------------------- webhooks


class WebhookSubscription(Answer):
    """A subscription (its secret is shown only when created)."""

    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    batch_max: int = 1  # events per POST; above 1 they come as a ``WebhookBatch``
    held_until: datetime | None = None


class WebhookSubscriptionChange(Request):
    """A change of a subscription (``PATCH /v1/webhooks/{id}``): only the fields set."""

    batch_max: int | None = Field(default=None, ge=1, le=100)
    events: list[str] | None = Field(default=None, min_length=1)


class WebhookSubscriptionCreated(WebhookSubscription):
    """A new subscription with its signing secret: store it, it is never shown again."""

    secret: str


class WebhookDelivery(Answer):
    """One delivery of one event to a subscription."""

    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    available_at: datetime
    sent_at: datetime | None
    last_error: str | None
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_duration_ms: int | None = None


class WebhookEventType(Answer):
    """One event type of the catalogue: its meaning, the schema of its ``data``, an example."""

    type: str
    description: str
    payload_schema: dict[str, Any]
    example: dict[str, Any]


class WebhookEvent(Answer):
    """A webhook's body as received: the event's id, type, time and ``data``."""

    event_id: str
    type: str
    created_at: datetime
    data: dict[str, Any]
    sandbox: bool = False  # a test key's shipment: ``"sandbox": true`` beside ``data``


class WebhookBatch(Answer):
    """A batched webhook's body (a subscription with ``batch_max`` above 1): up to that many
    events, each exactly the body it would have alone. ``batch_id`` names this POST only (a
    retry may group differently): de-duplicate on each event's ``event_id``."""

    batch_id: str
    events: list[WebhookEvent]


# ---------------------------------------------------------- hand-over acts (added with acts)


class HandoverShipment(Answer):
    """One shipment on a hand-over act."""

    line: int | None = None  # the row on the act, from 1
    tracking_number: str
    external_order_id: str
    places: int
    weight_g: int
    declared_value_kop: int
    cod_kop: int
    scanned_at: datetime | None = None  # when the hub scanned it


class HandoverAcceptance(Answer):
    """The hub's acceptance scan against the act."""

    accepted_at: datetime
    hub: str | None = None
    missing: list[str]
    extra: list[str]


class Handover(Answer):
    """A numbered hand-over act (the register the driver signs at the warehouse)."""

    id: int
    number: str
    warehouse: str
    created_at: datetime
    status: Literal["open", "accepted", "accepted_with_discrepancies"] | str
    count: int
    places: int
    weight_g: int
    declared_value_kop: int
    cod_kop: int
    scanned: int = 0  # shipments the hub has scanned so far
    shipments: list[HandoverShipment] = Field(default_factory=list)  # not in the list's items
    acceptance: HandoverAcceptance | None = None


# ------------------------------------------------------------------ payouts (added with money)


class PayoutShipment(Answer):
    """One shipment behind a day's payout."""

    tracking_number: str
    external_order_id: str
    office_index: str
    method: str
    collected_kop: int
    fee_kop: int
    collected_at: datetime


class PayoutRefund(Answer):
    """Cash a counter paid back to a buyer for a return (deducted from the day's payout)."""

    return_id: int
    external_return_id: str
    tracking_number: str
    return_tracking_number: str
    office_index: str
    refund_kop: int
    refunded_at: datetime


class PayoutTotals(Answer):
    """Sums of a period."""

    cash_kop: int
    card_kop: int
    collected_kop: int
    fee_kop: int
    refunded_kop: int = 0
    to_transfer_kop: int


class PayoutDay(PayoutTotals):
    """One day: collected in cash and by card, the fee, what is transferred."""

    date: date
    closed: bool
    fee_rate: str | None = None  # the day's rate (fixed once the day is closed)
    shipments: list[PayoutShipment] = Field(default_factory=list)
    refunds: list[PayoutRefund] = Field(default_factory=list)


class Payouts(Answer):
    """What is due to the marketplace per day of a period."""

    marketplace: str
    from_: date = Field(alias="from")
    to: date
    currency: str
    fee_rate: str
    days: list[PayoutDay]
    totals: PayoutTotals


# ------------------------------------------------------------------ buyers' returns (issue 16)


class ReturnLine(Request):
    """A line of the order the buyer returns: its position in the order and the units."""

    position: int = Field(ge=0)
    quantity: int = Field(gt=0)


class NewReturn(Request):
    """A buyer's return to register (``POST /v1/returns``)."""

    tracking_number: str
    external_return_id: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=500)
    items: list[ReturnLine] = Field(min_length=1)
    cash_refund: bool | None = None


class ReturnItem(Answer):
    """A line of a return."""

    position: int
    sku: str
    name: str
    quantity: int
    price_kop: int
    accepted_quantity: int | None = None


class CustomerReturn(Answer):
    """A buyer's return: registered, accepted at a counter, in transit, delivered."""

    id: int
    external_return_id: str
    tracking_number: str
    external_order_id: str
    status: str
    reason: str
    items: list[ReturnItem]
    return_deadline: datetime
    cash_refund: bool
    refund_kop: int
    return_tracking_number: str | None = None
    office_index: str | None = None
    accepted_at: datetime | None = None
    in_transit_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class RegisteredReturn(CustomerReturn):
    """A return just registered, with the code to show the buyer (given once)."""

    return_code: str


class ReturnPage(Answer):
    """A page of returns and the cursor of the next."""

    items: list[CustomerReturn]
    next_cursor: str | None = None
