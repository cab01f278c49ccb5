from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class OutboxMessage(Base):
    """One message to deliver (a webhook POST to one subscription, or one SMS), written in the
    transaction of the change it reports and sent later by the worker."""

    __tablename__ = "outbox_message"
    # The worker's claim queries, each on a partial index that holds only the rows it looks
    # for, so it stays small however many million finished rows the month holds, and a sent
    # row leaves it (fewer index entries to write on a national day). The predicates name
    # 'pending' as a literal, and the queries (notify/delivery.py) spell it the same way, so
    # the planner matches them with or without statistics.
    __table_args__ = (
        # Due SMS, oldest first (they have no subscription).
        Index(
            "ix_outbox_message_pending_sms",
            "available_at",
            "id",
            postgresql_where=text("status = 'pending' AND subscription_id IS NULL"),
            sqlite_where=text("status = 'pending' AND subscription_id IS NULL"),
        ),
        # Due webhooks of one subscription, oldest first; also what is pending overall.
        Index(
            "ix_outbox_message_pending",
            "subscription_id",
            "available_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Claims running now (per subscription, against its concurrency limit).
        Index(
            "ix_outbox_message_claimed",
            "claimed_until",
            postgresql_where=text("claimed_until IS NOT NULL"),
            sqlite_where=text("claimed_until IS NOT NULL"),
        ),
    )

    # On PostgreSQL the table is partitioned by month on ``created_at`` and its primary key
    # is (id, created_at) (migration ``national_day_partitions``, ``selpo.partitions``); the
    # id alone stays unique by its sequence and is what the code looks rows up by.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook | sms
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | dead | cancelled
    # Webhooks: the event (one event fans out to a row per subscription, all with its id).
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_subscription.id"), index=True
    )
    event_id: Mapped[str | None] = mapped_column(String(36), index=True)
    event_type: Mapped[str | None] = mapped_column(String(64))
    event_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The webhook body ({event_id, type, created_at, data}) or the SMS ({phone, text}).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    reference: Mapped[str | None] = mapped_column(String(100))
    # Fields of the webhook's ``data`` held in clear (a pickup code) only until the message is
    # finished: sent, dead or cancelled, they are set to null and this to None.
    secret_fields: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    # Delivery: retried until created_at + 24 h, so a replay (a new row) gets a fresh day.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    # The last attempt: when, the HTTP status it got (none for SMS or no answer), how long it took.
    # Never the body of the answer.
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
