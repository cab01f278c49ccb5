"""Benchmark of the pickup-point search: the spatial-index kernel against a brute-force scan.

Run from the repository root::

    .venv/bin/python bench/pickup_search.py [--quick]

Networks: the synthetic national network (``bench/synthetic_network.py``, ~42,000 offices,
seeded) and the real Ivanovo region (301 offices; many share a geocoded town centre, which
makes ties). Queries: k = 10 nearest within 25 km of points drawn near populated places (a
random office, moved ~3 km). Measured per network: index build time, single-query p50/p99
latency for ``PointIndex.nearest`` and for ``nearest_brute_force`` in the same run, the same
with a candidate filter, and 100,000 queries through ``PointIndex.nearest_batch`` against the
brute force (timed on a sample and extrapolated; the table says so). Every brute-force answer
is compared with the kernel's; the script exits 1 if any differ.

The script is a list of sections (``SECTIONS``), each a function of the shared ``Context``
(networks, query points, options) returning a table; further sections are appended there.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import scipy
from numpy.typing import NDArray

from selpo.network.geo import Neighbours, PointIndex, nearest_brute_force

# Run as a script, only bench/ is on sys.path; importing it as a package keeps mypy happy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic_network import (
    DEFAULT_SEED,
    NATIONAL_SIZE,
    SyntheticNetwork,
    generate_network,
    offices_near,
)

REPO = Path(__file__).resolve().parents[1]
IVANOVO_CSV = (
    REPO / "src/selpo/region_data/ivanovo/post_offices.csv",
    Path("/work/shared/data/ivanovo/post_offices.csv"),
)
LIMIT = 10
RADIUS_M = 25_000.0
BATCH_SIZE = 100_000
# A parcel a marketplace sends often enough to matter: 12 kg in a 450×350×300 mm box, which
# needs an L cell and a 15 kg+ office; and the share of offices connected to the marketplace.
PARCEL_WEIGHT_G = 12_000
PARCEL_MM = (450, 350, 300)
MARKETPLACE_SHARE = 0.7

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class Network:
    """Offices to search, query points near them, and a realistic candidate filter."""

    name: str
    lat: FloatArray
    lon: FloatArray
    query_lat: FloatArray
    query_lon: FloatArray
    mask: BoolArray
    mask_label: str

    def __len__(self) -> int:
        return int(self.lat.shape[0])


@dataclass(frozen=True)
class Options:
    """How many queries each measurement takes (``--quick`` shrinks them)."""

    quick: bool
    single_queries: int
    brute_queries: int
    batch_size: int
    brute_batch_sample: int
    builds: int


@dataclass
class Context:
    """What every section gets: options and networks; sections record failures here."""

    options: Options
    networks: list[Network]
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Table:
    """A section's result, printed as a plain-text table."""

    title: str
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    notes: list[str]


# --- networks --------------------------------------------------------------------------------


def _parcel_fits(net: SyntheticNetwork) -> BoolArray:
    # Vectorised selpo.network.rules.parcel_fits for one parcel over the synthetic offices.
    dims = sorted(PARCEL_MM, reverse=True)
    boxes = np.sort(np.stack([net.max_length_mm, net.max_width_mm, net.max_height_mm]), axis=0)
    within_limits = (boxes[::-1] >= np.array(dims)[:, None]).all(axis=0)
    # 450×350×300 exceeds the M cell (400×300×300), so only an office with L cells holds it.
    heavy_enough = net.max_weight_g >= PARCEL_WEIGHT_G
    fits: BoolArray = np.logical_and.reduce([heavy_enough, within_limits, net.cells_l > 0])
    return fits


def national_network(queries: int) -> Network:
    """The synthetic national network with query points and a parcel-and-marketplace filter."""
    net = generate_network(NATIONAL_SIZE, seed=DEFAULT_SEED)
    rng = np.random.default_rng(DEFAULT_SEED + 1)
    mask = np.logical_and(_parcel_fits(net), rng.random(len(net)) < MARKETPLACE_SHARE)
    q_lat, q_lon = offices_near(net.lat, net.lon, queries, seed=DEFAULT_SEED + 2)
    label = f"fits 12 kg 450×350×300 & serves marketplace ({mask.mean():.0%} of offices)"
    return Network("synthetic national", net.lat, net.lon, q_lat, q_lon, mask, label)


def _ivanovo_csv() -> Path | None:
    return next((path for path in IVANOVO_CSV if path.exists()), None)


