"""The region a stored plan or simulation run belongs to, as a SQL condition."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from selpo.db import Base


def of_region(model: type[Base], region_id: int | None) -> list[ColumnElement[bool]]:
    """``model.region_id == region_id``, or no condition without a region.

    TODO(lead, after merging helper plan): ``plan`` and ``simulation_run`` gain ``region_id``
    there; then replace the callers' ``of_region(Plan, ...)`` by ``Plan.region_id == ...`` and
    delete this module. Until that column exists a plan or run is shown in every region (as
    it is on today's single-region installs); the lookup makes the filter work the moment the
    column is in the model.
    """
    column = model.__table__.c.get("region_id")
    if region_id is None or column is None:
        return []
    return [column == region_id]
