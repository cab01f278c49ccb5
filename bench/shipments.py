"""Benchmark of shipment creation and tracking lookups, on SQLite and on PostgreSQL.

Run from the repository root::

    .venv/bin/python bench/shipments.py [--quick] [--backend sqlite|postgresql|both]
        [--postgres-url URL] [--no-http] [--profile]

(PostgreSQL: ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres`` unless ``--postgres-url``
names another server; skipped with a note when none answers. ``--profile`` prints a cProfile
of one service batch per backend.)

Each backend gets a fresh database (SQLite: a file in a temporary folder; PostgreSQL: a new
``selpo_bench_shipments_<pid>`` database, dropped at the end), migrated to head, with the
bundled Ivanovo region imported and a bench marketplace connected to every open office.

Creation: shipments through the real service, ``create_shipments`` inside ``session_scope``
(one transaction per call), one by one and in batches of 1,000; the same through HTTP (the real
application under uvicorn in a subprocess on 127.0.0.1). In the same run, interleaved round by
round, the same rows go straight into the same three tables (shipment, shipment_item,
tracking_event) with no application: SQLAlchemy Core ``insert()`` executemany, and the driver
alone (sqlite3 ``executemany``; psycopg ``COPY``). That is the ceiling; the service's rate is
reported as a percentage of it.

Tracking lookups: 1,000,000 shipments with ~10,000,000 tracking events are bulk-loaded
(``INSERT … SELECT`` from a staging table of tracking numbers made by ``make_tracking_number``),
then random numbers are looked up through ``get_shipment`` + ``read_shipment``, through
``GET /v1/shipments/{tracking}``, and with the same four SELECTs on the bare driver.
``--quick`` scales everything down for a smoke run. Any wrong answer makes the exit status 1.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import sqlalchemy
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy import JSON, Boolean, Engine, bindparam, create_engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import Base, UTCDateTime, create_db_engine, make_session_factory, session_scope
from selpo.marketplace import service as marketplace_service
from selpo.migrate import upgrade_to_head
from selpo.models import ApiKey, Marketplace, PostOffice
from selpo.network import regions
from selpo.network.importer import import_region
from selpo.network.rules import OfficeCapacity, ParcelSize, parcel_fits
from selpo.notify import service as notify_service
from selpo.shipment import service
from selpo.shipment.errors import ShipmentNotFound
from selpo.shipment.schemas import ShipmentCreate, ShipmentRead
from selpo.shipment.tracking import make_tracking_number, month_code

# Run as a script, only bench/ is on sys.path; the repository root makes tests/ importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.local_server import serve
from tests.fixtures.builders import shipment_payload

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SEED = 20261125
BATCH = 1000  # the API's largest batch
SHIPMENT_TABLE = Base.metadata.tables["shipment"]
ITEM_TABLE = Base.metadata.tables["shipment_item"]
EVENT_TABLE = Base.metadata.tables["tracking_event"]
ITEM_COLUMNS: tuple[str, ...] = (
    "shipment_id",
    "position",
    "sku",
    "name",
    "quantity",
    "price_kop",
    "refused_quantity",
)
EVENT_COLUMNS: tuple[str, ...] = (
    "shipment_id",
    "code",
    "status_after",
    "applied",
    "occurred_at",
    "recorded_at",
    "office_index",
    "actor",
    "source",
)
# The aims of the issue.
RAW_SHARE_AIM = 0.25
LOOKUP_P99_AIM_S = 0.010
# Bulk-loaded shipments: accepting indexes no real office has (the Ivanovo ones are 15xxxx),
# 50,000 serials per index and month code; the raw-insert ceilings use two more.
BULK_INDEX_BASE = 610_000
BULK_SERIALS = 50_000
RAW_CORE_INDEX = "699001"
RAW_DRIVER_INDEX = "699002"
# Tracking events of bulk shipments, round k = the k-th event of every shipment that has at
# least k: a shipment has 1 + (ordinal * 7 mod 19) events, 10 on average.
EVENT_CHAIN: tuple[tuple[str, str], ...] = (
    ("created", "created"),
    ("handed_over", "handed_over"),
    *(
        (code, "in_transit")
        for code in (
            "arrived_at_sorting_centre",
            "departed_sorting_centre",
            "arrived_at_hub",
            "departed_hub",
            "in_transit",
        )
        * 3
    ),
    ("arrived_at_office", "arrived_at_office"),
    ("ready_for_pickup", "ready_for_pickup"),
)
BULK_OPTIONS = {"fitting": False, "contents_check": False, "partial_redemption": True}


@dataclass(frozen=True)
class Options:
    """Sizes of every measurement (``--quick`` shrinks them)."""

    quick: bool
    single_rounds: int
    singles_per_round: int
    batch_rounds: int
    bulk_shipments: int
    lookups: int
    http: bool
    profile: bool

    @property
    def singles(self) -> int:
        return self.single_rounds * self.singles_per_round


@dataclass
class Database:
    """A fresh, migrated database of one backend."""

    name: str
    url: str
    engine: Engine
    factory: sessionmaker[Session]
    about: str

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


@dataclass(frozen=True)
class Fixture:
    """The bench marketplaces, their keys and the offices shipments go to."""

    marketplace: Marketplace
    secret: str
    hooked: Marketplace  # a second marketplace with one webhook subscription
    destinations: tuple[str, ...]
    office_ids: dict[str, int]


@dataclass
class Context:
    """What every section gets; sections record wrong answers in ``failures``."""

    options: Options
    failures: list[str] = field(default_factory=list)
    summary: list[tuple[str, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    """A section's result: a table and its notes."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    notes: list[str]


# --- formatting ------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f}/s"


def _share(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.0f} %"


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _median(values: Sequence[float]) -> float:
    return _pct(values, 50)


