from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class MarketplaceConnection(Base):
    """That an office serves (or is to serve) a marketplace's orders."""

    __tablename__ = "marketplace_connection"
    __table_args__ = (UniqueConstraint("post_office_id", "marketplace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), index=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # planned | active | suspended
    since_date: Mapped[date | None]
    # assumption: chosen by a documented rule, not known from the operator; operator: set by hand
    basis: Mapped[str] = mapped_column(String(32), default="operator")
