"""The worker: delivers the outbox and runs each domain's timed jobs until told to stop.

A composition root like ``app.py``: nothing imports it but the CLI. Several workers may run at
once (claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL); timed jobs are scheduled per process,
so every job must be safe to run twice.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

import httpx
from sqlalchemy.orm import Session, sessionmaker

from selpo.config import Settings, check_production_secrets
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import Clock, SystemClock
from selpo.logistics import service as logistics_service
from selpo.notify import service as notify_service
from selpo.notify.delivery import DEFAULT_BATCH, DeliveryReport, deliver_due, make_http_client
from selpo.notify.sms import LogSmsGateway, SmsGateway
from selpo.shipment import service as shipment_service

log = logging.getLogger("selpo.worker")

POLL_INTERVAL_S = 1.0


@dataclass(frozen=True)
class TimedJob:
    """A periodic job of some domain: ``run(session, now)`` returns how many things it did."""

    name: str
    interval: timedelta
    run: Callable[[Session, datetime], int]


def shipment_jobs(settings: Settings) -> list[TimedJob]:
    """The shipment domain's timed jobs, configured from the settings."""
    reminder_days = settings.storage_reminder_days
    retention_days = settings.personal_data_retention_days

    def remind(session: Session, now: datetime) -> int:
        return shipment_service.send_storage_reminders(session, now, days_before=reminder_days)

    def purge(session: Session, now: datetime) -> int:
        return shipment_service.purge_personal_data(session, now, retention_days=retention_days)

    return [
        TimedJob("expire_storage", timedelta(minutes=5), shipment_service.expire_storage),
        TimedJob("storage_reminders", timedelta(minutes=30), remind),
        TimedJob("purge_personal_data", timedelta(hours=6), purge),
    ]


TIMED_JOBS: list[TimedJob] = [
    TimedJob("purge_finished_outbox", timedelta(hours=6), notify_service.purge_finished_messages),
    TimedJob("advance_parcels", timedelta(minutes=5), logistics_service.advance_parcels),
]


class JobScheduler:
    """Runs each job, in its own transaction, when its interval has passed since its last run."""

    def __init__(self, jobs: Iterable[TimedJob]) -> None:
        self.jobs = list(jobs)
        self.last_run: dict[str, datetime] = {}

    def run_due(self, session_factory: sessionmaker[Session], now: datetime) -> dict[str, int]:
        """Run the jobs that are due; return what each that succeeded did."""
        done: dict[str, int] = {}
        for job in self.jobs:
            last = self.last_run.get(job.name)
            if last is not None and now - last < job.interval:
                continue
            # Set before running: a failing job waits its interval instead of failing every loop.
            self.last_run[job.name] = now
            try:
                with session_scope(session_factory) as session:
                    done[job.name] = job.run(session, now)
            except Exception:  # one job's failure must not stop delivery or the other jobs
                log.exception("timed job %s failed; its transaction was rolled back", job.name)
        return done