# --- databases -------------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[Database]:
    """A fresh SQLite file in a temporary folder, configured as the application does."""
    with tempfile.TemporaryDirectory(prefix="selpo-bench-shipments-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_db_engine(url)
        try:
            upgrade_to_head(engine)
            about = (
                f"SQLite {sqlite3_version()}, a file in {tempfile.gettempdir()}, WAL, "
                "synchronous=NORMAL (create_db_engine's settings)"
            )
            yield Database("SQLite", url, engine, make_session_factory(engine), about)
        finally:
            engine.dispose()


def sqlite3_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


@contextmanager
def postgres_database(server_url: str) -> Iterator[Database]:
    """A new database on the PostgreSQL server, dropped when the block ends."""
    name = f"selpo_bench_shipments_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        url = sqlalchemy.make_url(server_url).set(database=name)
        url_text = url.render_as_string(hide_password=False)
        engine = create_db_engine(url_text)
        try:
            upgrade_to_head(engine)
            with engine.connect() as connection:
                version = connection.exec_driver_sql("SHOW server_version").scalar_one()
                settings = {
                    key: connection.exec_driver_sql(f"SHOW {key}").scalar_one()
                    for key in ("shared_buffers", "synchronous_commit", "fsync", "autovacuum")
                }
            about = f"PostgreSQL {version} on 127.0.0.1 (psycopg {psycopg.__version__}), " + (
                ", ".join(f"{k}={v}" for k, v in settings.items())
            )
            yield Database("PostgreSQL", url_text, engine, make_session_factory(engine), about)
        finally:
            engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def set_up(db: Database) -> Fixture:
    """Import the region; two marketplaces serving every open office, one with a webhook."""
    now = datetime.now(UTC)
    with session_scope(db.factory) as session:
        import_region(session, regions.load_source(regions.default_region().code))
    with session_scope(db.factory) as session:
        marketplaces = []
        for code in ("BENCH", "BENCH_HOOKED"):
            marketplace = marketplace_service.add_marketplace(session, code=code, name=code)
            marketplace_service.connect_offices(
                session, marketplace=marketplace, indexes=None, today=now.date(), now=now
            )
            marketplaces.append(marketplace)
        secret = marketplace_service.issue_key(
            session, now=now, marketplace=marketplaces[0], label="bench"
        ).secret
        notify_service.create_subscription(
            session,
            marketplace_id=marketplaces[1].id,
            url="https://hooks.example.com/selpo",
            events=["*"],
            now=now,
        )
        # Offices that take the bench parcels (1.2 kg, 300×200×100 mm at most).
        parcel = ParcelSize(1200, 300, 200, 100)
        offices = session.scalars(select(PostOffice).where(PostOffice.status == "open"))
        office_ids = {
            o.index: o.id
            for o in offices
            if parcel_fits(
                parcel,
                OfficeCapacity(
                    o.max_weight_g,
                    o.max_length_mm,
                    o.max_width_mm,
                    o.max_height_mm,
                    o.cells_s,
                    o.cells_m,
                    o.cells_l,
                ),
            )
        }
    return Fixture(marketplaces[0], secret, marketplaces[1], tuple(sorted(office_ids)), office_ids)


# --- HTTP server -----------------------------------------------------------------------------


@contextmanager
def http_server(database_url: str, log: Path) -> Iterator[httpx.Client]:
    """The real application under uvicorn on 127.0.0.1, and a keep-alive client to it."""
    try:
        with (
            serve(database_url, log, extra=("--timeout-keep-alive", "600")) as base,
            httpx.Client(base_url=base, trust_env=False, timeout=300.0) as client,
        ):
            yield client
    except Exception:
        print(log.read_text(encoding="utf-8", errors="replace")[-5000:], file=sys.stderr)
        raise


# --- creation: inputs ------------------------------------------------------------------------


def payload(order: str, destination: str, i: int) -> dict[str, Any]:
    """A valid shipment body (``shipment_payload``), varied: 1 or 2 lines, COD on half."""
    items: list[dict[str, Any]] = [
        {
            "sku": f"SKU-{i % 997}",
            "name": "Чайник электрический",
            "quantity": 1,
            "price_kop": 150000,
        }
    ]
    if i % 3 == 0:
        items.append({"sku": f"MUG-{i % 89}", "name": "Кружка", "quantity": 2, "price_kop": 25000})
    declared = sum(int(it["price_kop"]) * int(it["quantity"]) for it in items)
    return shipment_payload(
        external_order_id=order,
        destination_index=destination,
        recipient={"name": "Иванова Мария Петровна", "phone": f"+7916{i % 10_000_000:07d}"},
        parcel={
            "weight_g": 800 + i % 400,
            "length_mm": 300,
            "width_mm": 200,
            "height_mm": 100,
            "declared_value_kop": declared,
            "cod_kop": declared if i % 2 else 0,
        },
        items=items,
    )


class Orders:
    """Unique order ids and payloads, spread over the destination offices."""

    def __init__(self, fixture: Fixture) -> None:
        self._fixture = fixture
        self._next = 0
        self._rng = random.Random(SEED)

    def payloads(self, tag: str, count: int) -> list[dict[str, Any]]:
        result = []
        for _ in range(count):
            self._next += 1
            destination = self._rng.choice(self._fixture.destinations)
            result.append(payload(f"{tag}-{self._next:08d}", destination, self._next))
        return result


def validate(payloads: list[dict[str, Any]]) -> list[ShipmentCreate]:
    return [ShipmentCreate.model_validate(p) for p in payloads]


@dataclass
class RawRows:
    """Rows of a batch as the service would write them, without the shipment ids."""

    shipments: list[dict[str, Any]]
    items: list[list[dict[str, Any]]]  # per shipment
    events: list[dict[str, Any]]  # one per shipment
    shipment_tuples: list[tuple[Any, ...]]  # driver-ready values (see ``_driver_value``)
    item_tuples: list[list[tuple[Any, ...]]]
    event_tuples: list[tuple[Any, ...]]


class RawNumbers:
    """Tracking numbers for the raw inserts under their own accepting index."""

    def __init__(self, index: str) -> None:
        self.index = index
        self.serial = 0

    def take(self, count: int) -> list[str]:
        code = month_code(datetime.now(UTC).date())
        numbers = [
            make_tracking_number(self.index, code, self.serial + n) for n in range(1, count + 1)
        ]
        self.serial += count
        return numbers


def _driver_value(value: Any, sqlite: bool) -> Any:
    # What SQLAlchemy's types would bind: JSON text; SQLite: naive UTC text, 0/1 booleans.
    if isinstance(value, dict):
        return json.dumps(value)
    if sqlite and isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if sqlite and isinstance(value, bool):
        return int(value)
    return value


def shipment_row(
    number: str,
    s: ShipmentCreate,
    *,
    marketplace_id: int,
    office_id: int,
    status: str,
    now: datetime,
) -> dict[str, Any]:
    """The ``shipment`` row ``create_shipments`` writes for one shipment, in ``status``."""
    return {
        "tracking_number": number,
        "marketplace_id": marketplace_id,
        "external_order_id": s.external_order_id,
        "destination_office_id": office_id,
        "status": status,
        "recipient_name": s.recipient.name,
        "recipient_phone": s.recipient.phone,
        "phone_last4": s.recipient.phone[-4:],
        "weight_g": s.parcel.weight_g,
        "length_mm": s.parcel.length_mm,
        "width_mm": s.parcel.width_mm,
        "height_mm": s.parcel.height_mm,
        "declared_value_kop": s.parcel.declared_value_kop,
        "cod_kop": s.parcel.cod_kop,
        "options": s.options.model_dump(),
        "storage_extended": False,
        "reminder_sent": False,
        "pickup_code_failures": 0,
        "cod_collected_kop": 0,
        "created_at": now,
        "updated_at": now,
    }


def raw_rows(
    shipments_in: list[ShipmentCreate],
    numbers: list[str],
    fixture: Fixture,
    sqlite: bool,
) -> RawRows:
    """The rows ``create_shipments`` writes for these shipments (same columns and values)."""
    now = datetime.now(UTC)
    marketplace = fixture.marketplace
    shipments = [
        shipment_row(
            number,
            s,
            marketplace_id=marketplace.id,
            office_id=fixture.office_ids[s.destination_index],
            status="created",
            now=now,
        )
        for number, s in zip(numbers, shipments_in, strict=True)
    ]
    items = [
        [
            {
                "position": n,
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "price_kop": item.price_kop,
                "refused_quantity": 0,
            }
            for n, item in enumerate(s.items)
        ]
        for s in shipments_in
    ]
    event = {
        "code": "created",
        "status_after": "created",
        "applied": True,
        "occurred_at": now,
        "recorded_at": now,
        "office_index": None,
        "actor": "marketplace-api",
        "source": None,
    }
    events = [dict(event) for _ in shipments_in]
    return RawRows(
        shipments,
        items,
        events,
        [tuple(_driver_value(v, sqlite) for v in row.values()) for row in shipments],
        [
            [tuple(_driver_value(v, sqlite) for v in item.values()) for item in lines]
            for lines in items
        ],
        [tuple(_driver_value(v, sqlite) for v in e.values()) for e in events],
    )


# --- creation: the measured calls ------------------------------------------------------------


def create_via_service(
    db: Database, marketplace: Marketplace, shipments_in: list[ShipmentCreate]
) -> list[service.CreateOutcome]:
    """One transaction, as an endpoint runs it: ``session_scope`` + ``create_shipments``."""
    with session_scope(db.factory) as session:
        return service.create_shipments(
            session, marketplace=marketplace, shipments_in=shipments_in, now=datetime.now(UTC)
        )


def insert_core(db: Database, rows: RawRows) -> None:
    """The rows with SQLAlchemy Core executemany (RETURNING ids, as the service does)."""
    with db.engine.begin() as connection:
        statement = insert(SHIPMENT_TABLE).returning(
            SHIPMENT_TABLE.c.id, sort_by_parameter_order=True
        )
        ids = list(connection.scalars(statement, rows.shipments))
        connection.execute(
            insert(ITEM_TABLE),
            [
                {"shipment_id": sid, **item}
                for sid, lines in zip(ids, rows.items, strict=True)
                for item in lines
            ],
        )
        connection.execute(
            insert(EVENT_TABLE),
            [{"shipment_id": sid, **e} for sid, e in zip(ids, rows.events, strict=True)],
        )


def _columns(names: Sequence[str]) -> str:
    return ", ".join(names)


def _marks(count: int) -> str:
    return ", ".join(["?"] * count)


def insert_driver(db: Database, raw: Any, rows: RawRows) -> None:
    """The rows with the driver alone: sqlite3 executemany, psycopg COPY."""
    shipment_columns = tuple(rows.shipments[0])
    if db.is_sqlite:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        first = int(cursor.execute("SELECT coalesce(max(id), 0) FROM shipment").fetchone()[0]) + 1
        ids = range(first, first + len(rows.shipments))
        cursor.executemany(
            f"INSERT INTO shipment (id, {_columns(shipment_columns)}) "
            f"VALUES ({_marks(len(shipment_columns) + 1)})",
            [(sid, *row) for sid, row in zip(ids, rows.shipment_tuples, strict=True)],
        )
        cursor.executemany(
            f"INSERT INTO shipment_item ({_columns(ITEM_COLUMNS)}) "
            f"VALUES ({_marks(len(ITEM_COLUMNS))})",
            [
                (sid, *item)
                for sid, lines in zip(ids, rows.item_tuples, strict=True)
                for item in lines
            ],
        )
        cursor.executemany(
            f"INSERT INTO tracking_event ({_columns(EVENT_COLUMNS)}) "
            f"VALUES ({_marks(len(EVENT_COLUMNS))})",
            [(sid, *e) for sid, e in zip(ids, rows.event_tuples, strict=True)],
        )
        cursor.execute("COMMIT")
        cursor.close()
        return
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('shipment', 'id')) FROM generate_series(1, %s)",
            (len(rows.shipments),),
        )
        pg_ids = [int(r[0]) for r in cursor.fetchall()]
        with cursor.copy(f"COPY shipment (id, {_columns(shipment_columns)}) FROM STDIN") as copy:
            for sid, row in zip(pg_ids, rows.shipment_tuples, strict=True):
                copy.write_row((sid, *row))
        with cursor.copy(f"COPY shipment_item ({_columns(ITEM_COLUMNS)}) FROM STDIN") as copy:
            for sid, lines in zip(pg_ids, rows.item_tuples, strict=True):
                for item in lines:
                    copy.write_row((sid, *item))
        with cursor.copy(f"COPY tracking_event ({_columns(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for sid, e in zip(pg_ids, rows.event_tuples, strict=True):
                copy.write_row((sid, *e))
    raw.commit()


def insert_driver_one(db: Database, raw: Any, rows: RawRows) -> None:
    """One shipment with the driver alone: INSERT … RETURNING id, then its lines and event."""
    shipment_columns = tuple(rows.shipments[0])
    if db.is_sqlite:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        sid = cursor.execute(
            f"INSERT INTO shipment ({_columns(shipment_columns)}) "
            f"VALUES ({_marks(len(shipment_columns))}) RETURNING id",
            rows.shipment_tuples[0],
        ).fetchone()[0]
        cursor.executemany(
            f"INSERT INTO shipment_item ({_columns(ITEM_COLUMNS)}) "
            f"VALUES ({_marks(len(ITEM_COLUMNS))})",
            [(sid, *item) for item in rows.item_tuples[0]],
        )
        cursor.execute(
            f"INSERT INTO tracking_event ({_columns(EVENT_COLUMNS)}) "
            f"VALUES ({_marks(len(EVENT_COLUMNS))})",
            (sid, *rows.event_tuples[0]),
        )
        cursor.execute("COMMIT")
        cursor.close()
        return
    marks = ", ".join(["%s"] * len(shipment_columns))
    with raw.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO shipment ({_columns(shipment_columns)}) VALUES ({marks}) RETURNING id",
            rows.shipment_tuples[0],
        )
        pg_id = cursor.fetchone()[0]
        cursor.executemany(
            f"INSERT INTO shipment_item ({_columns(ITEM_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(ITEM_COLUMNS))})",
            [(pg_id, *item) for item in rows.item_tuples[0]],
        )
        cursor.execute(
            f"INSERT INTO tracking_event ({_columns(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})",
            (pg_id, *rows.event_tuples[0]),
        )
    raw.commit()


