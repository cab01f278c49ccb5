"""The one model both planning problems reduce to: sparse facility location with a fallback.

Rows are demand (with weights), columns are facilities that may be opened. Every row has a
list of allowed (column, distance) pairs and a fallback distance, charged when none of its
allowed columns is open. The cost of a set S of open columns is

    C(S) = Σ_i w_i · min(fallback_i, min_{j ∈ S, (i, j) allowed} d_ij)

* maximal covering: d_ij = 0 for every covering pair, fallback 1, so C(S) is the uncovered
  weight and covered weight = total − C(S);
* p-median: d_ij are road metres to the nearest L candidates, fallback the distance to the
  nearest already-open facility (or a lower bound on any farther candidate).

The saving C(∅) − C(S) is monotone submodular, which is what the lazy greedy and the
"online" bound rely on. Entries are kept sorted by (row, distance, column).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class LocationInstance:
    """Rows (weight, fallback), allowed pairs in CSR order, and per-column cost and forcing."""

    weight: FloatArray
    fallback: FloatArray
    row_ptr: IntArray
    col: IntArray
    dist: FloatArray
    cost: FloatArray
    forced: BoolArray

    @classmethod
    def from_pairs(
        cls,
        weight: FloatArray,
        fallback: FloatArray,
        row: IntArray,
        col: IntArray,
        dist: FloatArray,
        cost: FloatArray,
        forced: BoolArray,
    ) -> LocationInstance:
        """Build from unordered (row, column, distance) triples; duplicates keep the shortest."""
        n = len(weight)
        order = np.lexsort((col, dist, row))
        row, col, dist = row[order], col[order], dist[order]
        if len(row) > 1:
            # A pair listed twice keeps its first (shortest) distance.
            key = row * (len(cost) + 1) + col
            _, first = np.unique(key, return_index=True)
            keep = np.zeros(len(row), dtype=np.bool_)
            keep[first] = True
            row, col, dist = row[keep], col[keep], dist[keep]
        row_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=n), out=row_ptr[1:])
        return cls(
            weight=np.asarray(weight, dtype=np.float64),
            fallback=np.asarray(fallback, dtype=np.float64),
            row_ptr=row_ptr,
            col=np.asarray(col, dtype=np.int64),
            dist=np.asarray(dist, dtype=np.float64),
            cost=np.asarray(cost, dtype=np.float64),
            forced=np.asarray(forced, dtype=np.bool_),
        )

    @property
    def n_rows(self) -> int:
        """Number of demand rows."""
        return len(self.weight)

    @property
    def n_cols(self) -> int:
        """Number of facility columns."""
        return len(self.cost)

    @property
    def nnz(self) -> int:
        """Number of allowed (row, column) pairs."""
        return len(self.col)

    @cached_property
    def row_of(self) -> IntArray:
        """Row of every entry."""
        return np.repeat(np.arange(self.n_rows, dtype=np.int64), np.diff(self.row_ptr))

    @cached_property
    def by_col(self) -> IntArray:
        """Entry positions grouped by column (each column's entries in row order)."""
        return np.argsort(self.col, kind="stable").astype(np.int64)

    @cached_property
    def col_ptr(self) -> IntArray:
        """Offsets into ``by_col`` per column."""
        ptr = np.zeros(self.n_cols + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.col, minlength=self.n_cols), out=ptr[1:])
        return ptr

    @cached_property
    def is_covering(self) -> bool:
        """True when every pair has distance 0 (a maximal-covering instance)."""
        return bool(np.all(self.dist == 0.0))

    def incidence(self, values: FloatArray | None = None) -> sparse.csr_array:
        """The pairs as a CSR matrix (rows × columns) holding ``values`` (default ones)."""
        data = np.ones(self.nnz) if values is None else values
        return sparse.csr_array((data, self.col, self.row_ptr), shape=(self.n_rows, self.n_cols))

    def column_entries(self, j: int) -> IntArray:
        """Entry positions of column ``j``."""
        return self.by_col[self.col_ptr[j] : self.col_ptr[j + 1]]


def weighted_sum_by(index: IntArray, weights: FloatArray, length: int) -> FloatArray:
    """Sum of ``weights`` per value of ``index`` (0..length-1): a typed ``np.bincount``."""
    return np.bincount(index, weights=weights, minlength=length).astype(np.float64, copy=False)


