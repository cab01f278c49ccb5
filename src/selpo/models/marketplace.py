from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class Marketplace(Base):
    """A marketplace whose orders selpo delivers (OZON, Yandex Market, ...)."""

    __tablename__ = "marketplace"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    storage_days: Mapped[int] = mapped_column(Integer, default=7)
    storage_extension_days: Mapped[int] = mapped_column(Integer, default=7)
    # Index of the point that accepts this marketplace's parcels: the first 6 digits of its
    # tracking numbers (the regional sorting centre unless the operator sets another).
    accepting_index: Mapped[str] = mapped_column(String(6), server_default="153950")
