from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class NetworkVersion(Base):
    """One row counting changes to offices and connections: caches rebuild when it moves."""

    __tablename__ = "network_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
