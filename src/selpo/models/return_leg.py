from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class ReturnLeg(Base):
    """A route run's way back, once fixed: what the van took from its offices to the hub.

    One row per run (``route_code``, ``departure``) whose return leg was loaded, by the
    worker after the van's last call or by the dispatcher's manifest ahead of it. The totals
    are the leg as loaded (the driver's manifest); ``waited`` counts the things that were
    ready at the run's offices and stayed for lack of room. The hub's acceptance fills
    ``accepted_at``, ``missing`` and ``extra`` (barcodes scanned that are not on the leg).
    """

    __tablename__ = "return_leg"
    __table_args__ = (UniqueConstraint("route_code", "departure"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    route_code: Mapped[str] = mapped_column(String(64))
    departure: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    hub_code: Mapped[str] = mapped_column(String(32), index=True)
    back_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the van back at the hub
    capacity_parcels: Mapped[int] = mapped_column(Integer)
    capacity_litres: Mapped[float] = mapped_column(Float)
    items: Mapped[int] = mapped_column(Integer)
    litres: Mapped[float] = mapped_column(Float)
    weight_g: Mapped[int] = mapped_column(BigInteger)
    waited: Mapped[int] = mapped_column(Integer)  # ready, and left for lack of room
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the leg was fixed
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    missing: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[list[Any] | None] = mapped_column(JSON)