# --- creation: the section -------------------------------------------------------------------


@dataclass
class Method:
    """One way of creating shipments: ``run(r)`` does round r and returns timings (s)."""

    label: str
    run: Callable[[int], list[float]]
    times: list[float] = field(default_factory=list)


def _check_outcomes(ctx: Context, label: str, outcomes: list[service.CreateOutcome]) -> None:
    errors = [o.error for o in outcomes if o.error is not None]
    if errors:
        ctx.failures.append(f"{label}: {len(errors)} refused, first: {errors[0]}")


def _interleave(methods: list[Method], rounds: int) -> None:
    # Round 0 warms every method up (not kept); round r runs every method once, in a
    # rotating order, so drift on the machine hits them all alike.
    for method in methods:
        method.run(0)
    for r in range(1, rounds + 1):
        shift = r % len(methods)
        for method in methods[shift:] + methods[:shift]:
            gc.collect()
            method.times += method.run(r)


class Creation:
    """Inputs and measured calls of the creation section for one database.

    Every method gets ``rounds + 1`` chunks of inputs, made before any timer starts; chunk 0
    is the warm-up (imports, statement caches, prepared statements), 1..rounds are measured.
    """

    def __init__(
        self, ctx: Context, db: Database, fixture: Fixture, client: httpx.Client | None
    ) -> None:
        self.ctx = ctx
        self.db = db
        self.fixture = fixture
        self.client = client
        self.orders = Orders(fixture)
        self.core_numbers = RawNumbers(RAW_CORE_INDEX)
        self.driver_numbers = RawNumbers(RAW_DRIVER_INDEX)
        self.http_calls = 0
        self.early_answers = 0  # HTTP answers that arrived before their commit was visible

    def _shape(self, single: bool) -> tuple[int, int]:
        # (chunks, shipments per chunk): a chunk is one round of one method.
        opts = self.ctx.options
        if single:
            return opts.single_rounds + 1, opts.singles_per_round
        return opts.batch_rounds + 1, BATCH

    def _validated(self, tag: str, single: bool) -> list[list[ShipmentCreate]]:
        chunks, size = self._shape(single)
        return [validate(self.orders.payloads(tag, size)) for _ in range(chunks)]

    def _raw(self, tag: str, numbers: RawNumbers, single: bool) -> list[list[RawRows]]:
        # Per chunk, the RawRows of each call: one shipment each, or the whole batch.
        chunks = []
        for shipments_in in self._validated(tag, single):
            parts = [[s] for s in shipments_in] if single else [shipments_in]
            chunks.append(
                [
                    raw_rows(part, numbers.take(len(part)), self.fixture, self.db.is_sqlite)
                    for part in parts
                ]
            )
        return chunks

    def service_method(
        self, label: str, marketplace: Marketplace, tag: str, single: bool
    ) -> Method:
        inputs = self._validated(tag, single)

        def run(r: int) -> list[float]:
            calls = [[s] for s in inputs[r]] if single else [inputs[r]]
            spent = []
            for shipments_in in calls:
                start = time.perf_counter()
                outcomes = create_via_service(self.db, marketplace, shipments_in)
                spent.append(time.perf_counter() - start)
                _check_outcomes(self.ctx, label, outcomes)
            return spent

        return Method(label, run)

    def core_method(self, label: str, single: bool) -> Method:
        inputs = self._raw("CORE1" if single else "CORE", self.core_numbers, single)

        def run(r: int) -> list[float]:
            spent = []
            for rows in inputs[r]:
                start = time.perf_counter()
                insert_core(self.db, rows)
                spent.append(time.perf_counter() - start)
            return spent

        return Method(label, run)

    def driver_method(self, label: str, raw: Any, single: bool) -> Method:
        inputs = self._raw("DRV1" if single else "DRV", self.driver_numbers, single)
        call = insert_driver_one if single else insert_driver

        def run(r: int) -> list[float]:
            spent = []
            for rows in inputs[r]:
                start = time.perf_counter()
                call(self.db, raw, rows)
                spent.append(time.perf_counter() - start)
            return spent

        return Method(label, run)

    def _wait_committed(self, number: str) -> bool:
        """Wait (untimed) until the server's commit of ``number`` is visible; whether it was
        not yet visible when the response arrived."""
        query = text("SELECT count(*) FROM shipment WHERE tracking_number = :n")
        deadline = time.monotonic() + 30.0
        first = True
        while True:
            with self.db.engine.connect() as connection:
                if connection.execute(query, {"n": number}).scalar_one():
                    return not first
            if time.monotonic() > deadline:
                self.ctx.failures.append(f"{self.db.name}: {number} never became visible")
                return True
            first = False
            time.sleep(0.0005)

    def http_method(self, label: str, single: bool, idempotent: bool = False) -> Method:
        client = self.client
        assert client is not None
        chunks, size = self._shape(single)
        tag = "HTTP1" if single else ("HTTPI" if idempotent else "HTTP")
        inputs = [self.orders.payloads(tag, size) for _ in range(chunks)]
        auth = {"Authorization": f"Bearer {self.fixture.secret}"}

        def post(path: str, body: Any, expected: int) -> float:
            headers = {**auth, "Idempotency-Key": str(uuid.uuid4())} if idempotent else auth
            start = time.perf_counter()
            try:
                response = client.post(path, json=body, headers=headers)
            except httpx.TransportError as exc:
                self.ctx.failures.append(f"{self.db.name} {label}: {exc!r}")
                return time.perf_counter() - start
            seconds = time.perf_counter() - start
            # Checked after the timer. The endpoints answer before session_scope commits
            # (the session dependency ends after the response): wait for the commit so the
            # next request does not overlap it, and count how often the answer came first.
            answer = response.json() if response.status_code == expected else {}
            if single:
                number = answer.get("tracking_number")
            else:
                created = answer.get("created")
                if created != BATCH:
                    self.ctx.failures.append(f"{label}: {response.status_code}, {created} made")
                number = answer["results"][-1]["shipment"]["tracking_number"] if created else None
            if number is None:
                self.ctx.failures.append(f"{label}: {response.status_code} {response.text[:300]}")
            else:
                self.http_calls += 1
                self.early_answers += self._wait_committed(number)
            return seconds

        def run(r: int) -> list[float]:
            if not single:
                return [post("/v1/shipments/batch", inputs[r], 200)]
            return [post("/v1/shipments", body, 201) for body in inputs[r]]

        return Method(label, run)


