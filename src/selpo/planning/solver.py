"""Solving planning problems: maximal covering, p-median and the coverage curve.

Every solver works the same way on the shared LocationInstance (see ``location.py``):

1. build the instance from the problem (columns = offices that are fixed or candidates);
2. reduce it exactly (``reduce.py``) — results are mapped back to the original offices;
3. lazy greedy, which also yields the online submodular bound;
4. ``exact`` (or ``auto`` on a small reduced model): HiGHS MIP warm-started from the greedy;
   ``heuristic`` (or ``auto`` on a large one): for covering, rounds of Lagrangian ascent (the
   bound, and an estimate of the LP's x) each followed by the plan that estimate guides (a
   small MIP) and 1-swap local search; for the p-median the LP relaxation through HiGHS
   when affordable, else the same Lagrangian rounds.

The time limit is a budget the solver plans within: a round starts only when the time left
holds another like the last, and the guided MIP stops at a gap it proves rather than at the
clock, so a machine with half a core gives the same answer, later. BLAS runs on one thread
while a solver works (``one_blas_thread``): vector products are too small to gain from more,
and on a loaded machine its spinning threads cost several times the work.

The heuristics are deterministic; ``seed`` feeds HiGHS. A binding time limit can stop the
local search, the Lagrangian or the MIP early, the only source of run-to-run variation.
The method and the measurements behind the thresholds: docs/planning.md.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np
from threadpoolctl import threadpool_limits

from selpo.planning.bound import bound_for_every_k, lagrangian_bound, lagrangian_plan
from selpo.planning.exact import model_size, solve_lp, solve_mip
from selpo.planning.geometry import nearest_road_distances, unit_vectors
from selpo.planning.greedy import greedy_order, lazy_greedy, swap_search
from selpo.planning.location import (
    IntArray,
    LocationInstance,
    column_savings,
    exclusive_losses,
    open_mask,
    row_costs,
    total_cost,
)
from selpo.planning.problem import (
    ChosenFacility,
    CoverageCurve,
    CoveringProblem,
    CoveringResult,
    CurvePoint,
    Facilities,
    MedianProblem,
    MedianResult,
    Method,
    Status,
)
from selpo.planning.reduce import Reduced, no_reduction, reduce_instance

# ``auto`` solves the MIP when the reduced model has at most this many non-zeros; HiGHS proves
# region-size covering models (a few thousand non-zeros) in well under a second.
AUTO_EXACT_NONZEROS = 60_000
# Larger models get the LP relaxation up to these sizes, Lagrangian rounds beyond. Covering
# LPs are easy (the 150,000 × 42,000 synthetic one, 217,000 non-zeros: 1.5 s); p-median LPs
# are not (30,000 × 5,000 with 10 neighbours, 1.2 M non-zeros: 48 s, where the Lagrangian
# rounds reach a 5e-5 gap in 3 s).
LP_NONZEROS = 3_000_000
LP_NONZEROS_MEDIAN = 400_000
# The curve is solved exactly point by point when non-zeros × k_max stays under this (the
# region: ~3,000 × 132); otherwise greedy, with the LP at a few sampled k for bounds.
CURVE_EXACT_WORK = 2_000_000
CURVE_LP_SAMPLES = 48
# Gaps below this (relative) count as closed.
CLOSED_GAP = 1e-9
# Large covering models: the first Lagrangian ascent runs this many iterations (later rounds
# double it). Nationally (53,000 × 27,000 after reduction at 10 km) 1,000 iterations take
# 1.5 s of CPU and end within 1e-5 of the LP bound; HiGHS's LP took 2 s at 10 km and 35 s at
# 15 km (docs/planning.md).
FIRST_ASCENT = 1_000
# Columns the averaged relaxed solution opens (shuts) in all but this share are fixed open
# (shut) for the guided MIP; the rest is solved exactly.
GUIDE_ROUNDING = 0.05
# The guided MIP stops once proven within this share of the caller's gap tolerance.
GUIDED_GAP_SHARE = 0.25


_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread for the block: its threads spin on a shared, loaded machine.

    Measured on the national covering instance with the machine loaded: a Lagrangian
    iteration took 31 ms with OpenBLAS's default threads and 5 ms with one.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _on_one_blas_thread(solve: Callable[_P, _R]) -> Callable[_P, _R]:
    @functools.wraps(solve)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with one_blas_thread():
            return solve(*args, **kwargs)

    return run


@dataclass(frozen=True)
class _Outcome:
    columns: list[int]
    cost: float
    bound: float
    optimal: bool
    method: str
    bound_method: str


def _check_limits(k: int | None, budget: float | None, facilities: Facilities) -> None:
    if (k is None) == (budget is None):
        raise ValueError("give exactly one of k (offices to add) or budget")
    if k is not None and k < 0:
        raise ValueError("k must be ≥ 0")
    if budget is not None:
        if budget < 0:
            raise ValueError("budget must be ≥ 0")
        if facilities.cost is None:
            raise ValueError("a budget needs a cost per facility")


def _columns_of(facilities: Facilities) -> tuple[IntArray, IntArray]:
    """Openable facility positions, and each facility's column (-1: never open)."""
    openable = np.flatnonzero(facilities.openable).astype(np.int64)
    column = np.full(len(facilities), -1, dtype=np.int64)
    column[openable] = np.arange(len(openable))
    return openable, column


