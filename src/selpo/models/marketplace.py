from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, false, text
from sqlalchemy.engine.interfaces import ExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base

UNSET_ACCEPTING_INDEX = "000000"
"""A marketplace made before any region was imported: the next import sets its sorting centre."""


def first_sorting_centre_index(context: ExecutionContext) -> str:
    """The index of the first imported region's sorting centre (``UNSET_ACCEPTING_INDEX``
    before any import)."""
    found = context.connection.execute(
        text(
            "SELECT hub.postal_index FROM hub JOIN region ON region.id = hub.region_id "
            "WHERE hub.kind = 'regional_sorting_centre' AND hub.postal_index IS NOT NULL "
            "ORDER BY region.id, hub.id LIMIT 1"
        )
    ).scalar()
    return str(found) if found is not None else UNSET_ACCEPTING_INDEX


class Marketplace(Base):
    """A marketplace whose orders selpo delivers (OZON, Yandex Market, ...)."""

    __tablename__ = "marketplace"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    storage_days: Mapped[int] = mapped_column(Integer, default=7)
    storage_extension_days: Mapped[int] = mapped_column(Integer, default=7)
    # Index of the point that accepts this marketplace's parcels: the first 6 digits of its
    # tracking numbers. The importer sets it (the sorting centre of the region it creates the
    # marketplace with); a marketplace made elsewhere takes the sorting centre of the first
    # region imported (000000 while there is none, until the next import), unless the operator
    # sets another.
    accepting_index: Mapped[str] = mapped_column(String(6), default=first_sorting_centre_index)
    # An order of several places is ready for pickup when its first place is at the office
    # (the rest announced as they come), not only once every place is.
    ready_on_first_place: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The operator's fee on the cash on delivery it collects, in basis points of the amount
    # (150 = 1.5 %); ``selpo marketplace set-fee CODE 1.5%`` sets it (selpo.payout).
    fee_rate_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Opted in to the pickup code in ``shipment.ready_for_pickup`` (for its own app), sent
    # over https only and wiped from the outbox once delivered.
    pickup_code_in_webhook: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Allows the counter to hand a parcel over on an identity document (its type and the last
    # four characters of its number recorded) when the recipient has no pickup code.
    issue_by_document: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Customer returns (``selpo.returns``): a buyer may bring an order back to a connected
    # office within this many days of receiving it; and whether the counter pays a cash on
    # delivery order's money back in cash (the marketplace then refunds nothing itself for
    # it, and the day's payout is reduced by it). ``selpo marketplace set`` changes both.
    return_days: Mapped[int] = mapped_column(Integer, default=14, server_default="14")
    refund_cash_at_counter: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
