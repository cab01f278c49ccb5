from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class Clerk(Base):
    """A person who signs in to the office workstation.

    A clerk belongs to one post office; a supervisor to a district (and may act in any of its
    offices); a manager and a dispatcher to the regions listed in ``staff_region`` (a manager:
    those regions' dashboards, no counter work; a dispatcher: their district hubs and
    manifests). Only an argon2 hash of the password is stored.
    """

    __tablename__ = "clerk"
    __table_args__ = (
        CheckConstraint(
            "(role = 'clerk' AND post_office_id IS NOT NULL)"
            " OR (role = 'supervisor' AND district_id IS NOT NULL)"
            " OR (role IN ('manager', 'dispatcher')"
            " AND post_office_id IS NULL AND district_id IS NULL)",
            name="scope",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # clerk | supervisor | manager | dispatcher
    post_office_id: Mapped[int | None] = mapped_column(ForeignKey("post_office.id"), index=True)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("district.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Wrong passwords in a row, and the lock they caused (5 in a row: 15 minutes).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
