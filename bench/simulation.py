"""Benchmark of the simulation: orders per second through the real services on SQLite.

Run from the repository root::

    .venv/bin/python bench/simulation.py [--days 7] [--scale 1.0] [--connect-all]
    .venv/bin/python bench/simulation.py --days 30      # the region-month of the aim

Measures the set-up (migrate, import the bundled Ivanovo region, synthetic timetable) and the
run (hourly steps, every order created, handed over, walked along the timetable, shelved,
collected or expired and returned, each step one transaction) separately, and prints orders
per second of the run and what a region-month (30 days) would take at that rate. Aim: a
region-month at scale 1 in under two minutes (about 80,000 orders, so ~700 orders/s).

A week's rate flatters the month: parcels the Ivanovo city van cannot take pile up at the
hub (the seeded network sends every city order to one office), and each day's van plans the
whole pile. Measure the month itself (``--days 30``) for the figure that counts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from selpo.simulation import report
from selpo.simulation.service import SimulationConfig, prepare, simulate

MONTH_DAYS = 30
AIM_S = 120.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--connect-all", action="store_true")
    args = parser.parse_args()
    config = SimulationConfig(
        days=args.days, seed=args.seed, scale=args.scale, connect_all=args.connect_all
    )
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        prepare(config, Path(folder) / "setup-only")
        setup = time.perf_counter() - began
        began = time.perf_counter()
        result = simulate(config, folder=Path(folder))
        total = time.perf_counter() - began
        computed = report.compute(result)
        result.dispose()
    run = total - setup
    orders = result.totals.orders
    rate = orders / run
    month_orders = orders * MONTH_DAYS / args.days
    print(f"set-up (migrate, import, timetable): {setup:.1f} s")  # noqa: T201
    print(  # noqa: T201
        f"{args.days} days at scale {args.scale}: {orders} orders "
        f"({result.totals.created} shipments) in {run:.1f} s -> {rate:.0f} orders/s"
    )
    if args.days == MONTH_DAYS:
        verdict = "met" if run + setup < AIM_S else "missed"
        print(  # noqa: T201
            f"region-month measured: {run + setup:.0f} s with set-up (aim {AIM_S:.0f} s: {verdict})"
        )
    else:
        print(  # noqa: T201
            f"region-month at this rate: ~{month_orders:.0f} orders in "
            f"~{month_orders / rate + setup:.0f} s with set-up (a projection: the month is "
            f"slower per order; measure it with --days {MONTH_DAYS})"
        )
    region = computed.region
    print(  # noqa: T201
        f"region: on-time {region.on_time}/{region.promised}, "
        f"shelved {region.reached_office}, delivered {region.delivered}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
