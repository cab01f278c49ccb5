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
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType

import httpx
from sqlalchemy.orm import Session, sessionmaker

from selpo import partitions, staff_jobs
from selpo.config import Settings, check_production_secrets
from selpo.db import (
    create_db_engine,
    database_switching,
    make_session_factory,
    see_every_partition,
    session_scope,
)
from selpo.kit.clock import Clock, SystemClock
from selpo.logistics import movement, return_legs
from selpo.notify import service as notify_service
from selpo.notify.delivery import (
    DEFAULT_BATCH,
    DeliveryLimits,
    DeliveryReport,
    Dispatcher,
)
from selpo.notify.destination import parse_allow_hosts
from selpo.notify.sms import LogSmsGateway, SmsGateway
from selpo.notify.transport import make_http_client
from selpo.payout import service as payout_service
from selpo.shipment import service as shipment_service

log = logging.getLogger("selpo.worker")

# The delivery counts are logged once per this many seconds (OutboxLog).
OUTBOX_LOG_EVERY_S = 10.0
POLL_INTERVAL_S = 1.0
DEFAULT_CHUNK = 200
# The purges have nothing urgent to do: however short the jobs' cadence, at most hourly.
PURGE_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class TimedJob:
    """A periodic job of some domain: ``run(session, now, limit)`` handles at most ``limit``
    things in one transaction and returns how many; a full chunk means there may be more."""

    name: str
    interval: timedelta
    run: Callable[[Session, datetime, int], int]
    summary: str = ""


def timed_jobs(settings: Settings) -> list[TimedJob]:
    """Every domain's timed jobs, with their cadence from the settings."""
    every = timedelta(seconds=settings.jobs_interval_s)
    rare = max(every, PURGE_INTERVAL)
    reminder_days = settings.storage_reminder_days
    retention_days = settings.personal_data_retention_days
    base_url = settings.public_base_url
    retention_months = {
        partitions.TRACKING_EVENT.name: settings.tracking_event_retention_months,
        partitions.OUTBOX_MESSAGE.name: settings.outbox_retention_months,
    }

    def expire(session: Session, now: datetime, limit: int) -> int:
        return shipment_service.expire_storage(session, now, limit=limit)

    def remind(session: Session, now: datetime, limit: int) -> int:
        return shipment_service.send_storage_reminders(
            session, now, days_before=reminder_days, limit=limit, base_url=base_url
        )

    def purge_personal(session: Session, now: datetime, limit: int) -> int:
        see_every_partition(session)  # the sandbox's recipients are erased alike
        return shipment_service.purge_personal_data(
            session, now, retention_days=retention_days, limit=limit
        )

    def purge_outbox(session: Session, now: datetime, limit: int) -> int:
        return notify_service.purge_finished_messages(session, now, limit=limit)

    def advance(session: Session, now: datetime, limit: int) -> int:
        return movement.advance_parcels(session, now, limit=limit)

    def return_legs_job(session: Session, now: datetime, limit: int) -> int:
        return return_legs.advance_return_legs(session, now, limit=limit)

    def dashboard_jobs(session: Session, now: datetime, limit: int) -> int:
        # Jobs run in transactions of their own: a factory on the same engine.
        factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
        return staff_jobs.run_pending(factory, SystemClock(), limit=1)

    def close_payouts(session: Session, now: datetime, limit: int) -> int:
        return payout_service.close_days(session, now, limit=limit)

    def maintain_partitions(session: Session, now: datetime, limit: int) -> int:
        done = partitions.maintain(session.connection(), now, retention_months=retention_months)
        return done.count

    return [
        TimedJob("storage-expiry", every, expire, "parcels past their storage deadline expire"),
        TimedJob(
            "storage-reminders",
            every,
            remind,
            f"SMS reminders {reminder_days} days before storage ends",
        ),
        TimedJob(
            "advance-parcels",
            every,
            advance,
            "vans depart and arrive along the timetable (tracking events)",
        ),
        TimedJob(
            "return-legs",
            every,
            return_legs_job,
            "vans load what the offices send back, within their room, oldest first",
        ),
        TimedJob(
            "staff-jobs",
            every,
            dashboard_jobs,
            "plans and simulations queued on the dashboard (one per round)",
        ),
        TimedJob(
            "close-payout-days",
            every,
            close_payouts,
            "days ended in every office's zone close: payout.ready to each marketplace",
        ),
        TimedJob(
            "purge-personal-data",
            rare,
            purge_personal,
            f"recipients' names and phones erased {retention_days} days after the end",
        ),
        TimedJob(
            "purge-finished-outbox",
            rare,
            purge_outbox,
            "sent, dead and cancelled outbox rows deleted after 30 days",
        ),
        TimedJob(
            "maintain-partitions",
            rare,
            maintain_partitions,
            "PostgreSQL: the next months' partitions made, months past retention dropped"
            f" (events after {settings.tracking_event_retention_months} months, the outbox"
            f" after {settings.outbox_retention_months})",
        ),
    ]