def _creation_rows(
    mode: str, size: int, methods: list[Method], ceiling: tuple[float, float]
) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for method in methods:
        per_call = _median(method.times)
        rate = size / per_call
        rows.append(
            (
                mode,
                method.label,
                _rate(rate),
                _ms(per_call),
                _ms(_pct(method.times, 99)) if size == 1 else "",
                _share(rate, ceiling[0]),
                _share(rate, ceiling[1]),
            )
        )
    return rows


def _verify_raw_rows(ctx: Context, db: Database, fixture: Fixture) -> None:
    # A row each raw method wrote reads back through the service like a service-made one.
    code = month_code(datetime.now(UTC).date())
    with session_scope(db.factory) as session:
        for index in (RAW_CORE_INDEX, RAW_DRIVER_INDEX):
            number = make_tracking_number(index, code, 1)
            try:
                shipment = service.get_shipment(
                    session, marketplace_id=fixture.marketplace.id, tracking_number=number
                )
            except ShipmentNotFound:
                ctx.failures.append(f"{db.name}: raw row {number} not found")
                continue
            read = service.read_shipment(session, shipment)
            good = (
                read.status == "created"
                and read.created_at.tzinfo is not None
                and bool(read.items)
                and [e.code for e in read.events] == ["created"]
                and read.options == BULK_OPTIONS
            )
            if not good:
                ctx.failures.append(f"{db.name}: raw row {number} reads back wrong: {read}")


