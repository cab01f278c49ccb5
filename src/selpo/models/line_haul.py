from __future__ import annotations

from datetime import time

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class LineHaul(Base):
    """A truck on a weekly timetable: warehouse -> sorting centre, or sorting centre -> hub.

    ``departure`` is the origin's local time; the origin is a warehouse or a hub row (the
    regional sorting centre), never both.
    """

    __tablename__ = "line_haul"
    __table_args__ = (
        CheckConstraint(
            "(origin_warehouse_id IS NULL) <> (origin_hub_id IS NULL)", name="one_origin"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    origin_warehouse_id: Mapped[int | None] = mapped_column(
        ForeignKey("warehouse.id", ondelete="CASCADE"), index=True
    )
    origin_hub_id: Mapped[int | None] = mapped_column(ForeignKey("hub.id"), index=True)
    destination_hub_id: Mapped[int] = mapped_column(ForeignKey("hub.id"), index=True)
    weekdays: Mapped[str] = mapped_column(String(32))  # "mon|tue|wed|thu|fri|sat|sun"
    departure: Mapped[time]
    duration_s: Mapped[int] = mapped_column(Integer)
    synthetic: Mapped[bool] = mapped_column(default=False)
