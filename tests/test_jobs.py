"""`selpo jobs`: timed jobs on demand, in chunks, each chunk its own committed transaction."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from selpo.cli import app
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.migrate import upgrade_to_head
from selpo.models import OutboxMessage
from selpo.notify import service as notify_service
from selpo.worker import JobScheduler, TimedJob, run_job

runner = CliRunner()
JOB_NAMES = (
    "storage-expiry",
    "storage-reminders",
    "advance-parcels",
    "return-legs",
    "staff-jobs",
    "close-payout-days",
    "purge-personal-data",
    "purge-finished-outbox",
    "maintain-partitions",
)


@pytest.fixture
def factory(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    """A migrated database of its own (jobs commit for real), the CLI pointed at it."""
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _finished_rows(factory: sessionmaker[Session], count: int, *, created_at: datetime) -> None:
    row = {
        "kind": "sms",
        "status": "sent",
        "payload": {"phone": "+7******4567", "text": None},
        "created_at": created_at,
        "available_at": created_at,
        "attempts": 1,
    }
    with session_scope(factory) as session:
        session.execute(insert(OutboxMessage), [row] * count)


def _count(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def _purge(session: Session, now: datetime, limit: int) -> int:
    return notify_service.purge_finished_messages(session, now, limit=limit)


class TestJobsCommand:
    def test_list_names_every_job_with_its_cadence(
        self, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SELPO_JOBS_INTERVAL_S", "30")
        result = runner.invoke(app, ["jobs", "list"])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert [line.split()[0] for line in lines] == list(JOB_NAMES)
        assert "every 30 s" in lines[0]
        assert "every 1 h" in lines[-1]  # the purges stay hourly

    def test_run_does_the_job_now_in_chunks(
        self, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SELPO_JOBS_CHUNK_SIZE", "200")
        now = datetime.now(UTC)
        _finished_rows(factory, 450, created_at=now - timedelta(days=31))
        _finished_rows(factory, 5, created_at=now - timedelta(days=1))  # still kept
        result = runner.invoke(app, ["jobs", "run", "purge-finished-outbox"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "purge-finished-outbox: 450 done in 3 transactions"
        assert _count(factory) == 5

    def test_run_storage_expiry_with_nothing_due(self, factory: sessionmaker[Session]) -> None:
        result = runner.invoke(app, ["jobs", "run", "storage_expiry"])  # underscores accepted
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "storage-expiry: 0 done in 1 transaction"

    def test_an_unknown_job_is_refused_with_the_known_names(
        self, factory: sessionmaker[Session]
    ) -> None:
        result = runner.invoke(app, ["jobs", "run", "expire-everything"])
        assert result.exit_code == 2
        assert "no timed job is called 'expire-everything'" in result.output
        assert "storage-expiry" in result.output


class TestChunks:
    def test_each_chunk_is_committed_on_its_own(self, factory: sessionmaker[Session]) -> None:
        now = datetime.now(UTC)
        _finished_rows(factory, 7, created_at=now - timedelta(days=40))
        chunks: list[int] = []

        def third_chunk_fails(session: Session, at: datetime, limit: int) -> int:
            chunks.append(limit)
            if len(chunks) == 3:
                _purge(session, at, limit)
                raise RuntimeError("the third chunk breaks")
            return _purge(session, at, limit)

        job = TimedJob("purge", timedelta(hours=1), third_chunk_fails)
        with pytest.raises(RuntimeError, match="third chunk"):
            run_job(factory, job, now, chunk=2)
        # Two chunks of two were committed; the third rolled back alone.
        assert _count(factory) == 3
        assert run_job(factory, TimedJob("purge", timedelta(hours=1), _purge), now, chunk=2) == (
            3,
            2,
        )
        assert _count(factory) == 0

    def test_the_scheduler_goes_on_while_a_chunk_was_full(
        self, factory: sessionmaker[Session]
    ) -> None:
        now = datetime.now(UTC)
        _finished_rows(factory, 5, created_at=now - timedelta(days=40))
        scheduler = JobScheduler([TimedJob("purge", timedelta(hours=1), _purge)], chunk=2)
        done = []
        while True:
            ran = scheduler.run_due(factory, now)
            if not ran:
                break
            done.append(ran["purge"])
        assert done == [2, 2, 1]
        assert not scheduler.has_more
        assert _count(factory) == 0
        # Finished: the next run waits for the interval.
        _finished_rows(factory, 1, created_at=now - timedelta(days=40))
        assert scheduler.run_due(factory, now + timedelta(minutes=59)) == {}
        assert scheduler.run_due(factory, now + timedelta(hours=1)) == {"purge": 1}
