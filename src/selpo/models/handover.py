from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, Partitioned, UTCDateTime


class Handover(Partitioned, Base):
    """A hand-over act: the register of parcels a marketplace's warehouse gives the driver,
    numbered without gaps per marketplace and year, later checked at the hub's acceptance.
    A test key's acts are the sandbox's, numbered apart (so live numbers keep no gaps).

    The totals are the act as signed (a snapshot of its entries at creation).
    """

    __tablename__ = "handover"
    __table_args__ = (UniqueConstraint("marketplace_id", "sandbox", "year", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"), index=True)
    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouse.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)  # in the warehouse's own zone
    serial: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ... within (marketplace, year)
    number: Mapped[str] = mapped_column(String(32))  # H-2026-000001
    status: Mapped[str] = mapped_column(String(32), index=True)  # open | accepted | ...
    count: Mapped[int] = mapped_column(Integer)
    places: Mapped[int] = mapped_column(Integer)
    weight_g: Mapped[int] = mapped_column(BigInteger)
    declared_value_kop: Mapped[int] = mapped_column(BigInteger)
    cod_kop: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_hub: Mapped[str | None] = mapped_column(String(32))
    # Tracking numbers the hub scanned at the acceptance that are not on the act.
    extra: Mapped[list[Any] | None] = mapped_column(JSON)