def find_job(jobs: Iterable[TimedJob], name: str) -> TimedJob | None:
    """The job of that name (underscores accepted for dashes)."""
    wanted = name.strip().lower().replace("_", "-")
    return next((job for job in jobs if job.name == wanted), None)


def run_job(
    session_factory: sessionmaker[Session],
    job: TimedJob,
    now: datetime,
    *,
    chunk: int = DEFAULT_CHUNK,
    max_chunks: int | None = None,
) -> tuple[int, int]:
    """Run a job to the end now, one short transaction per chunk; return (things done, chunks)."""
    done = chunks = 0
    while max_chunks is None or chunks < max_chunks:
        with session_scope(session_factory) as session:
            count = job.run(session, now, chunk)
        done += count
        chunks += 1
        if count < chunk:
            break
    return done, chunks


class JobScheduler:
    """Runs each job when its interval has passed, one chunk (one transaction) per call; a job
    whose chunk was full runs its next chunk on the next call, between delivery passes."""

    def __init__(self, jobs: Iterable[TimedJob], *, chunk: int = DEFAULT_CHUNK) -> None:
        self.jobs = list(jobs)
        self.chunk = chunk
        self.last_run: dict[str, datetime] = {}
        self._unfinished: set[str] = set()

    @property
    def has_more(self) -> bool:
        """Whether a job left a full chunk behind (more may be waiting)."""
        return bool(self._unfinished)

    def run_due(self, session_factory: sessionmaker[Session], now: datetime) -> dict[str, int]:
        """Run one chunk of each job that is due; return what each that succeeded did."""
        done: dict[str, int] = {}
        for job in self.jobs:
            last = self.last_run.get(job.name)
            unfinished = job.name in self._unfinished
            if not unfinished and last is not None and now - last < job.interval:
                continue
            if not unfinished:
                # Set before running: a failing job waits its interval instead of failing
                # every loop.
                self.last_run[job.name] = now
            self._unfinished.discard(job.name)
            try:
                with session_scope(session_factory) as session:
                    done[job.name] = job.run(session, now, self.chunk)
            except Exception as exc:  # one job's failure must not stop delivery or the others
                if database_switching(exc):
                    # The database is switching to its standby: the chunk rolled back and runs
                    # again on the next call, not an interval later.
                    log.warning("timed job %s: database switching (%s)", job.name, _cause(exc))
                    self._unfinished.add(job.name)
                    continue
                # The class and where, never the message: a database error's text may quote
                # the row's values (a phone, an SMS with its code).
                log.error(
                    "timed job %s failed (%s); its transaction was rolled back\n%s",
                    job.name,
                    type(exc).__name__,
                    _where(exc),
                )
                continue
            if done[job.name] >= self.chunk:
                self._unfinished.add(job.name)
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
        limits: DeliveryLimits | None = None,
        chunk: int = DEFAULT_CHUNK,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.http = http
        self.sms_gateway = sms_gateway
        self.scheduler = JobScheduler(jobs, chunk=chunk)
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.rng = rng or random.Random()
        self.limits = limits or DeliveryLimits()
        self._stop = threading.Event()
        self._outbox_log = OutboxLog()

    def stop(self) -> None:
        """Ask the loop to finish the messages in hand and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether a stop was asked for."""
        return self._stop.is_set()

    def _dispatcher(self) -> Dispatcher:
        return Dispatcher(
            self.session_factory,
            http=self.http,
            sms_gateway=self.sms_gateway,
            limits=self.limits,
            rng=self.rng,
        )

    def _pass(self, dispatcher: Dispatcher) -> DeliveryReport:
        now = self.clock.now()
        report = dispatcher.pump(now, claim=not self.stopping, limit=self.batch_size)
        self._outbox_log.add(report)
        if not self.stopping:
            for name, count in self.scheduler.run_due(self.session_factory, now).items():
                if count:
                    log.info("timed job %s: %d", name, count)
        return report

    def run_once(self) -> DeliveryReport:
        """Deliver one batch of due messages (waiting for every attempt), then run one chunk of
        each timed job that is due."""
        dispatcher = self._dispatcher()
        try:
            report = self._pass(dispatcher)
            finished = dispatcher.finish(self.clock.now)
            report.add(finished)
            self._outbox_log.add(finished, flush=True)
        finally:
            dispatcher.close()
        return report

    def run(self, *, once: bool = False, stop_after_s: float | None = None) -> None:
        """Loop until stopped (or after one pass, or after ``stop_after_s`` seconds).

        Claims are made whenever a lane has room: at each poll, and as soon as an attempt
        finishes, so a slow receiver never holds up the next messages.
        """
        if once:
            self.run_once()
            return
        started = time.monotonic()
        dispatcher = self._dispatcher()
        try:
            while not self.stopping:
                try:
                    report = self._pass(dispatcher)
                except Exception as exc:
                    # The database may be away for a moment (failover): its transaction rolled
                    # back (claims included), so wait and try again.
                    report = DeliveryReport()
                    if database_switching(exc):
                        log.warning(
                            "delivery pass: database switching (%s); retrying in %.0f s",
                            _cause(exc),
                            self.poll_interval_s,
                        )
                    else:
                        log.error(
                            "delivery pass failed (%s); retrying in %.0f s\n%s",
                            type(exc).__name__,
                            self.poll_interval_s,
                            _where(exc),
                        )
                if stop_after_s is not None and time.monotonic() - started >= stop_after_s:
                    return
                busy = report.claimed >= self.batch_size or self.scheduler.has_more
                if dispatcher.in_flight:
                    dispatcher.wait(0 if self.scheduler.has_more else self.poll_interval_s)
                elif not busy:
                    self._stop.wait(self.poll_interval_s)
        finally:
            try:
                self._outbox_log.add(dispatcher.finish(self.clock.now), flush=True)
            finally:
                dispatcher.close()


