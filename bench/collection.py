"""Benchmark of collection for partners: bags taken at the counter, the partner's report, the
dashboard's figures and one act for every bag at the hub.

Run from the repository root::

    .venv/bin/python bench/collection.py [--bags 3000] [--postgres URL]

On a fresh SQLite database (and PostgreSQL when ``--postgres`` names a server): the bundled
region imported, a partner serving every office of it, and ``bags`` bags taken over 30 days
spread over the offices, each in its own transaction as the counter takes it
(``collection.service.take_bag``: checks, the bag code, the bag row and its row on the way
back). The baseline in the same run is the least the counter must write: the same two rows
by SQLAlchemy Core, one transaction each. Then, over those bags: the partner's 30-day report
(``GET /v1/collections``'s service), the dashboard's per-district figures, and one act that
collects every bag at the hub. Prints medians and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, update

from selpo.collection import rules, service
from selpo.db import session_scope
from selpo.models import Clerk, CollectionBag, CollectionPartner, Hub, PostOffice, ReturnLegItem
from selpo.network import regions
from selpo.network.importer import import_region
from selpo.office import auth
from selpo.reporting import collection as collection_report
from selpo.reporting.kpi import Period

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shipments import Database, postgres_database, sqlite_database

START = datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
DAYS = 30


def _median_ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:8.2f} ms"


def _timed(run: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return times


def bench(db: Database, bags: int) -> None:
    with session_scope(db.factory) as session:
        import_region(session, regions.load_source(regions.default_region().code))
    with session_scope(db.factory) as session:
        offices = list(session.scalars(select(PostOffice).where(PostOffice.status == "open")))
        auth.add_clerk(
            session, office_index=offices[0].index, login="bench1", password="x" * 12, now=START
        )
        clerk_id = session.scalars(select(Clerk.id).where(Clerk.login == "bench1")).one()
        depot = session.scalars(select(Hub.code).order_by(Hub.code)).first()
        assert depot is not None
        partner = service.add_partner(
            session,
            code="BENCH",
            name="Bench",
            takes=["textile"],
            offices="region",
            depot=depot,
            now=START,
            coupon_prefix="B",
        )
        partner_id = partner.id
        raw_partner_id = service.add_partner(
            session,
            code="RAW",
            name="Raw",
            takes=["textile"],
            offices="region",
            depot=depot,
            now=START,
        ).id
    step = timedelta(days=DAYS) / bags

    took: list[float] = []
    for i in range(bags):
        office = offices[i % len(offices)]
        moment = START + step * i
        began = time.perf_counter()
        with session_scope(db.factory) as session:
            clerk = session.get(Clerk, clerk_id)
            assert clerk is not None
            service.take_bag(
                session,
                office=office,
                clerk=clerk,
                partner_code="BENCH",
                material="textile",
                weight=str(500 + i % 5000),
                now=moment,
            )
        took.append(time.perf_counter() - began)

    raw: list[float] = []
    for i in range(bags):
        office = offices[i % len(offices)]
        moment = START + step * i
        code = rules.make_bag_code(office.index, i)
        began = time.perf_counter()
        with db.engine.begin() as connection:
            bag_id = connection.execute(
                insert(CollectionBag)
                .values(
                    code=code,
                    partner_id=raw_partner_id,
                    office_id=office.id,
                    clerk_id=clerk_id,
                    material="textile",
                    weight_g=500,
                    litres=60.0,
                    taken_at=moment,
                    status="at_office",
                    status_at=moment,
                )
                .returning(CollectionBag.id)
            ).scalar_one()
            connection.execute(
                insert(ReturnLegItem).values(
                    kind="partner_bag",
                    ref_id=bag_id,
                    barcode=code,
                    office_id=office.id,
                    partner_code="RAW",
                    weight_g=500,
                    litres=60.0,
                    ready_at=moment,
                    status="waiting",
                    created_at=moment,
                )
            )
        raw.append(time.perf_counter() - began)

    first, last = START.date(), (START + timedelta(days=DAYS)).date()
    with session_scope(db.factory) as session:
        report = service.collection_report(session, partner_id=partner_id, first=first, last=last)
        assert report.totals.bags == bags, report.totals
        reporting = _timed(
            lambda: service.collection_report(
                session, partner_id=partner_id, first=first, last=last
            ),
            5,
        )
        region_id = session.get(CollectionPartner, partner_id).region_id  # type: ignore[union-attr]
        assert region_id is not None
        dashboard = _timed(
            lambda: collection_report.collection_figures(
                session, Period(first, last), region_id=region_id
            ),
            5,
        )
    with session_scope(db.factory) as session:
        session.execute(
            update(ReturnLegItem)
            .where(ReturnLegItem.partner_code == "BENCH")
            .values(status="at_hub", hub_code=depot)
        )
    began = time.perf_counter()
    with session_scope(db.factory) as session:
        act, _ = service.make_act(
            session, partner_id=partner_id, codes=None, now=START + timedelta(days=DAYS)
        )
    act_s = time.perf_counter() - began
    assert act.bags == bags

    ratio = statistics.median(took) / statistics.median(raw)
    print(f"{db.name}: {db.about}")
    print(
        f"  take a bag (service, own transaction)  median {_median_ms(took)}  "
        f"p95 {sorted(took)[int(len(took) * 0.95)] * 1000:.2f} ms  ({bags} bags)"
    )
    print(
        f"  the same two rows by Core (baseline)    median {_median_ms(raw)}  "
        f"-> service / baseline {ratio:.2f}x"
    )
    print(
        f"  partner's 30-day report over {bags} bags  median {_median_ms(reporting)}  "
        f"({len(report.rows)} office-days)"
    )
    print(f"  dashboard per district, 30 days         median {_median_ms(dashboard)}")
    print(f"  one act collecting all {bags} bags       {act_s * 1000:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bags", type=int, default=3000)
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL (admin)")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    with sqlite_database() as db:
        bench(db, args.bags)
    if args.postgres:
        with postgres_database(args.postgres) as db:
            bench(db, args.bags)


if __name__ == "__main__":
    main()
