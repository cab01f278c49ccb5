from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class TimetableVersion(Base):
    """One row counting changes to warehouses, line-hauls and routes: caches rebuild on it.

    ``token`` is new at every change, so a cache never mistakes two timetables that reached
    the same count on different histories (a rolled-back change) for one another.
    """

    __tablename__ = "timetable_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    token: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
