"""The worker loop: delivery and timed jobs on a database of its own, graceful stop."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import OutboxMessage
from selpo.notify import service
from selpo.notify.sms import LogSmsGateway
from selpo.worker import JobScheduler, TimedJob, Worker, run_worker, timed_jobs
from tests.conftest import TEST_NOW
from tests.fixtures.receiver import Receiver
from tests.notify.conftest import (
    RecordingSmsGateway,
    make_marketplace,
    outbox_rows,
    subscribe,
)


@pytest.fixture
def worker_engine(scratch_url: str) -> Iterator[Engine]:
    """A migrated database of the worker's own (it commits for real)."""
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


class TestJobScheduler:
    def test_runs_each_job_once_per_interval(self, session_factory: sessionmaker[Session]) -> None:
        calls: list[tuple[str, datetime]] = []

        def hourly(session: Session, now: datetime, limit: int) -> int:
            calls.append(("hourly", now))
            return 2

        def daily(session: Session, now: datetime, limit: int) -> int:
            calls.append(("daily", now))
            return 0

        scheduler = JobScheduler(
            [
                TimedJob("hourly", timedelta(hours=1), hourly),
                TimedJob("daily", timedelta(days=1), daily),
            ]
        )
        assert scheduler.run_due(session_factory, TEST_NOW) == {"hourly": 2, "daily": 0}
        assert scheduler.run_due(session_factory, TEST_NOW + timedelta(minutes=59)) == {}
        assert scheduler.run_due(session_factory, TEST_NOW + timedelta(hours=1)) == {"hourly": 2}
        assert [name for name, _ in calls] == ["hourly", "daily", "hourly"]

    def test_a_failing_job_is_rolled_back_and_the_others_still_run(
        self, session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
    ) -> None:
        def broken(session: Session, now: datetime, limit: int) -> int:
            service.queue_sms(session, phone="+79161234567", text="half done", now=now)
            raise RuntimeError("job bug")

        def fine(session: Session, now: datetime, limit: int) -> int:
            service.queue_sms(session, phone="+79161234567", text="done", now=now)
            return 1

        scheduler = JobScheduler(
            [
                TimedJob("broken", timedelta(hours=1), broken),
                TimedJob("fine", timedelta(hours=1), fine),
            ]
        )
        with caplog.at_level(logging.ERROR, logger="selpo.worker"):
            assert scheduler.run_due(session_factory, TEST_NOW) == {"fine": 1}
        assert "timed job broken failed" in caplog.text
        assert [r.payload["text"] for r in outbox_rows(session_factory)] == ["done"]
        # It waits its interval like any other job rather than failing on every loop.
        assert scheduler.run_due(session_factory, TEST_NOW + timedelta(minutes=1)) == {}

    def test_the_default_jobs_and_their_cadence_come_from_the_settings(self) -> None:
        jobs = {job.name: job.interval for job in timed_jobs(Settings(jobs_interval_s=30))}
        assert set(jobs) == {
            "storage-expiry",
            "storage-reminders",
            "advance-parcels",
            "staff-jobs",
            "close-payout-days",
            "purge-personal-data",
            "purge-finished-outbox",
            "maintain-partitions",
            "return-legs",
        }
        assert jobs["storage-expiry"] == jobs["advance-parcels"] == timedelta(seconds=30)
        assert jobs["purge-finished-outbox"] == timedelta(hours=1)  # purges stay rarer
        assert timed_jobs(Settings())[0].interval == timedelta(minutes=1)  # the default