def _instance_from_csr(
    indptr: IntArray,
    indices: IntArray,
    values: np.ndarray,
    weight: np.ndarray,
    fallback: np.ndarray,
    facilities: Facilities,
    use_cost: bool,
) -> tuple[LocationInstance, IntArray]:
    openable, column = _columns_of(facilities)
    rows = np.repeat(np.arange(len(weight), dtype=np.int64), np.diff(indptr))
    cols = column[np.asarray(indices, dtype=np.int64)]
    keep = cols >= 0
    cost = (
        np.asarray(facilities.cost, dtype=np.float64)[openable]
        if use_cost and facilities.cost is not None
        else np.ones(len(openable))
    )
    inst = LocationInstance.from_pairs(
        weight=np.asarray(weight, dtype=np.float64),
        fallback=np.asarray(fallback, dtype=np.float64),
        row=rows[keep],
        col=cols[keep],
        dist=np.asarray(values, dtype=np.float64)[keep],
        cost=cost,
        forced=facilities.fixed[openable],
    )
    return inst, openable


def covering_instance(
    problem: CoveringProblem, use_cost: bool
) -> tuple[LocationInstance, IntArray]:
    """The covering problem as a LocationInstance (distance 0, fallback 1) and column labels."""
    coverage = problem.coverage
    n = len(problem.demand)
    return _instance_from_csr(
        np.asarray(coverage.indptr, dtype=np.int64),
        np.asarray(coverage.indices, dtype=np.int64),
        np.zeros(len(coverage.indices)),
        problem.demand.weight,
        np.ones(n),
        problem.facilities,
        use_cost,
    )


def median_instance(problem: MedianProblem, use_cost: bool) -> tuple[LocationInstance, IntArray]:
    """The p-median problem as a LocationInstance (road metres) and column labels."""
    d = problem.distances
    return _instance_from_csr(
        np.asarray(d.indptr, dtype=np.int64),
        np.asarray(d.indices, dtype=np.int64),
        np.asarray(d.data, dtype=np.float64),
        problem.demand.weight,
        problem.fallback_m,
        problem.facilities,
        use_cost,
    )


def _closed(cost: float, bound: float) -> bool:
    return cost - bound <= CLOSED_GAP * max(1.0, abs(cost))


