"""Benchmark of the planning core: maximal covering, budget, coverage curve, p-median.

    .venv/bin/python bench/planning.py [--quick] [--time-limit 60] [--only NAME]
        [--database-url URL --region CODE]

Prints one row per (instance, solver): seconds to build the problem (coverage or distances)
and to solve it, objective, bound, relative gap, status and the peak memory of the process
that ran it. Every row runs in a fresh process, so "peak MB" is that row's own high-water
mark (resident set, interpreter and libraries included, about 150 MB of it).

Instances: the synthetic region (3,000 × 292), medium (30,000 × 5,000) and national
(150,000 × 42,000) sizes of ``selpo.planning.synthetic``, covering radius 5 km by road. The
real region joins the table (first, with exact, heuristic, curve, p-median and spopt rows)
when this module has a ``region_instance()`` returning a ``BenchInstance`` or anything with
``demand`` and ``facilities`` (such as the service's ``RegionInstance``) — one line, e.g.
``from selpo.planning.service import bench_region_instance as region_instance``.

The real region is imported from the reference into a scratch SQLite database (``--region
CODE``; default: the default region), or, with ``--database-url URL --region CODE``, that region
of an existing database (e.g. one where ``selpo region import 37`` loaded every locality). Its
``connect-113`` row is the command ``selpo plan connect --add 113 --radius-km 10`` through the
planning service, instance loading included: its seconds, status and gap are the figures
docs/planning.md quotes.

    .venv/bin/python bench/planning.py --only region \\
        --database-url sqlite:///var/selpo.db --region 37

When PySAL's ``spopt`` (and ``pulp``) can be imported, its MCLP is run on the synthetic region
with the same coverage, k and fixed offices, as the baseline.

The real country (``--only russia``): ``selpo plan connect --national --add 5000`` at 10 km
(20 s budget) and 15 km (60 s budget) through the planning service, loading every locality and
office from a database with every region imported (``--national-db URL``; without it every
region of the bundled reference is imported into a scratch SQLite database first, ~2.5 min),
then the same under contention (``-half`` rows: the process and a busy loop pinned to one CPU,
so the solver gets half a core), and a ``ways`` row per radius measuring each method against
HiGHS's LP bound on the same reduced instance (greedy, greedy + swaps, the Lagrangian ascent,
reduced-cost fixing, connected components, the LP itself).

    SELPO_DATABASE_URL=sqlite:///var/national.db .venv/bin/selpo region import --all
    .venv/bin/python bench/planning.py --only russia --national-db sqlite:///var/national.db
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from multiprocessing import get_context
from typing import Any

import numpy as np

from selpo.planning.geometry import DEFAULT_CIRCUITY, road_distance_m
from selpo.planning.problem import (
    DemandPoints,
    Facilities,
    Method,
    covering_problem,
    median_problem,
)
from selpo.planning.solver import coverage_curve, solve_max_covering, solve_p_median
from selpo.planning.synthetic import named_instance


@dataclass(frozen=True)
class BenchInstance:
    """What a benchmark row needs: places, offices, radius and the limits to plan with."""

    name: str
    demand: DemandPoints
    facilities: Facilities
    radius_m: float
    k: int
    budget: float
    median_k: int
    median_nearest: int = 10


def _synthetic(size: str, k: int, budget: float, median_k: int) -> Callable[[], BenchInstance]:
    def make() -> BenchInstance:
        instance = named_instance(size)
        return BenchInstance(
            name=instance.name,
            demand=instance.demand,
            facilities=instance.facilities,
            radius_m=5_000.0,
            k=k,
            budget=budget,
            median_k=median_k,
        )

    return make


# k = 132 on the region as in the issue (about half the candidates); the larger sizes open a
# similar share. Budgets in thousand roubles (synthetic costs average about 450).
SYNTHETIC: dict[str, Callable[[], BenchInstance]] = {
    "synthetic-region": _synthetic("region", 132, 20_000.0, 20),
    "synthetic-medium": _synthetic("medium", 1_500, 600_000.0, 500),
    "synthetic-national": _synthetic("national", 12_000, 5_000_000.0, 12_000),
}

QUICK_PLAN: list[tuple[str, str]] = [
    ("synthetic-region", "exact"),
    ("synthetic-region", "heuristic"),
    ("synthetic-region", "budget"),
    ("synthetic-region", "curve"),
    ("synthetic-region", "p-median"),
    ("synthetic-region", "spopt"),
    ("synthetic-medium", "auto"),
]
FULL_PLAN: list[tuple[str, str]] = [
    *QUICK_PLAN,
    ("synthetic-medium", "heuristic"),
    ("synthetic-medium", "budget"),
    ("synthetic-medium", "curve"),
    ("synthetic-medium", "p-median"),
    ("synthetic-national", "auto"),
    ("synthetic-national", "budget"),
    ("synthetic-national", "curve"),
    ("synthetic-national", "p-median"),
]
REAL_REGION_SOLVERS = ["connect-113", "exact", "heuristic", "curve", "p-median", "spopt"]
# The real country: (radius km, time budget s); 5,000 offices to open, as in the issue.
NATIONAL_ADD = 5_000
NATIONAL_RUNS = {10: 20.0, 15: 60.0}
NATIONAL_PLAN: list[tuple[str, str]] = [
    *((f"russia-{r}", "ways") for r in NATIONAL_RUNS),
    *((f"russia-{r}", "national") for r in NATIONAL_RUNS),
    *((f"russia-{r}", "national-half") for r in NATIONAL_RUNS),
]
# Where the real region comes from: (database URL or None for a scratch import, region code).
RegionSource = tuple[str | None, str | None]


def makers(source: RegionSource = (None, None)) -> dict[str, Callable[[], BenchInstance]]:
    """Every instance the bench knows, the real region first when its hook is defined."""
    found: dict[str, Callable[[], BenchInstance]] = {}
    hook = globals().get("region_instance")
    if callable(hook):
        found["region"] = lambda: _as_bench(hook(*source))
    found.update(SYNTHETIC)
    return found


def region_instance(database_url: str | None = None, region: str | None = None) -> Any:
    """A real region as the service plans it, OZON's offices fixed: the region ``region`` of
    the database at ``database_url``, or that region (None: the default one) imported from the
    reference into a scratch SQLite database."""
    import tempfile
    from pathlib import Path

    from selpo.db import create_db_engine, make_session_factory, session_scope
    from selpo.migrate import upgrade_to_head
    from selpo.network import regions
    from selpo.network.importer import import_region
    from selpo.planning.service import load_instance, resolve_region

    if database_url is not None:
        engine = create_db_engine(database_url)
        with session_scope(make_session_factory(engine)) as session:
            code = resolve_region(session, region).code
            instance = load_instance(session, region=code, marketplace="OZON")
        engine.dispose()
        return instance
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{Path(folder) / 'region.db'}")
        upgrade_to_head(engine)
        with session_scope(make_session_factory(engine)) as session:
            source = regions.load_source(regions.default_region(region).code)
            import_region(session, source)
            code = resolve_region(session, source.info.code).code
            instance = load_instance(session, region=code, marketplace="OZON")
        engine.dispose()
    return instance


def _as_bench(instance: Any) -> BenchInstance:
    """Accept a BenchInstance, or anything with ``demand`` and ``facilities`` (the service's
    RegionInstance), planned like the synthetic region: 5 km, k = 132, p-median k = 20."""
    if isinstance(instance, BenchInstance):
        return instance
    return BenchInstance(
        name="region",
        demand=instance.demand,
        facilities=instance.facilities,
        radius_m=5_000.0,
        k=132,
        budget=20_000.0,
        median_k=20,
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _silence_stdout() -> None:
    """HiGHS prints a banner from C on first use; keep it out of the table."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)


