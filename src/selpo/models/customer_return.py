from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, Partitioned, UTCDateTime


class CustomerReturn(Partitioned, Base):
    """A buyer's return of (part of) an issued order, registered by its marketplace.

    ``status``: ``registered`` (the marketplace has the return code to show the buyer) ->
    ``accepted`` (a clerk took the items at a connected office, printed the return label with
    ``tracking_number`` and, for a cash on delivery order where the marketplace asks, paid
    ``refund_kop`` back in cash) -> ``in_transit`` (on a route run's way back) ->
    ``delivered`` (the warehouse's act). The return code is shown once; only its keyed hash
    (``code_hash``, unique, looked up by equality) is kept. ``sandbox`` (``Partitioned``):
    made with a test key, never seen by a counter.
    """

    __tablename__ = "customer_return"
    __table_args__ = (UniqueConstraint("marketplace_id", "sandbox", "external_return_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    marketplace_id: Mapped[int] = mapped_column(ForeignKey("marketplace.id"), index=True)
    shipment_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id"), index=True
    )
    external_return_id: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    return_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    # Whether the counter pays the cash on delivery back in cash (the marketplace's setting
    # at registration, or the request's own choice).
    cash_refund: Mapped[bool] = mapped_column(default=False)
    tracking_number: Mapped[str | None] = mapped_column(String(14), unique=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("post_office.id"), index=True)
    warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouse.id"))
    weight_g: Mapped[int | None] = mapped_column(Integer)
    accepted_by: Mapped[str | None] = mapped_column(String(100))
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    refund_kop: Mapped[int] = mapped_column(BigInteger, default=0)
    in_transit_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class CustomerReturnItem(Base):
    """One line of a buyer's return: a line of the order (its ``position``) and how many
    units the buyer returns; ``accepted_quantity`` is what the clerk checked in."""

    __tablename__ = "customer_return_item"
    __table_args__ = (UniqueConstraint("return_id", "position"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    return_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("customer_return.id"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int] = mapped_column(Integer)
    price_kop: Mapped[int] = mapped_column(BigInteger)
    accepted_quantity: Mapped[int | None] = mapped_column(Integer)


class ReturnCodeGuard(Base):
    """Wrong return codes (and wrong phone digits) typed at an office's «Возврат от
    покупателя»: they name no return, so they count against the office's search; after the
    policy's limit in a row it closes for the lock period. Counted in one atomic UPDATE."""

    __tablename__ = "return_code_guard"

    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
