"""Benchmark of the simulation: orders per second through the real services on SQLite.

Run from the repository root::

    .venv/bin/python bench/simulation.py [--days 7] [--scale 1.0] [--connect-all]

Measures the set-up (migrate, import the bundled Ivanovo region, synthetic timetable) and the
run (hourly steps, every order created, handed over, walked along the timetable, shelved,
collected or expired and returned, each step one transaction) separately, and prints orders
per second of the run. Aim: a region-month at scale 1 in under two minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from selpo.simulation import report
from selpo.simulation.service import SimulationConfig, prepare, simulate


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
    run = total - setup
    orders = result.totals.orders
    print(f"set-up (migrate, import, timetable): {setup:.1f} s")  # noqa: T201
    print(  # noqa: T201
        f"{args.days} days at scale {args.scale}: {orders} orders "
        f"({result.totals.created} shipments) in {run:.1f} s -> {orders / run:.0f} orders/s"
    )
    print(f"region: on-time {computed.region.on_time}/{computed.region.promised}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
