from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, false
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, Partitioned


class HandoverSerial(Partitioned, Base):
    """The last act number given per marketplace and year (live and sandbox apart): moved on
    in the creating transaction, so a rolled-back act gives its number back and the numbers
    have no gaps."""

    __tablename__ = "handover_serial"

    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"), primary_key=True)
    sandbox: Mapped[bool] = mapped_column(
        Boolean, primary_key=True, default=False, server_default=false()
    )
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)
