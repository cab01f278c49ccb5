"""Mixed API traffic against a real server: create, track, scan, shelve and issue at once.

Run from the repository root::

    .venv/bin/python bench/load.py [--database sqlite|postgresql] [--clients 16]
        [--duration 60] [--workers 1] [--worker] [--postgres-url URL] [--profile]

Each run gets a fresh database (SQLite: a file in a temporary folder; PostgreSQL: a new
``selpo_bench_load_<pid>`` database on ``--postgres-url``, dropped at the end), migrated, with
the bundled region imported, one marketplace connected to the offices the clients work at, an
operator (admin) key, and a clerk per office, signed in. The server is the real application
under uvicorn on 127.0.0.1 (``--workers`` processes; ``--worker`` also runs ``selpo worker``
beside it, delivering the SMS to a file).

Each client drives parcels through their whole life over HTTP, the way a marketplace, the hub
scanners and a clerk do, and keeps several parcels in flight so every kind of request is mixed
all along:

* ``create``  ``POST /v1/shipments`` (marketplace key, ``Idempotency-Key``);
* ``track``   ``GET /v1/shipments/{tracking}`` after each step (marketplace key);
* ``scan``    ``POST /v1/tracking-events`` (admin key): handed over, at the hub, arrived at
  the destination office;
* ``shelve``  ``POST /office/{index}/shelving/{tracking}``: the clerk puts it in a cell, the
  parcel becomes ready and its SMS with the pickup code is queued;
* ``issue``   ``POST /office/{index}/issue/code`` with the code, then
  ``POST /office/{index}/issue/{tracking}/complete``: handed to the recipient.

The recipient's phone is stood in for by reading the queued SMS's text from the outbox (the
bench's own database read, outside the measured requests), or with ``--worker``, once the
worker has sent it, from the SMS sink file by the parcel's own phone number. It prints
requests per second, p50/p99 per operation and the errors (any 5xx or transport failure; a
4xx or a page that refuses is counted apart as "refused"). The exit status is 1 when anything
failed.
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import os
import pstats
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy
from sqlalchemy import create_engine, select

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.local_server import cpu_seconds, serve_process  # noqa: E402

from selpo.db import (  # noqa: E402
    create_db_engine,
    make_session_factory,
    read_connection,
    session_scope,
)
from selpo.kit.phone import mask_phone  # noqa: E402
from selpo.marketplace import service as marketplace_service  # noqa: E402
from selpo.migrate import upgrade_to_head  # noqa: E402
from selpo.models import OutboxMessage, PostOffice  # noqa: E402
from selpo.network import regions  # noqa: E402
from selpo.network.importer import import_region  # noqa: E402
from selpo.office import auth  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
OPERATIONS = ("create", "track", "scan", "shelve", "issue")
IN_FLIGHT = 4  # parcels each client keeps moving at once
CODE_MARKER = "Код получения: "
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
SESSION_COOKIE = "selpo_session"
CLERK_PASSWORD = "bench password 2026"  # noqa: S105 - the bench's own throwaway accounts


@dataclass(frozen=True)
class Options:
    database: str
    clients: int
    duration_s: float
    workers: int
    worker: bool
    postgres_url: str
    profile: bool


@dataclass(frozen=True)
class Desk:
    """A clerk's signed-in session at one office."""

    index: str
    token: str


@dataclass(frozen=True)
class Fixture:
    url: str
    marketplace_key: str
    admin_key: str
    desks: tuple[Desk, ...]


