"""Exact solution of a LocationInstance as a MIP through HiGHS, and its LP relaxation.

The model is the "radius" formulation of the p-median (Elloumi 2010): for each row i, its
distinct allowed distances D_i^1 < … < D_i^L and its fallback D_i^{L+1} = f_i, a variable
y_i^h ≥ 0 says "no open column within D_i^h":

    min  Σ_i w_i D_i^1 + Σ_{i,h} w_i (D_i^{h+1} − D_i^h) y_i^h
    s.t. y_i^h + Σ_{j : d_ij ≤ D_i^h} x_j ≥ 1       for every row i and level h
         Σ_j x_j ≤ k   (or Σ_j c_j x_j ≤ B),   x binary, forced x_j = 1.

For maximal covering there is one level per row (distance 0, fallback 1), so this is exactly
the textbook MCLP: y_i is "row i is not covered". The formulation has as many constraints as
distinct distances and is as strong as the classical assignment one, with far fewer
non-zeros. y needs no integrality: with x integral, y_i^h = 1 − [some x within D_i^h].
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import highspy
import numpy as np

from selpo.planning.location import FloatArray, IntArray, LocationInstance, total_cost

# HiGHS stops when the relative gap falls under this: for populations in the millions that is
# well under one person, so "optimal" means optimal.
MIP_REL_GAP = 1e-7
_COLWISE, _ROWWISE, _MINIMISE = 1, 2, 1


@dataclass(frozen=True)
class MipOutcome:
    """What HiGHS proved: the best columns found, their cost, a lower bound, and if optimal."""

    columns: list[int]
    cost: float
    bound: float
    optimal: bool
    nodes: int


@dataclass(frozen=True)
class _Model:
    n_x: int
    level_row: IntArray
    level_end: IntArray
    offset: float
    col_cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    start: IntArray
    index: IntArray
    value: FloatArray


def _concat_ranges(starts: IntArray, lengths: IntArray) -> IntArray:
    """Concatenation of the integer ranges [start, start + length)."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return (np.arange(total) - np.repeat(offsets, lengths) + np.repeat(starts, lengths)).astype(
        np.int64
    )


def _build(inst: LocationInstance, k: int | None, budget: float | None) -> _Model:
    m = inst.n_cols
    # Pairs at or beyond the fallback never help; they are left out of the model.
    useful = inst.dist < inst.fallback[inst.row_of]
    rows, cols, dist = inst.row_of[useful], inst.col[useful], inst.dist[useful]
    n_rows = inst.n_rows
    row_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=row_ptr[1:])
    new_level = np.ones(len(rows), dtype=np.bool_)
    new_level[1:] = (rows[1:] != rows[:-1]) | (dist[1:] != dist[:-1])
    level_start = np.flatnonzero(new_level)
    level_row = rows[level_start]
    next_start = np.append(level_start[1:], len(rows))
    same_row_next = np.append(level_row[1:] == level_row[:-1], False)
    level_end = np.where(same_row_next, next_start, row_ptr[level_row + 1])
    level_dist = dist[level_start]
    level_next = np.where(same_row_next, np.append(level_dist[1:], 0.0), inst.fallback[level_row])
    w = inst.weight[level_row]
    y_cost = w * (level_next - level_dist)

    has_level = np.zeros(n_rows, dtype=np.bool_)
    has_level[level_row] = True
    first_dist = np.where(has_level, 0.0, inst.fallback)
    first_dist[level_row[::-1]] = level_dist[::-1]  # the first level of each row wins
    offset = float(inst.weight @ first_dist)

    g = len(level_start)
    lengths = level_end - row_ptr[level_row]
    x_index = cols[_concat_ranges(row_ptr[level_row], lengths)]
    row_len = lengths + 1
    start = np.zeros(g + 1, dtype=np.int64)
    np.cumsum(row_len, out=start[1:])
    index = np.empty(int(start[-1]), dtype=np.int64)
    value = np.ones(int(start[-1]))
    y_pos = start[1:] - 1
    x_pos = np.setdiff1d(np.arange(int(start[-1])), y_pos, assume_unique=True)
    index[x_pos] = x_index
    index[y_pos] = m + np.arange(g)
    row_lower = np.ones(g)
    row_upper = np.full(g, highspy.kHighsInf)

    free = ~inst.forced
    if k is not None or budget is not None:
        limit_cols = np.flatnonzero(free)
        limit_vals = inst.cost[limit_cols] if budget is not None else np.ones(len(limit_cols))
        limit = float(budget) if budget is not None else float(k or 0)
        index = np.concatenate((index, limit_cols))
        value = np.concatenate((value, limit_vals))
        start = np.append(start, start[-1] + len(limit_cols))
        row_lower = np.append(row_lower, -highspy.kHighsInf)
        row_upper = np.append(row_upper, limit)

    col_cost = np.concatenate((np.zeros(m), y_cost))
    col_lower = np.concatenate((inst.forced.astype(np.float64), np.zeros(g)))
    col_upper = np.ones(m + g)
    return _Model(
        n_x=m,
        level_row=level_row,
        level_end=level_end,
        offset=offset,
        col_cost=col_cost,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=row_lower,
        row_upper=row_upper,
        start=start,
        index=index,
        value=value,
    )


