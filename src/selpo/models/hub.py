from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


class Hub(Base):
    """A node parcels pass through: the regional sorting centre or a district hub."""

    __tablename__ = "hub"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # regional_sorting_centre | district_hub
    index: Mapped[str | None] = mapped_column("postal_index", String(6))
    post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_office.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    lat: Mapped[float]
    lon: Mapped[float]
