from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class TrackingSerial(Base):
    """The last serial handed out per accepting index and month code (8-digit prefix)."""

    __tablename__ = "tracking_serial"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_serial: Mapped[int] = mapped_column(Integer, default=0)
