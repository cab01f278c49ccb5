from __future__ import annotations

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class PlanRegion(Base):
    """A region a stored plan covers: its localities were demand and its offices facilities.

    A region's plan has one row, a plan over a list of regions one per region, the national
    plan one per region imported when it was solved; each region's dashboard lists the plans
    that cover it.
    """

    __tablename__ = "plan_region"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True
    )
    region_id: Mapped[int] = mapped_column(
        ForeignKey("region.id", ondelete="CASCADE"), primary_key=True, index=True
    )
