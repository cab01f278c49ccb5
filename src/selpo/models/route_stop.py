from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class RouteStop(Base):
    """A route's call at an office: its place in the route and the time after departure."""

    __tablename__ = "route_stop"
    __table_args__ = (
        UniqueConstraint("route_id", "seq"),
        UniqueConstraint("route_id", "post_office_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("route.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ...
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), index=True)
    arrival_after_s: Mapped[int] = mapped_column(Integer)
