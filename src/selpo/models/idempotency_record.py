from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, Partitioned, UTCDateTime


class IdempotencyRecord(Partitioned, Base):
    """The first answer to a request sent with an ``Idempotency-Key``, replayed on retries
    (a test key's keys are the sandbox's: the same key live is another request)."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("marketplace_id", "sandbox", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
