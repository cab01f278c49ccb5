"""The failover drill: selpo on a pg_auto_failover cluster loses its primary under traffic.

Run from the repository root (``scripts/failover-drill.sh`` installs the Debian packages first;
``make failover-drill`` runs that)::

    .venv/bin/python bench/failover.py [--long] [--kills N] [--creators N] [--before-s S]
        [--after-s S] [--port-base P] [--keep]

It builds a three-node cluster on this machine — pg_auto_failover's monitor (the witness), a
primary and a synchronous standby, each with its own port and data directory under a temporary
folder — migrates a database on it, imports the bundled region and serves selpo under uvicorn
on 127.0.0.1 with the multi-host URL (``target_session_attrs=read-write``). A stream of creates
(``POST /v1/shipments`` with an ``Idempotency-Key``, retried with the same key after a 503 or a
lost answer, as a client should), of hub scans (``POST /v1/tracking-events``, operator key; sent
once: the API takes no key for them) and of reads (the pickup-point search) runs through the
API; then the primary's postmaster is killed with ``kill -9``. It reports the time until writes
succeed again, the answers by status (no 500 allowed), and, read on the new primary, the
acknowledged shipments and events missing (must be 0) and the duplicates (0) — and the same read
again on the old primary once it has rejoined as the standby. ``--long``: longer traffic and a
second kill (the switch back). Exit status 1 when a parcel was lost, doubled or answered 500.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

# Run as a script, only bench/ is on sys.path; the repository root makes bench/ importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.local_server import serve_process
from bench.shipments import Database, Fixture, payload, set_up

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.marketplace import service as marketplace_service
from selpo.migrate import upgrade_to_head

PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "selpo"
DEFAULT_PORT_BASE = 6540
STATE_TIMEOUT_S = 120.0
REJOIN_TIMEOUT_S = 120.0
REPLAY_TIMEOUT_S = 30.0
PRIMARY_STATES = ("primary", "wait_primary")
# The nodes' memory: pg_auto_failover sizes shared_buffers from the machine (GBs); the drill's
# three servers share a small one with others.
NODE_SETTINGS = {"shared_buffers": "128MB", "max_connections": "200", "wal_keep_size": "512MB"}


def unavailable_reason() -> str | None:
    """Why the drill cannot run here (None: it can): pg_autoctl, PostgreSQL 15's binaries."""
    if shutil.which("pg_autoctl") is None:
        return "pg_autoctl is not installed (scripts/install-failover.sh installs it)"
    if not (PG_BIN / "pg_ctl").exists():
        return f"PostgreSQL 15's server binaries are not at {PG_BIN}"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: PostgreSQL refuses to run as root"
    return None


def free_port_base(count: int = 3, start: int = DEFAULT_PORT_BASE) -> int:
    """The first of ``count`` consecutive free loopback ports from ``start`` on."""
    for base in range(start, start + 1000, count):
        try:
            for port in range(base, base + count):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports from {start} on")


# --------------------------------------------------------------------------- the cluster


@dataclass
class Node:
    name: str
    port: int
    pgdata: Path
    process: subprocess.Popen[bytes] | None = None