def ivanovo_network(queries: int) -> tuple[Network | None, str]:
    """The real Ivanovo offices (lat/lon, else their district centre), or None without data."""
    path = _ivanovo_csv()
    if path is None:
        return None, "Ivanovo skipped: post_offices.csv not found in " + ", ".join(
            str(p) for p in IVANOVO_CSV
        )
    lats: list[float] = []
    lons: list[float] = []
    fallback = skipped = 0
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            lat, lon = row.get("lat", ""), row.get("lon", "")
            if not (lat and lon):
                lat, lon = row.get("district_centre_lat", ""), row.get("district_centre_lon", "")
                if not (lat and lon):
                    skipped += 1
                    continue
                fallback += 1
            lats.append(float(lat))
            lons.append(float(lon))
    lat_arr, lon_arr = np.array(lats), np.array(lons)
    rng = np.random.default_rng(DEFAULT_SEED + 3)
    # The file has no parcel limits; filter on a random marketplace connection only.
    mask = rng.random(len(lats)) < MARKETPLACE_SHARE
    q_lat, q_lon = offices_near(lat_arr, lon_arr, queries, seed=DEFAULT_SEED + 4)
    _, at_point, per_point = np.unique(
        np.stack([lat_arr, lon_arr], axis=1), axis=0, return_inverse=True, return_counts=True
    )
    shared = int(np.count_nonzero(per_point[at_point.ravel()] > 1))
    note = (
        f"Ivanovo: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}, "
        f"{lat_arr.shape[0]} offices ({fallback} at their district centre for lack of "
        f"coordinates, {skipped} skipped, {shared} share a point with another office)"
    )
    label = f"serves marketplace ({mask.mean():.0%} of offices)"
    return Network("Ivanovo region", lat_arr, lon_arr, q_lat, q_lon, mask, label), note


# --- measuring -------------------------------------------------------------------------------


def _latencies_us(call: Callable[[int], object], count: int) -> NDArray[np.float64]:
    for i in range(min(count, 50)):  # warm caches and lazy imports
        call(i)
    gc.collect()
    spent = np.empty(count, dtype=np.float64)
    for i in range(count):
        start = time.perf_counter_ns()
        call(i)
        spent[i] = time.perf_counter_ns() - start
    result: NDArray[np.float64] = spent / 1000.0
    return result


def _seconds(call: Callable[[], object], repeat: int = 1) -> float:
    call()
    gc.collect()
    best = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best.append(time.perf_counter() - start)
    return float(np.median(best))


def _us(value: float) -> str:
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value:.0f} µs"


def _ratio(value: float) -> str:
    return f"{value:.1f}×" if value < 10 else f"{value:,.0f}×"


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f} q/s"


def _check_batch(ctx: Context, net: Network, sample: int, mask: BoolArray | None) -> None:
    index = PointIndex(net.lat, net.lon)
    batch = index.nearest_batch(
        net.query_lat[:sample], net.query_lon[:sample], radius_m=RADIUS_M, limit=LIMIT, mask=mask
    )
    for i in range(sample):
        found, expected = batch.row(i), _brute(net, mask, i)
        single = index.nearest(
            float(net.query_lat[i]),
            float(net.query_lon[i]),
            radius_m=RADIUS_M,
            limit=LIMIT,
            mask=mask,
        )
        for answer in (found, single):
            if not (
                np.array_equal(answer.positions, expected.positions)
                and np.allclose(answer.distances_m, expected.distances_m, rtol=0, atol=1e-6)
            ):
                ctx.failures.append(f"{net.name}: query {i} differs from the brute force")
                return


def _kernel(index: PointIndex, net: Network, mask: BoolArray | None, i: int) -> Neighbours:
    return index.nearest(
        float(net.query_lat[i]), float(net.query_lon[i]), radius_m=RADIUS_M, limit=LIMIT, mask=mask
    )


def _brute(net: Network, mask: BoolArray | None, i: int) -> Neighbours:
    return nearest_brute_force(
        net.lat,
        net.lon,
        float(net.query_lat[i]),
        float(net.query_lon[i]),
        radius_m=RADIUS_M,
        limit=LIMIT,
        mask=mask,
    )


def _brute_many(net: Network, count: int) -> list[Neighbours]:
    return [_brute(net, None, i) for i in range(count)]


def _single_rows(
    index: PointIndex, net: Network, opts: Options, filtered: bool
) -> list[tuple[str, ...]]:
    # Kernel and brute force over the same query points, one call each, in one run.
    mask = net.mask if filtered else None
    fast = _latencies_us(partial(_kernel, index, net, mask), opts.single_queries)
    slow = _latencies_us(partial(_brute, net, mask), opts.brute_queries)
    label = "single query, filtered" if filtered else "single query"
    rows: list[tuple[str, ...]] = []
    for pct in (50, 99):
        k_us, b_us = float(np.percentile(fast, pct)), float(np.percentile(slow, pct))
        ratio = _ratio(b_us / k_us)
        rows.append((net.name, f"{len(net):,}", f"{label} p{pct}", _us(k_us), _us(b_us), ratio))
    return rows