def _solve(
    red: Reduced,
    *,
    k: int | None,
    budget: float | None,
    method: Method,
    deadline: float,
    seed: int,
    good_enough: Callable[[float, float], bool],
    gap_abs: float = 0.0,
) -> _Outcome:
    """Best columns of the reduced instance with a lower bound on the optimal cost.

    ``good_enough(cost, bound)`` says when the reported gap is small enough for the
    heuristic's open-ended phase (the Lagrangian rounds) to stop before the time limit;
    ``gap_abs`` is that tolerance in cost units, which the guided MIPs aim well inside of.
    """
    inst = red.instance
    free = int((~inst.forced).sum())
    if free == 0 or k == 0 or inst.n_rows == 0:
        cost = total_cost(inst, inst.forced.copy())
        return _Outcome([], cost, cost, True, "trivial", "trivial")
    greedy = lazy_greedy(inst, k=k, budget=budget, deadline=deadline)
    columns, cost = list(greedy.order), greedy.cost
    bound, bound_method = greedy.bound, "submodular"
    if budget is not None:
        columns, cost = _best_single_if_better(inst, budget, columns, cost)
    if k is not None and k >= free:
        # Every candidate fits: opening all of them is optimal (savings never hurt).
        bound, bound_method = cost, "all-open"
    if _closed(cost, bound):
        return _Outcome(columns, cost, bound, True, "greedy", bound_method)

    classic = _classic_bound(inst, cost, k, budget)
    if not greedy.timed_out and classic > bound:
        bound, bound_method = classic, "submodular"
    _, nonzeros = model_size(inst)
    if method == "exact" or (method == "auto" and nonzeros <= AUTO_EXACT_NONZEROS):
        mip = solve_mip(
            inst,
            k=k,
            budget=budget,
            time_limit=deadline - time.perf_counter(),
            seed=seed,
            start=columns,
        )
        if mip.cost <= cost:
            columns, cost = mip.columns, mip.cost
        if mip.bound > bound:
            bound, bound_method = mip.bound, "mip"
        optimal = mip.optimal or _closed(cost, bound)
        return _Outcome(columns, cost, bound, optimal, "exact", bound_method)

    if inst.is_covering:
        return _guided_rounds(
            inst,
            columns,
            cost,
            bound,
            bound_method,
            k=k,
            budget=budget,
            deadline=deadline,
            seed=seed,
            good_enough=good_enough,
            gap_abs=gap_abs,
        )
    # Large p-median model: the LP relaxation gives the bound, and its (nearly integral)
    # solution a start far better than greedy; the Lagrangian bound stands in when the LP is
    # too big.
    method_name = "greedy+swap"
    lp = None
    if nonzeros <= (LP_NONZEROS if inst.is_covering else LP_NONZEROS_MEDIAN):
        lp = solve_lp(inst, k=k, budget=budget, time_limit=_share(deadline, 0.5), seed=seed)
    if lp is not None:
        if lp.bound > bound:
            bound, bound_method = lp.bound, "lp"
        guided = _lp_guided(inst, lp.x, k=k, budget=budget, deadline=deadline, seed=seed)
        if guided is not None and guided[1] < cost:
            columns, cost = guided
            method_name = "lp-guided+swap"
    if not _closed(cost, bound):
        swap_deadline = deadline if lp is not None else time.perf_counter() + _share(deadline, 0.5)
        columns, _ = swap_search(inst, columns, k=k, budget=budget, deadline=swap_deadline)
        cost = total_cost(inst, open_mask(inst, columns))
    if lp is None and not _closed(cost, bound):
        found, found_cost, lower = _lagrangian_rounds(
            inst,
            columns,
            cost,
            bound,
            k=k,
            budget=budget,
            deadline=deadline,
            good_enough=good_enough,
        )
        if found_cost < cost:
            columns, cost, method_name = found, found_cost, "lagrangian+swap"
        if lower > bound:
            bound, bound_method = min(lower, cost), "lagrangian"
    return _Outcome(columns, cost, bound, _closed(cost, bound), method_name, bound_method)


