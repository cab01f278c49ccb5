from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class StaffRegion(Base):
    """A region a manager or a dispatcher works in (they see those regions only)."""

    __tablename__ = "staff_region"

    clerk_id: Mapped[int] = mapped_column(
        ForeignKey("clerk.id", ondelete="CASCADE"), primary_key=True
    )
    region_id: Mapped[int] = mapped_column(
        ForeignKey("region.id", ondelete="CASCADE"), primary_key=True, index=True
    )
