"""Pydantic shapes of webhook subscriptions and deliveries as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from selpo.notify.batching import BATCH_MAX_LIMIT
from selpo.notify.events import CATALOGUE

BATCH_MAX_DESCRIPTION = (
    "Events per POST: 1 (the default) sends each event on its own, the body being the event;"
    f" 2 to {BATCH_MAX_LIMIT} sends up to that many at once as"
    ' `{"batch_id": ..., "events": [...]}` (every POST of the subscription then has that'
    " shape, even with one event), for receivers of many events (docs/notify.md, Batched"
    " delivery)"
)


class WebhookSubscriptionCreate(BaseModel):
    """A URL to receive events, and which event types (``*`` for all)."""

    url: str = Field(
        max_length=2000,
        description=(
            "https URL that receives the signed POSTs; its host must resolve to public"
            " addresses only"
        ),
        examples=["https://market.example/selpo/webhooks"],
    )
    events: list[str] = Field(
        min_length=1,
        description="Event types, or `*` for every type",
        examples=[["shipment.status_changed", "shipment.cancelled"]],
    )
    batch_max: int = Field(
        default=1,
        ge=1,
        le=BATCH_MAX_LIMIT,
        strict=True,
        description=BATCH_MAX_DESCRIPTION,
        examples=[50],
    )


class WebhookSubscriptionPatch(BaseModel):
    """A change of a subscription: only the fields sent change (at least one, none null)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    # A field left out is None; a null sent is refused below, so the schema does not offer it.
    batch_max: Annotated[
        int | None,
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": BATCH_MAX_LIMIT}),
    ] = Field(
        default=None,
        ge=1,
        le=BATCH_MAX_LIMIT,
        strict=True,
        description=BATCH_MAX_DESCRIPTION,
        examples=[50],
    )
    events: Annotated[
        list[str] | None,
        WithJsonSchema({"type": "array", "items": {"type": "string"}, "minItems": 1}),
    ] = Field(
        default=None,
        min_length=1,
        description="Event types, or `*` for every type: the whole new list (for events "
        "published from now on)",
        examples=[["*"]],
    )

    @model_validator(mode="after")
    def _some_field_and_no_null(self) -> WebhookSubscriptionPatch:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change: batch_max, events")
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self


class WebhookSubscriptionRead(BaseModel):
    """A subscription (its secret is shown only when it is created)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    batch_max: int = Field(description=BATCH_MAX_DESCRIPTION)
    held_until: datetime | None = Field(
        default=None,
        description=(
            "While the endpoint is failing: no delivery is tried before then (one probe after)"
        ),
    )


class WebhookSubscriptionCreated(WebhookSubscriptionRead):
    """A new subscription with its signing secret: store it now, it is never shown again."""

    secret: str = Field(description="Key of the HMAC-SHA256 in `X-Selpo-Signature`")


class WebhookSubscriptionPage(BaseModel):
    """The marketplace's active subscriptions."""

    items: list[WebhookSubscriptionRead]


class WebhookDeliveryRead(BaseModel):
    """One delivery of one event to the subscription."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    event_type: str
    status: str = Field(description="pending, sent, dead (gave up after 24 h) or cancelled")
    attempts: int
    created_at: datetime
    available_at: datetime = Field(description="When the next attempt is due (if pending)")
    sent_at: datetime | None
    last_error: str | None = Field(
        description="Why the last attempt failed (no connection, a timeout, `HTTP 503` ...)"
    )
    last_attempt_at: datetime | None = Field(description="When the last attempt was made")
    last_status_code: int | None = Field(
        description="HTTP status the receiver answered the last attempt with, if it answered"
    )
    last_duration_ms: int | None = Field(description="How long the last attempt took")


class WebhookDeliveryPage(BaseModel):
    """Deliveries, newest first."""

    items: list[WebhookDeliveryRead]


class ReplayResult(BaseModel):
    """How many events were queued again."""

    requeued: int


class WebhookEventType(BaseModel):
    """One event type of the webhook catalogue."""

    type: str = Field(examples=["shipment.cancelled"], description="The event type")
    description: str = Field(description="What the event means")
    payload_schema: dict[str, Any] = Field(
        description="JSON Schema of the event's `data` (the body's other fields are `event_id`, "
        "`type`, `created_at`)"
    )
    example: dict[str, Any] = Field(description="An example `data`")


def _catalogue_example() -> dict[str, Any]:
    kind = CATALOGUE["shipment.cancelled"]
    return {
        "items": [
            {
                "type": kind.event_type,
                "description": kind.description,
                "payload_schema": kind.payload_schema(),
                "example": kind.example,
            }
        ]
    }


class WebhookEventCatalogue(BaseModel):
    """Every webhook event type selpo sends."""

    model_config = ConfigDict(json_schema_extra={"examples": [_catalogue_example()]})

    items: list[WebhookEventType]