def _batch_rows(index: PointIndex, net: Network, opts: Options) -> list[tuple[str, ...]]:
    # The brute force would take minutes on the whole batch: time a sample, extrapolate.
    brute_s = _seconds(partial(_brute_many, net, opts.brute_batch_sample))
    brute_rate = opts.brute_batch_sample / brute_s
    batch_lat = np.resize(net.query_lat, opts.batch_size)
    batch_lon = np.resize(net.query_lon, opts.batch_size)
    rows: list[tuple[str, ...]] = []
    for workers in (1, -1):
        run = partial(
            index.nearest_batch,
            batch_lat,
            batch_lon,
            radius_m=RADIUS_M,
            limit=LIMIT,
            workers=workers,
        )
        batch_s = _seconds(run, repeat=3)
        kernel_rate = opts.batch_size / batch_s
        threads = "1 thread" if workers == 1 else f"{os.cpu_count()} threads"
        rows.append(
            (
                net.name,
                f"{len(net):,}",
                f"batch of {opts.batch_size:,}, {threads}",
                f"{_rate(kernel_rate)} ({batch_s:.2f} s)",
                f"{_rate(brute_rate)} (~{opts.batch_size / brute_rate:,.0f} s)",
                _ratio(kernel_rate / brute_rate),
            )
        )
    return rows


def bench_kernel(ctx: Context) -> Table:
    """Index build, single-query latency and batch throughput: kernel against brute force."""
    opts = ctx.options
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    for net in ctx.networks:
        build_s = _seconds(partial(PointIndex, net.lat, net.lon), repeat=opts.builds)
        rows.append((net.name, f"{len(net):,}", "index build (median)", _us(build_s * 1e6), "", ""))
        index = PointIndex(net.lat, net.lon)
        rows += _single_rows(index, net, opts, filtered=False)
        rows += _single_rows(index, net, opts, filtered=True)
        rows += _batch_rows(index, net, opts)
        notes.append(f"{net.name} filter: {net.mask_label}")
        _check_batch(ctx, net, opts.brute_queries, None)
        _check_batch(ctx, net, opts.brute_queries, net.mask)
    notes += [
        f"k = {LIMIT} nearest within {RADIUS_M / 1000:g} km; query points: a random office "
        "moved by a normal offset, σ = 3 km per axis.",
        f"Single-query percentiles over {opts.single_queries:,} kernel and "
        f"{opts.brute_queries:,} brute-force queries (the same points, first ones); brute "
        "force = nearest_brute_force (numpy haversine over every office).",
        f"Batch: the brute force is timed on {opts.brute_batch_sample:,} queries one by one "
        f"and extrapolated to {opts.batch_size:,}; the kernel runs the full batch "
        "(nearest_batch, unfiltered; 'threads' = scipy workers).",
        f"Kernel answers (nearest and nearest_batch) compared with the brute force on "
        f"{opts.brute_queries:,} queries per network, unfiltered and filtered: "
        + ("all identical." if not ctx.failures else "DIFFERENCES FOUND."),
    ]
    header = ("network", "offices", "measure", "kernel", "brute force", "brute/kernel")
    return Table("Pickup-point search kernel", header, rows, notes)


# --- output ----------------------------------------------------------------------------------


def print_table(table: Table) -> None:
    """Print a table with aligned columns, then its notes."""
    widths = [
        max(len(cell) for cell in column) for column in zip(table.header, *table.rows, strict=True)
    ]
    line = "  ".join("-" * w for w in widths)
    print(f"\n## {table.title}\n")
    print("  ".join(h.ljust(w) for h, w in zip(table.header, widths, strict=True)))
    print(line)
    for row in table.rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for note in table.notes:
        print(f"* {note}")


def machine() -> str:
    """One line about the machine: cores, CPU model, Python and library versions."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for text in cpuinfo.read_text(encoding="utf-8").splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores, {model}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}"
    )


# Sections run in order over one Context; append new ones (e.g. an HTTP benchmark) here.
SECTIONS: list[Callable[[Context], Table]] = [bench_kernel]


def main(argv: Sequence[str] | None = None) -> int:
    """Build the networks, run every section, print the tables; 1 if answers differed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer queries, for a smoke run")
    args = parser.parse_args(argv)
    options = (
        Options(True, 2_000, 200, 20_000, 200, 3)
        if args.quick
        else Options(False, 20_000, 2_000, BATCH_SIZE, 1_000, 7)
    )
    queries = max(options.single_queries, options.brute_queries)
    networks = [national_network(queries)]
    ivanovo, ivanovo_note = ivanovo_network(queries)
    if ivanovo is not None:
        networks.append(ivanovo)
    print(f"Machine: {machine()}")
    print(f"Data: {ivanovo_note}")
    ctx = Context(options, networks)
    for section in SECTIONS:
        print_table(section(ctx))
    for failure in ctx.failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if ctx.failures else 0


if __name__ == "__main__":
    sys.exit(main())
