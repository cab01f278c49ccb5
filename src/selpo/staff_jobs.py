"""Plans and simulations started from the regional dashboard, run in the background.

A composition root like ``worker.py`` (it calls planning and simulation, which the pages may
not import): ``app.py`` puts a ``StaffJobs`` on ``app.state.staff_jobs``; the dashboard's form
queues a ``staff_job`` row through it and asks it to start; the job runs in a daemon thread of
the service process, in short transactions of its own (claim, progress, result).

What survives a restart is the row: a queued job is claimed by the next runner — the thread
of a later start, or the worker's timed job ``staff-jobs`` (``selpo jobs run staff-jobs``); a
running job whose runner stopped (no heartbeat for ``STALE``) is marked failed with a Russian
reason, and the manager starts it again. One job runs per claim (``UPDATE … WHERE status =
'queued'``), so two runners never run the same job.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.errors import DomainError, InvalidInput
from selpo.kit.clock import Clock
from selpo.models import Region, StaffJob
from selpo.planning import service as planning
from selpo.planning.schemas import PlanCreate

log = logging.getLogger("selpo.staff_jobs")

KINDS = ("plan", "simulation")
STALE = timedelta(minutes=10)  # a running job without a heartbeat this long has lost its runner
CLAIM_WAIT_S = 10.0  # how long a fresh thread waits for the queuing request to commit
MAX_ADD = 500
MAX_DAYS = 60


# ---------------------------------------------------------------------------- queueing


def plan_parameters(*, name: str, add: int, radius_km: float, marketplace: str) -> dict[str, Any]:
    """A ``connect --add N`` plan's parameters, checked (Russian refusals, 422)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("Название плана — от 1 до 200 знаков.", field="name")
    if not 1 <= add <= MAX_ADD:
        raise InvalidInput(f"Отделений добавить — от 1 до {MAX_ADD}.", field="add")
    if not 0.5 <= radius_km <= 100:
        raise InvalidInput("Радиус — от 0,5 до 100 км.", field="radius_km")
    return {"name": name, "add": add, "radius_km": radius_km, "marketplace": marketplace}


def simulation_parameters(
    *, days: int, scale: float, seed: int, plan_id: int | None, start: date
) -> dict[str, Any]:
    """A simulation's parameters, checked (Russian refusals, 422)."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"Дней моделировать — от 1 до {MAX_DAYS}.", field="days")
    if not 0 < scale <= 2:
        raise InvalidInput("Масштаб спроса — больше 0 и не больше 2.", field="scale")
    if not 0 <= seed <= 1_000_000:
        raise InvalidInput("Зерно — от 0 до 1 000 000.", field="seed")
    return {
        "days": days,
        "scale": scale,
        "seed": seed,
        "plan_id": plan_id,
        "start": start.isoformat(),
    }


def enqueue(
    session: Session,
    *,
    kind: str,
    region_id: int,
    parameters: dict[str, Any],
    by: str,
    now: datetime,
) -> StaffJob:
    """Check a job's parameters and queue it (the caller's transaction commits it)."""
    if kind == "plan":
        checked = plan_parameters(**parameters)
    elif kind == "simulation":
        checked = simulation_parameters(**parameters)
    else:
        raise InvalidInput("Неизвестный вид задания.", field="kind")
    job = StaffJob(
        region_id=region_id,
        kind=kind,
        parameters=checked,
        status="queued",
        progress=0.0,
        stage="в очереди",
        created_by=by,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


# ---------------------------------------------------------------------------- running


@dataclass
class _Progress:
    """Writes a job's progress in its own short transactions."""

    factory: sessionmaker[Session]
    job_id: int
    clock: Clock

    def __call__(self, share: float, stage: str) -> None:
        with session_scope(self.factory) as session:
            session.execute(
                update(StaffJob)
                .where(StaffJob.id == self.job_id)
                .values(
                    progress=max(0.0, min(1.0, share)),
                    stage=stage[:200],
                    heartbeat_at=self.clock.now(),
                )
            )


