"""Benchmark of the way back's counter work: a buyer's return registered over the service and
taken at the counter (found by its code, checked, numbered, refunded, put on the way back),
and the marketplace's recall of a parcel on the shelf; on SQLite and on PostgreSQL.

Run from the repository root::

    .venv/bin/python bench/returns.py [--count 200] [--postgres-url URL]

Each backend gets a fresh database (SQLite: a file in a temporary folder; PostgreSQL: a new
``selpo_bench_returns_<pid>`` database on ``--postgres-url``, dropped at the end; skipped when
none is given), migrated, with the bundled region and two clerks. ``--count`` cash on delivery
orders are walked to the buyer in bulk (not timed). Then, one transaction per operation as
the API and the counter run them, interleaved round by round so the noise of a shared machine
falls on all alike: the baseline (``create_shipments`` of one parcel), ``register_return``,
``find_by_code`` + ``accept_at_counter``, and ``recall`` of a parcel on the shelf. Figures are
per operation (median, p95) and as a ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.builders import two_item_payload  # noqa: E402
from tests.office.world import cheap_password_hashing, make_world  # noqa: E402

from selpo.db import create_db_engine, make_session_factory, session_scope  # noqa: E402
from selpo.kit.clock import FrozenClock  # noqa: E402
from selpo.kit.lockout import Lockout  # noqa: E402
from selpo.marketplace import service as marketplace_service  # noqa: E402
from selpo.migrate import upgrade_to_head  # noqa: E402
from selpo.models import Shipment  # noqa: E402
from selpo.network import regions  # noqa: E402
from selpo.network.importer import import_region  # noqa: E402
from selpo.returns import recall  # noqa: E402
from selpo.returns import service as returns  # noqa: E402
from selpo.returns.schemas import ReturnCreate, ReturnItemIn  # noqa: E402
from selpo.shipment import service  # noqa: E402
from selpo.shipment.schemas import ShipmentCreate  # noqa: E402

PEPPER = "bench-returns-pepper"
POLICY = returns.CodePolicy(pepper=PEPPER, lockout=Lockout(5, timedelta(minutes=15)))
PICKUP = service.PickupPolicy(pepper=PEPPER)


@contextmanager
def sqlite_factory() -> Iterator[tuple[str, sessionmaker[Session]]]:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{folder}/bench.db")
        upgrade_to_head(engine)
        try:
            yield f"SQLite {__import__('sqlite3').sqlite_version}", make_session_factory(engine)
        finally:
            engine.dispose()


@contextmanager
def postgres_factory(server_url: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    name = f"selpo_bench_returns_{os.getpid()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = sqlalchemy.make_url(server_url).set(database=name)
    engine = create_db_engine(url.render_as_string(hide_password=False))
    try:
        upgrade_to_head(engine)
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SHOW server_version").scalar_one()
        yield f"PostgreSQL {version}", make_session_factory(engine)
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def _orders(session: Session, world_now: datetime, count: int, prefix: str) -> list[Shipment]:
    """``count`` two-line COD orders to Pestyaki, walked to the shelf in bulk."""
    ozon = marketplace_service.get_by_code(session, "OZON")
    created = service.create_shipments(
        session,
        marketplace=ozon,
        shipments_in=[
            ShipmentCreate.model_validate(two_item_payload(f"{prefix}-{n}", cod=True))
            for n in range(count)
        ],
        now=world_now,
    )
    numbers = [c.shipment.tracking_number for c in created if c.shipment is not None]
    for code, office in (
        ("handed_over", None),
        ("departed_hub", None),
        ("arrived_at_office", "155650"),
    ):
        service.record_scans(
            session,
            scans=[service.Scan(n, code, world_now, office) for n in numbers],
            now=world_now,
        )
    shipments = list(service.get_shipments(session, numbers).values())
    service.make_ready_for_pickup_many(
        session, shelvings=[service.Shelving(s) for s in shipments], now=world_now, policy=PICKUP
    )
    return shipments


def run(label: str, factory: sessionmaker[Session], count: int) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    clock = FrozenClock(now - timedelta(days=2))
    with cheap_password_hashing(), session_scope(factory) as session:
        import_region(session, regions.load_source(regions.default_region().code), clock=clock)
        world = make_world(session, clock)
        marketplace_service.set_returns(world.ozon, refund_cash=True)
        delivered = _orders(session, clock.now(), count, "B")
        service.issue_to_recipients(
            session,
            issues=[service.Issue(s, cod_method="cash") for s in delivered],
            now=clock.now(),
        )
        on_shelf = _orders(session, clock.now(), count, "S")
        office_id, ozon_id = world.pestyaki.id, world.ozon.id
        order_numbers = [s.tracking_number for s in delivered]
        shelf_numbers = [s.tracking_number for s in on_shelf]
    times: dict[str, list[float]] = {k: [] for k in ("create", "register", "accept", "recall")}
    for n in range(count):
        moment = now + timedelta(seconds=n)
        started = time.perf_counter()
        with session_scope(factory) as session:
            ozon = marketplace_service.get_by_code(session, "OZON")
            service.create_shipments(
                session,
                marketplace=ozon,
                shipments_in=[ShipmentCreate.model_validate(two_item_payload(f"C-{n}", cod=True))],
                now=moment,
            )
        times["create"].append(time.perf_counter() - started)
        started = time.perf_counter()
        with session_scope(factory) as session:
            ozon = marketplace_service.get_by_code(session, "OZON")
            made = returns.register_return(
                session,
                marketplace=ozon,
                return_in=ReturnCreate(
                    tracking_number=order_numbers[n],
                    external_return_id=f"R-{n}",
                    reason="bench",
                    items=[ReturnItemIn(position=1, quantity=1)],
                ),
                now=moment,
                pepper=PEPPER,
            )
        times["register"].append(time.perf_counter() - started)
        started = time.perf_counter()
        with session_scope(factory) as session:
            from selpo.models import PostOffice

            office = session.get(PostOffice, office_id)
            assert office is not None
            found = returns.find_by_code(
                session, office=office, code=made.return_code, seat="b", policy=POLICY, now=moment
            )
            assert found.return_id == made.id, found.message
            returns.accept_at_counter(
                session,
                office=office,
                return_id=made.id,
                ticket=found.ticket,
                seat="b",
                pepper=PEPPER,
                accepted={1: 1},
                weight_g=None,
                actor="clerk:bench",
                now=moment,
            )
        times["accept"].append(time.perf_counter() - started)
        started = time.perf_counter()
        with session_scope(factory) as session:
            recall.recall(
                session, marketplace_id=ozon_id, tracking_number=shelf_numbers[n], now=moment
            )
        times["recall"].append(time.perf_counter() - started)
    with factory() as session:
        refunded = session.scalars(
            select(Shipment).where(Shipment.tracking_number.in_(shelf_numbers[:1]))
        ).one()
        assert refunded.status == "returning"
    base = statistics.median(times["create"])
    print(f"\n{label}: {count} of each, one transaction per operation")
    print(f"{'operation':<42}{'median ms':>10}{'p95 ms':>10}{'× create':>10}")
    names = {
        "create": "create_shipments (one parcel; baseline)",
        "register": "register_return (POST /v1/returns)",
        "accept": "find_by_code + accept_at_counter",
        "recall": "recall of a parcel on the shelf",
    }
    for key, name in names.items():
        values = sorted(times[key])
        p95 = values[int(len(values) * 0.95) - 1]
        print(
            f"{name:<42}{statistics.median(values) * 1000:>10.2f}{p95 * 1000:>10.2f}"
            f"{statistics.median(values) / base:>10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with sqlite_factory() as (label, factory):
        run(label, factory, args.count)
    if args.postgres_url:
        with postgres_factory(args.postgres_url) as (label, factory):
            run(label, factory, args.count)


if __name__ == "__main__":
    main()
