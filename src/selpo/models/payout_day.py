from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class PayoutDay(Base):
    """A marketplace's day closed for payout: its figures as sent in ``payout.ready`` (a day
    with nothing collected closes too, silently).

    The unique (marketplace, date) is what makes closing idempotent: of two workers closing the
    same day, one inserts the row (and queues the webhook in the same transaction), the other
    inserts nothing and sends nothing.
    """

    __tablename__ = "payout_day"
    __table_args__ = (UniqueConstraint("marketplace_id", "day"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"))
    day: Mapped[date]
    # The operator's fee rate in force when the day closed, in basis points (150 = 1.5 %).
    fee_rate_bp: Mapped[int] = mapped_column(Integer)
    cash_kop: Mapped[int] = mapped_column(BigInteger)
    card_kop: Mapped[int] = mapped_column(BigInteger)
    collected_kop: Mapped[int] = mapped_column(BigInteger)
    fee_kop: Mapped[int] = mapped_column(BigInteger)
    # Cash the counters paid back to buyers for returns that day (deducted from the transfer).
    refunded_kop: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    to_transfer_kop: Mapped[int] = mapped_column(BigInteger)
    shipments: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The ``payout.ready`` event's id; ``None`` for a day with nothing collected (no webhook).
    event_id: Mapped[str | None] = mapped_column(String(36))