def _guided_rounds(
    inst: LocationInstance,
    columns: list[int],
    cost: float,
    bound: float,
    bound_method: str,
    *,
    k: int | None,
    budget: float | None,
    deadline: float,
    seed: int,
    good_enough: Callable[[float, float], bool],
    gap_abs: float,
) -> _Outcome:
    """Large covering models: Lagrangian ascent, then the plan its averaged x guides, in rounds.

    1. Greedy's plan is improved by 1-swaps to a local optimum (a fraction of a second).
    2. Subgradient ascent from that plan's own multipliers (where it starts at the online
       bound) gives the bound, and the running average of the relaxed solutions estimates
       the LP relaxation's x.
    3. That estimate guides a plan as the LP's x would: columns it (almost) always opens are
       fixed open, those it (almost) never opens are dropped, and the small MIP left is solved
       by HiGHS to a proven gap well inside the tolerance; 1-swaps polish the plan.
    4. While the gap is above ``good_enough`` and both the bound and the plan still move, a
       round twice as long follows, if the time left holds it (the last round's length is
       the estimate): the limit is a budget planned within, never a round cut in the middle.
    """
    method_name = "greedy+swap"
    started = time.perf_counter()
    columns, _ = swap_search(
        inst, columns, k=k, budget=budget, deadline=started + _share(deadline, 0.2)
    )
    cost = total_cost(inst, open_mask(inst, columns))
    multipliers = inst.weight * row_costs(inst, open_mask(inst, columns))
    primal: np.ndarray | None = None
    lower = -np.inf
    iterations = FIRST_ASCENT
    last_round = 0.0
    while not good_enough(cost, max(lower, bound)):
        round_started = time.perf_counter()
        if last_round > 0 and deadline - round_started < 2.0 * last_round:
            break  # a round twice as long as the last would not fit: stop with what is proven
        ascent = lagrangian_bound(
            inst,
            k=k,
            budget=budget,
            upper=cost,
            start=multipliers,
            deadline=round_started + _share(deadline, 0.5),
            max_iterations=iterations,
            primal=primal,
            target_gap=0.0,
        )
        improved = ascent.bound > lower + 1e-7 * max(1.0, abs(cost))
        if ascent.bound > lower:
            lower, multipliers = ascent.bound, ascent.multipliers
        primal = ascent.primal
        if good_enough(cost, max(lower, bound)):
            break
        rounded = _rounded(inst, primal, k=k, budget=budget)
        guided = _lp_guided(
            inst,
            rounded,
            k=k,
            budget=budget,
            deadline=time.perf_counter() + _share(deadline, 0.6),
            seed=seed,
            abs_gap=GUIDED_GAP_SHARE * gap_abs,
        )
        found, found_cost = columns, cost
        if guided is not None:
            found, _ = swap_search(inst, guided[0], k=k, budget=budget, deadline=deadline)
            found_cost = total_cost(inst, open_mask(inst, found))
        better = found_cost < cost - 1e-9 * max(1.0, abs(cost))
        if found_cost < cost:
            columns, cost, method_name = found, found_cost, "lagrangian-guided+swap"
        if not improved and not better:
            break
        iterations *= 2
        last_round = time.perf_counter() - round_started
    if lower > bound:
        bound, bound_method = min(lower, cost), "lagrangian"
    return _Outcome(columns, cost, bound, _closed(cost, bound), method_name, bound_method)


def _rounded(
    inst: LocationInstance, primal: np.ndarray, *, k: int | None, budget: float | None
) -> np.ndarray:
    """The averaged x with near-integral values made integral, never opening more than the
    limit allows: the average of feasible x stays within the limit, but its values above
    1 − rounding might not (those beyond the limit stay fractional, left to the MIP)."""
    rounded = np.where(
        primal >= 1.0 - GUIDE_ROUNDING, 1.0, np.where(primal <= GUIDE_ROUNDING, 0.0, primal)
    )
    ones = np.flatnonzero((rounded == 1.0) & ~inst.forced)
    order = ones[np.lexsort((ones, -primal[ones]))]  # most certain first, then by position
    if k is not None:
        keep = order[:k]
    else:
        keep = order[np.cumsum(inst.cost[order]) <= (budget or 0.0) + 1e-9]
    demoted = np.setdiff1d(order, keep)
    rounded[demoted] = 0.5
    return np.asarray(rounded, dtype=np.float64)


def _lagrangian_rounds(
    inst: LocationInstance,
    columns: list[int],
    cost: float,
    known_bound: float,
    *,
    k: int | None,
    budget: float | None,
    deadline: float,
    good_enough: Callable[[float, float], bool],
) -> tuple[list[int], float, float]:
    """Alternate subgradient rounds (bound) with Lagrangian plans improved by swaps (plan).

    The columns the relaxation would open at the best multipliers make a good start for the
    local search (on the 30,000 × 5,000 p-median it ends 0.003 % above the bound, where greedy
    and swaps alone stop 0.1 % above), and every better plan sharpens the next round's steps.
    Rounds double in length and stop when the bound stalls, closes, or time runs out.
    """
    multipliers = inst.weight * row_costs(inst, open_mask(inst, columns))
    best = -np.inf
    iterations = 250
    while time.perf_counter() < deadline:
        lagrange = lagrangian_bound(
            inst,
            k=k,
            budget=budget,
            upper=cost,
            start=multipliers,
            deadline=deadline,
            max_iterations=iterations,
        )
        stalled = lagrange.bound <= best + 1e-7 * max(1.0, abs(cost))
        if lagrange.bound > best:
            best, multipliers = lagrange.bound, lagrange.multipliers
        if good_enough(cost, max(best, known_bound)):
            break
        start = lagrangian_plan(inst, multipliers, k=k, budget=budget)
        found, _ = swap_search(inst, start, k=k, budget=budget, deadline=deadline)
        found_cost = total_cost(inst, open_mask(inst, found))
        if found_cost < cost:
            columns, cost = found, found_cost
        if stalled or good_enough(cost, max(best, known_bound)):
            break
        iterations *= 2
    return columns, cost, best


