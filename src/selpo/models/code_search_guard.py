from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class CodeSearchGuard(Base):
    """Wrong pickup codes typed at an office's code search, where no parcel is named.

    A wrong code there cannot be attributed to one parcel, so it counts against the office's
    code search instead: after the policy's limit in a row, the search by code alone closes
    for the lock period (search by tracking number + phone digits still works).
    """

    __tablename__ = "code_search_guard"

    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