def _profile_batch(creation: Creation) -> str:
    # One more service batch under cProfile: where the application's time goes.
    shipments_in = validate(creation.orders.payloads("PROF", BATCH))
    profiler = cProfile.Profile()
    profiler.enable()
    create_via_service(creation.db, creation.fixture.marketplace, shipments_in)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)
    return out.getvalue()


def bench_creation(ctx: Context, db: Database, fixture: Fixture, log_dir: Path) -> Report:
    """Shipments per second: service, HTTP and raw inserts, interleaved round by round."""
    opts = ctx.options
    raw = db.engine.raw_connection()
    driver = raw.driver_connection
    driver_batch = "raw: driver (" + ("executemany" if db.is_sqlite else "COPY") + ")"
    try:
        with optional_server(opts.http, db, log_dir / f"create-{db.name}.log") as client:
            creation = Creation(ctx, db, fixture, client)
            singles = [
                creation.service_method("service", fixture.marketplace, "SVC1", True),
                *([creation.http_method("HTTP POST /v1/shipments", True)] if client else []),
                creation.core_method("raw: SQLAlchemy Core", True),
                creation.driver_method("raw: driver (execute)", driver, True),
            ]
            _interleave(singles, opts.single_rounds)
            batches = [
                creation.service_method("service", fixture.marketplace, "SVC", False),
                creation.service_method(
                    "service, marketplace with a webhook", fixture.hooked, "HOOK", False
                ),
                *(
                    [
                        creation.http_method("HTTP POST /v1/shipments/batch", False),
                        creation.http_method("HTTP batch + Idempotency-Key", False, True),
                    ]
                    if client
                    else []
                ),
                creation.core_method("raw: SQLAlchemy Core", False),
                creation.driver_method(driver_batch, driver, False),
            ]
            _interleave(batches, opts.batch_rounds)
            profile = _profile_batch(creation) if opts.profile else ""
    finally:
        raw.close()
    _verify_raw_rows(ctx, db, fixture)

    sample = Orders(fixture).payloads("VAL", BATCH)
    validation = []
    for _ in range(5):
        start = time.perf_counter()
        validate(sample)
        validation.append(time.perf_counter() - start)

    single_ceiling = (1 / _median(singles[-2].times), 1 / _median(singles[-1].times))
    batch_ceiling = (BATCH / _median(batches[-2].times), BATCH / _median(batches[-1].times))
    rows = _creation_rows(f"one by one (×{opts.singles:,})", 1, singles, single_ceiling)
    rows += _creation_rows(
        f"batch of {BATCH:,} (×{opts.batch_rounds})", BATCH, batches, batch_ceiling
    )
    service_rate = BATCH / _median(batches[0].times)

    def verdict(ceiling: float) -> str:
        met = service_rate >= RAW_SHARE_AIM * ceiling
        return f"{_share(service_rate, ceiling)}: {'met' if met else 'MISSED'}"

    aim = f"service batch ≥ {RAW_SHARE_AIM * 100:.0f} % of raw"
    rows.append(("aim", aim, "", "", "", verdict(batch_ceiling[0]), verdict(batch_ceiling[1])))
    ctx.summary.append(
        (
            db.name,
            "batch creation: service; % of raw Core; % of raw driver",
            _rate(service_rate),
            f"{verdict(batch_ceiling[0])}; {verdict(batch_ceiling[1])} (aim ≥ 25 %)",
        )
    )
    notes = [
        db.about,
        "Every call is one transaction; rate = shipments per median call time "
        f"({opts.single_rounds} rounds × {opts.singles_per_round} for one by one, "
        f"{opts.batch_rounds} rounds × 1 batch), the methods interleaved round by round in "
        "a rotating order, after a warm-up round that is not counted.",
        "service = session_scope + create_shipments (ShipmentCreate models built before the "
        "timer; the detached marketplace passed in) — what the endpoints call. Its "
        "webhook row: the second bench marketplace has one subscription to '*', so each "
        "shipment also writes an outbox row.",
        "HTTP = the real application under uvicorn (one process, subprocess on 127.0.0.1) and "
        "httpx with keep-alive from this process; time from request to the full response "
        "(authentication, JSON, pydantic validation, response body of every ShipmentRead "
        "included). The batch response is ~1 KB per shipment. "
        f"{creation.early_answers} of {creation.http_calls} HTTP create answers arrived before "
        "their commit was visible: get_session's session_scope ends after the response is "
        "sent (FastAPI's default dependency scope), so the bench waits, untimed, for each "
        "commit before the next request, and the HTTP times do not include the commit.",
        "raw: the same rows (every column the service writes, the same values) into the same "
        "three tables with no application: SQLAlchemy Core insert() executemany with "
        "RETURNING ids, as the service does; driver = "
        + (
            "sqlite3 executemany (ids from max(id) under BEGIN IMMEDIATE)"
            if db.is_sqlite
            else "psycopg COPY (ids reserved with nextval over generate_series)"
        )
        + " — one item and one 'created' event per shipment per the payload. "
        "% columns: rate as a share of each raw method's rate in the same mode.",
        f"Payloads: shipment_payload varied (1 or 2 order lines, 1.33 on average; COD on "
        f"half), to {len(fixture.destinations)} offices at random. Validating "
        f"{BATCH:,} payloads with ShipmentCreate.model_validate takes "
        f"{_ms(_median(validation))} (median of 5), outside the service figures.",
    ]
    if profile:
        print(f"\n### cProfile of one service batch of {BATCH:,} on {db.name}\n")
        print(profile)
    return Report(
        f"{db.name}: shipment creation",
        ("mode", "path", "shipments/s", "median call", "p99 call", "% raw Core", "% raw driver"),
        rows,
        notes,
    )


