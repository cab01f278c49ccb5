"""Exact reductions of a LocationInstance: smaller model, same optimum.

In order, repeated until nothing changes:

1. Fixed (forced) columns are folded into each row's fallback (they are always open), and
   pairs no better than the fallback are dropped: a place covered by a fixed office is settled.
2. Rows with no pair left are settled at their fallback (a constant): covered by a fixed
   office, out of every candidate's reach, or of zero weight.
3. Under a budget, candidates dearer than the whole budget go; candidates with no pair go.
4. Identical rows (same pairs, same fallback) become one row with the summed weight: places
   covered by the same candidate set are one demand.
5. Identical columns (same rows at the same distances) become one, the cheapest kept and the
   others remembered as its twins: opening two of them never helps.
6. Dominated columns go (covering only): j is dominated by j' when every row j covers, j' covers
   too and j' costs no more. Under a cardinality limit every column costs the same, so any
   subset relation dominates; under a budget only when the cost is not lower, otherwise the
   cheap subset can be the better buy.

Identity of rows and columns is found by two independent 64-bit hashes and then checked
entry by entry, so a hash collision can only cost a missed merge, never a wrong one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from selpo.planning.location import (
    FloatArray,
    IntArray,
    LocationInstance,
    row_min,
    weighted_sum_by,
)
from selpo.planning.problem import ReductionStats

U64 = NDArray[np.uint64]
# Pairwise column overlaps are counted only when Σ (row degree)² stays under this.
DOMINANCE_WORK = 40_000_000
_MAX_ROUNDS = 8


@dataclass
class Reduced:
    """The reduced instance, the map back to original columns, and what was removed."""

    instance: LocationInstance
    labels: IntArray
    twins: dict[int, list[int]]
    constant: float
    stats: ReductionStats
    settled_by_fixed_weight: float = 0.0
    notes: list[str] = field(default_factory=list)


def _mix(x: U64) -> U64:
    """splitmix64 finaliser: a cheap, well-spread 64-bit hash of each element."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _segment_hash(ptr: IntArray, entry_hash: U64) -> U64:
    sums = np.zeros(len(entry_hash) + 1, dtype=np.uint64)
    np.cumsum(entry_hash, out=sums[1:])
    return sums[ptr[1:]] - sums[ptr[:-1]]


def _concat_ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return (np.arange(total) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)).astype(
        np.int64
    )


def group_identical(
    ptr: IntArray, ident: IntArray, dist: FloatArray, extra: U64
) -> tuple[IntArray, IntArray]:
    """Group segments with identical (ident, dist) sequences and equal ``extra``.

    Returns the group of every segment and the representative (lowest segment) of each group.
    """
    n = len(ptr) - 1
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ident_u = ident.astype(np.uint64)
    dist_u = np.ascontiguousarray(dist, dtype=np.float64).view(np.uint64)
    h1 = _segment_hash(ptr, _mix(_mix(ident_u + np.uint64(0x9E3779B97F4A7C15)) ^ dist_u))
    h2 = _segment_hash(ptr, _mix(ident_u * np.uint64(0xD6E8FEB86659FD93) + _mix(dist_u)))
    lengths = np.diff(ptr)
    order = np.lexsort((h2, h1, extra, lengths))
    starts = np.ones(n, dtype=np.bool_)
    starts[1:] = (
        (lengths[order][1:] != lengths[order][:-1])
        | (extra[order][1:] != extra[order][:-1])
        | (h1[order][1:] != h1[order][:-1])
        | (h2[order][1:] != h2[order][:-1])
    )
    group = np.empty(n, dtype=np.int64)
    group[order] = np.cumsum(starts) - 1
    representative = order[starts]  # lexsort is stable: the lowest segment of each group
    rep_of = representative[group]
    others = np.flatnonzero(rep_of != np.arange(n))
    if len(others):
        mine = _concat_ranges(ptr[others], lengths[others])
        theirs = _concat_ranges(ptr[rep_of[others]], lengths[others])
        differs = (ident[mine] != ident[theirs]) | (dist[mine] != dist[theirs])
        owner = np.repeat(np.arange(len(others)), lengths[others])
        bad = others[np.bincount(owner, weights=differs, minlength=len(others)) > 0]
        if len(bad):  # a hash collision: keep those segments on their own
            group[bad] = group.max() + 1 + np.arange(len(bad))
            representative = np.concatenate((representative, bad))
    return group, representative.astype(np.int64)