_banner_lock = threading.Lock()
_banner_printed = False


def _flush_c_stdio() -> None:
    """Flush the C library's stdout buffer (where HiGHS writes), where there is one to reach."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """File descriptor 1 points at the null device for the block (C code writes there too)."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all: nothing to protect
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
        finally:
            os.close(devnull)
        try:
            yield
        finally:
            _flush_c_stdio()
            os.dup2(saved, 1)
    finally:
        os.close(saved)


def new_highs() -> highspy.Highs:
    """A HiGHS instance that prints nothing.

    HiGHS writes its banner ("Running HiGHS …", the licence line) from C++ when the first
    instance of the process is constructed, before any option can be set, and straight to file
    descriptor 1: ``selpo plan connect --json`` would not print JSON alone. So the first
    construction runs with descriptor 1 on the null device (a moment, once per process; other
    threads' writes to stdout in that moment are lost with it); later ones print nothing, and
    ``output_flag`` off keeps every solve silent.
    """
    global _banner_printed
    with _banner_lock:
        if _banner_printed:
            h = highspy.Highs()  # type: ignore[no-untyped-call]
        else:
            with _stdout_to_devnull():
                h = highspy.Highs()  # type: ignore[no-untyped-call]
            _banner_printed = True
    h.setOptionValue("output_flag", False)
    return h


def _highs(model: _Model, integer: bool, time_limit: float, seed: int) -> highspy.Highs:
    h = new_highs()
    h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    n_col = len(model.col_cost)
    n_row = len(model.row_lower)
    integrality = np.zeros(n_col, dtype=np.int32)
    if integer:
        integrality[: model.n_x] = 1
    h.passModel(
        n_col,
        n_row,
        len(model.index),
        _ROWWISE,
        _MINIMISE,
        model.offset,
        model.col_cost,
        model.col_lower,
        model.col_upper,
        model.row_lower,
        model.row_upper,
        model.start[:-1].astype(np.int32),
        model.index.astype(np.int32),
        model.value,
        integrality,
    )
    return h


def _y_values(model: _Model, inst: LocationInstance, is_open: np.ndarray) -> FloatArray:
    """y for a given x: 1 where no open column lies within the level's distance."""
    useful = inst.dist < inst.fallback[inst.row_of]
    rows, cols = inst.row_of[useful], inst.col[useful]
    n_rows = inst.n_rows
    row_ptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=row_ptr[1:])
    # Position of the first open entry per row (entries are sorted by distance).
    opened = np.flatnonzero(is_open[cols])
    first_open = np.full(n_rows, np.iinfo(np.int64).max)
    np.minimum.at(first_open, rows[opened], opened)
    return (first_open[model.level_row] >= model.level_end).astype(np.float64)


