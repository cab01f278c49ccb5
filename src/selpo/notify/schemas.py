"""Pydantic shapes of webhook subscriptions and deliveries as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class WebhookSubscriptionCreate(BaseModel):
    """A URL to receive events, and which event types (``*`` for all)."""

    url: str = Field(
        max_length=2000,
        description="http(s) URL that receives the signed POSTs",
        examples=["https://market.example/selpo/webhooks"],
    )
    events: list[str] = Field(
        min_length=1,
        description="Event types, or `*` for every type",
        examples=[["shipment.status_changed", "shipment.cancelled"]],
    )


class WebhookSubscriptionRead(BaseModel):
    """A subscription (its secret is shown only when it is created)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


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
    last_error: str | None


class WebhookDeliveryPage(BaseModel):
    """Deliveries, newest first."""

    items: list[WebhookDeliveryRead]


class ReplayResult(BaseModel):
    """How many events were queued again."""

    requeued: int
