from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class CollectionAct(Base):
    """A partner's collection act: the bags it took at its depot hub, numbered without gaps
    per partner and year (``CA-2026-000001``; the bags point at it by ``act_id``). The totals
    are the act as signed."""

    __tablename__ = "collection_act"
    __table_args__ = (UniqueConstraint("partner_id", "year", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("collection_partner.id"), index=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hub.id"))
    year: Mapped[int] = mapped_column(Integer)  # in the hub's region's zone
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(32))
    bags: Mapped[int] = mapped_column(Integer)
    weight_g: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CollectionActSerial(Base):
    """The last act number given per partner and year: moved on in the act's transaction
    (one UPDATE ... RETURNING), so a rolled-back act gives its number back: no gaps."""

    __tablename__ = "collection_act_serial"

    partner_id: Mapped[int] = mapped_column(ForeignKey("collection_partner.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)