def _share(deadline: float, fraction: float) -> float:
    """A fraction of the time left before ``deadline`` (never negative)."""
    return max(0.0, fraction * (deadline - time.perf_counter()))


def _lp_guided(
    inst: LocationInstance,
    x: np.ndarray,
    *,
    k: int | None,
    budget: float | None,
    deadline: float,
    seed: int,
    abs_gap: float | None = None,
) -> tuple[list[int], float] | None:
    """Fix the columns the LP opens fully, drop those it leaves shut, solve what remains.

    The MCLP relaxation is nearly integral on real-like instances (hundreds of fractional
    columns out of tens of thousands), so the remaining MIP is tiny and usually optimal.
    ``x`` may also be an estimate of the LP's solution (the Lagrangian ascent's average).
    """
    free = ~inst.forced
    ones = free & (x >= 1.0 - 1e-6)
    zeros = free & (x <= 1e-6)
    keep = ~zeros[inst.col]
    sub = LocationInstance.from_pairs(
        weight=inst.weight,
        fallback=inst.fallback,
        row=inst.row_of[keep],
        col=inst.col[keep],
        dist=inst.dist[keep],
        cost=inst.cost,
        forced=inst.forced | ones,
    )
    k_left = None if k is None else max(0, k - int(ones.sum()))
    budget_left = None if budget is None else max(0.0, budget - float(inst.cost[ones].sum()))
    red = reduce_instance(sub, np.arange(inst.n_cols, dtype=np.int64), budget=budget_left)
    rest = red.instance
    picks: list[int] = []
    if rest.n_cols and rest.n_rows and k_left != 0:
        greedy = lazy_greedy(rest, k=k_left, budget=budget_left, deadline=deadline)
        picks = greedy.order
        _, nonzeros = model_size(rest)
        if nonzeros <= AUTO_EXACT_NONZEROS and _share(deadline, 0.5) > 0.05:
            mip = solve_mip(
                rest,
                k=k_left,
                budget=budget_left,
                time_limit=_share(deadline, 0.5),
                seed=seed,
                start=picks,
                abs_gap=abs_gap,
            )
            if mip.cost <= greedy.cost:
                picks = mip.columns
    columns = [int(j) for j in np.flatnonzero(ones)] + [int(red.labels[j]) for j in picks]
    return columns, total_cost(inst, open_mask(inst, columns))


def _classic_bound(
    inst: LocationInstance, greedy_cost: float, k: int | None, budget: float | None
) -> float:
    """Greedy's worst-case guarantee turned into a bound on the optimal cost.

    Greedy saves at least 1 − (1 − 1/k)^k ≥ 1 − 1/e of the best possible saving with k
    columns; under a budget, the better of ratio-greedy and the best single column saves at
    least (1 − 1/e) / 2 of it (Khuller, Moss and Naor 1999).
    """
    base = total_cost(inst, inst.forced.copy())
    saving = base - greedy_cost
    if budget is not None:
        ratio = (1.0 - float(np.exp(-1.0))) / 2.0
    elif k is not None and k >= 1:
        ratio = 1.0 - (1.0 - 1.0 / k) ** k
    else:
        return -np.inf
    return base - saving / ratio


def _best_single_if_better(
    inst: LocationInstance, budget: float, columns: list[int], cost: float
) -> tuple[list[int], float]:
    """Budgeted greedy's guarantee needs the best single affordable column as a rival."""
    affordable = np.flatnonzero(~inst.forced & (inst.cost <= budget + 1e-9))
    if len(affordable) == 0:
        return columns, cost
    base = row_costs(inst, inst.forced.copy())
    saving_of = column_savings(inst, base)
    best = int(affordable[np.argmax(saving_of[affordable])])
    single = float(inst.weight @ base) - float(saving_of[best])
    if single < cost:
        return [best], single
    return columns, cost


