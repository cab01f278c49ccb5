from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class ManifestEntry(Base):
    """A parcel on one route run's manifest: loaded on it, or rolled over to the next run.

    A run is (``route_code``, ``departure``); route codes rather than keys, so a manifest
    outlives a timetable that is regenerated or re-imported.
    """

    __tablename__ = "manifest_entry"
    __table_args__ = (UniqueConstraint("route_code", "departure", "shipment_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    route_code: Mapped[str] = mapped_column(String(64))
    departure: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    hub_code: Mapped[str] = mapped_column(String(32))
    shipment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), index=True
    )
    office_index: Mapped[str] = mapped_column(String(6))
    stop_seq: Mapped[int] = mapped_column(Integer)
    arrival_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the van at the office
    litres: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))  # loaded | rolled
    promised_date: Mapped[date | None]  # the promise when the run was planned
    rolled_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    departed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime())
