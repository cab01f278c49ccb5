from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class TrackingEvent(Base):
    """An append-only fact about a shipment: never updated, never deleted."""

    __tablename__ = "tracking_event"
    # The dashboard counts events of a kind in a period (parcels received, issued, expired).
    __table_args__ = (Index("ix_tracking_event_code_occurred_at", "code", "occurred_at"),)

    # On PostgreSQL the table is partitioned by month on ``occurred_at`` and its primary key
    # is (id, occurred_at) (migration ``national_day_partitions``, ``selpo.partitions``); the
    # id alone stays unique by its sequence. No table refers to an event by a foreign key.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), index=True
    )
    code: Mapped[str] = mapped_column(String(40))
    status_after: Mapped[str] = mapped_column(String(32))
    applied: Mapped[bool] = mapped_column(default=True)  # False: late event, state kept
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    office_index: Mapped[str | None] = mapped_column(String(6))
    actor: Mapped[str] = mapped_column(String(100))
    source: Mapped[dict[str, Any] | None] = mapped_column(JSON)