def _rebuild(
    inst: LocationInstance,
    keep_entries: np.ndarray,
    row_map: IntArray,
    n_rows: int,
    col_map: IntArray,
    weight: FloatArray,
    fallback: FloatArray,
    cost: FloatArray,
) -> LocationInstance:
    """A new instance from the kept entries, with rows and columns renumbered."""
    rows = row_map[inst.row_of[keep_entries]]
    cols = col_map[inst.col[keep_entries]]
    return LocationInstance.from_pairs(
        weight=weight[:n_rows],
        fallback=fallback[:n_rows],
        row=rows.astype(np.int64),
        col=cols.astype(np.int64),
        dist=inst.dist[keep_entries],
        cost=cost,
        forced=np.zeros(len(cost), dtype=np.bool_),
    )


def no_reduction(inst: LocationInstance, labels: IntArray) -> Reduced:
    """The instance as it is (fixed columns forced open), for checking the reductions."""
    stats = ReductionStats(
        demand_before=inst.n_rows,
        demand_after=inst.n_rows,
        candidates_before=int((~inst.forced).sum()),
        candidates_after=int((~inst.forced).sum()),
        demand_settled_by_fixed=0,
        demand_unreachable=0,
        demand_zero_weight=0,
        demand_aggregated=0,
        candidates_useless=0,
        candidates_twins=0,
        candidates_dominated=0,
        candidates_unaffordable=0,
        seconds=0.0,
    )
    return Reduced(instance=inst, labels=labels, twins={}, constant=0.0, stats=stats)


def reduce_instance(
    inst: LocationInstance,
    labels: IntArray,
    *,
    budget: float | None,
    dominance: bool = True,
) -> Reduced:
    """Apply every exact reduction; ``labels`` name the columns (e.g. facility positions)."""
    started = time.perf_counter()
    n0, candidates0 = inst.n_rows, int((~inst.forced).sum())

    forced_entry = inst.forced[inst.col]
    forced_best = row_min(np.where(forced_entry, inst.dist, np.inf), inst.row_ptr)
    fallback = np.minimum(inst.fallback, forced_best)
    by_fixed = forced_best < inst.fallback

    unaffordable = np.zeros(inst.n_cols, dtype=np.bool_)
    if budget is not None:
        unaffordable = ~inst.forced & (inst.cost > budget + 1e-9)
    keep = (
        ~forced_entry
        & ~unaffordable[inst.col]
        & (inst.dist < fallback[inst.row_of])
        & (inst.weight[inst.row_of] > 0)
    )
    active = np.bincount(inst.row_of[keep], minlength=inst.n_rows) > 0
    zero_weight = inst.weight <= 0
    settled = ~active
    constant = float(inst.weight[settled] @ fallback[settled])
    used_cols = np.bincount(inst.col[keep], minlength=inst.n_cols) > 0
    useless = ~inst.forced & ~unaffordable & ~used_cols

    row_map = np.full(inst.n_rows, -1, dtype=np.int64)
    row_map[active] = np.arange(int(active.sum()))
    col_map = np.full(inst.n_cols, -1, dtype=np.int64)
    col_map[used_cols] = np.arange(int(used_cols.sum()))
    current = _rebuild(
        inst,
        np.flatnonzero(keep),
        row_map,
        int(active.sum()),
        col_map,
        inst.weight[active],
        fallback[active],
        inst.cost[used_cols],
    )
    current_labels = labels[used_cols]
    twins: dict[int, list[int]] = {}
    aggregated = merged = dominated = 0
    for _ in range(_MAX_ROUNDS):
        current, gone = _aggregate_rows(current)
        aggregated += gone
        current, current_labels, gone_twins = _merge_columns(current, current_labels, twins)
        merged += gone_twins
        gone_dominated = 0
        if dominance and current.is_covering:
            current, current_labels, gone_dominated = _drop_dominated(
                current, current_labels, twins
            )
            dominated += gone_dominated
        if gone_twins == 0 and gone_dominated == 0:
            break

    stats = ReductionStats(
        demand_before=n0,
        demand_after=current.n_rows,
        candidates_before=candidates0,
        candidates_after=current.n_cols,
        demand_settled_by_fixed=int((settled & by_fixed & ~zero_weight).sum()),
        demand_unreachable=int((settled & ~by_fixed & ~zero_weight).sum()),
        demand_zero_weight=int((settled & zero_weight).sum()),
        demand_aggregated=aggregated,
        candidates_useless=int(useless.sum()),
        candidates_twins=merged,
        candidates_dominated=dominated,
        candidates_unaffordable=int(unaffordable.sum()),
        seconds=time.perf_counter() - started,
    )
    return Reduced(
        instance=current,
        labels=current_labels,
        twins=twins,
        constant=constant,
        stats=stats,
        settled_by_fixed_weight=float(inst.weight[by_fixed].sum()),
    )


