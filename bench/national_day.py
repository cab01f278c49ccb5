"""A national day on PostgreSQL, scaled: shipments in batches, hub and route scans, counter
issues, webhooks and SMS through the worker(s) — throughput, p50/p99 over time, the database's
size, and the ratio to raw inserts of the same rows in the same run.

Run from the repository root::

    .venv/bin/python bench/national_day.py --scale 0.003 [--clients 2] [--scanners 8]
        [--single-scans] [--webhook-batch 50]
        [--server-workers 2] [--bulk-server-workers 0] [--background-nice 0]
        [--workers 2] [--webhook-concurrency 16] [--drain-timeout 600]
        [--vacuum-every 30] [--window 60] [--postgres-url URL]

The whole day (``--scale 1``) is 1,000,000 shipments, 6,000,000 tracking events and 100,000
counter issues; ``--scale`` takes that fraction of each. A fresh database
(``selpo_bench_shipments_<pid>``, dropped at the end) is migrated (the partitioned tables
included), the bundled region imported, one marketplace connected to the busiest offices with a
webhook subscription to a receiver on 127.0.0.1, an operator key, and a clerk signed in at each
office. The real application runs under uvicorn (``--server-workers`` processes) with
``--workers`` ``selpo worker`` processes beside it (SMS to a file, webhooks to the receiver,
``--webhook-batch`` events a POST: the subscription's ``batch_max``). With
``--bulk-server-workers N`` the batches below go to a second uvicorn pool of their own, as a
reverse proxy would route them by path; ``--background-nice K`` runs that pool and the workers
K nice steps lower (what ``CPUWeight=`` does for a systemd service). On a server with
autovacuum off (a shared test server) the bench runs ``VACUUM (ANALYZE)`` of the day's busy
tables every ``--vacuum-every`` seconds, as autovacuum would.

``--clients`` threads take waves of 1,000 parcels, each through its whole day (the route scans
and the counter work go out over ``--scanners`` threads):

* ``create_batch``   ``POST /v1/shipments/batch`` of 1,000 (marketplace key, Idempotency-Key);
* ``handover_act``   ``POST /v1/handovers`` with the 1,000 numbers (``handed_over`` events);
* ``hub_acceptance`` ``POST /v1/handovers/{id}/acceptance`` (operator key: one
  ``arrived_at_sorting_centre`` event each);
* ``scan_batch``     ``POST /v1/tracking-events/batch`` of the wave's 1,000 parcels, once per
  route scan (operator key: departed the sorting centre, arrived at the hub, arrived at the
  office) — six events a parcel with ``created``; with ``--single-scans`` instead
  ``scan``: ``POST /v1/tracking-events`` three times per parcel, one event a request (the way
  before the batch existed, for comparison);
* ``shelve``/``issue`` a tenth of the parcels on the clerk's pages: put in a cell (the SMS with
  the pickup code goes out), then handed out with the code read from the SMS sink.

Meanwhile ``create_single`` sends one ``POST /v1/shipments`` a second from a process of its
own: the latency a marketplace's single create sees during the day. When the clients are done
the outbox is drained (every webhook and SMS sent). The same rows (shipments, their items,
six events each, the outbox rows) are then inserted straight with SQLAlchemy Core
executemany, 1,000 shipments a transaction: the ceiling the API's rate is compared with.

CPU is reported a parcel for the API server, the workers and PostgreSQL (its postmaster's
processes, exited backends included), and for the whole machine (the bench's own clients and
the receiver too).
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select, text

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.load import Client, CodeReader, Parcel, Tally  # noqa: E402
from bench.load import Fixture as LoadFixture  # noqa: E402
from bench.load import set_up as load_set_up  # noqa: E402
from bench.local_server import cpu_seconds, serve_process  # noqa: E402
from bench.shipments import (  # noqa: E402
    DEFAULT_POSTGRES_URL,
    EVENT_TABLE,
    ITEM_TABLE,
    SHIPMENT_TABLE,
    Database,
    RawNumbers,
    machine,
    postgres_database,
    shipment_row,
)

from selpo.db import Base, session_scope  # noqa: E402
from selpo.models import (  # noqa: E402
    Marketplace,
    OutboxMessage,
    PostOffice,
    Shipment,
    TrackingEvent,
)
from selpo.notify import service as notify_service  # noqa: E402
from selpo.shipment.schemas import ShipmentCreate  # noqa: E402

DAY_SHIPMENTS = 1_000_000
DAY_EVENTS = 6_000_000
DAY_ISSUES = 100_000
WAVE = 1000  # the API's largest batch
ROUTE_SCANS = ("departed_sorting_centre", "arrived_at_hub", "arrived_at_office")
SINGLE_EVERY_S = 1.0
CODE_WAIT_S = 120.0
DRAIN_TIMEOUT_S = 1800.0
AIM_DAY_S = 3600.0
AIM_SINGLE_P99_S = 0.100
OUTBOX_TABLE = Base.metadata.tables["outbox_message"]
PHONES = itertools.count(1)


@dataclass(frozen=True)
class Options:
    scale: float
    clients: int
    server_workers: int
    bulk_server_workers: int
    background_nice: int
    workers: int
    offices: int
    scanners: int
    single_scans: bool
    webhook_concurrency: int
    webhook_batch: int
    drain_timeout_s: float
    vacuum_every_s: float
    window_s: float
    postgres_url: str


class Timeline(Tally):
    """``bench.load.Tally`` (what its clients note) with the moment of each request."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()
        self.moments: dict[str, list[float]] = defaultdict(list)

    def note(
        self, op: str, took: float, *, error: str | None = None, refused: bool = False
    ) -> None:
        with self.lock:
            self.moments[op].append(time.monotonic() - self.started - took)
        super().note(op, took, error=error, refused=refused)

    def timed(self, op: str, send: Any, ok: tuple[int, ...]) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response: httpx.Response = send()
        except httpx.HTTPError as exc:
            self.note(op, time.perf_counter() - started, error=type(exc).__name__)
            return None
        took = time.perf_counter() - started
        if response.status_code not in ok:
            self.note(op, took, error=f"{response.status_code} {response.text[:200]}")
            return None
        self.note(op, took)
        return response