@contextmanager
def optional_server(enabled: bool, db: Database, log: Path) -> Iterator[httpx.Client | None]:
    """The HTTP server and client when enabled, else None."""
    if not enabled:
        yield None
        return
    with http_server(db.url, log) as client:
        yield client


# --- lookups: bulk load ----------------------------------------------------------------------


def bulk_number(ordinal: int) -> str:
    """The tracking number of the bulk shipment with this 0-based ordinal."""
    prefix, serial = divmod(ordinal, BULK_SERIALS)
    index = f"{BULK_INDEX_BASE + prefix // 99:06d}"
    return make_tracking_number(index, f"{prefix % 99 + 1:02d}", serial + 1)


def event_count(ordinal: int) -> int:
    """How many tracking events the bulk shipment with this ordinal has."""
    return 1 + (ordinal * 7) % 19


@dataclass(frozen=True)
class Bulk:
    """What was loaded: the shipments' first id and counts, and how long each step took."""

    first_id: int
    shipments: int
    items: int
    events: int
    timings: dict[str, float]


def _stage(db: Database, connection: sqlalchemy.Connection, fixture: Fixture, count: int) -> None:
    # A staging table of (ordinal, tracking number, office, status, order id, phone).
    connection.exec_driver_sql(
        "CREATE TEMP TABLE bulk_stage (ord INTEGER PRIMARY KEY, tracking_number VARCHAR(14), "
        "office_id INTEGER, status VARCHAR(32), external_order_id VARCHAR(100), "
        "phone VARCHAR(16))"
    )
    offices = [fixture.office_ids[i] for i in fixture.destinations]
    rng = random.Random(SEED + 1)

    def rows(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
        for n in range(start, stop):
            yield (
                n,
                bulk_number(n),
                offices[rng.randrange(len(offices))],
                EVENT_CHAIN[event_count(n) - 1][1],
                f"BULK-{n:08d}",
                f"+7916{n % 10_000_000:07d}",
            )

    raw = connection.connection.driver_connection
    assert raw is not None
    step = 200_000
    for start in range(0, count, step):
        chunk = rows(start, min(count, start + step))
        if db.is_sqlite:
            raw.executemany("INSERT INTO bulk_stage VALUES (?, ?, ?, ?, ?, ?)", chunk)
        else:
            with raw.cursor() as cursor, cursor.copy("COPY bulk_stage FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)


def bulk_load(db: Database, fixture: Fixture, count: int) -> Bulk:
    """Load ``count`` shipments, one order line each and ~10 tracking events each."""
    timings: dict[str, float] = {}
    created = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    with db.engine.connect() as connection:
        if db.is_sqlite:
            connection.exec_driver_sql("PRAGMA cache_size = -1000000")  # 1 GB, this connection
        else:
            connection.exec_driver_sql("SET synchronous_commit = off")
        connection.commit()
        start = time.perf_counter()
        with connection.begin():
            _stage(db, connection, fixture, count)
        timings["tracking numbers + staging"] = time.perf_counter() - start

        start = time.perf_counter()
        with connection.begin():
            connection.execute(
                text(
                    "INSERT INTO shipment (tracking_number, marketplace_id, external_order_id, "
                    "destination_office_id, status, recipient_name, recipient_phone, "
                    "phone_last4, weight_g, length_mm, width_mm, height_mm, "
                    "declared_value_kop, cod_kop, options, storage_extended, reminder_sent, "
                    "pickup_code_failures, cod_collected_kop, created_at, updated_at) "
                    "SELECT tracking_number, :marketplace, external_order_id, office_id, "
                    "status, 'Иванова Мария Петровна', phone, substr(phone, 9, 4), 1200, 300, "
                    "200, 100, 150000, 0, :options, :no, :no, 0, 0, :created, :created "
                    "FROM bulk_stage ORDER BY ord"
                ).bindparams(
                    bindparam("options", type_=JSON),
                    bindparam("no", type_=Boolean),
                    bindparam("created", type_=UTCDateTime()),
                ),
                {
                    "marketplace": fixture.marketplace.id,
                    "options": BULK_OPTIONS,
                    "no": False,
                    "created": created,
                },
            )
            connection.exec_driver_sql("DROP TABLE bulk_stage")
            first, last = connection.execute(
                text("SELECT min(id), max(id) FROM shipment WHERE external_order_id LIKE 'BULK-%'")
            ).one()
        timings["shipments"] = time.perf_counter() - start
        if last - first + 1 != count:
            raise RuntimeError(f"bulk ids are not consecutive: {first}..{last} for {count}")

        start = time.perf_counter()
        with connection.begin():
            connection.execute(
                text(
                    "INSERT INTO shipment_item (shipment_id, position, sku, name, quantity, "
                    "price_kop, refused_quantity) SELECT id, 0, 'SKU-1', 'Чайник', 1, "
                    "150000, 0 FROM shipment WHERE id BETWEEN :first AND :last ORDER BY id"
                ),
                {"first": first, "last": last},
            )
        timings["items"] = time.perf_counter() - start

        start = time.perf_counter()
        events = 0
        for k, (code, status) in enumerate(EVENT_CHAIN, start=1):
            with connection.begin():
                result = connection.execute(
                    text(
                        "INSERT INTO tracking_event (shipment_id, code, status_after, applied, "
                        "occurred_at, recorded_at, office_index, actor, source) "
                        "SELECT id, :code, :status, :yes, :at, :at, :office, :actor, NULL "
                        "FROM shipment WHERE id BETWEEN :first AND :last "
                        "AND ((id - :first) * 7) % 19 + 1 >= :k ORDER BY id"
                    ).bindparams(
                        bindparam("yes", type_=Boolean), bindparam("at", type_=UTCDateTime())
                    ),
                    {
                        "code": code,
                        "status": status,
                        "yes": True,
                        "at": created + timedelta(hours=6 * k),
                        "office": None if k == 1 else "153950",
                        "actor": "marketplace-api" if k == 1 else "hub-scan",
                        "first": first,
                        "last": last,
                        "k": k,
                    },
                )
                events += result.rowcount
        timings["events"] = time.perf_counter() - start

        start = time.perf_counter()
        if db.is_sqlite:
            connection.exec_driver_sql("PRAGMA analysis_limit = 1000")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        else:
            connection.commit()
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE shipment, shipment_item, tracking_event"
            )
        timings["ANALYZE"] = time.perf_counter() - start
    # Drop the load connection's settings (SQLite's big page cache) before measuring.
    db.engine.dispose()
    return Bulk(int(first), count, count, events, timings)


# --- lookups: measuring ----------------------------------------------------------------------


def lookup_service(db: Database, marketplace_id: int, number: str) -> ShipmentRead:
    """A tracking lookup as the endpoint does it: one session, get + read."""
    with session_scope(db.factory) as session:
        shipment = service.get_shipment(
            session, marketplace_id=marketplace_id, tracking_number=number
        )
        return service.read_shipment(session, shipment)


SHIPMENT_COLUMNS = tuple(c.name for c in SHIPMENT_TABLE.c)


def lookup_driver(db: Database, raw: Any, marketplace_id: int, number: str) -> tuple[Any, ...]:
    """The same four SELECTs on the bare driver, in one transaction: the floor."""
    mark = "?" if db.is_sqlite else "%s"
    cursor = raw.cursor()
    if db.is_sqlite:
        cursor.execute("BEGIN")
    cursor.execute(
        f"SELECT {_columns(SHIPMENT_COLUMNS)} FROM shipment "
        f"WHERE tracking_number = {mark} AND marketplace_id = {mark}",
        (number, marketplace_id),
    )
    shipment = dict(zip(SHIPMENT_COLUMNS, cursor.fetchone(), strict=True))
    cursor.execute(
        f"SELECT {_columns(('id', *ITEM_COLUMNS))} FROM shipment_item "
        f"WHERE shipment_id = {mark} ORDER BY position",
        (shipment["id"],),
    )
    items = cursor.fetchall()
    cursor.execute(
        f"SELECT {_columns(('id', *EVENT_COLUMNS))} FROM tracking_event "
        f"WHERE shipment_id = {mark} ORDER BY occurred_at, id",
        (shipment["id"],),
    )
    events = cursor.fetchall()
    cursor.execute(
        f"SELECT postal_index FROM post_office WHERE id = {mark}",
        (shipment["destination_office_id"],),
    )
    office = cursor.fetchone()
    if db.is_sqlite:
        cursor.execute("COMMIT")
    else:
        raw.commit()
    cursor.close()
    return shipment, items, events, office


def _latencies(call: Callable[[int], object], count: int) -> list[float]:
    gc.collect()
    spent = []
    for i in range(count):
        start = time.perf_counter()
        call(i)
        spent.append(time.perf_counter() - start)
    return spent


def _lookup_row(label: str, spent: list[float], floor: list[float]) -> tuple[str, ...]:
    p50, p99 = _pct(spent, 50), _pct(spent, 99)
    return (
        label,
        _ms(p50),
        _ms(p99),
        _ms(max(spent)),
        f"{p50 / _pct(floor, 50):.1f}×",
        f"{p99 / _pct(floor, 99):.1f}×",
    )


def _wait_key_used(db: Database, fixture: Fixture) -> None:
    """Wait until the bench key's last_used_at, written by the server, is recent."""
    prefix = fixture.secret.split("_")[1]
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        with session_scope(db.factory) as session:
            used = session.scalars(select(ApiKey.last_used_at).where(ApiKey.prefix == prefix))
            last = used.first()
        if last is not None and datetime.now(UTC) - last < timedelta(seconds=30):
            return
        time.sleep(0.001)


def bench_lookups(ctx: Context, db: Database, fixture: Fixture, log_dir: Path) -> Report:
    """Bulk-load, then time random tracking lookups: driver floor, service, HTTP."""
    opts = ctx.options
    bulk = bulk_load(db, fixture, opts.bulk_shipments)
    rng = random.Random(SEED + 2)
    warm = 100
    ordinals = [rng.randrange(bulk.shipments) for _ in range(opts.lookups + warm)]
    numbers = [bulk_number(n) for n in ordinals]
    mid = fixture.marketplace.id

    def check(i: int, tracking: str, events: int, items: int) -> None:
        n = ordinals[i]
        if (tracking, events, items) != (numbers[i], event_count(n), 1):
            ctx.failures.append(
                f"{db.name} lookup of {numbers[i]}: {tracking}, {events} events, {items} items"
            )

    def by_service(i: int) -> None:
        read = lookup_service(db, mid, numbers[i])
        check(i, read.tracking_number, len(read.events), len(read.items))

    raw = db.engine.raw_connection()
    try:

        def by_driver(i: int) -> None:
            shipment, items, events, _ = lookup_driver(db, raw.driver_connection, mid, numbers[i])
            check(i, shipment["tracking_number"], len(events), len(items))

        for i in range(warm):
            by_driver(i)
            by_service(i)
        driver = _latencies(lambda i: by_driver(warm + i), opts.lookups)
        in_process = _latencies(lambda i: by_service(warm + i), opts.lookups)
    finally:
        raw.close()
    rows = [
        _lookup_row("driver: the same 4 SELECTs (floor)", driver, driver),
        _lookup_row("service: get_shipment + read_shipment", in_process, driver),
    ]
    http_p99 = None
    if opts.http:
        headers = {"Authorization": f"Bearer {fixture.secret}"}
        with http_server(db.url, log_dir / f"lookup-{db.name}.log") as client:
            answers: dict[int, httpx.Response | None] = {}

            def by_http(i: int) -> None:
                try:
                    answers[i] = client.get(f"/v1/shipments/{numbers[i]}", headers=headers)
                except httpx.TransportError as exc:
                    ctx.failures.append(f"{db.name} GET {numbers[i]}: {exc!r}")
                    answers[i] = None

            def health(_i: int) -> None:
                client.get("/healthz")

            # The first request records the key's use (once a minute) and commits after its
            # response: let that commit land before the next request (see the notes).
            by_http(0)
            _wait_key_used(db, fixture)
            for i in range(1, warm):
                by_http(i)
                health(i)
            floor = _latencies(health, opts.lookups)
            over_http = _latencies(lambda i: by_http(warm + i), opts.lookups)
        # Checked after the timers: the client's JSON parsing is not the server's time.
        for i, response in answers.items():
            if response is None:
                continue
            if response.status_code != 200:
                ctx.failures.append(f"{db.name} GET {numbers[i]}: {response.status_code}")
                continue
            body = response.json()
            check(i, body["tracking_number"], len(body["events"]), len(body["items"]))
        rows.append(_lookup_row("HTTP GET /v1/shipments/{tracking}", over_http, driver))
        rows.append(_lookup_row("HTTP GET /healthz (the stack's floor)", floor, driver))
        http_p99 = _pct(over_http, 99)
    service_p99 = _pct(in_process, 99)
    verdict = "met" if service_p99 < LOOKUP_P99_AIM_S else "MISSED"
    rows.append(("aim: service p99 < 10 ms", "", f"{_ms(service_p99)}: {verdict}", "", "", ""))
    ctx.summary.append(
        (
            db.name,
            f"lookup p99 among {bulk.shipments:,} (service / HTTP)",
            _ms(service_p99) + (f" / {_ms(http_p99)}" if http_p99 is not None else ""),
            f"{verdict} (aim p99 < 10 ms)",
        )
    )
    load = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in bulk.timings.items())
    notes = [
        f"Loaded {bulk.shipments:,} shipments, {bulk.items:,} order lines and "
        f"{bulk.events:,} tracking events in {sum(bulk.timings.values()):.0f} s ({load}).",
        "Tracking numbers from make_tracking_number: "
        f"{(bulk.shipments + BULK_SERIALS - 1) // BULK_SERIALS} accepting-index/month "
        f"prefixes of {BULK_SERIALS:,} serials; every shipment belongs to the bench "
        "marketplace and goes to a random office; 1 + (n·7 mod 19) events each (1 to 19, "
        "10 on average), inserted in rounds (the k-th event of every shipment, then the "
        "k+1-th), so a shipment's events are scattered through the table as in production.",
        f"{opts.lookups:,} lookups of random existing numbers (seeded) after {warm} warm-up "
        "lookups, one after another; every answer is checked (number, event and line "
        "counts). service = session_scope + get_shipment + read_shipment, what the "
        "endpoint calls; driver = the same four SELECTs on one bare connection (no ORM, no "
        "pydantic); HTTP = uvicorn subprocess + httpx keep-alive, with authentication. "
        "×-columns: relative to the driver floor at the same percentile.",
        "Before the HTTP lookups the bench waits for the key's last_used_at write (made by "
        "the first request, committed after its response) to land: on SQLite, a request "
        "overlapping that commit fails with 'database is locked' (see the creation notes).",
    ]
    return Report(
        f"{db.name}: tracking lookups among {bulk.shipments:,} shipments",
        ("path", "p50", "p99", "max", "p50 / floor", "p99 / floor"),
        rows,
        notes,
    )


