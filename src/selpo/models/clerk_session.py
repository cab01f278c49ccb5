from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class ClerkSession(Base):
    """A signed-in workstation: the cookie carries a random token, the table its SHA-256.

    The CSRF token of the session's forms lives here too, and so does the parcel the clerk
    is issuing: the one found by code or by tracking number and phone, and whether its
    pickup code was checked (the issue itself refuses any other parcel), and the message of
    the last form, shown once by the page it redirects to.
    """

    __tablename__ = "clerk_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("clerk.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    issue_shipment_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("shipment.id")
    )
    issue_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The recipient was identified by a document, not by the code: ``type:last4``.
    issue_document: Mapped[str | None] = mapped_column(String(40))
    # The outcome of the last form, shown once by the next page (Post/Redirect/Get).
    flash: Mapped[str | None] = mapped_column(String(500))
    flash_tone: Mapped[str | None] = mapped_column(String(8))
