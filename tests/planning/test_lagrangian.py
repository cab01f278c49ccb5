"""The national path's core: Lagrangian bounds, reduced-cost fixing and the guided rounds.

On random tiny instances every claim is checked against the brute-force optimum and HiGHS's LP
bound: any multipliers give a bound no higher than the LP's (the best Lagrangian bound is the
LP's value), the LP's is no higher than the optimum, and the optimum no higher than any plan
found; the reduced-cost test never shuts (opens) a column that every better plan needs; the
guided rounds answer a feasible plan with its proven bound.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from selpo.planning import solver
from selpo.planning.bound import fixed_by_reduced_costs, lagrangian_bound, lagrangian_value
from selpo.planning.exact import solve_lp
from selpo.planning.greedy import lazy_greedy
from selpo.planning.location import LocationInstance, open_mask, row_costs, total_cost
from selpo.planning.problem import covering_problem
from selpo.planning.reduce import reduce_instance
from selpo.planning.solver import covering_instance, solve_max_covering
from selpo.planning.synthetic import named_instance
from tests.planning.test_engine import FAST, instances, limits, optimum


def _plans(inst: LocationInstance, k: int) -> list[list[int]]:
    """Every plan of at most k free columns."""
    import itertools

    free = [j for j in range(inst.n_cols) if not inst.forced[j]]
    return [
        list(subset)
        for size in range(min(k, len(free)) + 1)
        for subset in itertools.combinations(free, size)
    ]


@FAST
@given(
    inst=instances(),
    k=st.integers(0, 3),
    use_budget=st.booleans(),
    scale=st.lists(st.floats(0.0, 1.5), min_size=8, max_size=8),
)
def test_any_multipliers_bound_below_the_lp_and_the_optimum(
    inst: LocationInstance, k: int, use_budget: bool, scale: list[float]
) -> None:
    kk, budget = limits(k, use_budget)
    mu = np.asarray(scale[: inst.n_rows]) * inst.weight * inst.fallback
    value, _ = lagrangian_value(inst, mu, k=kk, budget=budget)
    lp = solve_lp(inst, k=kk, budget=budget, time_limit=10, seed=0)
    assert lp is not None
    best = optimum(inst, kk, budget)
    assert value <= lp.bound + 1e-6 <= best + 2e-6


@FAST
@given(inst=instances(), k=st.integers(0, 3), use_budget=st.booleans())
def test_the_ascent_stays_below_the_lp_and_its_average_is_a_fractional_plan(
    inst: LocationInstance, k: int, use_budget: bool
) -> None:
    kk, budget = limits(k, use_budget)
    greedy = lazy_greedy(inst, k=kk, budget=budget)
    ascent = lagrangian_bound(
        inst,
        k=kk,
        budget=budget,
        upper=greedy.cost,
        start=inst.weight * row_costs(inst, open_mask(inst, greedy.order)),
        deadline=time.perf_counter() + 5,
        max_iterations=150,
    )
    lp = solve_lp(inst, k=kk, budget=budget, time_limit=10, seed=0)
    assert lp is not None
    assert ascent.bound <= lp.bound + 1e-6 <= optimum(inst, kk, budget) + 2e-6 <= greedy.cost + 3e-6
    x = ascent.primal
    assert ((x >= -1e-12) & (x <= 1 + 1e-12)).all()
    assert (x[inst.forced] == 1.0).all()
    free = ~inst.forced
    if kk is not None:
        assert x[free].sum() <= kk + 1e-9
    else:
        assert inst.cost[free] @ x[free] <= (budget or 0.0) + 1e-9


@FAST
@given(
    inst=instances(),
    k=st.integers(1, 3),
    scale=st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8),
    pick=st.integers(0, 10_000),
)
def test_reduced_cost_fixing_keeps_every_better_plan(
    inst: LocationInstance, k: int, scale: list[float], pick: int
) -> None:
    plans = _plans(inst, k)
    incumbent = plans[pick % len(plans)]
    upper = total_cost(inst, open_mask(inst, incumbent))
    mu = np.asarray(scale[: inst.n_rows]) * inst.weight * inst.fallback
    fixing = fixed_by_reduced_costs(inst, mu, k=k, upper=upper)
    assert not (fixing.closed & fixing.opened).any()
    assert not (fixing.closed | fixing.opened)[inst.forced].any()
    for plan in plans:
        if total_cost(inst, open_mask(inst, plan)) < upper - 1e-9:
            is_open = np.zeros(inst.n_cols, dtype=np.bool_)
            is_open[plan] = True
            assert not (is_open & fixing.closed).any()
            assert (is_open | ~fixing.opened).all()


@FAST
@given(inst=instances(), k=st.integers(1, 3), use_budget=st.booleans())
def test_guided_rounds_answer_a_feasible_plan_within_their_bound(
    inst: LocationInstance, k: int, use_budget: bool
) -> None:
    covering = LocationInstance.from_pairs(
        weight=inst.weight,
        fallback=np.ones(inst.n_rows),
        row=inst.row_of,
        col=inst.col,
        dist=np.zeros(inst.nnz),
        cost=inst.cost,
        forced=inst.forced,
    )
    kk, budget = limits(k, use_budget)
    greedy = lazy_greedy(covering, k=kk, budget=budget)
    out = solver._guided_rounds(
        covering,
        list(greedy.order),
        greedy.cost,
        greedy.bound,
        "submodular",
        k=kk,
        budget=budget,
        deadline=time.perf_counter() + 10,
        seed=0,
        good_enough=lambda cost, lower: cost - lower <= 1e-9,
        gap_abs=0.0,
    )
    best = optimum(covering, kk, budget)
    assert len(set(out.columns)) == len(out.columns)
    assert not covering.forced[out.columns].any()
    if kk is not None:
        assert len(out.columns) <= kk
    else:
        assert covering.cost[out.columns].sum() <= (budget or 0.0) + 1e-9
    assert out.cost == pytest.approx(total_cost(covering, open_mask(covering, out.columns)))
    assert out.bound <= best + 1e-6 <= out.cost + 2e-6
    assert out.cost <= greedy.cost + 1e-9


def test_the_guided_path_on_a_medium_instance_is_proven_near_its_lp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The 30,000 × 5,000 synthetic instance through the large path: exactly k offices, a
    bound at most the LP's and within a hair of it, a gap well under the national aim."""
    instance = named_instance("medium")
    problem = covering_problem(instance.demand, instance.facilities, radius_m=10_000)
    k = 1_500
    result = solve_max_covering(problem, k=k, method="heuristic", time_limit_s=120)
    assert len(result.chosen) == len({c.index for c in result.chosen}) == k
    assert result.bound_method in {"lagrangian", "submodular", "all-open"}
    assert result.objective <= result.bound
    assert result.gap <= 1e-3
    inst, labels = covering_instance(problem, use_cost=False)
    red = reduce_instance(inst, labels, budget=None)
    lp = solve_lp(red.instance, k=k, budget=None, time_limit=120, seed=0)
    assert lp is not None
    lp_covered = float(problem.demand.weight.sum()) - red.constant - lp.bound
    # The LP's covered weight bounds every plan; ours may only be looser, and barely.
    assert result.objective <= lp_covered + 1e-6 <= result.bound + 1e-6
    assert result.bound - lp_covered <= 1e-4 * lp_covered


@FAST
@given(
    inst=instances(),
    k=st.integers(0, 3),
    use_budget=st.booleans(),
    values=st.lists(st.floats(0.0, 1.0), min_size=6, max_size=6),
)
def test_the_rounded_estimate_never_opens_beyond_the_limit(
    inst: LocationInstance, k: int, use_budget: bool, values: list[float]
) -> None:
    kk, budget = limits(k, use_budget)
    primal = np.asarray(values[: inst.n_cols])
    primal[inst.forced] = 1.0
    rounded = solver._rounded(inst, primal, k=kk, budget=budget)
    ones = (rounded == 1.0) & ~inst.forced
    if kk is not None:
        assert ones.sum() <= kk
    else:
        assert inst.cost[ones].sum() <= (budget or 0.0) + 1e-9
    # Only near-integral values are made integral; the rest are left to the MIP.
    assert ((rounded == primal) | (rounded == 0.0) | (rounded == 1.0) | (rounded == 0.5)).all()
    assert (
        rounded[(primal > solver.GUIDE_ROUNDING) & (primal < 1 - solver.GUIDE_ROUNDING)]
        == primal[(primal > solver.GUIDE_ROUNDING) & (primal < 1 - solver.GUIDE_ROUNDING)]
    ).all()