# --- the webhook receiver --------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    received: Synchronized[int]


class _Hooks(BaseHTTPRequestHandler):
    """Answers every webhook 204 at once and counts its events (a batch counts each)."""

    # Keep-alive, as a marketplace's endpoint behind any web server is: HTTP/1.0 would make
    # the worker open a connection per webhook.
    protocol_version = "HTTP/1.1"
    counter: Synchronized[int]

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        events = int(self.headers.get("x-selpo-batch-size") or 1)
        with self.counter.get_lock():
            self.counter.value += events
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def _serve_hooks(server: ThreadingHTTPServer) -> None:
    server.serve_forever()


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 in a process of its own (the clients' threads would otherwise
    hold it up on this process's GIL), answering every webhook 204 at once."""
    counter: Synchronized[int] = multiprocessing.Value("q", 0)
    handler = type("Hooks", (_Hooks,), {"counter": counter})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    process = multiprocessing.get_context("fork").Process(
        target=_serve_hooks, args=(server,), daemon=True
    )
    process.start()
    server.socket.close()  # the child serves it
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks", counter)
    finally:
        process.terminate()
        process.join(10)


@contextmanager
def workers(
    url: str, folder: Path, count: int, webhook_concurrency: int, *, nice: int = 0
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``selpo worker`` processes (SMS to ``folder/sms.log``, webhooks to 127.0.0.1),
    ``nice`` steps below the bench's scheduling priority."""
    selpo = shutil.which("selpo", path=str(Path(sys.executable).parent)) or "selpo"
    env = {
        **os.environ,
        "SELPO_DATABASE_URL": url,
        "SELPO_SMS_LOG_PATH": str(folder / "sms.log"),
        "SELPO_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        # One marketplace takes every webhook of the day: more than the default 4 in flight.
        "SELPO_WEBHOOK_CONCURRENCY": str(webhook_concurrency),
        "SELPO_DELIVERY_THREADS": str(max(16, webhook_concurrency)),
    }
    processes = []
    for n in range(count):
        with (folder / f"worker-{n}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    ["nice", "-n", str(nice), selpo, "worker"] if nice else [selpo, "worker"],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            )
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- the day ---------------------------------------------------------------------------------


def body(order: str, destination: str) -> dict[str, Any]:
    """A shipment: a phone of its own (the SMS sink tells parcels apart by its last digits)."""
    return {
        "external_order_id": order,
        "destination_index": destination,
        "recipient": {
            "name": "Смирнова Анна Игоревна",
            "phone": f"+7916{next(PHONES) % 10_000_000:07d}",
        },
        "parcel": {
            "weight_g": 800,
            "length_mm": 250,
            "width_mm": 150,
            "height_mm": 100,
            "declared_value_kop": 99000,
            "cod_kop": 0,
        },
        "items": [{"sku": "S-1", "name": "Книга", "quantity": 1, "price_kop": 99000}],
        "options": {"fitting": False, "contents_check": False, "partial_redemption": True},
    }


class Day:
    """The clients' shared state: the waves to do, the desks, the timeline."""

    def __init__(
        self,
        base: str,
        fixture: LoadFixture,
        codes: CodeReader,
        timeline: Timeline,
        scanners: int,
        *,
        single_scans: bool = False,
        bulk_base: str | None = None,
    ) -> None:
        self.single_scans = single_scans
        self.pool = ThreadPoolExecutor(max_workers=scanners, thread_name_prefix="scanner")
        self.fixture = fixture
        self.timeline = timeline
        self.market = {"Authorization": f"Bearer {fixture.marketplace_key}"}
        self.admin = {"Authorization": f"Bearer {fixture.admin_key}"}
        self.http = httpx.Client(
            base_url=base,
            trust_env=False,
            timeout=300.0,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        # The batches (creates, acts, the hub's acceptance, route scans) go to a pool of
        # their own when there is one (``--bulk-server-workers``).
        self.bulk = (
            httpx.Client(
                base_url=bulk_base,
                trust_env=False,
                timeout=300.0,
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            )
            if bulk_base
            else self.http
        )
        # One clerk per office, signed in on its pages (``bench.load.Client``).
        self.desks = [Client(n, base, fixture, codes, timeline) for n in range(len(fixture.desks))]
        for desk in self.desks:
            desk.sign_in_page()
        self.desk_locks = [threading.Lock() for _ in self.desks]
        self.failures: list[str] = []
        self.shipments = 0
        warehouses = self.http.get("/v1/warehouses", headers=self.market).json()
        self.warehouse = next((w for w in warehouses if w["is_default"]), warehouses[0])["code"]

    def close(self) -> None:
        self.pool.shutdown()
        self.http.close()
        self.bulk.close()
        for desk in self.desks:
            desk.close()

    def wave(self, n: int, size: int, issues: int) -> None:
        """``size`` parcels through their day; the first ``issues`` handed out at the counter."""
        offices = [d.desk.index for d in self.desks]
        payloads = [body(f"W{n}-{i}", offices[i % len(offices)]) for i in range(size)]
        created = self.timeline.timed(
            "create_batch",
            lambda: self.bulk.post(
                "/v1/shipments/batch",
                json=payloads,
                headers={**self.market, "Idempotency-Key": f"wave-{n}"},
            ),
            ok=(200, 201, 207),
        )
        if created is None:
            self.failures.append(f"wave {n}: the batch failed")
            return
        results = created.json()["results"]
        numbers = [r["shipment"]["tracking_number"] for r in results if r["status_code"] == 201]
        with self.timeline.lock:
            self.shipments += len(numbers)
        act = self.timeline.timed(
            "handover_act",
            lambda: self.bulk.post(
                "/v1/handovers",
                json={"warehouse": self.warehouse, "tracking_numbers": numbers},
                headers={**self.market, "Idempotency-Key": f"act-{n}"},
            ),
            ok=(201,),
        )
        if act is None:
            self.failures.append(f"wave {n}: the act failed")
            return
        act_id = act.json()["id"]
        self.timeline.timed(
            "hub_acceptance",
            lambda: self.bulk.post(
                f"/v1/handovers/{act_id}/acceptance",
                json={"tracking_numbers": numbers},
                headers=self.admin,
            ),
            ok=(200,),
        )
        if self.single_scans:
            # The wave's route scans one by one over the shared pool, as the hubs' and
            # offices' many scanners would send them.
            jobs = [
                self.pool.submit(self.route, number, payloads[i]["destination_index"])
                for i, number in enumerate(numbers)
            ]
            for job in jobs:
                job.result()
        else:
            destinations = [payloads[i]["destination_index"] for i in range(len(numbers))]
            self.route_batches(n, numbers, destinations)
        counter = [
            self.pool.submit(
                self.counter, i % len(self.desks), numbers[i], payloads[i]["recipient"]["phone"]
            )
            for i in range(min(issues, len(numbers)))
        ]
        for job in counter:
            job.result()

    def route(self, number: str, office: str) -> None:
        """The parcel's route scans, one request each (``--single-scans``)."""
        for code in ROUTE_SCANS:
            event = {
                "tracking_number": number,
                "code": code,
                "occurred_at": datetime.now(UTC).isoformat(),
                "office_index": office if code == "arrived_at_office" else None,
                "actor": "national-day",
            }
            self.timeline.timed(
                "scan",
                lambda e=event: self.http.post("/v1/tracking-events", json=e, headers=self.admin),
                ok=(201,),
            )

    def route_batches(self, n: int, numbers: list[str], offices: list[str]) -> None:
        """The wave's route scans, one batch of the wave's parcels per route scan (each scan
        with its ``scan_id``, as a hub's scanner would send them)."""
        for code in ROUTE_SCANS:
            at = datetime.now(UTC).isoformat()
            batch = [
                {
                    "scan_id": f"{number}-{code}",
                    "tracking_number": number,
                    "code": code,
                    "occurred_at": at,
                    "office_index": office if code == "arrived_at_office" else None,
                    "actor": "national-day",
                }
                for number, office in zip(numbers, offices, strict=True)
            ]
            answer = self.timeline.timed(
                "scan_batch",
                lambda b=batch: self.bulk.post(
                    "/v1/tracking-events/batch", json=b, headers=self.admin
                ),
                ok=(200,),
            )
            if answer is None or answer.json()["recorded"] != len(batch):
                self.failures.append(f"wave {n}: the {code} batch did not record every scan")

    def counter(self, desk_no: int, number: str, phone: str) -> None:
        """The clerk shelves the parcel and, once its SMS is out, hands it over by the code."""
        desk = self.desks[desk_no]
        parcel = Parcel(number, desk.desk.index, phone, step=3)
        with self.desk_locks[desk_no]:
            if not desk.shelve(parcel):
                return
        deadline = time.monotonic() + CODE_WAIT_S
        while time.monotonic() < deadline:
            with self.desk_locks[desk_no]:
                issued = desk.issue(parcel)
            if issued is not None:
                return
            time.sleep(0.5)
        self.failures.append(f"{number}: no SMS with its code in {CODE_WAIT_S:.0f} s")

    def singles(self, stop: threading.Event) -> None:
        """One single create every ``SINGLE_EVERY_S`` until ``stop``, sent from a process of
        its own (a marketplace's request comes from elsewhere: the bench's own threads, busy
        encoding batches of 1,000, would otherwise delay it on this process's GIL)."""
        offices = [d.desk.index for d in self.desks]
        context = multiprocessing.get_context("spawn")
        results: multiprocessing.Queue[tuple[float, float, float, str | None]] = context.Queue()
        halt = context.Event()
        process = context.Process(
            target=_send_singles,
            args=(str(self.http.base_url), self.fixture.marketplace_key, offices, halt, results),
            daemon=True,
        )
        process.start()
        stop.wait()
        halt.set()
        while True:
            started_at, took, app_s, error = results.get(timeout=60)
            if took < 0:
                break
            with self.timeline.lock:
                self.timeline.moments["create_single"].append(started_at - self.timeline.started)
                self.timeline.moments["create_single_app"].append(
                    started_at - self.timeline.started
                )
            Tally.note(self.timeline, "create_single", took, error=error)
            # The same requests as the server timed them (Server-Timing): what is left of the
            # client's figure is queueing in front of the application and the network.
            Tally.note(self.timeline, "create_single_app", app_s, error=error)
            if error is None:
                with self.timeline.lock:
                    self.shipments += 1
        process.join(30)


def _send_singles(
    base: str,
    key: str,
    offices: list[str],
    halt: Any,
    results: Any,
) -> None:
    """The single creates' process: (monotonic start, seconds, the application's own seconds
    from ``Server-Timing``, error) per request, then (0, -1, 0, None) when ``halt`` is set."""
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, trust_env=False, timeout=300.0) as http:
        for n in itertools.count():
            if halt.wait(SINGLE_EVERY_S):
                break
            order = f"S-{n}"
            started = time.monotonic()
            app_s = 0.0
            try:
                answer = http.post(
                    "/v1/shipments",
                    json=body(order, offices[n % len(offices)]),
                    headers={**headers, "Idempotency-Key": order},
                )
                error = None if answer.status_code == 201 else f"{answer.status_code}"
                timing = answer.headers.get("server-timing", "")
                app_s = float(timing.partition("dur=")[2] or 0) / 1000
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            results.put((started, time.monotonic() - started, app_s, error))
    results.put((0.0, -1.0, 0.0, None))


def run_day(day: Day, options: Options) -> float:
    """Every wave through ``options.clients`` threads; the seconds it took."""
    total = max(1, round(DAY_SHIPMENTS * options.scale))
    issues_total = round(DAY_ISSUES * options.scale)
    waves: queue.Queue[tuple[int, int, int]] = queue.Queue()
    for n, start in enumerate(range(0, total, WAVE)):
        size = min(WAVE, total - start)
        issues = issues_total * (start + size) // total - issues_total * start // total
        waves.put((n, size, issues))

    def client() -> None:
        while True:
            try:
                n, size, issues = waves.get_nowait()
            except queue.Empty:
                return
            day.wave(n, size, issues)

    stop = threading.Event()
    single = threading.Thread(target=day.singles, args=(stop,), name="singles")
    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(options.clients)]
    started = time.monotonic()
    single.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    single.join()
    return time.monotonic() - started


def postmaster_pid(db: Database) -> int | None:
    """The PostgreSQL server's main process, if it runs on this machine (its backends'
    parent); ``None`` when it cannot be read."""
    with db.engine.connect() as connection:
        backend = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    try:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1])


