"""Benchmark of the logistics kernels: synthetic route generation and the delivery-date kernel.

Run from the repository root::

    .venv/bin/python bench/eta.py [--quick]

Networks (both with synthetic routes from ``selpo.logistics.routing``):

* *Ivanovo region*: the real 301 offices of ``src/selpo/region_data/ivanovo/post_offices.csv``
  (``lat``/``lon``, else ``district_centre_lat``/``lon``; rural = ``is_rural_derived``;
  opening hours = the defaults of the office's kind). Hubs: each district centre's main
  office (the lowest index in the centre's settlement), every office hanging off its district
  centre's hub. One sorting centre in Ivanovo (sorting 4 h); two warehouses: one near Moscow
  (daily 20:00, 10 h) and one in Ivanovo (12:00 and 22:00, 1 h).
* *synthetic national*: ``bench/synthetic_network.py`` (42,000 offices, seeded). Hubs: per
  region, k-means centres of the offices (one per ~20 offices) moved to the nearest office;
  one sorting centre per region at its capital; one warehouse near Moscow with a daily 20:00
  line-haul to every sorting centre (road distance at 60 km/h). Zones approximated from the
  longitude (Kaliningrad to Kamchatka), so the kernel works across 10 zones.

Measured: route generation (hub assignment, routes, the whole network, compiling the arrays);
``earliest_ready`` for every office at 24 hand-over times (one every 7 h from a Monday, so
every weekday and hour band appears), per call; and a one-office call. Every answer is
checked (ready >= hand-over, inside opening hours and not a holiday, monotone in the
hand-over time); the script exits 1 if any check fails.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import scipy
from numpy.typing import NDArray
from scipy.cluster.vq import kmeans2

from selpo.logistics.calendar import NEVER, OpeningTable, utc_offset_s
from selpo.logistics.distance import LINE_HAUL_SPEED_KMH, GreatCircleDistance, driving_seconds
from selpo.logistics.eta import compile_network, earliest_ready
from selpo.logistics.routing import HubSites, OfficeSites, assign_hubs, synthetic_network
from selpo.logistics.timetable import EVERY_DAY, Facility, FacilityKind, LineHaul, Network
from selpo.network.geo import PointIndex
from selpo.network.rules import OfficeKind, OpeningHours, office_defaults

# Run as a script, only bench/ is on sys.path; importing it as a package keeps mypy happy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.synthetic_network import DEFAULT_SEED, NATIONAL_SIZE, REGIONS, generate_network
from tests.fixtures.region_sites import IVANOVO_ZONE, ivanovo_sites

ROUTE_SEED = 7
HANDOVERS = 24
HANDOVER_STEP = timedelta(hours=7)
# Two series of hand-over times: an ordinary week, and the New Year holidays.
SERIES = {
    "week from Mon 23 Nov 2026": datetime(2026, 11, 23, 0, 0, tzinfo=UTC),
    "week from Sat 26 Dec 2026": datetime(2026, 12, 26, 0, 0, tzinfo=UTC),
}
OFFICES_PER_HUB = 20
MOSCOW_ZONE = "Europe/Moscow"
T = TypeVar("T")

HOURS: dict[str, OpeningHours] = {
    kind.value: office_defaults(kind).opening_hours for kind in OfficeKind
}


@dataclass(frozen=True)
class Built:
    """A network and how long its parts took to build (seconds)."""

    name: str
    network: Network
    timings: dict[str, float]
    hubs: int


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Result and wall seconds of one call."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def moscow_warehouse() -> Facility:
    """An illustrative marketplace warehouse south-east of Moscow (position approximate)."""
    return Facility(
        "W-MSK",
        FacilityKind.WAREHOUSE,
        "warehouse near Moscow",
        55.72,
        38.21,
        timedelta(0),
        timezone=MOSCOW_ZONE,
    )


def ivanovo_network() -> Built:
    """The real Ivanovo offices with district-centre hubs and synthetic routes."""
    offices, hubs, kinds = ivanovo_sites()
    kind = {"town": "town", "pgt_candidate": "urban_type_settlement", "rural": "rural_locality"}
    hours = [HOURS[kind[k]] for k in kinds]
    centre = Facility(
        "SC-IVA",
        FacilityKind.SORTING_CENTRE,
        "Ivanovo sorting centre",
        56.99,
        40.97,
        timedelta(hours=4),
        timezone=IVANOVO_ZONE,
    )
    warehouses = [
        moscow_warehouse(),
        Facility(
            "W-IVA",
            FacilityKind.WAREHOUSE,
            "warehouse in Ivanovo",
            56.97,
            41.05,
            timezone=IVANOVO_ZONE,
        ),
    ]
    hauls = [
        LineHaul("W-MSK", "SC-IVA", EVERY_DAY, clock(20, 0), timedelta(hours=10)),
        LineHaul("W-IVA", "SC-IVA", EVERY_DAY, clock(12, 0), timedelta(hours=1)),
        LineHaul("W-IVA", "SC-IVA", EVERY_DAY, clock(22, 0), timedelta(hours=1)),
    ]
    zones = [IVANOVO_ZONE] * len(offices)
    return build("Ivanovo region", offices, hubs, hours, [centre], warehouses, hauls, zones)


def zone_for_longitude(lon: float) -> str:
    """A Russian zone for a longitude: rough bands, good enough to exercise many zones."""
    bands = (
        (23.0, "Europe/Kaliningrad"),
        (48.0, "Europe/Moscow"),
        (54.0, "Europe/Samara"),
        (68.0, "Asia/Yekaterinburg"),
        (80.0, "Asia/Omsk"),
        (98.0, "Asia/Krasnoyarsk"),
        (112.0, "Asia/Irkutsk"),
        (130.0, "Asia/Yakutsk"),
        (142.0, "Asia/Vladivostok"),
        (155.0, "Asia/Magadan"),
    )
    if lon < 0:  # across the antimeridian: Chukotka
        return "Asia/Kamchatka"
    for limit, zone in bands:
        if lon < limit:
            return zone
    return "Asia/Kamchatka"


def national_network(size: int) -> Built:
    """The synthetic national network with k-means hubs and synthetic routes."""
    net = generate_network(size, seed=DEFAULT_SEED)
    rng = np.random.default_rng(DEFAULT_SEED)
    hub_rows: list[int] = []
    for region in range(len(REGIONS)):
        members = np.flatnonzero(net.region == region)
        if members.size == 0:
            continue
        k = max(1, math.ceil(members.size / OFFICES_PER_HUB))
        scale = math.cos(math.radians(float(np.mean(net.lat[members]))))
        xy = np.column_stack([net.lat[members], ((net.lon[members] + 360.0) % 360.0) * scale])
        centres, _ = kmeans2(xy, k, minit="++", rng=rng)
        index = PointIndex(net.lat[members], net.lon[members])
        lon_back = centres[:, 1] / scale
        found = index.nearest_batch(
            centres[:, 0], (lon_back + 180.0) % 360.0 - 180.0, radius_m=math.inf, limit=1
        )
        hub_rows.extend(sorted(set(members[found.positions[:, 0]].tolist())))
    rows = np.array(hub_rows, dtype=np.intp)
    hubs = HubSites(
        id=np.array([f"HUB-{i}" for i in net.index[rows]]),
        lat=net.lat[rows],
        lon=net.lon[rows],
        office_index=net.index[rows],
        timezone=np.array([zone_for_longitude(REGIONS[int(r)].lon) for r in net.region[rows]]),
    )
    offices = OfficeSites(index=net.index, lat=net.lat, lon=net.lon, rural=net.rural)
    hours = [HOURS[str(k)] for k in net.kind]
    zones = [zone_for_longitude(REGIONS[int(r)].lon) for r in net.region]
    centres_fac = [
        Facility(
            f"SC-{n:02d}",
            FacilityKind.SORTING_CENTRE,
            f"sorting centre, {region.name}",
            region.lat,
            region.lon,
            timedelta(hours=4),
            timezone=zone_for_longitude(region.lon),
        )
        for n, region in enumerate(REGIONS)
    ]
    warehouse = moscow_warehouse()
    road = GreatCircleDistance().matrix_m(
        [warehouse.lat], [warehouse.lon], [c.lat for c in centres_fac], [c.lon for c in centres_fac]
    )[0]
    seconds = driving_seconds(road, LINE_HAUL_SPEED_KMH)
    hauls = [
        LineHaul(
            warehouse.id,
            c.id,
            EVERY_DAY,
            clock(20, 0),
            timedelta(minutes=max(60, math.ceil(float(s) / 60.0))),
        )
        for c, s in zip(centres_fac, seconds, strict=True)
    ]
    return build(
        f"synthetic national, {size:,}",
        offices,
        hubs,
        hours,
        centres_fac,
        [warehouse],
        hauls,
        zones,
    )


def build(
    name: str,
    offices: OfficeSites,
    hubs: HubSites,
    hours: list[OpeningHours],
    centres: list[Facility],
    warehouses: list[Facility],
    hauls: list[LineHaul],
    zones: list[str],
) -> Built:
    """Assemble a network, timing hub assignment, routes, the whole build and compiling."""
    timings: dict[str, float] = {}
    hub_of, timings["assign hubs"] = timed(lambda: assign_hubs(offices, hubs))
    network, timings["build network (hubs + routes + line-hauls)"] = timed(
        lambda: synthetic_network(
            offices,
            hubs,
            opening_hours=hours,
            sorting_centres=centres,
            warehouses=warehouses,
            warehouse_line_hauls=hauls,
            office_timezones=zones,
            hub_of=hub_of,
            seed=ROUTE_SEED,
        )
    )
    _, timings["compile arrays"] = timed(lambda: compile_network(network))
    return Built(name, network, timings, len(hubs))


def check(network: Network, handovers: list[int], ready: NDArray[np.int64]) -> list[str]:
    """Problems with the answers: before hand-over, closed office, not monotone."""
    problems: list[str] = []
    compiled = compile_network(network)
    for t, row in zip(handovers, ready, strict=True):
        ok = row != NEVER
        if np.any(row[ok] < t):
            problems.append(f"ready before the hand-over at {t}")
        # Re-running the search with no shelving from the ready moment must return it.
        offset = compiled.office_offset[ok]
        opening: OpeningTable = compiled.opening
        again = opening.ready_local(
            opening.pattern_of[np.flatnonzero(ok)], row[ok] + offset, 0, compiled.calendar
        )
        if not np.array_equal(again - offset, row[ok]):
            problems.append(f"a ready moment outside opening hours for hand-over {t}")
    order = np.argsort(handovers)
    sorted_ready = np.where(ready == NEVER, np.iinfo(np.int64).max, ready)[order]
    if np.any(np.diff(sorted_ready, axis=0) < 0):
        problems.append("ready moments not monotone in the hand-over time")
    return problems


def percentile_ms(values: list[float], q: float) -> str:
    """A percentile of seconds, as milliseconds."""
    return f"{np.percentile(values, q) * 1e3:.1f} ms"


def bench_eta(
    built: Built, warehouse: str, series: str, first: datetime
) -> tuple[list[list[str]], list[str]]:
    """24 hand-over times x every office, timed per call; one-office calls; checks."""
    network = built.network
    handovers = [int((first + k * HANDOVER_STEP).timestamp()) for k in range(HANDOVERS)]
    earliest_ready(network, warehouse, handovers[0])  # warm-up (holiday years, caches)
    times: list[float] = []
    ready = np.empty((HANDOVERS, len(network.offices)), dtype=np.int64)
    one = [network.offices[(k * 7919) % len(network.offices)].index for k in range(200)]
    gc.disable()
    try:
        for k, t in enumerate(handovers):
            result, seconds = timed(partial(earliest_ready, network, warehouse, t))
            times.append(seconds)
            ready[k] = result.ready_s
        single = [
            timed(partial(earliest_ready, network, warehouse, handovers[k % HANDOVERS], [o]))[1]
            for k, o in enumerate(one)
        ]
    finally:
        gc.enable()
    reached = int(np.count_nonzero(ready[0] != NEVER))
    days = ready[ready != NEVER] - np.repeat(handovers, np.count_nonzero(ready != NEVER, axis=1))
    n = len(network.offices)

    def row(call: str, values: list[float]) -> list[str]:
        p50, p90 = percentile_ms(values, 50), percentile_ms(values, 90)
        return [built.name, series, call, p50, p90, f"{max(values) * 1e3:.1f} ms"]

    rows = [row(f"all {n:,} offices", times), row("one office", single)]
    notes = [
        f"{built.name}, {series}: {reached:,}/{n:,} offices reached; hand-over to ready "
        f"median {np.median(days) / 86_400:.1f} d, max {days.max() / 86_400:.1f} d; "
        f"{HANDOVERS * n:,} dates in {sum(times) * 1e3:.0f} ms"
    ]
    notes += [f"FAILED {built.name}: {p}" for p in check(network, handovers, ready)]
    return rows, notes


def print_table(title: str, header: list[str], rows: list[list[str]], notes: list[str]) -> None:
    """A table with aligned columns, then its notes."""
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]
    print(f"\n## {title}\n")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    for note in notes:
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


def route_rows(built: Built) -> tuple[list[list[str]], str]:
    """Timing rows and a size summary of one built network."""
    routes = built.network.routes
    stops = np.array([len(r.stops) for r in routes])
    hours = np.array([r.return_after.total_seconds() / 3_600 for r in routes])
    vans = len({r.vehicle for r in routes})
    rows = [[built.name, step, f"{s * 1e3:,.0f} ms"] for step, s in built.timings.items()]
    summary = (
        f"{built.name}: {len(built.network.offices):,} offices, {built.hubs:,} hubs, "
        f"{len(routes):,} routes, {vans:,} vans; stops per route mean {stops.mean():.1f}, "
        f"max {stops.max()}; round trip mean {hours.mean():.1f} h, max {hours.max():.1f} h"
    )
    return rows, summary


def main() -> int:
    """Build both networks, time routes and dates, print the tables; 1 if a check failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a 6,000-office national network")
    args = parser.parse_args()
    size = 6_000 if args.quick else NATIONAL_SIZE
    print(f"Machine: {machine()}")
    built = [ivanovo_network(), national_network(size)]
    summaries = [route_rows(b) for b in built]
    print_table(
        "Synthetic route generation",
        ["network", "step", "wall time"],
        [row for rows, _ in summaries for row in rows],
        [summary for _, summary in summaries]
        + [f"routing seed {ROUTE_SEED}; synthetic national network seed {DEFAULT_SEED}"],
    )
    rows: list[list[str]] = []
    notes: list[str] = []
    for b in built:
        for series, first in SERIES.items():
            r, n = bench_eta(b, "W-MSK", series, first)
            rows += r
            notes += n
    print_table(
        "earliest_ready, warehouse near Moscow",
        ["network", "hand-overs", "call", "p50", "p90", "max"],
        rows,
        [
            f"each series: {HANDOVERS} hand-over times, one every "
            f"{HANDOVER_STEP.total_seconds() / 3_600:.0f} h from its start; warm (compiled) "
            "network; 'one office': 200 calls for offices spread over the network",
            *notes,
        ],
    )
    zones = {o.timezone for o in built[1].network.offices}
    print(
        f"\nzones in the national network: {len(zones)}; UTC offsets "
        f"{sorted({utc_offset_s(z) // 3600 for z in zones})} h"
    )
    return 1 if any(n.startswith("FAILED") for n in notes) else 0


if __name__ == "__main__":
    sys.exit(main())