def _claim(factory: sessionmaker[Session], job_id: int, now: datetime) -> bool:
    with session_scope(factory) as session:
        claimed = session.execute(
            update(StaffJob)
            .where(StaffJob.id == job_id, StaffJob.status == "queued")
            .values(status="running", started_at=now, heartbeat_at=now, stage="начато")
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _finish(factory: sessionmaker[Session], job_id: int, now: datetime, **values: Any) -> None:
    with session_scope(factory) as session:
        session.execute(
            update(StaffJob).where(StaffJob.id == job_id).values(finished_at=now, **values)
        )


def _run_plan(
    factory: sessionmaker[Session], job: StaffJob, region: str, progress: _Progress, clock: Clock
) -> dict[str, Any]:
    p = job.parameters
    progress(0.1, "загрузка сети и населённых пунктов")
    plan_in = PlanCreate(
        name=p["name"],
        region=region,
        kind="connect",
        marketplace=p["marketplace"],
        add=int(p["add"]),
        radius_km=float(p["radius_km"]),
    )
    progress(0.3, "решение задачи о покрытии")
    with session_scope(factory) as session:
        plan = planning.run_scenario(session, plan_in=plan_in, now=clock.now())
    return {"plan_id": plan.id}


def _run_simulation(
    factory: sessionmaker[Session], job: StaffJob, region: str, progress: _Progress, clock: Clock
) -> dict[str, Any]:
    from selpo.simulation import report, scenarios
    from selpo.simulation.service import SimulationConfig, simulate

    p = job.parameters
    days = int(p["days"])
    config = SimulationConfig(
        days=days,
        region=region,
        seed=int(p["seed"]),
        scale=float(p["scale"]),
        start=date.fromisoformat(p["start"]),
    )
    label = "Сегодня"
    plan_id = p.get("plan_id")
    if plan_id is not None:
        with session_scope(factory) as session:
            chosen = scenarios.plan_scenario(session, int(plan_id))
        config = SimulationConfig(
            days=days,
            region=region,
            seed=config.seed,
            scale=config.scale,
            start=config.start,
            connect=chosen.indexes,
            connect_marketplace=chosen.marketplace,
        )
        label = chosen.label
    done = [0]

    def advance(step: int = 1) -> None:
        done[0] += step
        progress(0.05 + 0.9 * done[0] / days, f"смоделировано дней: {done[0]} из {days}")

    progress(0.02, "подготовка базы моделирования")
    began = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="selpo-sim-") as scratch:
        result = simulate(config, folder=Path(scratch), progress=advance)
        computed = report.compute(result)
        with session_scope(result.factory) as session:
            connected = scenarios.connected_offices(session, result.region)
        result.dispose()
    seconds = (datetime.now(UTC) - began).total_seconds()
    with session_scope(factory) as session:
        kept = scenarios.record_run(
            session,
            report=computed,
            config=config,
            kind="scenario",
            label=label,
            connected=connected,
            seconds=seconds,
            now=clock.now(),
            plan_id=int(plan_id) if plan_id is not None else None,
            region=result.region,
        )
        return {"run_id": kept.id}


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "plan": _run_plan,
    "simulation": _run_simulation,
}


def run_job(factory: sessionmaker[Session], job_id: int, clock: Clock) -> bool:
    """Claim a queued job and run it to its end (done or failed); False if it was not queued."""
    if not _claim(factory, job_id, clock.now()):
        return False
    with session_scope(factory) as session:
        job = session.get(StaffJob, job_id)
        assert job is not None
        session.expunge(job)
        region = session.scalar(select(Region.code).where(Region.id == job.region_id))
    progress = _Progress(factory, job_id, clock)
    try:
        result = RUNNERS[job.kind](factory, job, str(region), progress, clock)
    except DomainError as exc:
        _finish(factory, job_id, clock.now(), status="failed", error=exc.message[:500])
        return True
    except Exception as exc:  # a job must end, whatever broke; the log keeps the trace
        log.exception("staff job %s failed", job_id)
        _finish(factory, job_id, clock.now(), status="failed", error=f"Сбой: {exc}"[:500])
        return True
    _finish(factory, job_id, clock.now(), status="done", progress=1.0, stage="готово", **result)
    return True


def fail_stale(session: Session, now: datetime) -> int:
    """Mark running jobs whose runner stopped (no heartbeat for ``STALE``) as failed."""
    stale = session.execute(
        update(StaffJob)
        .where(StaffJob.status == "running", StaffJob.heartbeat_at < now - STALE)
        .values(
            status="failed",
            finished_at=now,
            error="Прервано: сервис перезапускался. Запустите задание снова.",
        )
    )
    return int(stale.rowcount)  # type: ignore[attr-defined]


def run_pending(factory: sessionmaker[Session], clock: Clock, limit: int = 1) -> int:
    """Fail the stale jobs, then run up to ``limit`` queued ones (oldest first)."""
    with session_scope(factory) as session:
        fail_stale(session, clock.now())
        queued = list(
            session.scalars(
                select(StaffJob.id)
                .where(StaffJob.status == "queued")
                .order_by(StaffJob.id)
                .limit(limit)
            )
        )
    return sum(run_job(factory, job_id, clock) for job_id in queued)


class StaffJobs:
    """The service process's runner: each queued job in a daemon thread of its own.

    ``threads=False`` (the HTTP tests, whose database is one connection) queues only: the
    caller runs ``run_pending`` itself, as the worker would.
    """

    def __init__(
        self, factory: Callable[[], sessionmaker[Session]], clock: Clock, *, threads: bool = True
    ) -> None:
        self._factory = factory
        self.clock = clock
        self.threads = threads

    def enqueue(self, session: Session, **fields: Any) -> StaffJob:
        return enqueue(session, **fields)

    def start(self, job_id: int) -> None:
        """Run a queued job in the background, once the queuing request has committed it."""
        if not self.threads:
            return
        thread = threading.Thread(
            target=self._wait_and_run, args=(job_id,), name=f"staff-job-{job_id}", daemon=True
        )
        thread.start()

    def _wait_and_run(self, job_id: int) -> None:
        deadline = time.monotonic() + CLAIM_WAIT_S
        factory = self._factory()
        while time.monotonic() < deadline:
            with session_scope(factory) as session:
                status = session.scalar(select(StaffJob.status).where(StaffJob.id == job_id))
            if status == "queued":
                run_job(factory, job_id, self.clock)
                return
            if status is not None:
                return  # another runner has it
            time.sleep(0.1)

    def run_pending(self, limit: int = 10) -> int:
        """Run queued jobs here and now (tests; the worker's timed job does the same)."""
        return run_pending(self._factory(), self.clock, limit)
