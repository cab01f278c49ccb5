"""Plans and simulations started from the dashboard, run for real on a database of their own
(jobs commit in transactions of their own): queued, claimed once, run to the plan or the
simulation run they store, by the service's thread or the worker's round; a job whose runner
died is failed; refused parameters queue nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selpo import staff_jobs
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import InvalidInput
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Plan, Region, SimulationRun, StaffJob
from selpo.network.importer import import_region
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key
from tests.fixtures.regions import bundled_source


@pytest.fixture
def factory(scratch_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database of its own with the region and OZON at Pestyaki."""
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    made = make_session_factory(engine)
    with session_scope(made) as session:
        import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
        marketplace_key(session, "OZON", now=TEST_NOW, connect=("155650", "153000"))
    yield made
    engine.dispose()


def _queue(factory: sessionmaker[Session], kind: str, **parameters: object) -> int:
    with session_scope(factory) as session:
        region = session.scalar(select(Region.id).where(Region.code == "37"))
        assert region is not None
        job = staff_jobs.enqueue(
            session, kind=kind, region_id=region, parameters=parameters, by="boss", now=TEST_NOW
        )
        return job.id


def _job(factory: sessionmaker[Session], job_id: int) -> StaffJob:
    with session_scope(factory) as session:
        job = session.get(StaffJob, job_id)
        assert job is not None
        session.expunge(job)
        return job


def test_a_plan_runs_once_to_its_stored_plan(factory: sessionmaker[Session]) -> None:
    job_id = _queue(factory, "plan", name="Три", add=3, radius_km=10.0, marketplace="OZON")
    assert _job(factory, job_id).status == "queued"
    clock = FrozenClock(TEST_NOW)
    assert staff_jobs.run_pending(factory, clock) == 1
    job = _job(factory, job_id)
    assert (job.status, job.progress, job.stage, job.error) == ("done", 1.0, "готово", None)
    assert job.finished_at == TEST_NOW
    with session_scope(factory) as session:
        plan = session.get(Plan, job.plan_id)
        assert plan is not None
        assert (plan.name, plan.kind, len(plan.result["chosen"])) == ("Три", "connect", 3)
    # Claimed once: a second runner finds nothing to do.
    assert staff_jobs.run_job(factory, job_id, clock) is False
    assert staff_jobs.run_pending(factory, clock) == 0


def test_a_simulation_reports_each_day_and_keeps_its_run(factory: sessionmaker[Session]) -> None:
    job_id = _queue(
        factory, "simulation", days=2, scale=0.02, seed=3, plan_id=None, start=date(2026, 11, 2)
    )
    seen: list[tuple[float, str]] = []
    original = staff_jobs._Progress.__call__

    def spy(self: staff_jobs._Progress, share: float, stage: str) -> None:
        seen.append((share, stage))
        original(self, share, stage)

    staff_jobs._Progress.__call__ = spy  # type: ignore[method-assign]
    try:
        assert staff_jobs.run_pending(factory, FrozenClock(TEST_NOW)) == 1
    finally:
        staff_jobs._Progress.__call__ = original  # type: ignore[method-assign]
    job = _job(factory, job_id)
    assert job.status == "done", job.error
    assert [stage for _, stage in seen if "дней" in stage] == [
        "смоделировано дней: 1 из 2",
        "смоделировано дней: 2 из 2",
    ]
    assert [share for share, _ in seen] == sorted(share for share, _ in seen)
    with session_scope(factory) as session:
        run = session.get(SimulationRun, job.run_id)
        assert run is not None
        assert (run.days, run.seed, run.label, run.kind) == (2, 3, "Сегодня", "scenario")


def test_the_service_thread_runs_a_queued_job(factory: sessionmaker[Session]) -> None:
    runner = staff_jobs.StaffJobs(lambda: factory, FrozenClock(TEST_NOW))
    job_id = _queue(factory, "plan", name="Два", add=2, radius_km=8.0, marketplace="OZON")
    runner.start(job_id)
    deadline = time.monotonic() + 60
    while _job(factory, job_id).status in ("queued", "running"):
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.2)
    assert _job(factory, job_id).status == "done"


def test_a_job_whose_runner_died_fails_in_words(factory: sessionmaker[Session]) -> None:
    job_id = _queue(factory, "plan", name="Один", add=1, radius_km=10.0, marketplace="OZON")
    assert staff_jobs._claim(factory, job_id, TEST_NOW - timedelta(hours=1))
    clock = FrozenClock(TEST_NOW)
    assert staff_jobs.run_pending(factory, clock) == 0
    job = _job(factory, job_id)
    assert job.status == "failed"
    assert job.error is not None
    assert "перезапуск" in job.error


def test_a_failing_job_ends_failed_with_its_reason(factory: sessionmaker[Session]) -> None:
    job_id = _queue(factory, "plan", name="Никуда", add=3, radius_km=10.0, marketplace="NOPE")
    staff_jobs.run_pending(factory, FrozenClock(TEST_NOW))
    job = _job(factory, job_id)
    assert job.status == "failed"
    assert job.error
    assert job.plan_id is None


@pytest.mark.parametrize(
    ("kind", "parameters", "field"),
    [
        ("plan", {"name": " ", "add": 3, "radius_km": 10.0, "marketplace": "OZON"}, "name"),
        ("plan", {"name": "Х", "add": 501, "radius_km": 10.0, "marketplace": "OZON"}, "add"),
        ("plan", {"name": "Х", "add": 3, "radius_km": 0.1, "marketplace": "OZON"}, "radius_km"),
        (
            "simulation",
            {"days": 0, "scale": 0.1, "seed": 1, "plan_id": None, "start": date(2026, 11, 2)},
            "days",
        ),
        (
            "simulation",
            {"days": 3, "scale": 5.0, "seed": 1, "plan_id": None, "start": date(2026, 11, 2)},
            "scale",
        ),
        ("report", {}, "kind"),
    ],
)
def test_refused_parameters_queue_nothing(
    factory: sessionmaker[Session], kind: str, parameters: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        _queue(factory, kind, **parameters)
    assert refused.value.field == field
    with session_scope(factory) as session:
        assert session.scalars(select(StaffJob)).first() is None
