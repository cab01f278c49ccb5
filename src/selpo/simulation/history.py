"""A simulated history in the service's own database, so a newcomer sees a living region.

``make run`` calls it through ``selpo simulate-history --if-empty``: the last few days of
synthetic demand run through the real services on a virtual clock ending at today's midnight
(UTC), on the main database, with the offices and connections it holds. The parcels still in
flight at the end go on in real time under the worker. The run is kept as a
``simulation_run`` row of kind ``history``; the dashboard shows a «simulated» banner while it
exists. Orders carry ``SIM-`` order ids and the ``simulation`` actor, so they can be told apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.errors import Conflict
from selpo.models import Shipment, SimulationRun
from selpo.planning.service import resolve_region
from selpo.simulation import report, scenarios
from selpo.simulation.service import SimulationConfig, run_on


class HistoryRefused(Conflict):
    """The database is not empty: a simulated history would mix with real parcels."""


@dataclass(frozen=True)
class History:
    """What was loaded."""

    run_id: int
    first_day: date
    days: int
    report: report.Report


def history_label(first_day: date, days: int) -> str:
    last = first_day + timedelta(days=days - 1)
    return f"Смоделированная история: {first_day:%d.%m.%Y}–{last:%d.%m.%Y}"


def has_parcels(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(Shipment.id.is_not(None)))))


def load_history(
    factory: sessionmaker[Session],
    *,
    today: date,
    days: int,
    seed: int = 1,
    scale: float = 0.1,
    region: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> History:
    """Simulate the ``days`` days before ``today`` into this (empty) database and keep its run.

    ``region``: the code of the region whose localities order (None: the database's only one).
    """
    with session_scope(factory) as session:
        if has_parcels(session):
            raise HistoryRefused(
                "the database already holds shipments: a simulated history goes only into a "
                "database without any",
                field="database",
            )
        code = resolve_region(session, region).code
        connected = scenarios.connected_offices(session, code)
    first_day = today - timedelta(days=days)
    config = SimulationConfig(days=days, region=code, seed=seed, scale=scale, start=first_day)
    began = datetime.now(UTC)
    result = run_on(factory, config, progress=progress)
    computed = report.compute(result)
    with session_scope(factory) as session:
        run = scenarios.record_run(
            session,
            report=computed,
            config=config,
            kind="history",
            label=history_label(first_day, days),
            connected=connected,
            seconds=(datetime.now(UTC) - began).total_seconds(),
            now=result.end,
            region=code,
        )
        run_id = run.id
    return History(run_id, first_day, days, computed)


def simulated_history(session: Session) -> SimulationRun | None:
    """The simulated history this database holds, if any (the newest)."""
    query = (
        select(SimulationRun)
        .where(SimulationRun.kind == "history")
        .order_by(SimulationRun.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