# --- output ----------------------------------------------------------------------------------


def print_report(console: Console, report: Report) -> None:
    """A report as a Markdown-style table (pastes into docs/performance.md) and its notes."""
    table = Table(title=report.title, box=box.MARKDOWN, title_justify="left")
    for name in report.header:
        table.add_column(name, overflow="fold")
    for row in report.rows:
        table.add_row(*row)
    console.print()
    console.print(table)
    for note in report.notes:
        console.print(f"* {note}", soft_wrap=True, highlight=False)


def machine() -> str:
    """One line about the machine: cores, CPU model, memory, Python and library versions."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text(encoding="utf-8").split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GB RAM"
    return (
        f"{os.cpu_count()} cores, {model}{memory}; Python {platform.python_version()}, "
        f"SQLAlchemy {sqlalchemy.__version__}"
    )


def run_backend(ctx: Context, console: Console, db: Database, log_dir: Path) -> None:
    """Every section on one database."""
    start = time.perf_counter()
    fixture = set_up(db)
    print_report(console, bench_creation(ctx, db, fixture, log_dir))
    print_report(console, bench_lookups(ctx, db, fixture, log_dir))
    console.print(f"\n{db.name} done in {time.perf_counter() - start:.0f} s.", highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sections on each backend, print the tables; 1 if any answer was wrong."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="which ones"
    )
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES_URL, help="server URL (any database on it)"
    )
    parser.add_argument("--no-http", action="store_true", help="skip the uvicorn measurements")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one service batch per backend"
    )
    args = parser.parse_args(argv)
    http, profile = not args.no_http, args.profile
    options = (
        Options(True, 5, 20, 3, 100_000, 500, http, profile)
        if args.quick
        else Options(False, 5, 100, 10, 1_000_000, 2_000, http, profile)
    )
    console = Console(width=200)
    console.print(f"Machine: {machine()}", highlight=False)
    ctx = Context(options)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="selpo-bench-logs-") as logs:
        log_dir = Path(logs)
        if args.backend in ("sqlite", "both"):
            with sqlite_database() as db:
                run_backend(ctx, console, db, log_dir)
        if args.backend in ("postgresql", "both"):
            try:
                with postgres_database(args.postgres_url) as db:
                    run_backend(ctx, console, db, log_dir)
            except sqlalchemy.exc.OperationalError as exc:
                console.print(f"PostgreSQL skipped: {exc.orig}", highlight=False)
    print_report(
        console,
        Report("Summary", ("backend", "measure", "figure", "aim"), ctx.summary, []),
    )
    console.print(f"\nTotal {time.perf_counter() - started:.0f} s.", highlight=False)
    for failure in ctx.failures[:20]:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if ctx.failures else 0


if __name__ == "__main__":
    sys.exit(main())
