from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class Route(Base):
    """A district route: a van leaves its hub on given weekdays, calls at offices, comes back.

    ``code`` is the route id of the timetable CSV; ``synthetic`` marks routes made up by
    ``selpo.logistics.routing`` rather than loaded from the operator.
    """

    __tablename__ = "route"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    hub_id: Mapped[int] = mapped_column(ForeignKey("hub.id"), index=True)
    weekdays: Mapped[str] = mapped_column(String(32))  # "mon|thu"
    departure: Mapped[time]  # the hub's local time
    capacity_parcels: Mapped[int] = mapped_column(Integer)
    capacity_litres: Mapped[int] = mapped_column(Integer)
    return_after_s: Mapped[int] = mapped_column(Integer)
    runs_on_holidays: Mapped[bool] = mapped_column(default=False)
    synthetic: Mapped[bool] = mapped_column(default=False)
    vehicle: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