def _reduced(
    inst: LocationInstance, labels: IntArray, budget: float | None, reduce: bool
) -> Reduced:
    if reduce:
        return reduce_instance(inst, labels, budget=budget)
    return no_reduction(inst, labels)


def _chosen(
    red: Reduced, columns: list[int], facilities: Facilities, budget: float | None
) -> tuple[tuple[ChosenFacility, ...], float]:
    """Chosen offices in marginal order with marginal and exclusive contributions."""
    inst = red.instance
    ordered = greedy_order(inst, columns)
    is_open = inst.forced.copy()
    is_open[columns] = True
    exclusive = exclusive_losses(inst, is_open)
    chosen: list[ChosenFacility] = []
    spent = 0.0
    for j, marginal in zip(ordered.order, ordered.savings, strict=True):
        position = int(red.labels[j])
        cost = None if facilities.cost is None else float(facilities.cost[position])
        spent += cost or 0.0
        twins = tuple(facilities.index[t] for t in sorted(red.twins.get(position, [])))
        chosen.append(
            ChosenFacility(
                position=position,
                index=facilities.index[position],
                marginal=float(marginal),
                exclusive=float(exclusive[j]),
                cost=cost,
                twins=twins,
            )
        )
    return tuple(chosen), spent if budget is not None else 0.0


def _status(optimal: bool) -> Status:
    return "optimal" if optimal else "feasible"


@_on_one_blas_thread
def solve_max_covering(
    problem: CoveringProblem,
    *,
    k: int | None = None,
    budget: float | None = None,
    method: Method = "auto",
    time_limit_s: float = 30.0,
    seed: int = 0,
    reduce: bool = True,
    gap_tolerance: float = 1e-4,
) -> CoveringResult:
    """Open k more candidates (or spend at most ``budget``) to cover the most weight.

    ``gap_tolerance``: a heuristic run stops refining once its proven gap is this small (the
    exact MIP always proves optimality, up to the time limit).
    """
    started = time.perf_counter()
    facilities = problem.facilities
    _check_limits(k, budget, facilities)
    inst, labels = covering_instance(problem, use_cost=budget is not None)
    red = _reduced(inst, labels, budget, reduce)
    total = float(problem.demand.weight.sum())
    base = total - red.constant

    def good_enough(cost: float, lower: float) -> bool:
        bound = base - lower
        return bound <= 0 or (cost - lower) / bound <= gap_tolerance

    out = _solve(
        red,
        k=k,
        budget=budget,
        method=method,
        deadline=started + time_limit_s,
        seed=seed,
        good_enough=good_enough,
        gap_abs=gap_tolerance * max(base, 0.0),
    )
    covered_after = total - red.constant - out.cost
    bound = max(total - red.constant - out.bound, covered_after)
    covered_before = _covered_by(problem, facilities.fixed)
    chosen, spent = _chosen(red, out.columns, facilities, budget)
    gap = 0.0 if bound <= 0 else max(0.0, (bound - covered_after) / bound)
    return CoveringResult(
        status=_status(out.optimal),
        method=out.method,
        bound_method=out.bound_method,
        objective=covered_after,
        bound=bound,
        gap=gap,
        seconds=time.perf_counter() - started,
        chosen=chosen,
        covered_before=covered_before,
        covered_after=covered_after,
        total_weight=total,
        k=k,
        budget=budget,
        spent=spent,
        reduction=red.stats,
    )


def _covered_by(problem: CoveringProblem, is_open: np.ndarray) -> float:
    """Weight of places covered by at least one open facility."""
    reach = problem.coverage @ np.asarray(is_open, dtype=np.float64)
    return float(problem.demand.weight[np.asarray(reach) > 0].sum())


def covered_places(problem: CoveringProblem, positions: list[int]) -> np.ndarray:
    """Mask of places covered by the fixed offices plus the given facility positions."""
    is_open = problem.facilities.fixed.copy()
    is_open[positions] = True
    reach = problem.coverage @ is_open.astype(np.float64)
    return np.asarray(reach) > 0


