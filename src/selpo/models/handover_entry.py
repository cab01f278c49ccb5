from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class HandoverEntry(Base):
    """One shipment on a hand-over act (its line as printed), and whether the hub scanned it."""

    __tablename__ = "handover_entry"
    __table_args__ = (
        UniqueConstraint("handover_id", "shipment_id"),
        # A shipment is on one open act at most.
        Index(
            "uq_handover_entry_open_shipment",
            "shipment_id",
            unique=True,
            sqlite_where=text("on_open_act"),
            postgresql_where=text("on_open_act"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), index=True
    )
    line: Mapped[int] = mapped_column(Integer)  # the row number on the act, from 1
    # True while the act is open: the one-open-act rule is a partial unique index on it.
    on_open_act: Mapped[bool] = mapped_column(default=True)
    tracking_number: Mapped[str] = mapped_column(String(14))
    external_order_id: Mapped[str] = mapped_column(String(100))
    places: Mapped[int] = mapped_column(Integer)
    weight_g: Mapped[int] = mapped_column(Integer)
    declared_value_kop: Mapped[int] = mapped_column(BigInteger)
    cod_kop: Mapped[int] = mapped_column(BigInteger)
    # When the hub scanned it at the acceptance (a hub scan or the acceptance's own list).
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