def row_min(values: FloatArray, row_ptr: IntArray) -> FloatArray:
    """Minimum of ``values`` per CSR row; ``inf`` for rows without entries."""
    n = len(row_ptr) - 1
    out = np.full(n, np.inf)
    nonempty = np.flatnonzero(np.diff(row_ptr) > 0)
    if len(nonempty):
        out[nonempty] = np.minimum.reduceat(values, row_ptr[:-1][nonempty])
    return out


def open_mask(inst: LocationInstance, columns: IntArray | list[int]) -> BoolArray:
    """Mask of open columns: the given ones plus the forced."""
    mask = inst.forced.copy()
    mask[np.asarray(columns, dtype=np.int64)] = True
    return mask


def row_costs(inst: LocationInstance, is_open: BoolArray) -> FloatArray:
    """Distance charged to every row for the open mask (before weighting)."""
    values = np.where(is_open[inst.col], inst.dist, np.inf)
    return np.minimum(inst.fallback, row_min(values, inst.row_ptr))


def total_cost(inst: LocationInstance, is_open: BoolArray) -> float:
    """C(S): weighted cost of the open mask."""
    return float(inst.weight @ row_costs(inst, is_open))


def column_savings(inst: LocationInstance, current: FloatArray) -> FloatArray:
    """Saving of opening each column alone given the rows' current distances."""
    per_entry = inst.weight[inst.row_of] * np.maximum(0.0, current[inst.row_of] - inst.dist)
    return weighted_sum_by(inst.col, per_entry, inst.n_cols)


@dataclass(frozen=True)
class Assignment:
    """Each row's best and second-best open distance and the column serving it (-1: fallback)."""

    current: FloatArray
    second: FloatArray
    owner: IntArray


def assign(inst: LocationInstance, is_open: BoolArray) -> Assignment:
    """Best and second-best open distance per row, capped by the fallback."""
    n = inst.n_rows
    entries = np.flatnonzero(is_open[inst.col])
    rows = inst.row_of[entries]
    # Entries are already sorted by (row, distance), so the open ones stay in that order.
    first_of_row = np.ones(len(entries), dtype=np.bool_)
    first_of_row[1:] = rows[1:] != rows[:-1]
    firsts = np.flatnonzero(first_of_row)
    best = np.full(n, np.inf)
    owner = np.full(n, -1, dtype=np.int64)
    best[rows[firsts]] = inst.dist[entries[firsts]]
    owner[rows[firsts]] = inst.col[entries[firsts]]
    second = np.full(n, np.inf)
    nxt = firsts + 1
    has_second = nxt < len(entries)
    has_second[has_second] = rows[nxt[has_second]] == rows[firsts[has_second]]
    second[rows[firsts[has_second]]] = inst.dist[entries[nxt[has_second]]]
    fallback_wins = inst.fallback <= best
    owner[fallback_wins] = -1
    current = np.minimum(best, inst.fallback)
    second = np.where(fallback_wins, current, np.minimum(second, inst.fallback))
    return Assignment(current=current, second=second, owner=owner)


def marginal_order(inst: LocationInstance, columns: list[int]) -> tuple[list[int], list[float]]:
    """Order ``columns`` greedily by marginal saving (on top of the forced ones).

    For a greedy solution this reproduces the order in which the greedy added them.
    """
    current = row_costs(inst, inst.forced.copy())
    left = list(dict.fromkeys(int(c) for c in columns))
    order: list[int] = []
    savings: list[float] = []
    while left:
        gains = [_saving(inst, j, current) for j in left]
        pick = int(np.argmax(gains))
        j = left.pop(pick)
        order.append(j)
        savings.append(float(gains[pick]))
        _open_column(inst, j, current)
    return order, savings


def exclusive_losses(inst: LocationInstance, is_open: BoolArray) -> FloatArray:
    """Per column, how much C(S) grows if that column alone were closed."""
    a = assign(inst, is_open)
    served = a.owner >= 0
    loss = inst.weight[served] * (a.second[served] - a.current[served])
    return weighted_sum_by(a.owner[served], loss, inst.n_cols)


def _saving(inst: LocationInstance, j: int, current: FloatArray) -> float:
    entries = inst.column_entries(j)
    rows = inst.row_of[entries]
    return float(inst.weight[rows] @ np.maximum(0.0, current[rows] - inst.dist[entries]))


def _open_column(inst: LocationInstance, j: int, current: FloatArray) -> None:
    entries = inst.column_entries(j)
    rows = inst.row_of[entries]
    current[rows] = np.minimum(current[rows], inst.dist[entries])
