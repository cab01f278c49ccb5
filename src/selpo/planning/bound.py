"""Lagrangian lower bound on the optimal cost of a LocationInstance (subgradient ascent).

Write the problem with assignment variables z_ij ≤ x_j (row i served by column j) and z_i0
(row i left to its fallback), Σ_j z_ij + z_i0 = 1. Relaxing that equation with multipliers
μ_i, and writing c_ij = w_i d_ij and c_i0 = w_i f_i, leaves a problem that splits by column:

    L(μ) = Σ_i min(μ_i, c_i0) + min_{x feasible} Σ_j x_j ρ_j,
    ρ_j  = Σ_{i : (i, j) allowed} min(0, c_ij − μ_i).

With a cardinality limit the inner minimum takes the k most negative ρ_j; with a budget it
is a fractional knapsack (so still a valid bound). Every μ gives a valid lower bound; the
best over μ equals the LP relaxation's value. For maximal covering ρ_j = −Σ_{i ∈ cover(j)} μ_i
and L(μ) = uncovered-weight bound "Σ_i (w_i − μ_i) − top-k column sums", the classic one.

Starting from μ_i = c_i(S) for the heuristic solution S makes the first iterate equal to the
online submodular bound, so the ascent can only improve on it.

The ascent also averages the relaxed solutions x(μ) it visits (exponentially, as the volume
algorithm of Barahona and Anbil does): near the dual optimum that average approaches an optimal
solution of the LP relaxation, so it guides a plan as the LP's own x would (``solver``), at a
fraction of the LP's cost. ``fixed_by_reduced_costs`` turns any μ and a known plan's cost into
columns that no better plan can open (or close): the classical reduced-cost test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from selpo.planning.location import FloatArray, LocationInstance, weighted_sum_by

# Weight of the newest relaxed solution in the running average (the volume algorithm's α).
PRIMAL_AVERAGE_WEIGHT = 0.05


@dataclass(frozen=True)
class LagrangianOutcome:
    """The best bound reached, the multipliers that gave it, and the iterations run.

    ``primal`` is the running average of the relaxed solutions x(μ) the ascent visited (per
    column, in [0, 1]): an estimate of the LP relaxation's x, not a plan.
    """

    bound: float
    multipliers: FloatArray
    iterations: int
    primal: FloatArray


def _select(
    rho: FloatArray, free: np.ndarray, cost: FloatArray, k: int | None, budget: float | None
) -> FloatArray:
    """x minimising Σ x_j ρ_j over free columns (fractional only for the last knapsack item)."""
    x = np.zeros(len(rho))
    useful = np.flatnonzero(free & (rho < 0))
    if budget is None:
        limit = len(useful) if k is None else k
        if len(useful) > limit:
            useful = (
                useful[np.argpartition(rho[useful], limit)[:limit]] if limit > 0 else useful[:0]
            )
        x[useful] = 1.0
        return x
    c = cost[useful]
    zero = c <= 0
    x[useful[zero]] = 1.0
    useful, c = useful[~zero], c[~zero]
    order = np.argsort(rho[useful] / c, kind="stable")
    filled = np.cumsum(c[order])
    whole = int(np.searchsorted(filled, budget, side="right"))
    x[useful[order[:whole]]] = 1.0
    if whole < len(order):
        room = budget - (float(filled[whole - 1]) if whole else 0.0)
        x[useful[order[whole]]] = max(room, 0.0) / float(c[order[whole]])
    return x


def lagrangian_bound(
    inst: LocationInstance,
    *,
    k: int | None,
    budget: float | None,
    upper: float,
    start: FloatArray,
    deadline: float,
    max_iterations: int = 3000,
    target_gap: float = 1e-5,
    primal: FloatArray | None = None,
) -> LagrangianOutcome:
    """Subgradient ascent with Polyak steps towards ``upper`` (the best known cost).

    ``primal`` continues the running average of an earlier ascent (else it starts at the first
    relaxed solution). On covering instances (every distance 0) the column sums and the rows'
    service counts are sparse products, several times cheaper than the general gathers.
    """
    rows, cols = inst.row_of, inst.col
    covering = inst.is_covering
    by_row = inst.incidence() if covering else None
    by_col = by_row.T.tocsr() if by_row is not None else None
    c_entry = inst.weight[rows] * inst.dist
    c_fallback = inst.weight * inst.fallback
    free = ~inst.forced
    mu = np.clip(start, 0.0, c_fallback)
    best, best_mu = -np.inf, mu.copy()
    theta, stalled, patience = 1.0, 0, 25
    direction = np.zeros(inst.n_rows)
    average = None if primal is None else np.asarray(primal, dtype=np.float64).copy()
    iteration = 0
    scale = max(abs(upper), 1e-12)
    for iteration in range(1, max_iterations + 1):
        if by_col is not None:
            # c_ij = 0: the reduced cost of every pair is −μ_i, negative wherever μ_i > 0.
            rho = -np.asarray(by_col @ mu, dtype=np.float64)
        else:
            reduced = c_entry - mu[rows]
            negative = reduced < 0
            rho = weighted_sum_by(cols, np.where(negative, reduced, 0.0), inst.n_cols)
        x = _select(rho, free, inst.cost, k, budget)
        x[inst.forced] = 1.0
        if average is None:
            average = x.copy()
        else:
            average += PRIMAL_AVERAGE_WEIGHT * (x - average)
        value = float(np.minimum(mu, c_fallback).sum() + _dot(rho, x))
        if value > best + 1e-12 * scale:
            best, best_mu, stalled = value, mu.copy(), 0
        else:
            stalled += 1
            if stalled >= patience:
                theta, stalled = theta / 2.0, 0
        if upper - best <= target_gap * scale or theta < 1e-6:
            break
        if iteration % 16 == 0 and time.perf_counter() > deadline:
            break
        if by_row is not None:
            served = np.where(mu > 0, np.asarray(by_row @ x, dtype=np.float64), 0.0)
        else:
            served = weighted_sum_by(rows, np.where(negative, x[cols], 0.0), inst.n_rows)
        subgradient = 1.0 - served
        # Multipliers already at a bound cannot move further that way: do not count them.
        subgradient[(mu <= 0) & (subgradient < 0)] = 0.0
        subgradient[(mu >= c_fallback) & (subgradient > 0)] = 0.0
        if _dot(subgradient, subgradient) <= 1e-18:
            break  # zero subgradient: μ is optimal for the dual
        # Deflection (Camerini–Fratta–Maffioli) damps the zig-zag of plain subgradients.
        direction = subgradient + 0.3 * direction
        norm = max(_dot(direction, direction), 1e-12)
        step = theta * max(upper - value, 1e-9 * scale) / norm
        mu = np.clip(mu + step * direction, 0.0, c_fallback)
    if average is None:
        average = np.asarray(inst.forced, dtype=np.float64)
    return LagrangianOutcome(bound=best, multipliers=best_mu, iterations=iteration, primal=average)


def _dot(a: FloatArray, b: FloatArray) -> float:
    """a · b without BLAS (a vector dot product in BLAS may spin up threads for nothing)."""
    return float(np.einsum("i,i->", a, b))


def lagrangian_value(
    inst: LocationInstance, multipliers: FloatArray, *, k: int | None, budget: float | None
) -> tuple[float, FloatArray]:
    """L(μ), a lower bound on the optimal cost, and the column values ρ_j at μ."""
    c_fallback = inst.weight * inst.fallback
    mu = np.clip(multipliers, 0.0, c_fallback)
    reduced = inst.weight[inst.row_of] * inst.dist - mu[inst.row_of]
    rho = weighted_sum_by(inst.col, np.minimum(reduced, 0.0), inst.n_cols)
    x = _select(rho, ~inst.forced, inst.cost, k, budget)
    x[inst.forced] = 1.0
    return float(np.minimum(mu, c_fallback).sum() + _dot(rho, x)), rho


@dataclass(frozen=True)
class Fixing:
    """Columns every plan cheaper than ``upper`` keeps shut (``closed``) or open (``opened``)."""

    closed: np.ndarray
    opened: np.ndarray
    bound: float


def fixed_by_reduced_costs(
    inst: LocationInstance, multipliers: FloatArray, *, k: int, upper: float
) -> Fixing:
    """The reduced-cost test under a cardinality limit: with L(μ) taking the k best columns,
    forcing a column in (out) costs at least the difference to the k-th (k+1-th) best; when
    that lifts L(μ) to ``upper`` or above, no plan cheaper than ``upper`` has it open (shut).

    Valid for any μ; the tighter the bound and ``upper``, the more it fixes.
    """
    bound, rho = lagrangian_value(inst, multipliers, k=k, budget=None)
    free = np.flatnonzero(~inst.forced)
    closed = np.zeros(inst.n_cols, dtype=np.bool_)
    opened = np.zeros(inst.n_cols, dtype=np.bool_)
    if len(free) == 0:
        return Fixing(closed, opened, bound)
    value = np.minimum(rho[free], 0.0)  # what opening each free column adds to L
    order = np.argsort(value, kind="stable")
    taken = min(k, int((value < 0).sum()))
    kth = float(value[order[taken - 1]]) if taken > 0 else 0.0
    # The best column left out, or 0 when fewer than k columns are worth opening.
    next_best = float(value[order[taken]]) if taken < len(order) and taken == k else 0.0
    inside = np.zeros(len(free), dtype=np.bool_)
    inside[order[:taken]] = True
    # In: swap out the k-th best (or just add it while fewer than k are taken).
    cost_in = np.where(inside, 0.0, value - (kth if taken == k else 0.0))
    # Out: its place goes to the best one left out.
    cost_out = np.where(inside, next_best - value, 0.0)
    closed[free[~inside & (bound + cost_in >= upper)]] = True
    opened[free[inside & (bound + cost_out >= upper)]] = True
    return Fixing(closed, opened, bound)


def bound_for_every_k(inst: LocationInstance, multipliers: FloatArray, k_max: int) -> FloatArray:
    """L(μ) for k = 0..k_max at once: lower bounds on the optimal cost for every k.

    The inner minimum takes the k most negative ρ_j, so one sort of ρ serves every k; with μ
    from the LP at some k this is tight there and stays valid (if looser) everywhere else.
    """
    rows, cols = inst.row_of, inst.col
    c_fallback = inst.weight * inst.fallback
    mu = np.clip(multipliers, 0.0, c_fallback)
    reduced = inst.weight[rows] * inst.dist - mu[rows]
    rho = weighted_sum_by(cols, np.minimum(reduced, 0.0), inst.n_cols)
    base = float(np.minimum(mu, c_fallback).sum() + rho[inst.forced].sum())
    best = np.sort(rho[~inst.forced & (rho < 0)])
    steps = np.concatenate(([0.0], np.cumsum(best)))
    taken = np.minimum(np.arange(k_max + 1), len(best))
    return np.asarray(base + steps[taken], dtype=np.float64)


def lagrangian_plan(
    inst: LocationInstance, multipliers: FloatArray, *, k: int | None, budget: float | None
) -> list[int]:
    """The columns the relaxed problem opens at these multipliers (whole ones only)."""
    c_fallback = inst.weight * inst.fallback
    mu = np.clip(multipliers, 0.0, c_fallback)
    reduced = inst.weight[inst.row_of] * inst.dist - mu[inst.row_of]
    rho = weighted_sum_by(inst.col, np.minimum(reduced, 0.0), inst.n_cols)
    x = _select(rho, ~inst.forced, inst.cost, k, budget)
    return [int(j) for j in np.flatnonzero((x >= 1.0 - 1e-9) & ~inst.forced)]
