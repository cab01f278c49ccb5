from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class StaffJob(Base):
    """A planning scenario or a simulation started from the regional dashboard, run in the
    background (``selpo.staff_jobs``): queued, running with its progress, done with the plan or
    run it stored, or failed with the reason in Russian. A job survives a restart as a row: a
    queued one is picked up by the next runner (the service's thread or the worker), a running
    one whose runner stopped (no heartbeat for ``staff_jobs.STALE``) is marked failed."""

    __tablename__ = "staff_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # plan | simulation
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued|running|done|failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    stage: Mapped[str] = mapped_column(String(200), default="")  # what it does now, Russian
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id", ondelete="SET NULL"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("simulation_run.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
