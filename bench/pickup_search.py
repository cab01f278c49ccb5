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

A second section measures the search through the real HTTP stack: a fresh SQLite database in
a temporary folder (migrated; the bundled Ivanovo region imported, or the synthetic national
network inserted), the real application under uvicorn in a subprocess on 127.0.0.1, and a
bounded number of sequential ``GET /v1/pickup-points`` requests over one keep-alive
``httpx.Client``, against the kernel call and the in-process service call for the same points.
Every HTTP answer is compared with the kernel's.

The script is a list of sections (``SECTIONS``), each a function of the shared ``Context``
(networks, query points, options) returning a table; further sections are appended there.
"""

from __future__ import annotations

import argparse
import csv
import gc
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import scipy
import uvicorn
from numpy.typing import NDArray
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import Base, create_db_engine, make_session_factory, session_scope
from selpo.migrate import upgrade_to_head
from selpo.models import District, Region
from selpo.network import regions
from selpo.network.geo import Neighbours, PointIndex, nearest_brute_force
from selpo.network.importer import import_region
from selpo.network.repository import bump_network_version
from selpo.network.rules import OfficeKind, office_defaults
from selpo.network.service import (
    CatalogueCache,
    PickupCatalogue,
    PickupSearch,
    search_pickup_points,
)

# Run as a script, only bench/ is on sys.path; importing it as a package keeps mypy happy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.local_server import serve
from bench.synthetic_network import (
    DEFAULT_SEED,
    NATIONAL_SIZE,
    REGIONS,
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
    http_requests: int = 2_000


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
    if value >= 1_000_000:
        return f"{value / 1_000_000:.2f} s"
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


# --- through HTTP ----------------------------------------------------------------------------

# The aim for a search answered through the whole stack at national size.
HTTP_P99_AIM_US = 15_000.0
SYNTHETIC_SOURCE = f"bench/synthetic_network.py, seed {DEFAULT_SEED}"


def _fresh_database(directory: Path, name: str) -> tuple[str, Engine]:
    url = f"sqlite:///{directory / name}"
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    return url, engine


def _import_ivanovo(engine: Engine) -> None:
    with session_scope(make_session_factory(engine)) as session:
        import_region(session, regions.load_source(regions.default_region().code))


def _synthetic_office_rows(
    net: SyntheticNetwork, district_ids: list[int], now: datetime
) -> list[dict[str, Any]]:
    # Every NOT NULL column of post_office, from the synthetic arrays and the kind's defaults.
    defaults = {kind: office_defaults(kind) for kind in OfficeKind}
    rows: list[dict[str, Any]] = []
    for i in range(len(net)):
        index = str(net.index[i])
        kind = OfficeKind(str(net.kind[i]))
        region = int(net.region[i])
        rows.append(
            {
                "postal_index": index,
                "name": f"Синтетическое ОПС {index}",
                "district_id": district_ids[region],
                "settlement_id": None,
                "address": f"{index}, {REGIONS[region].name} (synthetic)",
                "address_is_estimate": True,
                "lat": float(net.lat[i]),
                "lon": float(net.lon[i]),
                "coord_source": "synthetic",
                "coord_precision": "synthetic",
                "rural": bool(net.rural[i]),
                "opening_hours": defaults[kind].opening_hours,
                "opening_hours_is_default": True,
                "timezone": "Europe/Moscow",
                "cells_s": int(net.cells_s[i]),
                "cells_m": int(net.cells_m[i]),
                "cells_l": int(net.cells_l[i]),
                "cells_is_default": False,
                "max_weight_g": int(net.max_weight_g[i]),
                "max_length_mm": int(net.max_length_mm[i]),
                "max_width_mm": int(net.max_width_mm[i]),
                "max_height_mm": int(net.max_height_mm[i]),
                "limits_is_default": False,
                "accepts_cash": True,
                "accepts_card": defaults[kind].accepts_card,
                "status": "open",
                "source": SYNTHETIC_SOURCE,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def _insert_synthetic(engine: Engine, net: SyntheticNetwork) -> None:
    """The synthetic national network as registry rows: a region and a district per region."""
    now = datetime.now(UTC)
    with session_scope(make_session_factory(engine)) as session:
        district_ids: list[int] = []
        for number, spec in enumerate(REGIONS):
            region = Region(code=f"SYN{number:02d}", name=spec.name, timezone="Europe/Moscow")
            session.add(region)
            session.flush()
            district = District(region_id=region.id, name="synthetic", kind="municipal_district")
            session.add(district)
            session.flush()
            district_ids.append(district.id)
        office_table = Base.metadata.tables["post_office"]
        session.execute(insert(office_table), _synthetic_office_rows(net, district_ids, now))
        bump_network_version(session, now)


def _request_read(factory: sessionmaker[Session], cache: CatalogueCache, _i: int) -> object:
    # What every search request does before the kernel: a session and a network_version read.
    with session_scope(factory) as session:
        return cache.get(session)


def _catalogue_kernel(
    catalogue: PickupCatalogue, lat: FloatArray, lon: FloatArray, i: int
) -> Neighbours:
    # What the service asks of the index: open offices, k nearest within the radius.
    return catalogue.index.nearest(
        float(lat[i]),
        float(lon[i]),
        radius_m=RADIUS_M,
        limit=LIMIT,
        mask=catalogue.candidate_mask(None),
    )


def _in_process(
    catalogue: PickupCatalogue, lat: FloatArray, lon: FloatArray, now: datetime, i: int
) -> object:
    search = PickupSearch(
        lat=float(lat[i]), lon=float(lon[i]), radius_km=RADIUS_M / 1000.0, limit=LIMIT
    )
    return search_pickup_points(catalogue, search, now=now, max_limit=100, max_radius_km=500.0)


def _search_params(lat: FloatArray, lon: FloatArray, i: int) -> dict[str, str]:
    # repr() of a float round-trips, so the server searches exactly the kernel's point.
    return {
        "lat": repr(float(lat[i])),
        "lon": repr(float(lon[i])),
        "radius_km": f"{RADIUS_M / 1000.0:g}",
        "limit": str(LIMIT),
    }


def _get_search(
    client: httpx.Client, lat: FloatArray, lon: FloatArray, answers: list[bytes], i: int
) -> None:
    response = client.get("/v1/pickup-points", params=_search_params(lat, lon, i))
    answers[i] = response.content if response.status_code == 200 else b""


def _get_health(client: httpx.Client, _i: int) -> httpx.Response:
    return client.get("/healthz")


def _check_http(
    ctx: Context,
    name: str,
    catalogue: PickupCatalogue,
    lat: FloatArray,
    lon: FloatArray,
    answers: list[bytes],
) -> None:
    for i, body in enumerate(answers):
        expected = _catalogue_kernel(catalogue, lat, lon, i)
        want = [
            (catalogue.points[p].index, round(d))
            for p, d in zip(expected.positions.tolist(), expected.distances_m.tolist(), strict=True)
        ]
        items = json.loads(body)["items"] if body else None
        got = None if items is None else [(it["index"], it["distance_m"]) for it in items]
        if got != want:
            ctx.failures.append(f"{name}: HTTP answer {i} differs from the kernel's")
            return


def _http_network(
    ctx: Context,
    name: str,
    engine: Engine,
    url: str,
    points: tuple[FloatArray, FloatArray],
    log: Path,
) -> list[tuple[str, ...]]:
    """Kernel, in-process service and HTTP over the same points; rows for one network."""
    count = ctx.options.http_requests
    lat, lon = points[0][:count], points[1][:count]
    factory, cache = make_session_factory(engine), CatalogueCache()
    with session_scope(factory) as session:
        catalogue = cache.get(session)
    size = f"{len(catalogue.points):,}"
    now = datetime.now(UTC)
    kernel = _latencies_us(partial(_catalogue_kernel, catalogue, lat, lon), count)
    service = _latencies_us(partial(_in_process, catalogue, lat, lon, now), count)
    read = _latencies_us(partial(_request_read, factory, cache), count)
    answers: list[bytes] = [b""] * count
    with (
        serve(url, log) as base,
        httpx.Client(base_url=base, trust_env=False, timeout=60.0) as client,
    ):
        # The first search after start reads the registry and builds the catalogue.
        start = time.perf_counter()
        client.get("/v1/pickup-points", params=_search_params(lat, lon, 0)).raise_for_status()
        first_us = (time.perf_counter() - start) * 1e6
        health = _latencies_us(partial(_get_health, client), count)
        http = _latencies_us(partial(_get_search, client, lat, lon, answers), count)
    _check_http(ctx, name, catalogue, lat, lon, answers)

    rows: list[tuple[str, ...]] = [
        (name, size, "first search after start (builds catalogue)", "", "", _us(first_us), "", "")
    ]
    for pct in (50, 99):
        k, s, h = (float(np.percentile(a, pct)) for a in (kernel, service, http))
        measure = f"search p{pct}"
        rows.append((name, size, measure, _us(k), _us(s), _us(h), _ratio(h / k), _ratio(h / s)))
    k, s, h = (count / (float(a.sum()) / 1e6) for a in (kernel, service, http))
    rows.append(
        (name, size, "sequential rate", _rate(k), _rate(s), _rate(h), _ratio(k / h), _ratio(s / h))
    )
    read_pct = " / ".join(_us(float(np.percentile(read, pct))) for pct in (50, 99))
    rows.append((name, size, "session + version read p50 / p99", "", read_pct, "", "", ""))
    floor = " / ".join(_us(float(np.percentile(health, pct))) for pct in (50, 99))
    rows.append((name, size, "GET /healthz p50 / p99 (floor)", "", "", floor, "", ""))
    if name == "synthetic national":
        p99 = float(np.percentile(http, 99))
        verdict = "met" if p99 < HTTP_P99_AIM_US else "MISSED"
        rows.append(
            (name, size, f"aim: HTTP p99 < {_us(HTTP_P99_AIM_US)}", "", "", verdict, "", "")
        )
    return rows


def _points(ctx: Context, name: str) -> tuple[FloatArray, FloatArray] | None:
    net = next((n for n in ctx.networks if n.name == name), None)
    return None if net is None else (net.query_lat, net.query_lon)


def bench_http(ctx: Context) -> Table:
    """The search through uvicorn and FastAPI against the kernel and the service, same points."""
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    failures_before = len(ctx.failures)
    with tempfile.TemporaryDirectory(prefix="selpo-bench-http-") as tmp:
        directory = Path(tmp)
        ivanovo = _points(ctx, "Ivanovo region")
        if ivanovo is None:
            notes.append("Ivanovo skipped: no query points (post_offices.csv not found).")
        else:
            start = time.perf_counter()
            url, engine = _fresh_database(directory, "ivanovo.db")
            try:
                _import_ivanovo(engine)
                notes.append(
                    f"Ivanovo database: migrate + import_region of the bundled region "
                    f"({time.perf_counter() - start:.1f} s)."
                )
                log = directory / "ivanovo.log"
                rows += _http_network(ctx, "Ivanovo region", engine, url, ivanovo, log)
            finally:
                engine.dispose()
        national = _points(ctx, "synthetic national")
        if national is not None:
            start = time.perf_counter()
            url, engine = _fresh_database(directory, "national.db")
            try:
                _insert_synthetic(engine, generate_network(NATIONAL_SIZE, seed=DEFAULT_SEED))
                notes.append(
                    f"National database: migrate + the {NATIONAL_SIZE:,} synthetic offices "
                    f"inserted with one executemany, a region and a district row per synthetic "
                    f"region, network_version bumped ({time.perf_counter() - start:.1f} s)."
                )
                log = directory / "national.log"
                rows += _http_network(ctx, "synthetic national", engine, url, national, log)
            finally:
                engine.dispose()
    count = ctx.options.http_requests
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    notes += [
        f"{count:,} sequential GET /v1/pickup-points?lat=&lon=&radius_km={RADIUS_M / 1000:g}"
        f"&limit={LIMIT} per network (no filter) over one keep-alive httpx.Client, after 50 "
        "warm-up requests; the same query points as the kernel section (the first ones).",
        f"Server: uvicorn {uvicorn.__version__} ({loop} loop, {http} parser; the sync "
        "endpoint runs in the threadpool), one process, access log off, SQLite in a temporary "
        "folder, in a subprocess on 127.0.0.1; the client runs in this process. A request = "
        "one session, one network_version read, the kernel, the response models, JSON.",
        "kernel = catalogue.index.nearest (open offices); service = search_pickup_points in "
        "process (kernel + response models); session + version read = what each request "
        "does before the search (session_scope + CatalogueCache.get on a warm cache), in "
        "process. HTTP latency is measured at the client; /healthz (a SELECT 1) is the floor.",
        "Every HTTP answer (indices and rounded distances, in order) compared with the kernel's: "
        + ("all identical." if len(ctx.failures) == failures_before else "DIFFERENCES FOUND."),
    ]
    header = (
        "network",
        "offices",
        "measure",
        "kernel",
        "service",
        "HTTP",
        "HTTP/kernel",
        "HTTP/service",
    )
    return Table("Pickup-point search through HTTP", header, rows, notes)


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


# Sections run in order over one Context; append new ones here.
SECTIONS: list[Callable[[Context], Table]] = [bench_kernel, bench_http]


def main(argv: Sequence[str] | None = None) -> int:
    """Build the networks, run every section, print the tables; 1 if answers differed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer queries, for a smoke run")
    args = parser.parse_args(argv)
    options = (
        Options(True, 2_000, 200, 20_000, 200, 3, 300)
        if args.quick
        else Options(False, 20_000, 2_000, BATCH_SIZE, 1_000, 7, 2_000)
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
