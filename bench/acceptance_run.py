"""Benchmark of an acceptance by the run's manifest against one outside any run.

Run from the repository root::

    .venv/bin/python bench/acceptance_run.py [--parcels 120] [--database-url URL]

A fresh SQLite database (or a new database on the PostgreSQL server of ``--database-url``,
dropped after): the bundled region imported, the route run of ``tests/office/runs.py``
(Pestyaki's hub, a timetable imported from CSV) departed by the worker job with ``parcels``
parcels for Pestyaki, and as many more handed over after it left (on no manifest). Then, each
in its own transaction as the counter's requests are, the clerk scans every parcel of the run
into an acceptance of the run and closes it; then the other parcels into an acceptance
outside any run (nothing expected).
Prints the median and 95th percentile of a scan (the scan, its row and the counters: what
``POST .../scans`` answers), the open page with every scan in and the report (medians of
5), the closing, and the ratio run / outside a run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from selpo.db import session_scope
from selpo.kit.clock import FrozenClock
from selpo.models import PostOffice
from selpo.network.importer import import_region
from selpo.office import auth
from selpo.office import service as office
from selpo.office.auth import Workstation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shipments import Database, postgres_database, sqlite_database
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.runs import HANDOVER, depart, import_timetable
from tests.office.world import PASSWORD, OfficeWorld, cheap_password_hashing, make_world


def _acceptance(
    db: Database, numbers: list[str], clock: FrozenClock, run: str | None
) -> tuple[list[float], float, float, float]:
    """Scan ``numbers`` into a new acceptance (each scan its own transaction, answered as the
    scan queue's JSON answer is: the scan, its row, the counters), read its page, close it,
    read the report: (scan times, page, close, report)."""
    scans: list[float] = []
    with session_scope(db.factory) as session:
        world = _world(session)
        acceptance_id = office.start_acceptance(
            session, office=world[0], workstation=world[1], now=clock.now(), run=run
        ).id
    for number in numbers:
        start = time.perf_counter()
        with session_scope(db.factory) as session:
            place, desk = _world(session)
            acceptance = office.get_acceptance(session, office=place, acceptance_id=acceptance_id)
            scan = office.scan_for_acceptance(
                session,
                acceptance=acceptance,
                office=place,
                workstation=desk,
                barcode=number,
                damaged=False,
                now=clock.now(),
            )
            office.describe_scan(session, office=place, scan=scan)
            office.acceptance_counts(session, office=place, acceptance=acceptance)
        scans.append(time.perf_counter() - start)

    def page(session: Session) -> None:
        place, _ = _world(session)
        acceptance = office.get_acceptance(session, office=place, acceptance_id=acceptance_id)
        office.acceptance_view(session, office=place, acceptance=acceptance)

    page_time = statistics.median(_timed(db, page) for _ in range(5))

    def close(session: Session) -> None:
        place, desk = _world(session)
        acceptance = office.get_acceptance(session, office=place, acceptance_id=acceptance_id)
        office.close_acceptance(
            session, acceptance=acceptance, office=place, workstation=desk, now=clock.now()
        )

    def report(session: Session) -> None:
        place, _ = _world(session)
        acceptance = office.get_acceptance(session, office=place, acceptance_id=acceptance_id)
        assert office.acceptance_view(session, office=place, acceptance=acceptance).report

    close_time = _timed(db, close)
    return scans, page_time, close_time, statistics.median(_timed(db, report) for _ in range(5))


def _timed(db: Database, step: Callable[[Session], None]) -> float:
    start = time.perf_counter()
    with session_scope(db.factory) as session:
        step(session)
    return time.perf_counter() - start


_DESK: dict[str, Any] = {}


def _world(session: Session) -> tuple[PostOffice, Workstation]:
    """Pestyaki and its clerk's workstation, in this session (as each request resolves it)."""
    desk = auth.resolve(session, _DESK["token"], now=_DESK["clock"].now())
    assert desk is not None
    return session.get_one(PostOffice, _DESK["office_id"]), desk


def _handed_over(world: OfficeWorld, at: datetime) -> str:
    """A parcel for Pestyaki handed over at ``at`` (each on a clock of its own: the world's
    clock moves on with every step)."""
    world.clock = FrozenClock(at)
    return world.parcel(walk=("handed_over",)).tracking_number


def run(db: Database, parcels: int) -> None:
    clock = FrozenClock(HANDOVER)
    with cheap_password_hashing():
        with session_scope(db.factory) as session:
            import_region(session, bundled_source(), clock=clock)
            world = make_world(session, clock)
            import_timetable(session, clock)
            on_run = [_handed_over(world, HANDOVER) for _ in range(parcels)]
            depart(session, clock)
            off_run = [_handed_over(world, clock.now()) for _ in range(parcels)]
            clock.set(max(clock.now(), TEST_NOW))
            signed = auth.sign_in(session, login="pestyaki1", password=PASSWORD, now=clock.now())
            assert signed.token is not None
            _DESK.update(token=signed.token, clock=clock, office_id=world.pestyaki.id)
    with_run = _acceptance(db, on_run, clock, None)
    without = _acceptance(db, off_run, clock, office.NO_RUN)
    print(f"{db.name}: {db.about}")
    print(f"python {platform.python_version()}, {platform.machine()}, {parcels} parcels each")
    rows = (("by the run", with_run), ("outside a run", without))
    for name, (scans, page, close, report) in rows:
        p95 = statistics.quantiles(scans, n=20)[-1]
        print(
            f"{name:<14} scan median {statistics.median(scans) * 1000:6.1f} ms, "
            f"p95 {p95 * 1000:6.1f} ms; page {page * 1000:6.1f} ms; "
            f"close {close * 1000:6.1f} ms; report {report * 1000:6.1f} ms"
        )
    ratio = statistics.median(with_run[0]) / statistics.median(without[0])
    print(f"scan, by the run / outside a run: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parcels", type=int, default=120)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL")
    args = parser.parse_args()
    database: AbstractContextManager[Database] = (
        postgres_database(args.database_url) if args.database_url else sqlite_database()
    )
    with database as db:
        run(db, args.parcels)


if __name__ == "__main__":
    main()
