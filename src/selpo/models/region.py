from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class Region(Base):
    """A federal subject (oblast, krai, republic): the unit a region's data is imported for.

    ``code`` is the subject's two-digit number ("37"), ``slug`` its latin name ("ivanovo").
    """

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    slug: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    capital: Mapped[str | None] = mapped_column(String(200))
    # The 2021 census total of the region (else the sum of its localities).
    population: Mapped[int | None] = mapped_column(Integer)
    # What the offices were imported from, e.g. "Russian Post PIndx 2026-06-22 via sanmai/pindx".
    source: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
