from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class CollectionBag(Base):
    """A bag a resident brought to an office for a collection partner.

    ``code`` is the bag's own barcode (``collection.rules``: ``PB`` + the office's index + six
    random digits + a check digit). ``status``: ``at_office`` -> ``loaded`` (on a return run)
    -> ``at_hub`` -> ``delivered`` (collected by the partner on act ``act_id``); it follows
    the bag's row on the way back (``return_leg_item``, kind ``partner_bag``).
    """

    __tablename__ = "collection_bag"
    __table_args__ = (
        Index("ix_collection_bag_partner_taken", "partner_id", "taken_at"),
        Index("ix_collection_bag_office_taken", "office_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("collection_partner.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"))
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerk.id"))
    material: Mapped[str] = mapped_column(String(32))
    weight_g: Mapped[int] = mapped_column(Integer)
    litres: Mapped[float] = mapped_column(Float)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    coupon_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # at_office | loaded | at_hub | delivered
    status_at: Mapped[datetime] = mapped_column(UTCDateTime())
    act_id: Mapped[int | None] = mapped_column(ForeignKey("collection_act.id"), index=True)
