"""Lazy greedy, the online submodular bound, and 1-swap local search over a LocationInstance.

Lazy greedy keeps a priority queue of possibly stale savings. Savings only shrink as columns
open (submodularity), so a popped column whose recomputed saving still beats the next stale
one is the true best; most columns are never recomputed.

The stale savings are upper bounds on the true ones, which gives a lower bound on the
optimal cost for free: for any set S, C(OPT_k) ≥ C(S) − (sum of the k largest savings with
respect to S) — the data-dependent "online" bound of submodular maximisation, usually far
tighter than greedy / (1 − 1/e).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np

from selpo.planning.location import (
    Assignment,
    FloatArray,
    IntArray,
    LocationInstance,
    assign,
    column_savings,
    row_costs,
    weighted_sum_by,
)

# Relative tolerance under which a change of cost is treated as zero.
_EPS = 1e-12
# How many bound snapshots a long greedy run takes (all steps when the instance is small).
_BOUND_SNAPSHOTS = 96
_ALL_STEPS_WORK = 20_000_000


@dataclass
class GreedyRun:
    """Columns in the order added, the saving each brought, and what was proven on the way."""

    order: list[int]
    savings: list[float]
    cost: float
    spent: float
    bound: float
    # For cardinality runs: lower bound on the optimal cost with k' columns, k' = 0..k.
    curve_bound: FloatArray = field(default_factory=lambda: np.zeros(0))
    # Cost after each prefix (entry 0 is the cost with nothing added).
    prefix_cost: list[float] = field(default_factory=list)
    timed_out: bool = False


def _key(gain: float, cost: float, by_ratio: bool) -> float:
    if not by_ratio:
        return -gain
    return -(gain / cost) if cost > 0 else -gain * 1e30


def fractional_knapsack(values: FloatArray, costs: FloatArray, capacity: float) -> float:
    """Largest total of ``values`` (≥ 0) fitting ``capacity`` when items may be split."""
    take = values > 0
    values, costs = values[take], costs[take]
    free = costs <= 0
    total = float(values[free].sum())
    values, costs = values[~free], costs[~free]
    order = np.argsort(-values / costs, kind="stable")
    filled = np.cumsum(costs[order])
    whole = int(np.searchsorted(filled, capacity, side="right"))
    total += float(values[order[:whole]].sum())
    if whole < len(order):
        room = capacity - (float(filled[whole - 1]) if whole else 0.0)
        total += float(values[order[whole]]) * max(room, 0.0) / float(costs[order[whole]])
    return total


def lazy_greedy(
    inst: LocationInstance,
    *,
    k: int | None = None,
    budget: float | None = None,
    start: list[int] | None = None,
    columns: IntArray | None = None,
    keep_zero: bool = False,
    deadline: float = float("inf"),
    track_curve: bool = False,
) -> GreedyRun:
    """Add columns one by one, each time the one saving most (per unit cost under a budget).

    ``start`` columns are open already and count against k / the budget; ``columns``
    restricts the choice; ``keep_zero`` keeps adding columns that save nothing (used to order
    a given set). Stops early when nothing saves anything.
    """
    by_ratio = budget is not None
    limit_k = inst.n_cols if k is None else k
    current = row_costs(inst, _mask(inst, start or []))
    chosen = list(start or [])
    spent = float(inst.cost[chosen].sum()) if chosen else 0.0
    is_chosen = np.zeros(inst.n_cols, dtype=np.bool_)
    is_chosen[chosen] = True
    eligible = ~inst.forced & ~is_chosen
    if columns is not None:
        only = np.zeros(inst.n_cols, dtype=np.bool_)
        only[columns] = True
        eligible &= only
    if budget is not None:
        eligible &= inst.cost <= budget + 1e-9
    stale = column_savings(inst, current)
    stale[~eligible] = 0.0
    heap = [
        (_key(float(stale[j]), float(inst.cost[j]), by_ratio), int(j))
        for j in np.flatnonzero(eligible)
    ]
    heapq.heapify(heap)
    cost = float(inst.weight @ current)
    run = GreedyRun(order=[], savings=[], cost=cost, spent=spent, bound=-np.inf)
    run.prefix_cost.append(cost)
    steps_to_snapshot = _snapshot_steps(inst, limit_k - len(chosen), by_ratio)
    curve = np.full(max(limit_k, 0) + 1, -np.inf) if track_curve and not by_ratio else None
    scale = _EPS * (1.0 + abs(cost))
    popped = 0
    while heap and len(chosen) < limit_k:
        step = len(run.order)
        if step in steps_to_snapshot:
            _snapshot(run, inst, stale, cost, limit_k, budget, curve)
            steps_to_snapshot.discard(step)
        popped += 1
        if popped % 256 == 0 and time.perf_counter() > deadline:
            run.timed_out = True
            break
        _, j = heapq.heappop(heap)
        if budget is not None and spent + inst.cost[j] > budget + 1e-9:
            continue  # never affordable again: the budget only shrinks
        entries = inst.column_entries(j)
        rows = inst.row_of[entries]
        gain = float(inst.weight[rows] @ np.maximum(0.0, current[rows] - inst.dist[entries]))
        stale[j] = gain
        if gain <= scale and not keep_zero:
            stale[j] = 0.0
            continue
        key = _key(gain, float(inst.cost[j]), by_ratio)
        if heap and key > heap[0][0]:
            heapq.heappush(heap, (key, j))
            continue
        current[rows] = np.minimum(current[rows], inst.dist[entries])
        cost -= gain
        spent += float(inst.cost[j])
        chosen.append(j)
        stale[j] = 0.0
        run.order.append(j)
        run.savings.append(gain)
        run.prefix_cost.append(cost)
    run.cost = float(inst.weight @ current)
    run.spent = spent
    _snapshot(run, inst, stale, run.cost, limit_k, budget, curve)
    if curve is not None:
        # OPT is non-increasing in k, so a bound for more columns also holds for fewer.
        run.curve_bound = np.maximum.accumulate(curve[::-1])[::-1]
    return run


def _mask(inst: LocationInstance, columns: list[int]) -> np.ndarray:
    mask = inst.forced.copy()
    mask[columns] = True
    return mask


def _snapshot_steps(inst: LocationInstance, picks: int, by_ratio: bool) -> set[int]:
    if picks <= 0:
        return {0}
    if by_ratio or picks * inst.n_cols <= _ALL_STEPS_WORK:
        return set(range(picks + 1)) if not by_ratio else {0}
    geometric = np.unique(np.geomspace(1, picks, _BOUND_SNAPSHOTS).astype(np.int64))
    return {0, *(int(s) for s in geometric)}


def _snapshot(
    run: GreedyRun,
    inst: LocationInstance,
    stale: FloatArray,
    cost: float,
    limit_k: int,
    budget: float | None,
    curve: FloatArray | None,
) -> None:
    """Record C(S) − (best possible sum of savings w.r.t. S) as a lower bound."""
    if budget is not None:
        room = fractional_knapsack(stale, inst.cost, budget)
        run.bound = max(run.bound, cost - room)
        return
    positive = stale[stale > 0]
    if curve is None:
        top = positive if len(positive) <= limit_k else np.partition(positive, -limit_k)[-limit_k:]
        run.bound = max(run.bound, cost - float(top.sum()))
        return
    ordered = np.sort(positive)[::-1][:limit_k]
    prefix = np.concatenate(([0.0], np.cumsum(ordered)))
    sums = np.full(limit_k + 1, prefix[-1])
    sums[: len(prefix)] = prefix
    np.maximum(curve, cost - sums, out=curve)
    run.bound = max(run.bound, float(curve[limit_k]))


def greedy_order(inst: LocationInstance, columns: list[int]) -> GreedyRun:
    """Order a given set by marginal saving on top of the forced columns (greedy within it)."""
    if not columns:
        return lazy_greedy(inst, k=0)
    picked = np.asarray(sorted(set(columns)), dtype=np.int64)
    return lazy_greedy(inst, k=len(picked), columns=picked, keep_zero=True)


def swap_search(
    inst: LocationInstance,
    chosen: list[int],
    *,
    k: int | None,
    budget: float | None,
    deadline: float,
    max_rounds: int = 10_000,
    top_targets: int = 32,
) -> tuple[list[int], bool]:
    """Improve a solution by 1-swaps (close s, open t) until none improves or time runs out.

    Each round prices every swap at once with the fast-interchange formula
    Δ(s, t) = loss(s) − gain(t) − overlap(s, t), where overlap is one sparse product over
    rows served by s that t also reaches; swaps are then tried best-first and each is
    re-priced exactly on the rows it touches before being accepted (first improvement).
    Returns the solution and whether it stopped at a local optimum (not by the clock).
    """
    m = inst.n_cols
    is_open = _mask(inst, chosen)
    selected = np.zeros(m, dtype=np.bool_)
    selected[chosen] = True
    spent = float(inst.cost[selected].sum())
    current = row_costs(inst, is_open)
    tol = 1e-9 * (1.0 + float(inst.weight @ current))
    rounds = 0
    while rounds < max_rounds:
        rounds += 1
        if time.perf_counter() > deadline:
            return _listed(chosen, selected), False
        a = assign(inst, is_open)
        current = a.current
        gain = column_savings(inst, current)
        closed = ~is_open & ~inst.forced
        if budget is not None:
            closed &= inst.cost <= budget + 1e-9
        gain[~closed] = 0.0
        served = a.owner >= 0
        loss = weighted_sum_by(
            a.owner[served], inst.weight[served] * (a.second[served] - current[served]), m
        )
        pair_s, pair_t, pair_delta = _priced_swaps(
            inst, a, gain, loss, selected, closed, top_targets
        )
        improving = pair_delta < -tol
        pair_s, pair_t, pair_delta = pair_s[improving], pair_t[improving], pair_delta[improving]
        if len(pair_s) == 0:
            return _listed(chosen, selected), True
        order = np.lexsort((pair_t, pair_s, pair_delta))
        applied = 0
        for n_tried, idx in enumerate(order):
            s, t = int(pair_s[idx]), int(pair_t[idx])
            if not selected[s] or is_open[t]:
                continue
            if budget is not None and spent - inst.cost[s] + inst.cost[t] > budget + 1e-9:
                continue
            if n_tried % 64 == 0 and time.perf_counter() > deadline:
                break
            rows, new = _swap_effect(inst, is_open, s, t)
            delta = float(inst.weight[rows] @ (new - current[rows]))
            if delta < -tol:
                is_open[s], is_open[t] = False, True
                selected[s], selected[t] = False, True
                spent += float(inst.cost[t] - inst.cost[s])
                current[rows] = new
                applied += 1
        if applied == 0:
            return _listed(chosen, selected), True
        chosen = _listed(chosen, selected)
        if (k is not None and len(chosen) < k) or budget is not None:
            # A swap can free room (budget) or leave a slot: fill it greedily.
            filled = lazy_greedy(inst, k=k, budget=budget, start=chosen, deadline=deadline)
            if filled.order:
                chosen = chosen + filled.order
                is_open = _mask(inst, chosen)
                selected[:] = False
                selected[chosen] = True
                spent = float(inst.cost[selected].sum())
    return _listed(chosen, selected), False


def _listed(previous: list[int], selected: np.ndarray) -> list[int]:
    """The selected columns, keeping the previous order for those that stayed."""
    kept = [j for j in previous if selected[j]]
    known = set(kept)
    return kept + [int(j) for j in np.flatnonzero(selected) if int(j) not in known]


def _priced_swaps(
    inst: LocationInstance,
    a: Assignment,
    gain: FloatArray,
    loss: FloatArray,
    selected: np.ndarray,
    closed: np.ndarray,
    top_targets: int,
) -> tuple[IntArray, IntArray, FloatArray]:
    """Estimated cost change of swaps: overlapping pairs exactly, others via top gains."""
    m = inst.n_cols
    rows = inst.row_of
    owner = a.owner[rows]
    useful = (owner >= 0) & closed[inst.col]
    e = np.flatnonzero(useful)
    r = rows[e]
    d = inst.dist[e]
    # Part of t's gain on rows owned by s is overstated when s closes; this corrects it.
    overlap = inst.weight[r] * (
        np.maximum(0.0, a.second[r] - d) - np.maximum(0.0, a.current[r] - d)
    )
    keep = overlap > 0
    s_of, t_of, overlap = owner[e][keep], inst.col[e][keep], overlap[keep]
    key = s_of * m + t_of
    uniq, inverse = np.unique(key, return_inverse=True)
    summed = weighted_sum_by(inverse.astype(np.int64), overlap, len(uniq))
    ps, pt = uniq // m, uniq % m
    delta_pairs = loss[ps] - gain[pt] - summed
    # Pairs with no overlap: Δ = loss(s) − gain(t); only the best few targets can matter.
    opened = np.flatnonzero(selected)
    candidates = np.flatnonzero(closed & (gain > 0))
    if len(candidates) > top_targets:
        candidates = candidates[np.argpartition(-gain[candidates], top_targets)[:top_targets]]
    gs = np.repeat(opened, len(candidates))
    gt = np.tile(candidates, len(opened))
    delta_free = loss[gs] - gain[gt]
    return (
        np.concatenate((ps, gs)).astype(np.int64),
        np.concatenate((pt, gt)).astype(np.int64),
        np.concatenate((delta_pairs, delta_free)),
    )


def _swap_effect(
    inst: LocationInstance, is_open: np.ndarray, s: int, t: int
) -> tuple[IntArray, FloatArray]:
    """Rows touched by closing s and opening t, and their exact new distances."""
    rows = np.union1d(inst.row_of[inst.column_entries(s)], inst.row_of[inst.column_entries(t)])
    starts = inst.row_ptr[rows]
    lengths = inst.row_ptr[rows + 1] - starts
    offsets = np.cumsum(lengths) - lengths
    entries = (
        np.arange(int(lengths.sum())) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)
    )
    cols = inst.col[entries]
    is_on = is_open[cols] & (cols != s) | (cols == t)
    values = np.where(is_on, inst.dist[entries], np.inf)
    best = np.minimum.reduceat(values, offsets) if len(values) else np.zeros(0)
    return rows.astype(np.int64), np.minimum(inst.fallback[rows], best)