class TestRunWorker:
    def test_one_pass_delivers_webhooks_and_sms(
        self, worker_engine: Engine, scratch_url: str, receiver: Receiver
    ) -> None:
        factory = make_session_factory(worker_engine)
        with session_scope(factory) as session:
            key = make_marketplace(session, "NOTIFY_WORKER", now=TEST_NOW)
        subscribe(factory, key.marketplace_id, receiver.url, now=TEST_NOW)
        with session_scope(factory) as session:
            event_id = service.publish_event(
                session,
                marketplace_id=key.marketplace_id,
                event_type="shipment.created",
                data={},
                now=TEST_NOW,
            )
            service.queue_sms(session, phone="+79161234567", text="Код 1234", now=TEST_NOW)
        gateway = RecordingSmsGateway()

        run_worker(
            Settings(database_url=scratch_url, webhook_allow_hosts="127.0.0.1"),
            once=True,
            clock=FrozenClock(TEST_NOW),
            sms_gateway=gateway,
        )

        assert [r.event_id for r in receiver.accepted] == [event_id]
        assert gateway.sent == [("+79161234567", "Код 1234")]
        assert {r.status for r in outbox_rows(factory)} == {"sent"}

    def test_sigterm_stops_the_loop_gracefully(
        self, worker_engine: Engine, scratch_url: str, tmp_path: Path
    ) -> None:
        before = signal.getsignal(signal.SIGTERM)
        done = threading.Event()

        def terminate_once_handled() -> None:
            # SIGTERM before the worker has installed its handler would kill the test run:
            # wait until the handler is there (the worker's start-up may be slow on a busy
            # machine), then send it.
            while not done.is_set():
                if signal.getsignal(signal.SIGTERM) is not before:
                    time.sleep(0.2)  # into the loop
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
                time.sleep(0.01)

        sender = threading.Thread(target=terminate_once_handled, daemon=True)
        started = time.monotonic()
        sender.start()
        try:
            run_worker(
                Settings(database_url=scratch_url),
                stop_after_s=60,
                sms_gateway=LogSmsGateway(tmp_path / "sms.log"),
            )
        finally:
            done.set()
            sender.join()
        # Stopped by the signal, not by its 60 s limit.
        assert time.monotonic() - started < 30
        assert signal.getsignal(signal.SIGTERM) == before

    def test_stops_after_the_given_time(self, worker_engine: Engine, scratch_url: str) -> None:
        started = time.monotonic()
        run_worker(
            Settings(database_url=scratch_url), stop_after_s=0.2, sms_gateway=RecordingSmsGateway()
        )
        assert time.monotonic() - started < 3


class TestWorkerLoop:
    def test_a_failing_pass_is_logged_and_the_loop_goes_on(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        engine = create_db_engine(f"sqlite:///{tmp_path / 'unmigrated.db'}")  # no tables
        with httpx.Client() as http:
            worker = Worker(
                make_session_factory(engine),
                clock=FrozenClock(TEST_NOW),
                http=http,
                sms_gateway=RecordingSmsGateway(),
                poll_interval_s=0.01,
            )
            with caplog.at_level(logging.ERROR, logger="selpo.worker"):
                worker.run(stop_after_s=0.1)
            assert "delivery pass failed" in caplog.text
            with pytest.raises(Exception, match="no such table"):
                worker.run(once=True)
        engine.dispose()

    def test_a_full_batch_is_followed_at_once_by_the_next(
        self, worker_engine: Engine, http: httpx.Client
    ) -> None:
        factory = make_session_factory(worker_engine)
        with session_scope(factory) as session:
            for n in range(5):
                service.queue_sms(session, phone="+79161234567", text=f"m{n}", now=TEST_NOW)
        gateway = RecordingSmsGateway()
        worker = Worker(
            factory,
            clock=FrozenClock(TEST_NOW),
            http=http,
            sms_gateway=gateway,
            batch_size=2,
            poll_interval_s=30,  # the test would take a minute if full batches waited for it
        )
        gateway.on_send = lambda: worker.stop() if len(gateway.sent) == 5 else None
        started = time.monotonic()
        worker.run()
        assert time.monotonic() - started < 5
        assert [text for _, text in gateway.sent] == [f"m{n}" for n in range(5)]
        with session_scope(factory) as session:
            assert (
                session.scalars(select(OutboxMessage).where(OutboxMessage.status != "sent")).all()
                == []
            )