@_on_one_blas_thread
def solve_p_median(
    problem: MedianProblem,
    *,
    k: int | None = None,
    budget: float | None = None,
    method: Method = "auto",
    time_limit_s: float = 30.0,
    seed: int = 0,
    reduce: bool = True,
    gap_tolerance: float = 1e-4,
) -> MedianResult:
    """Open k more candidates (or spend at most ``budget``) to minimise weighted road metres.

    ``gap_tolerance`` as for ``solve_max_covering``.
    """
    started = time.perf_counter()
    facilities = problem.facilities
    _check_limits(k, budget, facilities)
    inst, labels = median_instance(problem, use_cost=budget is not None)
    red = _reduced(inst, labels, budget, reduce)

    def good_enough(cost: float, lower: float) -> bool:
        objective = red.constant + cost
        return objective <= 0 or (cost - lower) / objective <= gap_tolerance

    out = _solve(
        red,
        k=k,
        budget=budget,
        method=method,
        deadline=started + time_limit_s,
        seed=seed,
        good_enough=good_enough,
    )
    objective = red.constant + out.cost
    bound = min(red.constant + out.bound, objective)
    before = total_cost(inst, inst.forced.copy())
    chosen, spent = _chosen(red, out.columns, facilities, budget)
    total = float(problem.demand.weight.sum())
    gap = 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)
    return MedianResult(
        status=_status(out.optimal),
        method=out.method,
        bound_method=out.bound_method,
        objective=objective,
        bound=bound,
        gap=gap,
        seconds=time.perf_counter() - started,
        chosen=chosen,
        objective_before=before,
        total_weight=total,
        mean_distance_m=objective / total if total > 0 else 0.0,
        unrestricted_objective=_unrestricted(problem, [c.position for c in chosen]),
        k=k,
        budget=budget,
        spent=spent,
        reduction=red.stats,
    )


def _unrestricted(problem: MedianProblem, positions: list[int]) -> float | None:
    """Σ weight × road metres to the truly nearest open office (coordinates needed)."""
    if problem.circuity is None:
        return None
    facilities = problem.facilities
    is_open = facilities.fixed.copy()
    is_open[positions] = True
    where = np.flatnonzero(is_open)
    if len(where) == 0:
        return None
    d, _ = nearest_road_distances(
        unit_vectors(problem.demand.lat, problem.demand.lon),
        unit_vectors(facilities.lat[where], facilities.lon[where]),
        1,
        problem.circuity,
    )
    return float(problem.demand.weight @ d[:, 0])


