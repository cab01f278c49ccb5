from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class IssueReceipt(Base):
    """The receipt of a parcel handed over at a counter: its number (gap-free per office and
    year, from ``receipt_serial``), who issued it, and how the recipient was identified
    (``code``: the pickup code; ``document``: an identity document, its type and the last
    four characters of its number, never the whole number)."""

    __tablename__ = "issue_receipt"
    __table_args__ = (UniqueConstraint("post_office_id", "year", "number"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), unique=True
    )
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"))
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("clerk.id"))
    clerk_name: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    identified_by: Mapped[str] = mapped_column(String(16))  # code | document
    document_type: Mapped[str | None] = mapped_column(String(32))
    document_last4: Mapped[str | None] = mapped_column(String(4))
