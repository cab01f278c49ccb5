from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class CollectionPartner(Base):
    """A collection partner (a recycler, a charity): what it takes, where, and its key.

    It serves every office of a region (``region_id``) or the offices listed in
    ``collection_partner_office``; its bags ride the return runs to its depot at a hub
    (``depot_hub_id``), where it collects them against an act. Only a SHA-256 digest of its
    API key is stored (``key_prefix`` finds the row; the key is shown once). When
    ``coupon_prefix`` is set the resident gets a coupon code with the receipt for a bag of at
    least ``coupon_min_g`` grams.
    """

    __tablename__ = "collection_partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    takes: Mapped[list[Any]] = mapped_column(JSON)  # material codes: ["textile", ...]
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    depot_hub_id: Mapped[int] = mapped_column(ForeignKey("hub.id"))
    key_prefix: Mapped[str | None] = mapped_column(String(16), unique=True)
    key_sha256: Mapped[str | None] = mapped_column(String(64))
    key_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    coupon_prefix: Mapped[str | None] = mapped_column(String(8))
    coupon_min_g: Mapped[int] = mapped_column(Integer, default=0)
    coupon_note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CollectionPartnerOffice(Base):
    """An office a partner serves (for a partner not serving a whole region)."""

    __tablename__ = "collection_partner_office"

    partner_id: Mapped[int] = mapped_column(ForeignKey("collection_partner.id"), primary_key=True)
    post_office_id: Mapped[int] = mapped_column(
        ForeignKey("post_office.id"), primary_key=True, index=True
    )
