from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class ShipmentItem(Base):
    """One line of a shipment's contents; a partial issue marks lines refused."""

    __tablename__ = "shipment_item"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    price_kop: Mapped[int] = mapped_column(BigInteger)
    refused_quantity: Mapped[int] = mapped_column(Integer, default=0)
