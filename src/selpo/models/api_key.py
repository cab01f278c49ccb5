from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class ApiKey(Base):
    """A bearer key: a marketplace's (sees only its own data) or the operator's admin key.

    Only a SHA-256 digest of the secret is stored: keys are 256-bit random strings, so a fast
    digest is as safe as a slow password hash and keeps every request cheap.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace_id: Mapped[int | None] = mapped_column(ForeignKey("marketplace.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # marketplace | admin
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A test key (``sk_test_...``): what it makes is sandbox data, and it sees nothing else.
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
