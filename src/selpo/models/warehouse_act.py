from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class WarehouseAct(Base):
    """The act of a line-haul from a district hub to a marketplace's warehouse: what the way
    back delivered there (``return_leg_item.act_number``), numbered without gaps per year
    (``WA-2026-000001``)."""

    __tablename__ = "warehouse_act"
    __table_args__ = (UniqueConstraint("year", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    hub_code: Mapped[str] = mapped_column(String(32))
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), index=True)
    marketplace_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace.id"), index=True)
    items: Mapped[int] = mapped_column(Integer)
    weight_g: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class WarehouseActSerial(Base):
    """The last warehouse act number given in a year, moved on in the act's own transaction
    (a rolled-back act gives its number back: no gaps)."""

    __tablename__ = "warehouse_act_serial"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)