def postgres_cpu_seconds(postmaster: int | None) -> float:
    """CPU time of the PostgreSQL server: the postmaster, its live backends and helpers, and
    the backends that have exited (counted into the postmaster's children's time)."""
    if postmaster is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    try:
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / tick  # cutime + cstime
    return cpu_seconds(postmaster) + reaped


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (``/proc/stat``)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


HOUSEKEPT = (
    "outbox_message",
    "tracking_event",
    "shipment",
    "shipment_place",
    "handover_entry",
    "idempotency_record",
)


@contextmanager
def housekeeping(db: Database, every_s: float) -> Iterator[None]:
    """What autovacuum would do on a server where it runs: ``VACUUM (ANALYZE)`` of the day's
    busy tables every ``every_s`` seconds, so the planner has statistics and the outbox's
    updated rows are cleaned up. Only when the server has autovacuum off (a shared test
    server); never with ``every_s`` 0."""
    with db.engine.connect() as connection:
        autovacuum = connection.execute(text("SHOW autovacuum")).scalar_one()
    if every_s <= 0 or autovacuum == "on":
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            while not stop.wait(every_s):
                connection.execute(text(f"VACUUM (ANALYZE) {', '.join(HOUSEKEPT)}"))

    thread = threading.Thread(target=loop, name="housekeeping", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def drain(db: Database, timeout_s: float) -> float:
    """Wait until the outbox holds nothing pending; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        with db.engine.connect() as connection:
            pending = connection.execute(
                select(func.count())
                .select_from(OUTBOX_TABLE)
                .where(OUTBOX_TABLE.c.status == "pending")
            ).scalar_one()
        if pending == 0:
            break
        time.sleep(2.0)
    return time.monotonic() - started


# --- the figures -----------------------------------------------------------------------------


@dataclass
class Counts:
    shipments: int
    events: int
    outbox: dict[tuple[str, str], int]

    @property
    def outbox_rows(self) -> int:
        return sum(self.outbox.values())

    @property
    def writes(self) -> int:
        return self.shipments + self.events + self.outbox_rows


def counts(db: Database) -> Counts:
    with session_scope(db.factory) as session:
        shipments = session.scalar(select(func.count()).select_from(Shipment)) or 0
        events = session.scalar(select(func.count()).select_from(TrackingEvent)) or 0
        outbox = {
            (kind, status): number
            for kind, status, number in session.execute(
                select(OutboxMessage.kind, OutboxMessage.status, func.count()).group_by(
                    OutboxMessage.kind, OutboxMessage.status
                )
            )
        }
    return Counts(shipments, events, outbox)


def sizes(db: Database) -> list[tuple[str, int]]:
    """The database's size and that of the biggest tables (partitions summed)."""
    with db.engine.connect() as connection:
        whole = connection.execute(text("SELECT pg_database_size(current_database())"))
        rows = [("the whole database", int(whole.scalar_one()))]
        for table in ("tracking_event", "outbox_message", "shipment", "shipment_item"):
            size = connection.execute(
                text(
                    "SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) "
                    "FROM pg_partition_tree(CAST(:t AS regclass))), "
                    "pg_total_relation_size(CAST(:t AS regclass)))"
                ),
                {"t": table},
            ).scalar_one()
            rows.append((table, int(size)))
    return rows


def raw_insert(db: Database, count: Counts, marketplace_id: int, offices: dict[str, int]) -> float:
    """The run's rows again, straight into the tables with Core executemany, 1,000 shipments
    (and their events and outbox rows) a transaction; the seconds it took."""
    numbers = RawNumbers("699201")
    events_each = max(1, round(count.events / max(1, count.shipments)))
    outbox_each = count.outbox_rows / max(1, count.shipments)
    office_list = sorted(offices)
    spent = 0.0
    outbox_due = 0.0
    for start in range(0, count.shipments, WAVE):
        size = min(WAVE, count.shipments - start)
        now = datetime.now(UTC)
        shipments_in = [
            ShipmentCreate.model_validate(
                body(f"RAW-{start + i}", office_list[i % len(office_list)])
            )
            for i in range(size)
        ]
        rows = [
            shipment_row(
                number,
                s,
                marketplace_id=marketplace_id,
                office_id=offices[s.destination_index],
                status="arrived_at_office",
                now=now,
            )
            for number, s in zip(numbers.take(size), shipments_in, strict=True)
        ]
        outbox_due += outbox_each * size
        outbox_now = int(outbox_due)
        outbox_due -= outbox_now
        started = time.perf_counter()
        with db.engine.begin() as connection:
            ids = list(
                connection.scalars(
                    insert(SHIPMENT_TABLE).returning(
                        SHIPMENT_TABLE.c.id, sort_by_parameter_order=True
                    ),
                    rows,
                )
            )
            connection.execute(
                insert(ITEM_TABLE),
                [
                    {
                        "shipment_id": sid,
                        "position": 0,
                        "sku": "S-1",
                        "name": "Книга",
                        "quantity": 1,
                        "price_kop": 99000,
                        "refused_quantity": 0,
                    }
                    for sid in ids
                ],
            )
            connection.execute(
                insert(EVENT_TABLE),
                [
                    {
                        "shipment_id": sid,
                        "code": "in_transit",
                        "status_after": "in_transit",
                        "applied": True,
                        "occurred_at": now,
                        "recorded_at": now,
                        "office_index": None,
                        "actor": "raw",
                        "source": None,
                    }
                    for sid in ids
                    for _ in range(events_each)
                ],
            )
            if outbox_now:
                connection.execute(
                    insert(OUTBOX_TABLE),
                    [
                        {
                            "kind": "webhook",
                            "status": "sent",
                            "event_id": f"raw-{start}-{n}",
                            "event_type": "shipment.in_transit",
                            "event_created_at": now,
                            "payload": {"type": "shipment.in_transit", "data": {"n": n}},
                            "reference": "raw",
                            "created_at": now,
                            "available_at": now,
                            "attempts": 1,
                            "sent_at": now,
                        }
                        for n in range(outbox_now)
                    ],
                )
        spent += time.perf_counter() - started
    return spent


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:,.0f} MiB"


