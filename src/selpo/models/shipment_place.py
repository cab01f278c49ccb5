from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class ShipmentPlace(Base):
    """One place (a box) of a shipment: its own size, tracking number and label.

    Every shipment has place 1, whose number is the shipment's own; an order of several
    places has 2..n with numbers of their own. ``status`` is where the place itself is on
    its way (``created``, ``handed_over``, ``in_transit``, ``arrived_at_office``, ``lost``;
    ``returning`` once scanned for the return); from the office on the order's status
    speaks for the places that are there (``shipment.places``)."""

    __tablename__ = "shipment_place"
    __table_args__ = (UniqueConstraint("shipment_id", "number"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    tracking_number: Mapped[str] = mapped_column(String(14), unique=True)
    weight_g: Mapped[int] = mapped_column(Integer)
    length_mm: Mapped[int] = mapped_column(Integer)
    width_mm: Mapped[int] = mapped_column(Integer)
    height_mm: Mapped[int] = mapped_column(Integer)
    external_place_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(32))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
