from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class ClerkSignInGuard(Base):
    """Wrong passwords for one login from one client address, and the lock they caused.

    Keyed by the typed login (known or not, so a lock says nothing about whether an account
    exists) and the address: a stranger failing elsewhere locks only their own pair. An
    address the account signed in from (``succeeded_at``) is the clerk's own counter: the
    account-wide ceiling (``Clerk.failed_logins``) does not lock it.
    """

    __tablename__ = "clerk_sign_in_guard"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
