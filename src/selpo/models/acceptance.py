from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base, UTCDateTime


class Acceptance(Base):
    """One delivery accepted at an office by scanning: open while scanning, then closed with
    its discrepancy report (the scans, and a ``missing`` row per expected parcel not seen).

    A delivery is a route run (``route_code``, ``run_departure``: the run
    ``<route_code>@<departure>`` of ``manifest_entry``), and what its manifest carries for
    the office is what is expected; both empty: a delivery outside any run ("без рейса"),
    which expects nothing.
    """

    __tablename__ = "acceptance"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_office_id: Mapped[int] = mapped_column(ForeignKey("post_office.id"), index=True)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("clerk.id"))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("clerk.id"))
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    route_code: Mapped[str | None] = mapped_column(String(64))
    run_departure: Mapped[datetime | None] = mapped_column(UTCDateTime())