class Cluster:
    """A monitor, a primary and a synchronous standby under one folder, on three ports."""

    def __init__(self, folder: Path, port_base: int) -> None:
        self.folder = folder
        self.monitor = Node("monitor", port_base, folder / "monitor")
        self.nodes = [Node(f"node{i}", port_base + i, folder / f"node{i}") for i in (1, 2)]
        # PostgreSQL refuses to run as root: as root, the servers run as the postgres user.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def monitor_url(self) -> str:
        return f"postgresql://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover"

    def url(self, *, read_write: bool = True) -> str:
        """selpo's multi-host URL (SQLAlchemy's form)."""
        hosts = "&".join(f"host=127.0.0.1:{n.port}" for n in self.nodes)
        attrs = "read-write" if read_write else "any"
        return f"postgresql+psycopg://postgres@/{DATABASE}?{hosts}&target_session_attrs={attrs}"

    def node_dsn(self, node: Node) -> str:
        return f"host=127.0.0.1 port={node.port} user=postgres dbname={DATABASE}"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{PG_BIN}:{os.environ.get('PATH', '')}",
            "XDG_CONFIG_HOME": str(self.folder / "config"),
            "XDG_DATA_HOME": str(self.folder / "data"),
            "PGUSER": "postgres",
        }

    def _start(self, node: Node, arguments: list[str]) -> None:
        with (self.folder / f"{node.name}.log").open("ab") as log:
            node.process = subprocess.Popen(
                [*self._as, "pg_autoctl", *arguments, "--pgdata", str(node.pgdata)],
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                start_new_session=True,
            )

    def create(self) -> None:
        """Start the monitor, then the first node (it becomes the primary), then the second
        (the synchronous standby), and wait until they are primary and secondary."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as:
            shutil.chown(self.folder, "postgres")
        common = ["--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"]
        self._start(
            self.monitor,
            [
                "create",
                "monitor",
                "--pgport",
                str(self.monitor.port),
                "--listen",
                "127.0.0.1",
                *common,
                "--run",
            ],
        )
        self._wait(self._monitor_ready, "the monitor to start")
        for number, node in enumerate(self.nodes):
            self._start(
                node,
                [
                    "create",
                    "postgres",
                    "--pgport",
                    str(node.port),
                    "--listen",
                    "127.0.0.1",
                    "--name",
                    node.name,
                    "--dbname",
                    DATABASE,
                    "--monitor",
                    self.monitor_url,
                    *common,
                    "--run",
                ],
            )
            if number == 0:
                self._wait(
                    lambda: self._states().get("node1") == ("single", "single"),
                    "the first node to start",
                )
                self._tune(self.nodes[0])
        self.wait_healthy()

    def _tune(self, node: Node) -> None:
        # Written before the standby's base backup copies it; takes effect at the restart the
        # drill's kill makes anyway, and at once for the settings a reload changes.
        with psycopg.connect(self.node_dsn(node), autocommit=True) as connection:
            for name, value in NODE_SETTINGS.items():
                connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            connection.execute("SELECT pg_reload_conf()")

    def _monitor_ready(self) -> bool:
        try:
            with psycopg.connect(self.monitor_url, connect_timeout=2) as connection:
                connection.execute("SELECT 1 FROM pgautofailover.node LIMIT 1")
            return True
        except psycopg.Error:
            return False

    def _states(self) -> dict[str, tuple[str, str]]:
        """Each node's reported and assigned state, as the monitor sees them."""
        try:
            with psycopg.connect(self.monitor_url, connect_timeout=2) as connection:
                rows = connection.execute(
                    "SELECT nodename, reportedstate::text, goalstate::text FROM pgautofailover.node"
                ).fetchall()
        except psycopg.Error:
            return {}
        return {name: (reported, goal) for name, reported, goal in rows}

    def _wait(self, ready: Any, what: str, timeout_s: float = STATE_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for node in (self.monitor, *self.nodes):
                if node.process is not None and node.process.poll() is not None:
                    raise RuntimeError(f"pg_autoctl of {node.name} exited; see {self.folder}")
            if ready():
                return
            self._hurry_base_backup()
            time.sleep(0.25)
        raise RuntimeError(f"timed out waiting for {what}: {self._states()}")

    def _hurry_base_backup(self) -> None:
        # pg_basebackup waits for a spread checkpoint (minutes on an idle server): a CHECKPOINT
        # on the primary makes it immediate.
        states = self._states()
        if not any(s[0] in ("wait_standby", "catchingup") for s in states.values()):
            return
        primary = self.primary(states)
        if primary is None:
            return
        try:
            with psycopg.connect(self.node_dsn(primary), autocommit=True, connect_timeout=2) as c:
                c.execute("CHECKPOINT")
        except psycopg.Error:
            pass

    def primary(self, states: dict[str, tuple[str, str]] | None = None) -> Node | None:
        states = self._states() if states is None else states
        for node in self.nodes:
            if states.get(node.name, ("", ""))[0] in PRIMARY_STATES:
                return node
        return None

    def healthy(self) -> bool:
        """One primary and one secondary, as assigned (the standby is synchronous again)."""
        states = sorted(self._states().values())
        return states == [("primary", "primary"), ("secondary", "secondary")]

    def wait_healthy(self, timeout_s: float = STATE_TIMEOUT_S) -> None:
        self._wait(self.healthy, "a primary and a synchronous standby", timeout_s)

    def kill_postmaster(self, node: Node) -> int:
        """``kill -9`` the node's postmaster (its backends and the keeper are left alone)."""
        pid = int((node.pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        return pid

    def destroy(self) -> None:
        """Stop every pg_autoctl (each stops its PostgreSQL) and remove the folder."""
        for node in (*self.nodes, self.monitor):
            if node.process is not None and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGTERM)
        for node in (*self.nodes, self.monitor):
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(node.process.pid, signal.SIGKILL)
                node.process.wait()
        for node in (*self.nodes, self.monitor):
            pid_file = node.pgdata / "postmaster.pid"
            if pid_file.exists():  # a server left behind: stop it for good
                try:
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def cluster(port_base: int, *, keep: bool = False) -> Iterator[Cluster]:
    """A fresh three-node cluster, destroyed when the block ends (unless ``keep``)."""
    folder = Path(tempfile.mkdtemp(prefix="selpo-failover-"))
    built = Cluster(folder, port_base)
    try:
        built.create()
        yield built
    finally:
        if keep:
            print(f"cluster kept in {folder}")
        else:
            built.destroy()


# --------------------------------------------------------------------------- the traffic


@dataclass
class Traffic:
    """What the clients sent and heard (shared by their threads, under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[str] = field(default_factory=Counter)
    created: dict[str, str] = field(default_factory=dict)  # order id -> tracking number
    created_at: list[tuple[float, float]] = field(default_factory=list)  # (sent, answered)
    scanned: list[str] = field(default_factory=list)  # tracking numbers, scan acknowledged
    scans_unanswered: list[str] = field(default_factory=list)
    to_scan: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def count(self, kind: str, status: int | str) -> None:
        with self.lock:
            self.statuses[f"{kind} {status}"] += 1


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(float(response.headers.get("Retry-After", "1")), 1.0)
    except ValueError:
        return 1.0


def creator(
    base: str, fixture: Fixture, traffic: Traffic, stop: threading.Event, worker: int
) -> None:
    """Create shipments one by one, each with its own Idempotency-Key, retried until answered."""
    headers = {"Authorization": f"Bearer {fixture.secret}"}
    number = 0
    with httpx.Client(base_url=base, trust_env=False, timeout=30.0, headers=headers) as client:
        while not stop.is_set():
            number += 1
            order = f"DRILL-{worker}-{number:06d}"
            body = payload(order, fixture.destinations[number % len(fixture.destinations)], number)
            key = uuid.uuid4().hex
            sent = time.monotonic()
            while True:
                try:
                    response = client.post(
                        "/v1/shipments", json=body, headers={"Idempotency-Key": key}
                    )
                except httpx.TransportError as exc:
                    traffic.count("create", type(exc).__name__)
                    time.sleep(0.2)
                    traffic.count("client", "retry")
                    continue
                traffic.count("create", response.status_code)
                if response.status_code == 503:
                    time.sleep(_retry_after(response))
                    traffic.count("client", "retry")
                    continue
                break
            if response.status_code == 201:
                tracking = response.json()["tracking_number"]
                with traffic.lock:
                    traffic.created[order] = tracking
                    traffic.created_at.append((sent, time.monotonic()))
                    traffic.to_scan.append(tracking)
            else:
                with traffic.lock:
                    traffic.errors.append(f"create {order}: {response.status_code} {response.text}")


def scanner(base: str, admin: str, traffic: Traffic, stop: threading.Event) -> None:
    """Scan created parcels as handed over; each scan is sent once (no key to retry it with)."""
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=base, trust_env=False, timeout=30.0, headers=headers) as client:
        while not stop.is_set():
            with traffic.lock:
                tracking = traffic.to_scan.pop(0) if traffic.to_scan else None
            if tracking is None:
                time.sleep(0.02)
                continue
            scan = {
                "tracking_number": tracking,
                "code": "handed_over",
                "occurred_at": datetime.now(UTC).isoformat(),
            }
            try:
                response = client.post("/v1/tracking-events", json=scan)
            except httpx.TransportError as exc:
                traffic.count("scan", type(exc).__name__)
                with traffic.lock:
                    traffic.scans_unanswered.append(tracking)
                continue
            traffic.count("scan", response.status_code)
            with traffic.lock:
                if response.status_code == 201:
                    traffic.scanned.append(tracking)
                elif response.status_code == 503:
                    traffic.scans_unanswered.append(tracking)
                else:
                    traffic.errors.append(f"scan {tracking}: {response.status_code}")
            if response.status_code == 503:
                time.sleep(_retry_after(response))


def reader(base: str, fixture: Fixture, traffic: Traffic, stop: threading.Event) -> None:
    """Search pickup points (GET: the server retries it through a switch)."""
    headers = {"Authorization": f"Bearer {fixture.secret}"}
    with httpx.Client(base_url=base, trust_env=False, timeout=30.0, headers=headers) as client:
        while not stop.is_set():
            try:
                response = client.get("/v1/pickup-points", params={"limit": 5})
            except httpx.TransportError as exc:
                traffic.count("read", type(exc).__name__)
                continue
            traffic.count("read", response.status_code)
            if response.status_code == 503:
                time.sleep(_retry_after(response))
            else:
                time.sleep(0.05)


# --------------------------------------------------------------------------- the checks


@dataclass
class Check:
    """What one node holds of what the clients were told."""

    node: str
    shipments_missing: int
    events_missing: int
    duplicate_shipments: int
    duplicate_events: int
    scans_unanswered_but_recorded: int


def check(dsn: str, node: str, traffic: Traffic) -> Check:
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT external_order_id, tracking_number FROM shipment"
            " WHERE external_order_id LIKE 'DRILL-%'"
        ).fetchall()
        events = connection.execute(
            "SELECT s.tracking_number, e.code FROM tracking_event e"
            " JOIN shipment s ON s.id = e.shipment_id"
            " WHERE s.external_order_id LIKE 'DRILL-%' AND e.code IN ('created', 'handed_over')"
        ).fetchall()
    orders = Counter(order for order, _ in rows)
    numbers = {number for _, number in rows}
    event_counts = Counter((number, code) for number, code in events)
    expected_events = [(n, "created") for n in traffic.created.values()] + [
        (n, "handed_over") for n in traffic.scanned
    ]
    return Check(
        node=node,
        shipments_missing=sum(1 for n in traffic.created.values() if n not in numbers),
        events_missing=sum(1 for e in expected_events if event_counts[e] == 0),
        duplicate_shipments=sum(c - 1 for c in orders.values() if c > 1),
        duplicate_events=sum(c - 1 for c in event_counts.values() if c > 1),
        scans_unanswered_but_recorded=sum(
            1 for n in traffic.scans_unanswered if event_counts[(n, "handed_over")] > 0
        ),
    )


def wait_replayed(primary_dsn: str, standby_dsn: str) -> None:
    """Wait until the standby has replayed everything the primary wrote so far."""
    with psycopg.connect(primary_dsn) as connection:
        target = connection.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    deadline = time.monotonic() + REPLAY_TIMEOUT_S
    while time.monotonic() < deadline:
        with psycopg.connect(standby_dsn) as connection:
            row = connection.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target[0] if target else "0/0",)
            ).fetchone()
        if row and row[0]:
            return
        time.sleep(0.2)
    raise RuntimeError("the standby did not replay the primary's WAL in time")


# --------------------------------------------------------------------------- the drill


@dataclass
class Switch:
    """One kill of the primary."""

    killed: str
    new_primary: str
    writes_back_after_s: float  # from the kill to the first create sent after it and answered
    longest_gap_s: float  # the longest wait between two answered creates around the kill
    rejoined_after_s: float  # from the kill until a primary and a synchronous standby again


@dataclass
class Figures:
    switches: list[Switch]
    statuses: dict[str, int]
    shipments: int
    scans: int
    scans_unanswered: int
    client_retries: int
    checks: list[Check]
    errors: list[str]

    @property
    def server_errors(self) -> int:
        return sum(n for name, n in self.statuses.items() if name.endswith(" 500"))

    @property
    def ok(self) -> bool:
        lost = any(
            c.shipments_missing or c.events_missing or c.duplicate_shipments or c.duplicate_events
            for c in self.checks
        )
        return not lost and self.server_errors == 0 and not self.errors and bool(self.switches)


@dataclass(frozen=True)
class DrillOptions:
    creators: int = 4
    before_s: float = 3.0
    after_s: float = 4.0
    kills: int = 1
    port_base: int = DEFAULT_PORT_BASE
    keep: bool = False
    folder: Path | None = None  # for the server's log; a temporary folder by default


def prepare(url: str) -> tuple[Fixture, str]:
    """Migrate, import the bundled region, add the bench marketplace and an operator key."""
    engine = create_db_engine(url)
    try:
        upgrade_to_head(engine)
        database = Database("PostgreSQL", url, engine, make_session_factory(engine), "drill")
        fixture = set_up(database)
        with session_scope(database.factory) as session:
            admin = marketplace_service.issue_key(
                session, now=datetime.now(UTC), marketplace=None, label="drill"
            ).secret
    finally:
        engine.dispose()
    return fixture, admin


def _first_write_after(traffic: Traffic, moment: float) -> float | None:
    with traffic.lock:
        answered = [done for sent, done in traffic.created_at if sent >= moment]
    return min(answered) if answered else None


def _longest_gap(traffic: Traffic, start: float, end: float) -> float:
    with traffic.lock:
        moments = sorted(done for _, done in traffic.created_at if start <= done <= end)
    moments = [start, *moments]
    return max((b - a for a, b in zip(moments, moments[1:], strict=False)), default=0.0)


@contextmanager
def _no_rate_limit() -> Iterator[None]:
    # The drill's clients are one integration sending as fast as it is answered.
    previous = os.environ.get("SELPO_RATE_LIMIT_PER_KEY")
    os.environ["SELPO_RATE_LIMIT_PER_KEY"] = "0"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SELPO_RATE_LIMIT_PER_KEY"]
        else:
            os.environ["SELPO_RATE_LIMIT_PER_KEY"] = previous


def run_drill(options: DrillOptions, say: Any = print) -> Figures:
    """Build the cluster, run the traffic, kill the primary ``kills`` times, check."""
    if options.folder is not None:
        return _drill(options, options.folder, say)
    folder = Path(tempfile.mkdtemp(prefix="selpo-drill-"))
    try:
        return _drill(options, folder, say)
    finally:
        if options.keep:
            print(f"server log kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _drill(options: DrillOptions, folder: Path, say: Any) -> Figures:
    started = time.monotonic()
    with cluster(options.port_base, keep=options.keep) as built:
        say(
            f"cluster up: monitor :{built.monitor.port}, nodes "
            + ", ".join(f"{n.name} :{n.port}" for n in built.nodes)
        )
        say(f"cluster built in {time.monotonic() - started:.0f} s")
        url = built.url()
        fixture, admin = prepare(url)
        say(f"migrated and the region imported at {time.monotonic() - started:.0f} s")
        traffic = Traffic()
        stop = threading.Event()
        switches: list[Switch] = []
        with _no_rate_limit(), serve_process(url, folder / "server.log") as (base, _server):
            threads = [
                threading.Thread(target=creator, args=(base, fixture, traffic, stop, i))
                for i in range(options.creators)
            ]
            threads.append(threading.Thread(target=scanner, args=(base, admin, traffic, stop)))
            threads.append(threading.Thread(target=reader, args=(base, fixture, traffic, stop)))
            for thread in threads:
                thread.start()
            try:
                for _ in range(options.kills):
                    time.sleep(options.before_s)
                    old = built.primary()
                    if old is None:
                        raise RuntimeError("no primary to kill")
                    pid = built.kill_postmaster(old)
                    killed_at = time.monotonic()
                    say(f"kill -9 {pid} (postmaster of {old.name}, the primary)")
                    deadline = killed_at + STATE_TIMEOUT_S
                    while _first_write_after(traffic, killed_at) is None:
                        if time.monotonic() > deadline:
                            raise RuntimeError("writes did not come back")
                        time.sleep(0.05)
                    back = (_first_write_after(traffic, killed_at) or killed_at) - killed_at
                    built.wait_healthy(REJOIN_TIMEOUT_S)
                    rejoined = time.monotonic() - killed_at
                    time.sleep(options.after_s)
                    new = built.primary()
                    switches.append(
                        Switch(
                            killed=old.name,
                            new_primary=new.name if new else "?",
                            writes_back_after_s=round(back, 2),
                            longest_gap_s=round(
                                _longest_gap(traffic, killed_at - 1, time.monotonic()), 2
                            ),
                            rejoined_after_s=round(rejoined, 2),
                        )
                    )
                    say(
                        f"writes back after {back:.2f} s on {switches[-1].new_primary}; "
                        f"primary and synchronous standby again after {rejoined:.1f} s"
                    )
            finally:
                stop.set()
                for thread in threads:
                    thread.join()
        primary = built.primary()
        assert primary is not None
        standby = next(n for n in built.nodes if n is not primary)
        checks = [check(built.node_dsn(primary), f"{primary.name} (primary)", traffic)]
        wait_replayed(built.node_dsn(primary), built.node_dsn(standby))
        checks.append(check(built.node_dsn(standby), f"{standby.name} (rejoined standby)", traffic))
    return Figures(
        switches=switches,
        statuses=dict(sorted((k, v) for k, v in traffic.statuses.items() if k != "client retry")),
        shipments=len(traffic.created),
        scans=len(traffic.scanned),
        scans_unanswered=len(traffic.scans_unanswered),
        client_retries=traffic.statuses["client retry"],
        checks=checks,
        errors=traffic.errors[:10],
    )


def report(figures: Figures) -> None:
    print()
    for number, switch in enumerate(figures.switches, 1):
        moved = (
            f"{switch.new_primary} (the standby) took over"
            if switch.new_primary != switch.killed
            else f"no failover: {switch.killed}'s keeper restarted it first and it stayed primary"
        )
        print(
            f"switch {number}: killed {switch.killed}'s postmaster; {moved}; writes succeeded"
            f" again after {switch.writes_back_after_s:.2f} s (longest wait between answered"
            f" creates {switch.longest_gap_s:.2f} s); primary and synchronous standby again"
            f" after {switch.rejoined_after_s:.1f} s"
        )
    print(
        f"acknowledged: {figures.shipments} shipments, {figures.scans} scans;"
        f" {figures.scans_unanswered} scans unanswered (503 or no answer; not resent);"
        f" {figures.client_retries} client retries"
    )
    print("answers: " + ", ".join(f"{name}: {n}" for name, n in figures.statuses.items()))
    for c in figures.checks:
        print(
            f"{c.node}: shipments missing {c.shipments_missing}, events missing"
            f" {c.events_missing}, duplicate shipments {c.duplicate_shipments}, duplicate"
            f" events {c.duplicate_events}; unanswered scans recorded anyway"
            f" {c.scans_unanswered_but_recorded}"
        )
    for error in figures.errors:
        print(f"unexpected answer: {error}")
    print("OK: nothing lost, nothing doubled, no 500" if figures.ok else "FAILED")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--long", action="store_true", help="20 s of traffic, then two kills")
    parser.add_argument("--kills", type=int, default=None)
    parser.add_argument("--creators", type=int, default=4)
    parser.add_argument("--before-s", type=float, default=None)
    parser.add_argument("--after-s", type=float, default=None)
    parser.add_argument("--port-base", type=int, default=None, help="monitor's port; nodes +1, +2")
    parser.add_argument("--keep", action="store_true", help="leave the cluster's folder")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    reason = unavailable_reason()
    if reason is not None:
        print(f"failover drill: {reason}", file=sys.stderr)
        return 2
    options = DrillOptions(
        creators=args.creators,
        before_s=args.before_s if args.before_s is not None else (20.0 if args.long else 3.0),
        after_s=args.after_s if args.after_s is not None else (20.0 if args.long else 4.0),
        kills=args.kills if args.kills is not None else (2 if args.long else 1),
        port_base=args.port_base or free_port_base(),
        keep=args.keep,
    )
    figures = run_drill(options)
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(asdict(figures), indent=2), encoding="utf-8")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
