"""Benchmark of the region import: one typical region, and every region, on SQLite and PostgreSQL.

    .venv/bin/python bench/region_import.py [--backend sqlite|postgresql|both]
        [--region CODE ...] [--all | --sample N] [--twice] [--timetable]

Each backend gets a fresh database (migrated first; PostgreSQL from ``SELPO_BENCH_DATABASE_URL``
or ``SELPO_TEST_DATABASE_URL``, a scratch database made beside it and dropped after). Regions
are imported one transaction each, in code order, as ``selpo region import --all`` does. Prints
one row per region: seconds to read its data (``load``: reference files, scaling) and to write
it (``import``), with ``--timetable`` to make up its synthetic timetable in the same
transaction (``timetable``, as ``selpo region import`` does), offices, localities; then the
totals, the second import of the first region
(``--twice``: idempotent, nothing written) and the size of the database.

``--region 33`` (repeatable) picks regions; ``--sample N`` the first N known regions spread
over the list; ``--all`` every known region. Default: the default region (SELPO_DEFAULT_REGION;
unset: the one the package curates).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from selpo.config import Settings
from selpo.db import create_db_engine, normalise_url, session_scope
from selpo.logistics import timetables
from selpo.migrate import upgrade_to_head
from selpo.network import regions
from selpo.network.importer import import_region


@dataclass(frozen=True)
class Row:
    code: str
    load_s: float
    import_s: float
    timetable_s: float
    offices: int
    localities: int
    changed: bool


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _pg_base() -> str:
    return os.environ.get("SELPO_BENCH_DATABASE_URL") or os.environ.get(
        "SELPO_TEST_DATABASE_URL", ""
    )


def _scratch(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench_regions.db'}"
    base = make_url(normalise_url(_pg_base()))
    name = f"selpo_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        base.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(False)


def _drop(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    admin = create_engine(
        parsed.set(database="postgres").render_as_string(False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _size_mb(url: str) -> float:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database or "").stat().st_size / 1e6
    engine = create_engine(url)
    with engine.connect() as connection:
        size = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return float(size or 0) / 1e6


def run(backend: str, codes: list[str], twice: bool, timetable: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = _scratch(backend, Path(folder))
        try:
            engine = create_db_engine(url)
            upgrade_to_head(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            seeds = regions.marketplace_seeds()
            rows: list[Row] = []
            print(f"\n{backend}: {len(codes)} regions")
            print(
                f"{'region':>6} {'load s':>8} {'import s':>9} {'timetable s':>12} "
                f"{'offices':>8} {'localities':>11}"
            )
            started = time.perf_counter()
            for code in codes:
                t0 = time.perf_counter()
                source = regions.load_source(code)
                t1 = time.perf_counter()
                with session_scope(factory) as session:
                    report = import_region(session, source, marketplaces=seeds)
                    t2 = time.perf_counter()
                    if timetable and report.hubs:
                        timetables.generate_timetable(
                            session, now=datetime.now(UTC), region=source.info.code
                        )
                t3 = time.perf_counter()
                row = Row(
                    code,
                    t1 - t0,
                    t2 - t1,
                    t3 - t2,
                    len(source.offices),
                    len(source.localities),
                    report.anything_changed,
                )
                rows.append(row)
                print(
                    f"{row.code:>6} {row.load_s:8.2f} {row.import_s:9.2f} "
                    f"{row.timetable_s:12.2f} {row.offices:8,} {row.localities:11,}",
                    flush=True,
                )
            total = time.perf_counter() - started
            print(
                f"{'total':>6} {sum(r.load_s for r in rows):8.1f} "
                f"{sum(r.import_s for r in rows):9.1f} {sum(r.timetable_s for r in rows):12.1f} "
                f"{sum(r.offices for r in rows):8,} "
                f"{sum(r.localities for r in rows):11,}   wall {total:.1f} s"
            )
            if twice and codes:
                source = regions.load_source(codes[0])
                t0 = time.perf_counter()
                with session_scope(factory) as session:
                    report = import_region(session, source, marketplaces=seeds)
                print(
                    f"re-import of {codes[0]}: {time.perf_counter() - t0:.2f} s, "
                    f"changed anything: {report.anything_changed}"
                )
            engine.dispose()
            print(f"database size: {_size_mb(url):.1f} MB")
        finally:
            _drop(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--region", action="append", default=[])
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--twice", action="store_true", help="re-import the first region")
    parser.add_argument("--timetable", action="store_true", help="and each region's timetable")
    args = parser.parse_args()
    known = [info.code for info in regions.known_regions()]
    if args.all:
        codes = known
    elif args.sample:
        step = max(1, len(known) // args.sample)
        codes = known[::step][: args.sample]
    else:
        codes = args.region or [regions.default_region(Settings().default_region).code]
    print(f"machine: {os.cpu_count()} CPUs ({_cpu()}), Python {platform.python_version()}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        if backend == "postgresql" and not _pg_base():
            print("\npostgresql: skipped (set SELPO_BENCH_DATABASE_URL or SELPO_TEST_DATABASE_URL)")
            continue
        run(backend, codes, args.twice, args.timetable)


if __name__ == "__main__":
    main()