def report_operations(console: Console, timeline: Timeline, elapsed: float) -> None:
    table = Table(title="Requests: over the whole run")
    for column in ("operation", "requests", "per s", "p50", "p99", "max", "errors"):
        table.add_column(column, justify="right" if column != "operation" else "left")
    for op in sorted(timeline.latencies):
        spent = np.array(timeline.latencies[op])
        table.add_row(
            op,
            f"{len(spent):,}",
            f"{len(spent) / elapsed:,.1f}",
            _ms(float(np.percentile(spent, 50))),
            _ms(float(np.percentile(spent, 99))),
            _ms(float(spent.max())),
            str(timeline.errors.get(op, 0)),
        )
    console.print(table)


def report_over_time(console: Console, timeline: Timeline, elapsed: float, window: float) -> None:
    ops = (
        "create_single",
        "create_single_app",
        "create_batch",
        "scan",
        "scan_batch",
        "hub_acceptance",
        "shelve",
        "issue",
    )
    table = Table(title=f"Over time: p50 / p99 per {window:.0f} s window (requests in it)")
    table.add_column("from")
    for op in ops:
        table.add_column(op, justify="right")
    windows = max(1, int(elapsed // window) + 1)
    for w in range(windows):
        cells = []
        for op in ops:
            at = np.array(timeline.moments.get(op, []))
            spent = np.array(timeline.latencies.get(op, []))
            chosen = spent[(at >= w * window) & (at < (w + 1) * window)] if len(at) else at
            if len(chosen) == 0:
                cells.append("")
                continue
            cells.append(
                f"{_ms(float(np.percentile(chosen, 50)))} / "
                f"{_ms(float(np.percentile(chosen, 99)))} ({len(chosen)})"
            )
        table.add_row(f"{w * window:.0f} s", *cells)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scale", type=float, default=0.01, help="fraction of the day (≤ 1)")
    parser.add_argument("--clients", type=int, default=2, help="threads carrying the waves")
    parser.add_argument("--server-workers", type=int, default=2, help="uvicorn processes")
    parser.add_argument(
        "--bulk-server-workers",
        type=int,
        default=0,
        help="uvicorn processes of a second pool taking the batches (0: one pool for all)",
    )
    parser.add_argument(
        "--background-nice",
        type=int,
        default=0,
        help="run the workers and the batches' pool this many nice steps lower",
    )
    parser.add_argument("--workers", type=int, default=1, help="`selpo worker` processes")
    parser.add_argument("--offices", type=int, default=16, help="offices with a clerk")
    parser.add_argument(
        "--scanners", type=int, default=8, help="threads sending the route scans and counter work"
    )
    parser.add_argument(
        "--single-scans",
        action="store_true",
        help="route scans one request each (POST /v1/tracking-events), not in batches",
    )
    parser.add_argument(
        "--webhook-concurrency", type=int, default=16, help="webhooks in flight per subscription"
    )
    parser.add_argument(
        "--webhook-batch",
        type=int,
        default=50,
        help="the subscription's batch_max: events per POST (1: one event a POST)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=DRAIN_TIMEOUT_S,
        help="seconds to wait for the outbox to empty after the clients (then report)",
    )
    parser.add_argument(
        "--vacuum-every",
        type=float,
        default=30.0,
        help="seconds between the bench's VACUUM (ANALYZE) when the server's autovacuum is off",
    )
    parser.add_argument("--window", type=float, default=60.0, help="seconds per time window")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="server URL")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        parser.error("--scale must be in (0, 1]")
    options = Options(
        args.scale,
        args.clients,
        args.server_workers,
        args.bulk_server_workers,
        args.background_nice,
        args.workers,
        args.offices,
        args.scanners,
        args.single_scans,
        args.webhook_concurrency,
        args.webhook_batch,
        args.drain_timeout,
        args.vacuum_every,
        args.window,
        args.postgres_url,
    )
    # A TERM (timeout, kill) unwinds the stack: the server, the workers and the database go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    console = Console(width=200)
    console.print(f"machine: {machine()}", highlight=False)
    limits = ("SELPO_RATE_LIMIT_PER_KEY", "SELPO_RATE_LIMIT_PER_SESSION")
    before = {name: os.environ.get(name) for name in limits}
    os.environ.update(dict.fromkeys(limits, "0"))  # one key at full speed: 429 by design
    try:
        return run(console, options)
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run(console: Console, options: Options) -> int:
    with ExitStack() as stack:
        db = stack.enter_context(postgres_database(options.postgres_url))
        console.print(db.about, highlight=False)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="selpo-day-")))
        fixture = load_set_up(db.url, offices=options.offices)
        receiver = stack.enter_context(webhook_receiver())
        with session_scope(db.factory) as session:
            marketplace = session.scalars(
                select(Marketplace).where(Marketplace.code == "LOAD")
            ).one()
            marketplace_id = marketplace.id
            notify_service.create_subscription(
                session,
                marketplace_id=marketplace_id,
                url=receiver.url,
                events=["*"],
                now=datetime.now(UTC),
                allow_hosts=frozenset({"127.0.0.1"}),
                batch_max=options.webhook_batch,
            )
            offices = {
                o.index: o.id
                for o in session.scalars(
                    select(PostOffice).where(PostOffice.index.in_([d.index for d in fixture.desks]))
                )
            }
        extra = ("--workers", str(options.server_workers), "--timeout-keep-alive", "600")
        base, server = stack.enter_context(
            serve_process(db.url, folder / "server.log", extra=extra)
        )
        servers = [server]
        bulk_base = None
        if options.bulk_server_workers:
            bulk_extra = (
                "--workers",
                str(options.bulk_server_workers),
                "--timeout-keep-alive",
                "600",
            )
            bulk_base, bulk_server = stack.enter_context(
                serve_process(
                    db.url,
                    folder / "bulk-server.log",
                    extra=bulk_extra,
                    nice=options.background_nice,
                )
            )
            servers.append(bulk_server)
        worker_processes = stack.enter_context(
            workers(
                db.url,
                folder,
                options.workers,
                options.webhook_concurrency,
                nice=options.background_nice,
            )
        )
        timeline = Timeline()
        codes = CodeReader(db.url, folder / "sms.log")
        stack.callback(codes.close)
        day = Day(
            base,
            fixture,
            codes,
            timeline,
            options.scanners,
            single_scans=options.single_scans,
            bulk_base=bulk_base,
        )
        stack.callback(day.close)
        postmaster = postmaster_pid(db)
        server_before = sum(cpu_seconds(s.pid) for s in servers)
        workers_before = sum(cpu_seconds(p.pid) for p in worker_processes)
        postgres_before = postgres_cpu_seconds(postmaster)
        busy_before = machine_busy_seconds()
        with housekeeping(db, options.vacuum_every_s):
            api_s = run_day(day, options)
            drain_s = drain(db, options.drain_timeout_s)
        elapsed = api_s + drain_s
        server_cpu = sum(cpu_seconds(s.pid) for s in servers) - server_before
        worker_cpu = sum(cpu_seconds(p.pid) for p in worker_processes) - workers_before
        postgres_cpu = postgres_cpu_seconds(postmaster) - postgres_before
        busy = machine_busy_seconds() - busy_before
        cpu = server_cpu + worker_cpu
        count = counts(db)
        size = sizes(db)
        raw_s = raw_insert(db, count, marketplace_id, offices)
        report_operations(console, timeline, api_s)
        report_over_time(console, timeline, api_s, options.window_s)
        summary = Table(title=f"The day at scale {options.scale:g} (PostgreSQL, this machine)")
        for column in ("measure", "figure", "aim"):
            summary.add_column(column)
        summary.add_row("shipments created", f"{count.shipments:,}", "")
        summary.add_row("tracking events", f"{count.events:,}", "")
        outbox = ", ".join(f"{k} {s}: {n:,}" for (k, s), n in sorted(count.outbox.items()))
        summary.add_row("outbox rows", outbox, "")
        summary.add_row("webhooks received", f"{receiver.received.value:,}", "")
        summary.add_row(
            "API phase / outbox drained after it", f"{api_s:.0f} s / {drain_s:.0f} s", ""
        )
        sent = sum(n for (_, status), n in count.outbox.items() if status == "sent")
        summary.add_row(
            "messages sent per s (webhooks and SMS, whole run)", f"{sent / elapsed:,.0f}/s", ""
        )
        rate = count.writes / elapsed
        summary.add_row(
            "rows written (shipments + events + outbox) per s",
            f"{rate:,.0f}/s",
            "≈ 2,000/s",
        )
        whole_day = elapsed / options.scale
        summary.add_row(
            "the whole day at this rate (extrapolated linearly)",
            f"{whole_day / 3600:.1f} h",
            f"≤ {AIM_DAY_S / 3600:.0f} h",
        )
        singles = np.array(timeline.latencies.get("create_single", [0.0]))
        summary.add_row(
            "single create p50 / p99 during the day",
            f"{_ms(float(np.percentile(singles, 50)))} / {_ms(float(np.percentile(singles, 99)))}",
            f"p99 < {AIM_SINGLE_P99_S * 1000:.0f} ms",
        )
        inside = np.array(timeline.latencies.get("create_single_app", [0.0]))
        summary.add_row(
            "the same, the application's own time (Server-Timing)",
            f"{_ms(float(np.percentile(inside, 50)))} / {_ms(float(np.percentile(inside, 99)))}",
            "",
        )
        summary.add_row(
            "server + worker CPU seconds per wall second",
            f"{cpu / elapsed:.2f} (of {os.cpu_count()} cores)",
            "",
        )
        parcels = max(1, count.shipments)
        summary.add_row(
            "CPU a parcel: API server / workers / PostgreSQL",
            f"{1000 * server_cpu / parcels:.1f} / {1000 * worker_cpu / parcels:.1f} / "
            f"{1000 * postgres_cpu / parcels:.1f} ms",
            "",
        )
        summary.add_row(
            "the machine busy (every process, the bench's clients too)",
            f"{busy / elapsed:.2f} CPU s per s, {1000 * busy / parcels:.1f} ms a parcel",
            "",
        )
        summary.add_row(
            "raw Core executemany of the same rows",
            f"{raw_s:.1f} s, {count.writes / raw_s:,.0f} rows/s",
            "",
        )
        summary.add_row("API day / raw insert rate", f"{100 * raw_s / elapsed:.1f} %", "")
        for name, value in size:
            summary.add_row(f"size: {name}", _mib(value), "")
        day_tables = sum(value for _, value in size[1:])
        summary.add_row(
            "these four tables per 1,000,000 shipments (extrapolated)",
            _mib(int(day_tables / max(1e-9, count.shipments / DAY_SHIPMENTS))),
            "",
        )
        console.print(summary)
        pending = count.outbox.get(("webhook", "pending"), 0) + count.outbox.get(
            ("sms", "pending"), 0
        )
        failures = (
            day.failures
            + [f"{pending} messages still pending after the drain"] * (pending > 0)
            + [f"{op}: {n} errors" for op, n in timeline.errors.items() if n]
        )
        for sample in timeline.samples:
            console.print(f"error sample: {sample}", highlight=False)
        for failure in failures[:20]:
            console.print(f"failure: {failure}", highlight=False)
        return 1 if failures else 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