def _connect_113(source: RegionSource, time_limit: float) -> dict[str, Any]:
    """``selpo plan connect --add 113 --radius-km 10`` through the service, loading included."""
    from selpo.planning.service import plan_connect

    started = time.perf_counter()
    hook = globals()["region_instance"]
    instance = hook(*source)
    build = time.perf_counter() - started
    result, _ = plan_connect(instance, add=113, radius_km=10.0, time_limit_s=time_limit)
    return {
        "instance": f"region {instance.region_code} ({len(instance.demand):,} localities)",
        "solver": "connect-113",
        "build": build,
        "seconds": time.perf_counter() - started - build,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "status": result.status,
        "note": f"plan connect --add 113 --radius-km 10 ({result.method}); within reach "
        f"{result.share_before:.1%} -> {result.share_after:.1%} of "
        f"{result.total_population:,.0f}; build = loading the instance from the database",
        "peak_mb": _peak_mb(),
    }


def _national_instance(database_url: str) -> Any:
    """Every locality and office of the database's regions, as ``plan --national`` loads them."""
    from selpo.db import create_db_engine, make_session_factory, session_scope
    from selpo.planning.service import load_instance

    engine = create_db_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return load_instance(session, national=True, marketplace="OZON")
    finally:
        engine.dispose()


