from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class WebhookSubscription(Base):
    """A marketplace's endpoint that receives the events it chose, signed with a shared secret.

    The secret is stored as given, unlike API keys: selpo must compute HMACs with it on every
    delivery, so a one-way digest would not do.
    """

    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)  # event types, or ["*"] for all
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The endpoint's health: failures in a row (refused, timed out, 5xx) and, while failing,
    # the moment before which none of its messages is tried (one probe at a time after it).
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Events per POST: 1 sends each event on its own (the body is the event); 2 to 100 sends
    # up to that many of its claimed events together as {"batch_id", "events": [...]}.
    batch_max: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
