from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class ReturnLegItem(Base):
    """One thing that goes back from an office on a route run's way back to the hub.

    The way back carries three kinds, one row each: a ``shipment`` going back to its
    marketplace (refused, storage expired, partly taken, recalled), a ``customer_return``
    (a buyer's return taken at the counter) and a ``partner_bag`` (a collection partner's
    bag). ``ref_id`` is the row of its own domain (``shipment.id``, ``customer_return.id``,
    the bag's id); ``barcode`` what the driver and the hub scan (a 14-digit tracking number
    or the bag's code). It ends at a marketplace's warehouse (``warehouse_id``) or with a
    partner at the hub (``partner_code``).

    ``status``: ``waiting`` at the office (oldest ``ready_at`` first) -> ``loaded`` on a run
    (``route_code``, ``departure``) -> ``at_hub`` (the hub's acceptance) -> ``delivered``
    (the warehouse's act, or the partner's collection act).
    """

    __tablename__ = "return_leg_item"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id"),
        Index("ix_return_leg_item_office_waiting", "office_id", "status", "ready_at"),
        Index("ix_return_leg_item_run", "route_code", "departure"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # shipment | customer_return | partner_bag
    ref_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    barcode: Mapped[str] = mapped_column(String(32), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"))
    marketplace_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace.id"), index=True)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    partner_code: Mapped[str | None] = mapped_column(String(32), index=True)
    weight_g: Mapped[int] = mapped_column(Integer)
    litres: Mapped[float] = mapped_column(Float)
    ready_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # waiting | loaded | at_hub | delivered
    route_code: Mapped[str | None] = mapped_column(String(64))
    departure: Mapped[datetime | None] = mapped_column(UTCDateTime())
    loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hub_code: Mapped[str | None] = mapped_column(String(32))
    at_hub_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    act_number: Mapped[str | None] = mapped_column(String(32))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Route runs that called at the office while it was ready and left it for lack of room.
    runs_waited: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
