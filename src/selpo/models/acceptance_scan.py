from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class AcceptanceScan(Base):
    """What one scan of an acceptance found (or, on closing, an expected parcel not seen)."""

    __tablename__ = "acceptance_scan"
    # A scan sent again by the counter's queue (a retry, a replay after the line returned)
    # carries the id the browser gave it: recorded once, however often it arrives.
    __table_args__ = (UniqueConstraint("client_scan_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    acceptance_id: Mapped[int] = mapped_column(ForeignKey("acceptance.id"), index=True)
    barcode: Mapped[str] = mapped_column(String(64))
    shipment_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), index=True
    )
    # accepted | duplicate | already_here | other_office | wrong_status | unknown
    # | bad_check_digit | not_a_tracking_number | missing
    result: Mapped[str] = mapped_column(String(32))
    damaged: Mapped[bool] = mapped_column(default=False)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("clerk.id"))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    client_scan_id: Mapped[str | None] = mapped_column(String(64))