class Worker:
    """The delivery and job loop over one database."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Clock,
        http: httpx.Client,
        sms_gateway: SmsGateway,
        jobs: Iterable[TimedJob] = (),
        batch_size: int = DEFAULT_BATCH,
        poll_interval_s: float = POLL_INTERVAL_S,
        rng: random.Random | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.http = http
        self.sms_gateway = sms_gateway
        self.scheduler = JobScheduler(jobs)
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.rng = rng or random.Random()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to finish the message in hand and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for."""
        return self._stop.is_set()

    def run_once(self) -> DeliveryReport:
        """Deliver one batch of due messages, then run the timed jobs that are due."""
        now = self.clock.now()
        report = deliver_due(
            self.session_factory,
            now=now,
            http=self.http,
            sms_gateway=self.sms_gateway,
            limit=self.batch_size,
            rng=self.rng,
            stopping=self._stop.is_set,
        )
        if report.claimed:
            log.info(
                "outbox: %d sent, %d to retry, %d dead, %d cancelled",
                report.sent,
                report.retried,
                report.dead,
                report.cancelled,
            )
        if not self.stopping:
            for name, count in self.scheduler.run_due(self.session_factory, now).items():
                if count:
                    log.info("timed job %s: %d", name, count)
        return report

    def run(self, *, once: bool = False, stop_after_s: float | None = None) -> None:
        """Loop until stopped (or after one pass, or after ``stop_after_s`` seconds)."""
        started = time.monotonic()
        while not self.stopping:
            try:
                report = self.run_once()
            except Exception:
                if once:
                    raise
                # The database may be away for a moment (failover): wait and try again.
                log.exception("delivery pass failed; retrying in %.0f s", self.poll_interval_s)
                report = DeliveryReport()
            if once:
                return
            if stop_after_s is not None and time.monotonic() - started >= stop_after_s:
                return
            if report.claimed < self.batch_size:  # a full batch means more are due: go on
                self._stop.wait(self.poll_interval_s)


def _install_stop_handlers(worker: Worker) -> Callable[[], None]:
    """Make SIGINT and SIGTERM stop the worker gracefully; return a function undoing that."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach only the main thread's handlers
    # getsignal answers None for handlers not set from Python; those were the defaults.
    previous = {
        sig: signal.getsignal(sig) or signal.SIG_DFL for sig in (signal.SIGINT, signal.SIGTERM)
    }

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the message in hand", signal.Signals(signum).name)
        worker.stop()
        # A second signal of the same kind acts as it did before (Ctrl-C twice interrupts).
        signal.signal(signum, previous[signal.Signals(signum)])

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _build_worker(
    settings: Settings,
    *,
    clock: Clock | None,
    sms_gateway: SmsGateway | None,
    jobs: Iterable[TimedJob] | None,
) -> tuple[Worker, Callable[[], None]]:
    """A worker on the configured database, and what closes its connections."""
    check_production_secrets(settings)
    engine = create_db_engine(settings.database_url, echo=settings.database_echo)
    http = make_http_client()
    worker = Worker(
        make_session_factory(engine),
        clock=clock or SystemClock(),
        http=http,
        sms_gateway=sms_gateway or LogSmsGateway(settings.sms_log_path),
        jobs=[*TIMED_JOBS, *shipment_jobs(settings)] if jobs is None else jobs,
    )

    def close() -> None:
        http.close()
        engine.dispose()

    return worker, close


def run_worker(
    settings: Settings,
    *,
    once: bool = False,
    clock: Clock | None = None,
    stop_after_s: float | None = None,
    sms_gateway: SmsGateway | None = None,
    jobs: Iterable[TimedJob] | None = None,
) -> None:
    """Deliver the outbox and run the timed jobs until SIGINT/SIGTERM (or once, or for a while)."""
    worker, close = _build_worker(settings, clock=clock, sms_gateway=sms_gateway, jobs=jobs)
    restore = _install_stop_handlers(worker)
    try:
        worker.run(once=once, stop_after_s=stop_after_s)
    finally:
        restore()
        close()


@dataclass
class BackgroundWorker:
    """A worker running in a thread of this process (``selpo serve --worker``)."""

    worker: Worker
    thread: threading.Thread
    close: Callable[[], None]

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the message in hand, then close the worker's connections."""
        self.worker.stop()
        self.thread.join(timeout_s)
        self.close()


def start_background_worker(
    settings: Settings, *, clock: Clock | None = None, sms_gateway: SmsGateway | None = None
) -> BackgroundWorker:
    """Start the delivery and job loop in a daemon thread; ``stop()`` ends it."""
    worker, close = _build_worker(settings, clock=clock, sms_gateway=sms_gateway, jobs=None)
    thread = threading.Thread(target=worker.run, name="selpo-worker", daemon=True)
    thread.start()
    return BackgroundWorker(worker, thread, close)
