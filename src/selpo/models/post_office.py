from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class PostOffice(Base):
    """A post office (ОПС): the pickup point a marketplace delivers to."""

    __tablename__ = "post_office"

    id: Mapped[int] = mapped_column(primary_key=True)
    index: Mapped[str] = mapped_column("postal_index", String(6), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement.id"), index=True)
    address: Mapped[str] = mapped_column(String(500))
    address_is_estimate: Mapped[bool] = mapped_column(default=True)
    lat: Mapped[float]
    lon: Mapped[float]
    coord_source: Mapped[str] = mapped_column(String(64))
    coord_precision: Mapped[str] = mapped_column(String(64))
    rural: Mapped[bool]
    parent_index: Mapped[str | None] = mapped_column(String(6))
    parent_name: Mapped[str | None] = mapped_column(String(200))
    # Seven days, Monday first, each a list of ["HH:MM", "HH:MM"] in the office's local time.
    opening_hours: Mapped[list[Any]] = mapped_column(JSON)
    opening_hours_is_default: Mapped[bool] = mapped_column(default=True)
    timezone: Mapped[str] = mapped_column(String(64))
    cells_s: Mapped[int] = mapped_column(Integer)
    cells_m: Mapped[int] = mapped_column(Integer)
    cells_l: Mapped[int] = mapped_column(Integer)
    cells_is_default: Mapped[bool] = mapped_column(default=True)
    max_weight_g: Mapped[int] = mapped_column(Integer)
    max_length_mm: Mapped[int] = mapped_column(Integer)
    max_width_mm: Mapped[int] = mapped_column(Integer)
    max_height_mm: Mapped[int] = mapped_column(Integer)
    limits_is_default: Mapped[bool] = mapped_column(default=True)
    accepts_cash: Mapped[bool] = mapped_column(default=True)
    accepts_card: Mapped[bool] = mapped_column(default=False)
    modernised_year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(
        String(32), default="open"
    )  # open|temporarily_closed|closed
    source: Mapped[str] = mapped_column(String(200))
    source_updated: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