def import_every_region(database_url: str) -> None:
    """Import every region of the bundled reference (what ``selpo region import --all`` loads,
    without the timetables planning does not read)."""
    from selpo.db import create_db_engine, make_session_factory, session_scope
    from selpo.kit.clock import SystemClock
    from selpo.migrate import upgrade_to_head
    from selpo.network import regions
    from selpo.network.importer import import_region

    engine = create_db_engine(database_url)
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    for info in regions.known_regions():
        with session_scope(factory) as session:
            import_region(
                session,
                regions.load_source(info.code),
                clock=SystemClock(),
                marketplaces=regions.marketplace_seeds(),
            )
    engine.dispose()


def _half_a_core() -> subprocess.Popen[bytes]:
    """Pin this process and a busy loop beside it to one CPU: the solver gets half a core."""
    cpu = min(os.sched_getaffinity(0))
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    os.sched_setaffinity(burner.pid, {cpu})
    os.sched_setaffinity(0, {cpu})
    return burner


def _national(key: str, solver: str, database_url: str) -> dict[str, Any]:
    """``selpo plan connect --national --add 5000 --radius-km R`` through the service."""
    from selpo.planning.service import plan_connect

    radius = int(key.split("-")[1])
    budget = NATIONAL_RUNS[radius]
    burner = _half_a_core() if solver == "national-half" else None
    try:
        started, cpu = time.perf_counter(), time.process_time()
        instance = _national_instance(database_url)
        build = time.perf_counter() - started
        result, _ = plan_connect(
            instance, add=NATIONAL_ADD, radius_km=float(radius), time_limit_s=budget
        )
        seconds = time.perf_counter() - started - build
        cpu = time.process_time() - cpu
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()
    return {
        "instance": f"russia {radius} km ({len(instance.demand):,} × {len(instance.facilities):,})",
        "key": key,
        "solver": solver,
        "build": build,
        "seconds": seconds,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "status": result.status,
        "note": f"--national --add {NATIONAL_ADD} --radius-km {radius} --time-limit {budget:g} "
        f"({result.method}/{result.extra['bound_method']}); solve {result.seconds:.1f} s; "
        f"process CPU {cpu:.1f} s; build = loading every region from the database"
        + ("; half a core (pinned beside a busy loop)" if burner is not None else ""),
        "peak_mb": _peak_mb(),
    }


