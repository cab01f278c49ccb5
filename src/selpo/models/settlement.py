from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from selpo.db import Base


def _manual_ref() -> str:
    return f"manual:{uuid.uuid4().hex[:16]}"


class Settlement(Base):
    """A place where people live: a town, an urban-type settlement or a rural locality.

    Every locality of a region is a row (a point of demand), with or without a post office.
    ``ref`` is the data's stable key of the locality (``LocalitySource.key``), unique within its
    district; names are not unique (one district can have two villages of the same name).
    Rows from before the key existed carry ``legacy:<id>`` until an import re-keys them; a row
    made by hand, not from data, gets ``manual:<random>``.
    """

    __tablename__ = "settlement"
    __table_args__ = (UniqueConstraint("district_id", "ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)
    ref: Mapped[str] = mapped_column(String(64), default=_manual_ref)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # town | urban_type_settlement | rural_locality
    population: Mapped[int | None] = mapped_column(Integer)
    population_year: Mapped[int | None] = mapped_column(Integer)
    # census_2021 | census_2010 | wikipedia_infobox | estimate_2015 | estimate_census2021_spread
    population_basis: Mapped[str | None] = mapped_column(String(64))
    population_source: Mapped[str | None] = mapped_column(String(500))
    population_is_estimate: Mapped[bool] = mapped_column(default=False)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    coord_source: Mapped[str | None] = mapped_column(String(64))
    coord_precision: Mapped[str | None] = mapped_column(String(64))
    has_post_office: Mapped[bool] = mapped_column(default=False)