@_on_one_blas_thread
def coverage_curve(
    problem: CoveringProblem,
    *,
    k_max: int,
    exact: bool | None = None,
    time_limit_s: float = 60.0,
    seed: int = 0,
    gap_tolerance: float = 1e-4,
) -> CoverageCurve:
    """Covered weight for k = 0..k_max more offices, with a proven upper bound at every k.

    The greedy order is nested (the plan for k is the plan for k−1 plus one office); its
    bounds come from the online submodular bound taken at every greedy step. With ``exact``
    (default: when the reduced model is small, as for a region) each k is also solved by the
    MIP, warm-started from the better of the greedy prefix and the previous optimum plus one
    office; those points are optimal but not nested. Otherwise the LP relaxation is solved at
    a few sampled k (until the worst gap, relative to the coverable weight, is under
    ``gap_tolerance``): its duals give a bound for every k, and its guided plans replace the
    greedy ones at those k when better.
    """
    started = time.perf_counter()
    deadline = started + time_limit_s
    facilities = problem.facilities
    if k_max < 0:
        raise ValueError("k_max must be ≥ 0")
    inst, labels = covering_instance(problem, use_cost=False)
    red = reduce_instance(inst, labels, budget=None)
    reduced = red.instance
    total = float(problem.demand.weight.sum())
    base = total - red.constant
    greedy = lazy_greedy(reduced, k=k_max, deadline=deadline, track_curve=True)
    prefix_cost = np.asarray(greedy.prefix_cost)
    steps = np.minimum(np.arange(k_max + 1), len(prefix_cost) - 1)
    greedy_cost = prefix_cost[steps]
    lower = greedy.curve_bound if len(greedy.curve_bound) else np.full(k_max + 1, -np.inf)
    best_cost = greedy_cost.copy()
    # Plans that are not a greedy prefix, by k; every other k uses the first k greedy picks.
    plans: dict[int, list[int]] = {}
    _, nonzeros = model_size(reduced)
    use_exact = exact if exact is not None else nonzeros * max(k_max, 1) <= CURVE_EXACT_WORK
    if not use_exact and nonzeros <= LP_NONZEROS:
        _sample_with_lp(reduced, k_max, best_cost, plans, lower, deadline, seed, gap_tolerance)
    if use_exact:
        for k in range(1, k_max + 1):
            if _closed(best_cost[k], lower[k]):
                continue
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                break
            previous = plans.get(k - 1, greedy.order[: k - 1])
            extended = _extend(reduced, previous)
            if extended is not None and extended[1] < best_cost[k]:
                plans[k], best_cost[k] = extended
            mip = solve_mip(
                reduced,
                k=k,
                budget=None,
                time_limit=remaining / max(1, k_max - k + 1) * 2,
                seed=seed,
                start=plans.get(k, greedy.order[:k]),
            )
            if mip.cost < best_cost[k]:
                best_cost[k], plans[k] = mip.cost, mip.columns
            lower[k] = max(lower[k], mip.bound)
    # More offices never cover less: carry a better plan forward, a bound backward.
    for k in range(1, k_max + 1):
        if best_cost[k - 1] < best_cost[k]:
            best_cost[k] = best_cost[k - 1]
            plans[k] = plans.get(k - 1, greedy.order[: k - 1])
    lower = np.maximum.accumulate(lower[::-1])[::-1]
    points = []
    for k in range(k_max + 1):
        plan = plans.get(k)
        names = None if plan is None else tuple(facilities.index[red.labels[j]] for j in plan)
        points.append(
            CurvePoint(
                k=k,
                covered=base - float(best_cost[k]),
                bound=max(base - float(lower[k]), base - float(best_cost[k])),
                status=_status(_closed(float(best_cost[k]), float(lower[k]))),
                greedy_covered=base - float(greedy_cost[k]),
                opened=int(steps[k]) if plan is None else len(plan),
                facilities=names,
            )
        )
    return CoverageCurve(
        points=tuple(points),
        greedy_order=tuple(facilities.index[int(red.labels[j])] for j in greedy.order),
        covered_before=_covered_by(problem, facilities.fixed),
        total_weight=total,
        seconds=time.perf_counter() - started,
        exact_points=sum(p.status == "optimal" for p in points),
        reduction=red.stats,
    )


def _sample_with_lp(
    inst: LocationInstance,
    k_max: int,
    best_cost: np.ndarray,
    plans: dict[int, list[int]],
    lower: np.ndarray,
    deadline: float,
    seed: int,
    gap_tolerance: float,
) -> None:
    """Solve the LP at k_max, then wherever the gap is widest, while time allows.

    The duals of each LP bound every k at once (tight near the k solved); the LP-guided plan
    at that k replaces the greedy one when better.
    """
    scale = max(float(inst.weight @ inst.fallback), 1e-12)
    tried: set[int] = set()
    k = k_max
    last_sample = 0.0
    while len(tried) < CURVE_LP_SAMPLES and k not in tried:
        tried.add(k)
        sample_started = time.perf_counter()
        remaining = deadline - sample_started
        # Another sample like the last one would overrun the time limit: stop here.
        if remaining <= max(0.05, last_sample):
            break
        lp = solve_lp(inst, k=k, budget=None, time_limit=remaining / 2, seed=seed)
        if lp is not None:
            if lp.multipliers is not None:
                np.maximum(lower, bound_for_every_k(inst, lp.multipliers, k_max), out=lower)
            lower[k] = max(lower[k], min(lp.bound, float(best_cost[k])))
            guided = _lp_guided(
                inst,
                lp.x,
                k=k,
                budget=None,
                deadline=time.perf_counter() + remaining / 4,
                seed=seed,
            )
            if guided is not None and guided[1] < best_cost[k]:
                plans[k], best_cost[k] = guided
        last_sample = time.perf_counter() - sample_started
        gaps = (best_cost - np.maximum.accumulate(lower[::-1])[::-1]) / scale
        gaps[0] = 0.0
        gaps[list(tried)] = 0.0
        if float(gaps.max()) <= gap_tolerance:
            break
        k = int(np.argmax(gaps))


def _extend(inst: LocationInstance, columns: list[int]) -> tuple[list[int], float] | None:
    """The given set plus the single column that saves most; None if nothing saves."""
    run = lazy_greedy(inst, k=len(columns) + 1, start=list(columns))
    if not run.order:
        return None
    return list(columns) + run.order, run.cost