@dataclass
class Tally:
    """What the clients saw: latencies per operation, errors and refusals."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(
        self, op: str, took: float, *, error: str | None = None, refused: bool = False
    ) -> None:
        with self.lock:
            self.latencies[op].append(took)
            if error is not None:
                self.errors[op] += 1
                if len(self.samples) < 10:
                    self.samples.append(f"{op}: {error}")
            elif refused:
                self.refused[op] += 1


# --- the database ----------------------------------------------------------------------------


@contextmanager
def database(options: Options) -> Iterator[str]:
    """A fresh migrated database of the chosen backend; yields its URL."""
    if options.database == "sqlite":
        with tempfile.TemporaryDirectory(prefix="selpo-bench-load-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'load.db'}"
            engine = create_db_engine(url)
            upgrade_to_head(engine)
            engine.dispose()
            yield url
        return
    name = f"selpo_bench_load_{os.getpid()}"
    admin = create_engine(options.postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url_text = (
        sqlalchemy.make_url(options.postgres_url)
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    try:
        engine = create_db_engine(url_text)
        upgrade_to_head(engine)
        engine.dispose()
        yield url_text
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def set_up(url: str, offices: int) -> Fixture:
    """The region, a marketplace serving the busiest ``offices`` offices, an admin key, a clerk
    per office signed in (sessions made through the service: the bench measures no sign-in)."""
    now = datetime.now(UTC)
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        import_region(session, regions.load_source(regions.default_region().code))
    with session_scope(factory) as session:
        open_offices = session.scalars(
            select(PostOffice)
            .where(PostOffice.status == "open", PostOffice.cells_s >= 0)
            .order_by((PostOffice.cells_s + PostOffice.cells_m + PostOffice.cells_l).desc())
            .limit(offices)
        ).all()
        indexes = [o.index for o in open_offices]
        marketplace = marketplace_service.add_marketplace(session, code="LOAD", name="Load")
        marketplace_service.connect_offices(
            session, marketplace=marketplace, indexes=indexes, today=now.date(), now=now
        )
        key = marketplace_service.issue_key(session, now=now, marketplace=marketplace).secret
        admin = marketplace_service.issue_key(session, now=now, marketplace=None).secret
        for index in indexes:
            auth.add_clerk(
                session, office_index=index, login=f"load{index}", password=CLERK_PASSWORD, now=now
            )
    desks = []
    with session_scope(factory) as session:
        for index in indexes:
            signed = auth.sign_in(
                session,
                login=f"load{index}",
                password=CLERK_PASSWORD,
                now=now,
            )
            assert signed.token is not None, signed.refusal
            desks.append(Desk(index, signed.token))
    engine.dispose()
    return Fixture(url, key, admin, tuple(desks))


# --- the clients -----------------------------------------------------------------------------


# Recipients' phones, one per parcel (itertools.count's next() is atomic in CPython).
PHONE_SERIALS = itertools.count(1)


@dataclass
class Parcel:
    tracking: str
    office: str
    phone: str
    step: int = 0  # 0 handed over, 1 at the hub, 2 arrived, 3 shelve, 4 issue, 5 done


class Client:
    """One client: a marketplace integration, a hub scanner and a clerk at one office."""

    def __init__(
        self, n: int, base: str, fixture: Fixture, codes: CodeReader, tally: Tally
    ) -> None:
        self.n = n
        self.desk = fixture.desks[n % len(fixture.desks)]
        self.tally = tally
        self.codes = codes
        self.api = httpx.Client(base_url=base, trust_env=False, timeout=60.0)
        self.market = {"Authorization": f"Bearer {fixture.marketplace_key}"}
        self.admin = {"Authorization": f"Bearer {fixture.admin_key}"}
        self.clerk = httpx.Client(
            base_url=base,
            trust_env=False,
            timeout=60.0,
            cookies={SESSION_COOKIE: self.desk.token},
        )
        self.csrf = ""
        self.orders = 0
        self.rng = random.Random(n)

    def close(self) -> None:
        self.api.close()
        self.clerk.close()

    def _timed(
        self, op: str, send: Any, *, ok: tuple[int, ...], refused_if: Any = None
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response: httpx.Response = send()
        except httpx.HTTPError as exc:
            self.tally.note(op, time.perf_counter() - started, error=type(exc).__name__)
            return None
        took = time.perf_counter() - started
        if response.status_code >= 500:
            self.tally.note(op, took, error=f"{response.status_code} {response.text[:200]}")
            return None
        refused = response.status_code not in ok or (
            refused_if is not None and refused_if(response)
        )
        self.tally.note(op, took, refused=refused)
        return None if refused else response

    def sign_in_page(self) -> None:
        page = self.clerk.get(f"/office/{self.desk.index}/issue")
        found = CSRF_RE.search(page.text)
        if page.status_code != 200 or found is None:
            raise RuntimeError(f"the clerk's page did not open: {page.status_code}")
        self.csrf = found.group(1)

    def create(self) -> Parcel | None:
        self.orders += 1
        order = f"L{self.n}-{self.orders}"
        # A phone of its own per parcel: the last four digits (what the SMS sink leaves
        # unmasked) tell the parcel's message apart from those of the other parcels in flight.
        phone = f"+7916{next(PHONE_SERIALS) % 10_000_000:07d}"
        body = {
            "external_order_id": order,
            "destination_index": self.desk.index,
            "recipient": {"name": "Смирнова Анна Игоревна", "phone": phone},
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
        headers = {**self.market, "Idempotency-Key": order}
        response = self._timed(
            "create", lambda: self.api.post("/v1/shipments", json=body, headers=headers), ok=(201,)
        )
        if response is None:
            return None
        return Parcel(response.json()["tracking_number"], self.desk.index, phone)

    def track(self, parcel: Parcel) -> None:
        self._timed(
            "track",
            lambda: self.api.get(f"/v1/shipments/{parcel.tracking}", headers=self.market),
            ok=(200,),
        )

    def scan(self, parcel: Parcel, code: str, office: str | None) -> bool:
        body = {
            "tracking_number": parcel.tracking,
            "code": code,
            "occurred_at": datetime.now(UTC).isoformat(),
            "office_index": office,
            "actor": "load-bench",
        }
        response = self._timed(
            "scan",
            lambda: self.api.post("/v1/tracking-events", json=body, headers=self.admin),
            ok=(201,),
        )
        return response is not None

    def shelve(self, parcel: Parcel) -> bool:
        base = f"/office/{parcel.office}"
        response = self._timed(
            "shelve",
            lambda: self.clerk.post(
                f"{base}/shelving/{parcel.tracking}", data={"csrf": self.csrf, "cell": ""}
            ),
            ok=(303,),
            refused_if=lambda r: r.headers.get("location", "").endswith(parcel.tracking),
        )
        return response is not None

    def issue(self, parcel: Parcel) -> bool | None:
        """Hand the parcel out; None while its SMS is not readable yet."""
        code = self.codes.code(parcel.tracking, parcel.phone)
        if code is None:
            return None
        base = f"/office/{parcel.office}"
        found = self._timed(
            "issue",
            lambda: self.clerk.post(f"{base}/issue/code", data={"csrf": self.csrf, "code": code}),
            ok=(303,),
            refused_if=lambda r: not r.headers.get("location", "").endswith(parcel.tracking),
        )
        if found is None:
            return False
        done = self._timed(
            "issue",
            lambda: self.clerk.post(
                f"{base}/issue/{parcel.tracking}/complete",
                data={"csrf": self.csrf, "refused": "", "method": "", "received": ""},
            ),
            ok=(303,),
            refused_if=lambda r: "/receipt/" not in r.headers.get("location", ""),
        )
        return done is not None

    def advance(self, parcel: Parcel) -> bool:
        """One step of a parcel's life; False when it is finished or stuck."""
        if parcel.step == 0:
            moved = self.scan(parcel, "handed_over", None)
        elif parcel.step == 1:
            moved = self.scan(parcel, "arrived_at_hub", None)
        elif parcel.step == 2:
            moved = self.scan(parcel, "arrived_at_office", parcel.office)
        elif parcel.step == 3:
            moved = self.shelve(parcel)
        else:
            issued = self.issue(parcel)
            if issued is None:
                return True  # its SMS is not there yet: try again later
            moved = issued
        if not moved:
            return False
        parcel.step += 1
        if self.rng.random() < 0.5:
            self.track(parcel)
        return parcel.step < 5

    def run(self, until: float) -> None:
        self.sign_in_page()
        flying: list[Parcel] = []
        while time.monotonic() < until:
            if len(flying) < IN_FLIGHT:
                parcel = self.create()
                if parcel is not None:
                    self.track(parcel)
                    flying.append(parcel)
                continue
            parcel = flying.pop(0)
            if self.advance(parcel):
                flying.append(parcel)