def _ways(key: str, database_url: str) -> dict[str, Any]:
    """Each known way against HiGHS's LP bound on the same reduced national instance."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    from selpo.planning.bound import fixed_by_reduced_costs, lagrangian_bound
    from selpo.planning.exact import solve_lp
    from selpo.planning.greedy import lazy_greedy, swap_search
    from selpo.planning.location import open_mask, row_costs, total_cost
    from selpo.planning.reduce import reduce_instance
    from selpo.planning.service import covering
    from selpo.planning.solver import covering_instance, one_blas_thread

    radius = int(key.split("-")[1])
    instance = _national_instance(database_url)
    started = time.perf_counter()
    problem = covering(instance, float(radius))
    build = time.perf_counter() - started
    with one_blas_thread():
        inst, labels = covering_instance(problem, use_cost=False)
        red = reduce_instance(inst, labels, budget=None)
        r = red.instance
        covered = float(problem.demand.weight.sum()) - red.constant

        def timed(run: Callable[[], Any]) -> tuple[Any, float]:
            cpu = time.process_time()
            return run(), time.process_time() - cpu

        greedy, greedy_s = timed(lambda: lazy_greedy(r, k=NATIONAL_ADD))
        (swapped, _), swap_s = timed(
            lambda: swap_search(r, greedy.order, k=NATIONAL_ADD, budget=None, deadline=1e18)
        )
        swap_cost = total_cost(r, open_mask(r, swapped))
        start = r.weight * row_costs(r, open_mask(r, swapped))
        ascent, ascent_s = timed(
            lambda: lagrangian_bound(
                r,
                k=NATIONAL_ADD,
                budget=None,
                upper=swap_cost,
                start=start,
                deadline=1e18,
                max_iterations=1_000,
                target_gap=0.0,
            )
        )
        fixing = fixed_by_reduced_costs(r, ascent.multipliers, k=NATIONAL_ADD, upper=swap_cost)
        graph_rows = r.incidence()
        graph = sparse.bmat([[None, graph_rows], [graph_rows.T, None]]).tocsr()
        parts, label = connected_components(graph, directed=False)
        largest = int(np.bincount(label).max())
        lp, lp_s = timed(lambda: solve_lp(r, k=NATIONAL_ADD, budget=None, time_limit=600.0, seed=0))
    lp_bound = lp.bound if lp is not None else float("nan")

    def gap(cost: float) -> str:
        return f"{(cost - lp_bound) / (covered - lp_bound):.2e}"

    return {
        "instance": f"russia {radius} km ({r.n_rows:,} × {r.n_cols:,} reduced, {r.nnz:,} pairs)",
        "key": key,
        "solver": "ways",
        "build": build,
        "seconds": lp_s,
        "objective": covered - swap_cost,
        "bound": covered - lp_bound,
        "gap": (swap_cost - lp_bound) / (covered - lp_bound),
        "status": "lp" if lp is not None else "lp timed out",
        "lp_covered": covered - lp_bound,
        "note": f"vs HiGHS LP (solve s = LP CPU s): greedy {gap(greedy.cost)} ({greedy_s:.2f} s), "
        f"+swaps {gap(swap_cost)} ({swap_s:.2f} s); Lagrangian 1,000 its bound "
        f"{(lp_bound - ascent.bound) / (covered - lp_bound):.2e} below the LP ({ascent_s:.2f} s); "
        f"reduced-cost fixing at that bound: {int(fixing.closed.sum()):,} shut, "
        f"{int(fixing.opened.sum()):,} open of {r.n_cols:,}; {parts:,} components, largest "
        f"{largest:,} nodes",
        "peak_mb": _peak_mb(),
    }


def run_case(
    instance_key: str,
    solver: str,
    time_limit: float,
    source: RegionSource = (None, None),
    national_db: str | None = None,
) -> dict[str, Any]:
    """One row, run in a fresh process."""
    if solver == "connect-113":
        return _connect_113(source, time_limit)
    if instance_key.startswith("russia-"):
        assert national_db is not None
        if solver == "ways":
            return _ways(instance_key, national_db)
        return _national(instance_key, solver, national_db)
    bench = makers(source)[instance_key]()
    row: dict[str, Any] = {"instance": bench.name, "solver": solver}
    started = time.perf_counter()
    if solver == "spopt":
        return row | _run_spopt(bench)
    if solver == "p-median":
        problem_m = median_problem(bench.demand, bench.facilities, nearest=bench.median_nearest)
        row["build"] = time.perf_counter() - started
        result_m = solve_p_median(problem_m, k=bench.median_k, time_limit_s=time_limit)
        row |= {
            "seconds": result_m.seconds,
            "objective": result_m.objective,
            "bound": result_m.bound,
            "gap": result_m.gap,
            "status": result_m.status,
            "note": f"k={bench.median_k} L={bench.median_nearest} {result_m.method}/"
            f"{result_m.bound_method}, mean {result_m.mean_distance_m:,.0f} m",
        }
        return row | {"peak_mb": _peak_mb()}
    problem = covering_problem(bench.demand, bench.facilities, radius_m=bench.radius_m)
    row["build"] = time.perf_counter() - started
    if solver == "curve":
        curve = coverage_curve(problem, k_max=bench.k, time_limit_s=time_limit)
        gaps = [(p.bound - p.covered) / p.bound for p in curve.points if p.bound > 0]
        last = curve.points[-1]
        row |= {
            "seconds": curve.seconds,
            "objective": last.covered,
            "bound": last.bound,
            "gap": max(gaps, default=0.0),
            "status": f"{curve.exact_points}/{len(curve.points)} opt",
            "note": f"k=0..{bench.k}; gap = worst over k",
        }
        return row | {"peak_mb": _peak_mb()}
    limits: dict[str, Any] = {"budget": bench.budget} if solver == "budget" else {"k": bench.k}
    method: Method = (
        "exact" if solver == "exact" else "heuristic" if solver == "heuristic" else "auto"
    )
    result = solve_max_covering(problem, method=method, time_limit_s=time_limit, **limits)
    red = result.reduction
    limit_text = f"budget={bench.budget:,.0f}" if solver == "budget" else f"k={bench.k}"
    row |= {
        "seconds": result.seconds,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "status": result.status,
        "note": f"{limit_text} {result.method}/{result.bound_method}, "
        f"{red.demand_before}×{red.candidates_before}→{red.demand_after}×{red.candidates_after}, "
        f"gap on added {result.gap_on_added:.1e}",
    }
    return row | {"peak_mb": _peak_mb()}


def _run_spopt(bench: BenchInstance) -> dict[str, Any]:
    try:  # optional baseline, imported by name so type checking does not need it
        pulp = importlib.import_module("pulp")
        mclp = importlib.import_module("spopt.locate").MCLP
    except ImportError as exc:
        return {"status": "skipped", "note": f"spopt not importable ({exc.name})"}
    f, d = bench.facilities, bench.demand
    openable = np.flatnonzero(f.openable)
    started = time.perf_counter()
    # spopt takes a dense places × offices cost matrix; same road estimate as selpo's.
    matrix = road_distance_m(
        d.lat[:, None],
        d.lon[:, None],
        f.lat[openable][None, :],
        f.lon[openable][None, :],
        DEFAULT_CIRCUITY,
    )
    build = time.perf_counter() - started
    started = time.perf_counter()
    model = mclp.from_cost_matrix(
        matrix,
        d.weight,
        service_radius=bench.radius_m,
        p_facilities=int(f.fixed[openable].sum()) + bench.k,
        predefined_facilities_arr=f.fixed[openable],
    )
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    seconds = time.perf_counter() - started
    return {
        "build": build,
        "seconds": seconds,
        "objective": float(pulp.value(model.problem.objective)),
        "status": pulp.LpStatus[model.problem.status].lower(),
        "note": f"MCLP k={bench.k} (p = fixed + k), PuLP + CBC; build = dense cost matrix",
        "peak_mb": _peak_mb(),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _fmt(value: Any, spec: str) -> str:
    width = int(spec.split(".")[0].rstrip(",") or 0)
    if value is None or isinstance(value, str):
        return f"{value or '—':>{width}}"
    return format(value, spec)


def main() -> None:
    """Run the plan and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="region and medium only")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve")
    parser.add_argument("--only", help="run only the instances whose name contains this")
    parser.add_argument("--database-url", help="plan the real region of this database")
    parser.add_argument(
        "--region",
        help="the real region's code (default: the database's only one, or the default region)",
    )
    parser.add_argument(
        "--national-db",
        help="a database with every region imported, for the russia rows (else a scratch import)",
    )
    args = parser.parse_args()
    source: RegionSource = (args.database_url, args.region)

    known = makers(source)
    plan = [(key, solver) for key, solver in (QUICK_PLAN if args.quick else FULL_PLAN)]
    if "region" in known:
        plan = [("region", solver) for solver in REAL_REGION_SOLVERS] + plan
    if not args.quick:
        plan += NATIONAL_PLAN
    if args.only:
        plan = [(key, solver) for key, solver in plan if args.only in key]
    national_db = args.national_db
    scratch = None
    if national_db is None and any(key.startswith("russia-") for key, _ in plan):
        import tempfile

        scratch = tempfile.TemporaryDirectory()
        national_db = f"sqlite:///{scratch.name}/russia.db"
        print("importing every region of the reference into a scratch database …", flush=True)
        import_every_region(national_db)

    import scipy

    print(
        f"machine: {os.cpu_count()} CPUs, {_cpu_model()}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}, highspy {version('highspy')}"
    )
    print(f"time limit {args.time_limit:g} s per solve; radius 5 km by road (circuity 1.3)")
    header = (
        f"{'instance':<34} {'solver':<10} {'build s':>8} {'solve s':>8} {'objective':>16} "
        f"{'bound':>16} {'gap':>9} {'status':>12} {'peak MB':>8}  note"
    )
    print(header)
    print("-" * len(header))
    rows: list[dict[str, Any]] = []
    context = get_context("spawn")
    for key, solver in plan:
        with ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_silence_stdout
        ) as pool:
            row = pool.submit(run_case, key, solver, args.time_limit, source, national_db).result()
        rows.append(row)
        print(
            f"{row['instance']:<34} {solver:<10} {_fmt(row.get('build'), '8.3f')} "
            f"{_fmt(row.get('seconds'), '8.3f')} {_fmt(row.get('objective'), '16,.0f')} "
            f"{_fmt(row.get('bound'), '16,.0f')} {_fmt(row.get('gap'), '9.2e')} "
            f"{row.get('status', ''):>12} {_fmt(row.get('peak_mb'), '8.0f')}  "
            f"{row.get('note', '')}",
            flush=True,
        )
    _print_ratios(rows)
    _print_against_lp(rows)
    if scratch is not None:
        scratch.cleanup()


