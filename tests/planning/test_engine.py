"""The shared engine: reductions, lazy greedy, swaps and lower bounds on random tiny instances."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selpo.planning import reduce as reduction
from selpo.planning.bound import lagrangian_bound
from selpo.planning.exact import model_size, solve_lp, solve_mip
from selpo.planning.greedy import fractional_knapsack, greedy_order, lazy_greedy, swap_search
from selpo.planning.location import (
    LocationInstance,
    assign,
    exclusive_losses,
    open_mask,
    row_costs,
    total_cost,
)
from selpo.planning.problem import covering_problem
from selpo.planning.reduce import group_identical, reduce_instance
from selpo.planning.solver import _best_single_if_better, _classic_bound, covering_instance
from selpo.planning.synthetic import named_instance

FAST = settings(max_examples=40, deadline=None)


@st.composite
def instances(draw: st.DrawFn) -> LocationInstance:
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 6))
    covering = draw(st.booleans())
    cells = np.array(draw(st.lists(st.integers(0, 9), min_size=n * m, max_size=n * m)))
    present = cells.reshape(n, m) < 4
    rows, cols = np.nonzero(present)
    if covering:
        dist = np.zeros(len(rows))
        fallback = np.ones(n)
    else:
        dist = np.array(draw(st.lists(st.integers(0, 5), min_size=len(rows), max_size=len(rows))))
        fallback = np.array(draw(st.lists(st.integers(1, 7), min_size=n, max_size=n)))
    weight = np.array(draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)), dtype=float)
    cost = np.array(draw(st.lists(st.integers(1, 4), min_size=m, max_size=m)), dtype=float)
    forced = np.array(draw(st.lists(st.integers(0, 9), min_size=m, max_size=m))) < 2
    return LocationInstance.from_pairs(
        weight=weight,
        fallback=np.asarray(fallback, dtype=float),
        row=rows.astype(np.int64),
        col=cols.astype(np.int64),
        dist=np.asarray(dist, dtype=float),
        cost=cost,
        forced=forced,
    )


def optimum(inst: LocationInstance, k: int | None, budget: float | None) -> float:
    free = [j for j in range(inst.n_cols) if not inst.forced[j]]
    best = np.inf
    for size in range(len(free) + 1):
        for subset in itertools.combinations(free, size):
            if k is not None and size > k:
                continue
            if budget is not None and inst.cost[list(subset)].sum() > budget + 1e-9:
                continue
            best = min(best, total_cost(inst, open_mask(inst, list(subset))))
    return best


def limits(draw_k: int, use_budget: bool) -> tuple[int | None, float | None]:
    return (None, float(draw_k + 1)) if use_budget else (draw_k, None)


@FAST
@given(inst=instances(), k=st.integers(0, 3), use_budget=st.booleans())
def test_reductions_keep_the_optimum(inst: LocationInstance, k: int, use_budget: bool) -> None:
    kk, budget = limits(k, use_budget)
    red = reduce_instance(inst, np.arange(inst.n_cols), budget=budget)
    assert not red.instance.forced.any()
    reduced_best = red.constant + optimum(red.instance, kk, budget)
    assert reduced_best == pytest.approx(optimum(inst, kk, budget))
    mip = solve_mip(inst, k=kk, budget=budget, time_limit=10, seed=0)
    assert mip.optimal
    assert mip.cost == pytest.approx(optimum(inst, kk, budget))


@FAST
@given(inst=instances(), k=st.integers(0, 3), use_budget=st.booleans())
def test_every_lower_bound_is_below_the_optimum(
    inst: LocationInstance, k: int, use_budget: bool
) -> None:
    kk, budget = limits(k, use_budget)
    best = optimum(inst, kk, budget)
    greedy = lazy_greedy(inst, k=kk, budget=budget)
    assert greedy.bound <= best + 1e-9 <= greedy.cost + 2e-9
    swapped, _ = swap_search(
        inst, greedy.order, k=kk, budget=budget, deadline=time.perf_counter() + 5
    )
    assert total_cost(inst, open_mask(inst, swapped)) <= greedy.cost + 1e-9
    if kk is not None:
        assert len(swapped) <= kk
    else:
        assert inst.cost[swapped].sum() <= (budget or 0) + 1e-9
    start = inst.weight * row_costs(inst, open_mask(inst, greedy.order))
    lagrange = lagrangian_bound(
        inst,
        k=kk,
        budget=budget,
        upper=greedy.cost,
        start=start,
        deadline=time.perf_counter() + 5,
        max_iterations=200,
    )
    assert lagrange.bound <= best + 1e-6
    lp = solve_lp(inst, k=kk, budget=budget, time_limit=10, seed=0)
    assert lp is not None
    assert lp.bound <= best + 1e-6


@FAST
@given(inst=instances(), k=st.integers(1, 4))
def test_lazy_greedy_equals_plain_greedy(inst: LocationInstance, k: int) -> None:
    lazy = lazy_greedy(inst, k=k)
    chosen: list[int] = []
    for _ in range(k):
        base = total_cost(inst, open_mask(inst, chosen))
        gains = [
            (base - total_cost(inst, open_mask(inst, [*chosen, j])), -j)
            for j in range(inst.n_cols)
            if not inst.forced[j] and j not in chosen
        ]
        if not gains or max(gains)[0] <= 1e-12:
            break
        chosen.append(-max(gains)[1])
    assert lazy.cost == pytest.approx(total_cost(inst, open_mask(inst, chosen)))
    assert sum(lazy.savings) == pytest.approx(lazy.prefix_cost[0] - lazy.cost)


@FAST
@given(inst=instances(), picks=st.lists(st.integers(0, 5), max_size=4))
def test_assignment_and_exclusive_losses(inst: LocationInstance, picks: list[int]) -> None:
    chosen = sorted({p for p in picks if p < inst.n_cols and not inst.forced[p]})
    mask = open_mask(inst, chosen)
    a = assign(inst, mask)
    assert np.allclose(a.current, row_costs(inst, mask))
    assert (a.second >= a.current - 1e-12).all()
    losses = exclusive_losses(inst, mask)
    for j in chosen:
        without = [c for c in chosen if c != j]
        expected = total_cost(inst, open_mask(inst, without)) - total_cost(inst, mask)
        assert losses[j] == pytest.approx(expected)
    ordered = greedy_order(inst, chosen)
    assert sorted(ordered.order) == chosen
    assert sum(ordered.savings) == pytest.approx(
        total_cost(inst, open_mask(inst, [])) - total_cost(inst, mask)
    )


def test_identical_segments_group_and_a_collision_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ptr = np.array([0, 2, 4, 6, 7])
    ident = np.array([1, 3, 1, 3, 1, 4, 2])
    dist = np.zeros(7)
    extra = np.zeros(4, dtype=np.uint64)
    group, representative = group_identical(ptr, ident, dist, extra)
    assert group[0] == group[1]
    assert len({group[0], group[2], group[3]}) == 3
    assert representative[group[0]] == 0
    # With a hash that maps everything to one value, the entry check must split the groups.
    monkeypatch.setattr(reduction, "_mix", lambda x: np.zeros_like(x))
    group, representative = group_identical(ptr, ident, dist, extra)
    assert group[0] == group[1]
    assert len({group[0], group[2]}) == 2
    assert len(representative) == 3


def test_fractional_knapsack() -> None:
    values, costs = np.array([10.0, 6.0, 0.0, 3.0]), np.array([5.0, 2.0, 1.0, 0.0])
    # Free item 3, then item 1 whole (ratio 3), then 2/5 of item 0.
    assert fractional_knapsack(values, costs, 4.0) == pytest.approx(3 + 6 + 4)
    assert fractional_knapsack(values, costs, 100.0) == pytest.approx(19.0)


def test_lagrangian_bound_approaches_the_lp_bound_on_a_region() -> None:
    instance = named_instance("region")
    problem = covering_problem(instance.demand, instance.facilities, radius_m=10_000)
    inst, labels = covering_instance(problem, use_cost=False)
    red = reduce_instance(inst, labels, budget=None).instance
    k = 60
    greedy = lazy_greedy(red, k=k)
    start = red.weight * row_costs(red, open_mask(red, greedy.order))
    lagrange = lagrangian_bound(
        red, k=k, budget=None, upper=greedy.cost, start=start, deadline=time.perf_counter() + 20
    )
    lp = solve_lp(red, k=k, budget=None, time_limit=20, seed=0)
    assert lp is not None
    mip = solve_mip(red, k=k, budget=None, time_limit=20, seed=0, start=greedy.order)
    assert mip.optimal
    assert greedy.bound <= lagrange.bound <= lp.bound + 1e-6 <= mip.cost + 2e-6
    assert lagrange.bound >= lp.bound - 1e-3 * red.weight.sum()
    levels, nonzeros = model_size(red)
    assert levels == red.n_rows
    assert nonzeros == red.nnz + red.n_rows


@FAST
@given(inst=instances(), k=st.integers(1, 3), use_budget=st.booleans())
def test_greedy_guarantee_bound_is_below_the_optimum(
    inst: LocationInstance, k: int, use_budget: bool
) -> None:
    kk, budget = limits(k, use_budget)
    greedy = lazy_greedy(inst, k=kk, budget=budget)
    cost = greedy.cost
    if budget is not None:
        cost = _best_single_if_better(inst, budget, greedy.order, cost)[1]
    assert _classic_bound(inst, cost, kk, budget) <= optimum(inst, kk, budget) + 1e-9