class CodeReader:
    """The recipient's phone: the pickup code from the SMS queued for a parcel.

    The queued row holds the text until the worker sends it (then only the masked phone
    stays); with ``--worker`` the text is read from the SMS sink the worker writes to, by the
    phone's last four digits (all the sink leaves unmasked).
    """

    def __init__(self, url: str, sink: Path | None = None) -> None:
        self.engine = create_db_engine(url)
        self.sink = sink
        self._offset = 0
        self._by_phone: dict[str, str] = {}  # masked phone -> text of its latest SMS
        self._lock = threading.Lock()

    def code(self, tracking: str, phone: str) -> str | None:
        # A read connection: on SQLite it begins deferred, so reading never takes the write lock.
        with read_connection(self.engine) as connection:
            payload = connection.execute(
                select(OutboxMessage.payload)
                .where(OutboxMessage.kind == "sms", OutboxMessage.reference == tracking)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        text = str((payload or {}).get("text") or "")
        if not text and self.sink is not None:
            text = self._sent_text(mask_phone(phone))
        at = text.find(CODE_MARKER)
        return text[at + len(CODE_MARKER) :][:6] if at >= 0 else None

    def _sent_text(self, masked: str) -> str:
        assert self.sink is not None
        with self._lock:
            if self.sink.exists():
                with self.sink.open(encoding="utf-8") as file:
                    file.seek(self._offset)
                    for line in file:
                        if not line.endswith("\n"):
                            break  # a line still being written: read it next time
                        self._offset += len(line.encode("utf-8"))
                        parts = line.rstrip("\n").split("\t", 2)
                        if len(parts) == 3:
                            self._by_phone[parts[1]] = parts[2]
            return self._by_phone.get(masked, "")

    def close(self) -> None:
        self.engine.dispose()


# --- running ---------------------------------------------------------------------------------


@contextmanager
def worker_process(url: str, folder: Path) -> Iterator[None]:
    """``selpo worker`` beside the server (SMS to a file in ``folder``)."""
    selpo = shutil.which("selpo", path=str(Path(sys.executable).parent)) or "selpo"
    env = {**os.environ, "SELPO_DATABASE_URL": url, "SELPO_SMS_LOG_PATH": str(folder / "sms.log")}
    with (folder / "worker.log").open("wb") as log:
        process = subprocess.Popen([selpo, "worker"], cwd=REPO, env=env, stdout=log, stderr=log)
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def report(tally: Tally, elapsed: float, server_cpu: float, options: Options) -> int:
    total = sum(len(v) for v in tally.latencies.values())
    errors = sum(tally.errors.values())
    print(
        f"\n{options.database}, {options.clients} clients, {options.workers} uvicorn "
        f"worker(s){', selpo worker beside' if options.worker else ''}, {elapsed:.0f} s"
    )
    print(
        f"{'operation':<10}{'requests':>10}{'req/s':>9}{'p50':>12}{'p99':>12}{'errors':>8}"
        f"{'refused':>9}"
    )
    for op in OPERATIONS:
        spent = tally.latencies.get(op, [])
        if not spent:
            continue
        p50, p99 = np.percentile(np.asarray(spent), [50, 99])
        print(
            f"{op:<10}{len(spent):>10,}{len(spent) / elapsed:>9.1f}{_ms(p50):>12}{_ms(p99):>12}"
            f"{tally.errors.get(op, 0):>8}{tally.refused.get(op, 0):>9}"
        )
    print(
        f"{'all':<10}{total:>10,}{total / elapsed:>9.1f}{'':>24}{errors:>8}"
        f"{sum(tally.refused.values()):>9}"
    )
    if total:
        print(
            f"server CPU: {server_cpu:.1f} s in {elapsed:.0f} s "
            f"({1000 * server_cpu / total:.2f} ms per request; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )
    for sample in tally.samples:
        print(f"  error: {sample}")
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of traffic")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--worker", action="store_true", help="run `selpo worker` beside")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument(
        "--profile", action="store_true", help="profile the clients (not the server)"
    )
    args = parser.parse_args(argv)
    options = Options(
        args.database,
        args.clients,
        args.duration,
        args.workers,
        args.worker,
        args.postgres_url,
        args.profile,
    )
    with database(options) as url, tempfile.TemporaryDirectory(prefix="selpo-load-") as tmp:
        folder = Path(tmp)
        fixture = set_up(url, offices=min(options.clients, 16))
        extra = ("--workers", str(options.workers), "--timeout-keep-alive", "600")
        # One key and 16 desks at full speed: the rate limits would answer 429 by design.
        limits = ("SELPO_RATE_LIMIT_PER_KEY", "SELPO_RATE_LIMIT_PER_SESSION")
        env_before = {name: os.environ.get(name) for name in limits}
        os.environ.update(dict.fromkeys(limits, "0"))
        try:
            with serve_process(url, folder / "server.log", extra=extra) as (base, server):
                with worker_process(url, folder) if options.worker else _nothing():
                    tally = Tally()
                    codes = CodeReader(url, folder / "sms.log" if options.worker else None)
                    clients = [
                        Client(n, base, fixture, codes, tally) for n in range(options.clients)
                    ]
                    cpu_before = cpu_seconds(server.pid)
                    started = time.monotonic()
                    until = started + options.duration_s
                    threads = [
                        threading.Thread(target=c.run, args=(until,), name=f"client-{c.n}")
                        for c in clients
                    ]
                    profiler = cProfile.Profile() if options.profile else None
                    if profiler is not None:
                        profiler.enable()
                    for thread in threads:
                        thread.start()
                    for thread in threads:
                        thread.join()
                    elapsed = time.monotonic() - started
                    server_cpu = cpu_seconds(server.pid) - cpu_before
                    if profiler is not None:
                        profiler.disable()
                        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
                    for client in clients:
                        client.close()
                    codes.close()
        finally:
            for name, value in env_before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    return report(tally, elapsed, server_cpu, options)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    sys.exit(main())