def _print_against_lp(rows: list[dict[str, Any]]) -> None:
    """Each national plan's covered people against HiGHS's LP bound of the same radius."""
    lp = {
        r["key"]: r["lp_covered"] for r in rows if r.get("solver") == "ways" and "lp_covered" in r
    }
    for row in rows:
        if row.get("solver", "").startswith("national") and row.get("key") in lp:
            bound = lp[row["key"]]
            print(
                f"{row['instance']} {row['solver']}: gap to the LP bound "
                f"{(bound - row['objective']) / bound:.2e}, to its own bound {row['gap']:.2e}; "
                f"own bound / LP bound = {row['bound'] / bound:.6f}"
            )


def _print_ratios(rows: list[dict[str, Any]]) -> None:
    by = {(r["instance"], r["solver"]): r for r in rows}
    for (instance, solver), spopt in by.items():
        exact = by.get((instance, "exact"))
        if solver != "spopt" or exact is None or "seconds" not in spopt:
            continue
        solve_ratio = exact["seconds"] / spopt["seconds"]
        end_to_end = (exact["build"] + exact["seconds"]) / (spopt["build"] + spopt["seconds"])
        same = abs(exact["objective"] - spopt["objective"]) <= 1e-6 * max(1.0, exact["objective"])
        print(
            f"\n{instance}: selpo exact / spopt = {solve_ratio:.4f} on solve time "
            f"({spopt['seconds'] / exact['seconds']:.0f}× faster), {end_to_end:.4f} end to end "
            f"(coverage build vs dense matrix included); same objective: {same}"
        )


if __name__ == "__main__":
    main()
