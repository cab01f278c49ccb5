from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, Partitioned, UTCDateTime


class Shipment(Partitioned, Base):
    """A marketplace parcel on its way to, at, or back from a post office.

    ``sandbox`` (from ``Partitioned``): made with a test key; such a parcel never reaches a
    counter, a van or a report, and moves only on request (``shipment.sandbox``). An order
    id is unique per marketplace on each side, so an integrator may test with real ones.
    """

    __tablename__ = "shipment"
    __table_args__ = (UniqueConstraint("marketplace_id", "sandbox", "external_order_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(14), unique=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"), index=True)
    external_order_id: Mapped[str] = mapped_column(String(100))
    destination_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    # Personal data: purged (set to None) a configurable time after the shipment ends.
    recipient_name: Mapped[str | None] = mapped_column(String(200))
    recipient_phone: Mapped[str | None] = mapped_column(String(16))
    phone_last4: Mapped[str] = mapped_column(String(4))
    weight_g: Mapped[int] = mapped_column(Integer)
    length_mm: Mapped[int] = mapped_column(Integer)
    width_mm: Mapped[int] = mapped_column(Integer)
    height_mm: Mapped[int] = mapped_column(Integer)
    declared_value_kop: Mapped[int] = mapped_column(BigInteger)
    cod_kop: Mapped[int] = mapped_column(BigInteger)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    promised_date: Mapped[date | None]
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # dashboard
    storage_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    storage_extended: Mapped[bool] = mapped_column(default=False)
    reminder_sent: Mapped[bool] = mapped_column(default=False)
    cell_code: Mapped[str | None] = mapped_column(String(16))
    pickup_code_hash: Mapped[str | None] = mapped_column(String(64))
    pickup_code_failures: Mapped[int] = mapped_column(Integer, default=0)
    pickup_code_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cod_collected_kop: Mapped[int] = mapped_column(BigInteger, default=0)
    cod_method: Mapped[str | None] = mapped_column(String(8))  # cash | card
    cod_collected_by: Mapped[str | None] = mapped_column(String(100))
    cod_collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    personal_data_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
