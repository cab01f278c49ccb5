from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class SimulationRun(Base):
    """The figures of one simulation run, kept in the main database for the dashboard.

    The run itself happens on a scratch database (or, for ``kind = 'history'``, on this one:
    the simulated history ``make run`` loads). ``comparison`` groups the runs of one
    side-by-side comparison (today's offices vs. a plan).
    """

    __tablename__ = "simulation_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # scenario | history
    label: Mapped[str] = mapped_column(String(200))
    comparison: Mapped[str | None] = mapped_column(String(64), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id", ondelete="SET NULL"))
    # The region simulated (its localities order, its offices serve); None only for a run kept
    # before regions were told apart, or when the service's database does not hold the region.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    seed: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    scale: Mapped[float] = mapped_column(Float)
    start: Mapped[date] = mapped_column(Date)
    connected_offices: Mapped[int] = mapped_column(Integer)
    # The region's KPI row and the districts' rows (report.KPI_HEADER -> value), the offices'
    # storage rows (report.OFFICE_HEADER -> value), the final status counts.
    region: Mapped[dict[str, Any]] = mapped_column(JSON)
    districts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    offices: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    statuses: Mapped[dict[str, int]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