def _cause(exc: BaseException) -> str:
    """The class of the driver's error under SQLAlchemy's (never its message)."""
    return type(exc.__cause__ or exc).__name__


def _where(exc: BaseException) -> str:
    """The traceback's frames (files, lines, code) without the exception's message."""
    return "".join(traceback.format_tb(exc.__traceback__)).rstrip()


class OutboxLog:
    """The worker's delivery counts, logged as one line per ``every_s`` rather than per pass.

    With parallel lanes a pass often finishes one or two messages, so a backlog would write a
    line every few messages (a message given up is still warned about at once, by delivery).
    """

    def __init__(self, every_s: float = OUTBOX_LOG_EVERY_S) -> None:
        self.every_s = every_s
        self._since = time.monotonic()
        self._counts = DeliveryReport()

    def add(self, report: DeliveryReport, *, flush: bool = False) -> None:
        """Count a pass; write the line when it is due (or now, with ``flush``)."""
        self._counts.add(report)
        if flush or time.monotonic() - self._since >= self.every_s:
            counts = self._counts
            if counts.sent or counts.retried or counts.dead or counts.cancelled:
                log.info(
                    "outbox: %d sent, %d to retry, %d dead, %d cancelled",
                    counts.sent,
                    counts.retried,
                    counts.dead,
                    counts.cancelled,
                )
            self._counts = DeliveryReport()
            self._since = time.monotonic()


def _install_stop_handlers(worker: Worker) -> Callable[[], None]:
    """Make SIGINT and SIGTERM stop the worker gracefully; return a function undoing that."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach only the main thread's handlers
    # getsignal answers None for handlers not set from Python; those were the defaults.
    previous = {
        sig: signal.getsignal(sig) or signal.SIG_DFL for sig in (signal.SIGINT, signal.SIGTERM)
    }

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the messages in hand", signal.Signals(signum).name)
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
    # httpx logs every request's full URL at INFO; a subscriber's URL may carry its own token.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger("httpx").level))
    allow_hosts = parse_allow_hosts(settings.webhook_allow_hosts)
    http = make_http_client(allow_hosts=allow_hosts, max_connections=settings.delivery_threads)
    worker = Worker(
        make_session_factory(engine),
        clock=clock or SystemClock(),
        http=http,
        sms_gateway=sms_gateway or LogSmsGateway(settings.sms_log_path),
        jobs=timed_jobs(settings) if jobs is None else jobs,
        limits=DeliveryLimits(
            webhook_threads=settings.delivery_threads,
            per_subscription=settings.webhook_concurrency,
            attempt_timeout_s=settings.webhook_timeout_s,
        ),
        chunk=settings.jobs_chunk_size,
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
        """Finish the messages in hand, then close the worker's connections."""
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
