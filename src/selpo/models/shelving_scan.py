from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class ShelvingScan(Base):
    """A parcel put in a cell from the counter's scan queue, under the id the browser gave the
    scan: a retry or a replay of the same id finds this row and changes nothing."""

    __tablename__ = "shelving_scan"
    __table_args__ = (UniqueConstraint("client_scan_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    client_scan_id: Mapped[str] = mapped_column(String(64))
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), index=True
    )
    cell_code: Mapped[str] = mapped_column(String(16))
    clerk_id: Mapped[int | None] = mapped_column(ForeignKey("clerk.id"))
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
