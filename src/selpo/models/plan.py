from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class Plan(Base):
    """A stored planning scenario: what was asked, what the solver answered, how sure it is."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # connect | median | modernise | curve
    marketplace_code: Mapped[str | None] = mapped_column(String(32))
    # The region planned (its localities are the demand, its offices the facilities); None for a
    # plan over several regions or the whole country (``plan_region`` lists every region a plan
    # covers) and for a plan kept before regions were told apart in a database holding several.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # optimal | feasible
    objective: Mapped[float] = mapped_column(Float)
    bound: Mapped[float] = mapped_column(Float)
    gap: Mapped[float] = mapped_column(Float)
    covered_before: Mapped[float | None] = mapped_column(Float)
    covered_after: Mapped[float | None] = mapped_column(Float)
    total_population: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