def solve_mip(
    inst: LocationInstance,
    *,
    k: int | None,
    budget: float | None,
    time_limit: float,
    seed: int,
    start: list[int] | None = None,
    abs_gap: float | None = None,
) -> MipOutcome:
    """Solve to proven optimality (or the time limit) with HiGHS, warm-started from ``start``.

    ``abs_gap``: stop as soon as the plan is proven within this much of the optimum (in cost
    units); a stop HiGHS proves, unlike a time limit, does not depend on the machine's load.
    """
    model = _build(inst, k, budget)
    h = _highs(model, integer=True, time_limit=time_limit, seed=seed)
    if abs_gap is not None and abs_gap > 0:
        h.setOptionValue("mip_abs_gap", float(abs_gap))
    if start is not None:
        is_open = inst.forced.copy()
        is_open[start] = True
        values = np.concatenate((is_open.astype(np.float64), _y_values(model, inst, is_open)))
        h.setSolution(len(values), np.arange(len(values), dtype=np.int32), values)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    solution = np.asarray(h.getSolution().col_value, dtype=np.float64)
    optimal = status == highspy.HighsModelStatus.kOptimal
    if len(solution) >= model.n_x:
        columns = [
            int(j) for j in np.flatnonzero(solution[: model.n_x] > 0.5) if not inst.forced[j]
        ]
    else:
        columns = list(start or [])
    is_open = inst.forced.copy()
    is_open[columns] = True
    cost = total_cost(inst, is_open)
    bound = float(info.mip_dual_bound)
    # HiGHS's bound can overshoot a recomputed optimum by its tolerances; never claim more.
    bound = min(bound, cost) if np.isfinite(bound) else -np.inf
    return MipOutcome(
        columns=columns,
        cost=cost,
        bound=bound,
        optimal=bool(optimal),
        nodes=int(info.mip_node_count),
    )


@dataclass(frozen=True)
class LpOutcome:
    """The LP relaxation's optimum (a lower bound on the cost), its x, and row multipliers.

    ``multipliers`` are the duals of the covering rows (one level per row, so only for
    covering-shaped instances): fed to ``bound.bound_for_every_k`` they bound every k at once.
    """

    bound: float
    x: FloatArray
    multipliers: FloatArray | None


def solve_lp(
    inst: LocationInstance, *, k: int | None, budget: float | None, time_limit: float, seed: int
) -> LpOutcome | None:
    """Solve the LP relaxation; None if HiGHS does not prove it optimal in time."""
    model = _build(inst, k, budget)
    h = _highs(model, integer=False, time_limit=time_limit, seed=seed)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = h.getSolution()
    x = np.asarray(solution.col_value, dtype=np.float64)[: model.n_x]
    multipliers = None
    levels = len(model.level_row)
    if levels == inst.n_rows and np.array_equal(model.level_row, np.arange(levels)):
        # The sign convention of duals does not matter: any multipliers give a valid bound.
        multipliers = np.abs(np.asarray(solution.row_dual, dtype=np.float64)[:levels])
    return LpOutcome(
        bound=float(h.getInfo().objective_function_value), x=x, multipliers=multipliers
    )


def model_size(inst: LocationInstance) -> tuple[int, int]:
    """(constraints, non-zeros) of the MIP, computed without building it."""
    useful = inst.dist < inst.fallback[inst.row_of]
    rows, dist = inst.row_of[useful], inst.dist[useful]
    if len(rows) == 0:
        return 0, 0
    new_level = np.ones(len(rows), dtype=np.bool_)
    new_level[1:] = (rows[1:] != rows[:-1]) | (dist[1:] != dist[:-1])
    levels = int(new_level.sum())
    # Each level row holds its prefix of the row's entries: for covering, one row per entry set.
    position_in_row = np.arange(len(rows)) - np.searchsorted(rows, rows, side="left")
    nnz = int((position_in_row + 1)[np.append(new_level[1:], True)].sum()) + levels
    return levels, nnz