def _aggregate_rows(inst: LocationInstance) -> tuple[LocationInstance, int]:
    extra = np.ascontiguousarray(inst.fallback).view(np.uint64)
    group, representative = group_identical(inst.row_ptr, inst.col, inst.dist, extra)
    if len(representative) == inst.n_rows:
        return inst, 0
    weight = weighted_sum_by(group, inst.weight, len(representative))
    is_rep = np.zeros(inst.n_rows, dtype=np.bool_)
    is_rep[representative] = True
    keep = np.flatnonzero(is_rep[inst.row_of])
    reduced = _rebuild(
        inst,
        keep,
        group,
        len(representative),
        np.arange(inst.n_cols, dtype=np.int64),
        weight,
        inst.fallback[representative],
        inst.cost,
    )
    return reduced, inst.n_rows - len(representative)


def _merge_columns(
    inst: LocationInstance, labels: IntArray, twins: dict[int, list[int]]
) -> tuple[LocationInstance, IntArray, int]:
    entries = inst.by_col
    group, representative = group_identical(
        inst.col_ptr,
        inst.row_of[entries],
        inst.dist[entries],
        np.zeros(inst.n_cols, dtype=np.uint64),
    )
    n_groups = len(representative)
    if n_groups == inst.n_cols:
        return inst, labels, 0
    # Keep the cheapest column of each group, the lowest label among equals.
    order = np.lexsort((labels, inst.cost, group))
    first = np.ones(inst.n_cols, dtype=np.bool_)
    first[1:] = group[order][1:] != group[order][:-1]
    keeper_of_group = np.empty(n_groups, dtype=np.int64)
    keeper_of_group[group[order][first]] = order[first]
    for j in range(inst.n_cols):
        keeper = int(keeper_of_group[group[j]])
        if keeper != j:
            mine = twins.pop(int(labels[j]), [])
            twins.setdefault(int(labels[keeper]), []).extend([int(labels[j]), *mine])
    return _keep_columns(inst, labels, np.sort(keeper_of_group)) + (inst.n_cols - n_groups,)


def _drop_dominated(
    inst: LocationInstance, labels: IntArray, twins: dict[int, list[int]]
) -> tuple[LocationInstance, IntArray, int]:
    degree_rows = np.diff(inst.row_ptr)
    if float(degree_rows.astype(np.float64) @ degree_rows) > DOMINANCE_WORK:
        return inst, labels, 0
    incidence = inst.incidence()
    overlap = (incidence.T @ incidence).tocoo()
    a = np.asarray(overlap.row, dtype=np.int64)
    b = np.asarray(overlap.col, dtype=np.int64)
    shared = np.asarray(overlap.data)
    degree = np.diff(inst.col_ptr)
    subset = (a != b) & (shared == degree[a]) & (inst.cost[a] >= inst.cost[b])
    # Identical columns (only left by a hash collision) must not drop each other.
    identical = subset & (degree[a] == degree[b])
    tie_keep_a = (inst.cost[a] < inst.cost[b]) | (
        (inst.cost[a] == inst.cost[b]) & (labels[a] < labels[b])
    )
    subset &= ~(identical & tie_keep_a)
    gone = np.zeros(inst.n_cols, dtype=np.bool_)
    gone[a[subset]] = True
    if not gone.any():
        return inst, labels, 0
    for j in np.flatnonzero(gone):
        twins.pop(int(labels[j]), None)  # twins of a dominated column are dominated too
    kept = np.flatnonzero(~gone)
    return _keep_columns(inst, labels, kept) + (int(gone.sum()),)


def _keep_columns(
    inst: LocationInstance, labels: IntArray, kept: IntArray
) -> tuple[LocationInstance, IntArray]:
    col_map = np.full(inst.n_cols, -1, dtype=np.int64)
    col_map[kept] = np.arange(len(kept))
    keep_entries = np.flatnonzero(col_map[inst.col] >= 0)
    reduced = _rebuild(
        inst,
        keep_entries,
        np.arange(inst.n_rows, dtype=np.int64),
        inst.n_rows,
        col_map,
        inst.weight,
        inst.fallback,
        inst.cost[kept],
    )
    return reduced, labels[kept]
