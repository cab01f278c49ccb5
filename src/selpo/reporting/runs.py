"""The stored simulation runs the dashboard shows: each run's figures (of the region or one
district), runs side by side, one run's detail (docs/dashboard.md, docs/simulation.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import NotFound
from selpo.models import SimulationRun

# ---------------------------------------------------------------------------- simulation runs

# The figures compared between runs, with their unit: the simulation report's KPI columns
# (docs/simulation.md) and two storage figures summed from its office rows.
RUN_FIGURES: tuple[tuple[str, str], ...] = (
    ("connected_offices", "count"),
    ("orders", "count"),
    ("served", "count"),
    ("unserved", "count"),
    ("unserved_share", "share"),
    ("shipments", "count"),
    ("reached_office", "count"),
    ("on_time_share", "share"),
    ("days_to_deliver_p50", "days"),
    ("days_to_deliver_p90", "days"),
    ("delivered", "count"),
    ("unclaimed_share", "share"),
    ("cash_collected_kop", "kop"),
    ("overflow_offices", "count"),
    ("overflow_parcels", "count"),
)
REGION_AREA = "(region)"


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RunOffice:
    """An office's storage in a run: its cells, the most parcels at once, overflow."""

    index: str
    district: str
    cells: int
    peak_parcels: int
    peak_use: float | None
    overflow: int


def _run_offices(run: SimulationRun, district: str | None) -> list[RunOffice]:
    offices = []
    for row in run.offices:
        if district is not None and row.get("district") != district:
            continue
        offices.append(
            RunOffice(
                index=str(row.get("office_index", "")),
                district=str(row.get("district", "")),
                cells=int(_number(row.get("cells")) or 0),
                peak_parcels=int(_number(row.get("peak_parcels")) or 0),
                peak_use=_number(row.get("peak_use")),
                overflow=int(_number(row.get("overflow")) or 0),
            )
        )
    return offices


@dataclass(frozen=True)
class RunColumn:
    """A stored simulation run and its figures (of the region, or of one district)."""

    id: int
    label: str
    kind: str
    comparison: str | None
    plan_id: int | None
    seed: int
    days: int
    scale: float
    start: date
    connected_offices: int
    created_at: datetime
    values: dict[str, float | None]

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=max(self.days, 1) - 1)


def _area_row(run: SimulationRun, district: str | None) -> dict[str, Any]:
    if district is None:
        return dict(run.region)
    for row in run.districts:
        if row.get("area") == district:
            return dict(row)
    return {}


def _column(run: SimulationRun, district: str | None) -> RunColumn:
    row = _area_row(run, district)
    offices = _run_offices(run, district)
    values: dict[str, float | None] = {key: _number(row.get(key)) for key, _ in RUN_FIGURES}
    values["connected_offices"] = float(run.connected_offices) if district is None else None
    values["overflow_offices"] = float(sum(1 for o in offices if o.overflow))
    values["overflow_parcels"] = float(sum(o.overflow for o in offices))
    return RunColumn(
        id=run.id,
        label=run.label,
        kind=run.kind,
        comparison=run.comparison,
        plan_id=run.plan_id,
        seed=run.seed,
        days=run.days,
        scale=run.scale,
        start=run.start,
        connected_offices=run.connected_offices,
        created_at=run.created_at,
        values=values,
    )


@dataclass(frozen=True)
class ComparedFigure:
    """One figure across the runs of a comparison, and each run's difference from the first."""

    key: str
    unit: str
    values: list[float | None]
    differences: list[float | None]  # one per run after the first


@dataclass(frozen=True)
class Comparison:
    """Runs shown side by side (those sharing a ``comparison`` value; a lone run alone)."""

    name: str | None
    runs: list[RunColumn]
    figures: list[ComparedFigure]


def compare(name: str | None, runs: Sequence[RunColumn]) -> Comparison:
    """The figures of the runs in columns, the first run being the base of the differences."""
    figures = []
    for key, unit in RUN_FIGURES:
        values = [run.values.get(key) for run in runs]
        base = values[0] if values else None
        differences = [
            None if base is None or value is None else value - base for value in values[1:]
        ]
        figures.append(ComparedFigure(key=key, unit=unit, values=values, differences=differences))
    return Comparison(name=name, runs=list(runs), figures=figures)


def comparisons(
    session: Session, *, region_id: int, district: str | None = None
) -> list[Comparison]:
    """The stored runs that share a ``comparison`` value, side by side; the newest
    comparison first, its runs in the order they were made (the first is the base)."""
    groups: dict[str, list[RunColumn]] = {}
    query = (
        select(SimulationRun)
        .where(SimulationRun.comparison.is_not(None), SimulationRun.region_id == region_id)
        .order_by(SimulationRun.id)
    )
    for run in session.scalars(query):
        groups.setdefault(str(run.comparison), []).append(_column(run, district))
    newest_first = sorted(groups, key=lambda k: max(r.id for r in groups[k]), reverse=True)
    return [compare(name, groups[name]) for name in newest_first]


def runs(session: Session, *, region_id: int, district: str | None = None) -> list[RunColumn]:
    """Every stored run (of a region), the newest first (for a supervisor: their district's
    figures)."""
    query = (
        select(SimulationRun)
        .where(SimulationRun.region_id == region_id)
        .order_by(SimulationRun.id.desc())
    )
    return [_column(run, district) for run in session.scalars(query)]


@dataclass(frozen=True)
class RunDetail:
    """A run with its district table and its offices' storage."""

    run: RunColumn
    region: dict[str, float | None] | None
    districts: list[tuple[str, dict[str, float | None]]]
    offices: list[RunOffice]
    statuses: dict[str, int]


def run_detail(
    session: Session, run_id: int, *, region_id: int, district: str | None = None
) -> RunDetail:
    """One stored run (for a supervisor: their district's row and offices only); a run of
    another region than the one given is not found."""
    run = session.scalars(
        select(SimulationRun).where(
            SimulationRun.id == run_id, SimulationRun.region_id == region_id
        )
    ).first()
    if run is None:
        raise NotFound(f"Прогона №{run_id} нет.", field="run_id")
    rows = [
        (str(row.get("area", "")), {key: _number(row.get(key)) for key, _ in RUN_FIGURES})
        for row in run.districts
        if district is None or row.get("area") == district
    ]
    offices = sorted(
        _run_offices(run, district),
        key=lambda o: (-o.overflow, -(o.peak_use or 0.0), o.index),
    )
    return RunDetail(
        run=_column(run, district),
        region=_column(run, None).values if district is None else None,
        districts=rows,
        offices=offices,
        statuses=dict(run.statuses) if district is None else {},
    )


def simulated_history(session: Session, *, region_id: int) -> RunColumn | None:
    """The latest simulated history loaded into this database (of a region), if any (the
    banner)."""
    run = session.scalars(
        select(SimulationRun)
        .where(SimulationRun.kind == "history", SimulationRun.region_id == region_id)
        .order_by(SimulationRun.id.desc())
        .limit(1)
    ).first()
    return _column(run, None) if run is not None else None
