from __future__ import annotations

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class ReceiptSerial(Base):
    """The last receipt number given per office and year: moved on by one atomic UPDATE ...
    RETURNING in the issuing transaction, so concurrent issues queue on the row and a
    rolled-back issue gives its number back (no gaps)."""

    __tablename__ = "receipt_serial"

    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
