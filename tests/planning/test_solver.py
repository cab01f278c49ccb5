"""Maximal covering and the coverage curve against brute force on tiny instances."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from selpo.planning.problem import (
    CoveringProblem,
    CoveringResult,
    DemandPoints,
    Facilities,
    covering_problem,
)
from selpo.planning.solver import coverage_curve, covered_places, solve_max_covering
from selpo.planning.synthetic import named_instance

FAST = settings(max_examples=40, deadline=None)


@dataclass(frozen=True)
class Tiny:
    """A tiny covering instance given by its coverage matrix."""

    cover: np.ndarray  # places × offices, bool
    weight: np.ndarray
    fixed: np.ndarray
    candidate: np.ndarray
    cost: np.ndarray

    def problem(self) -> CoveringProblem:
        n, m = self.cover.shape
        demand = DemandPoints.build(
            ids=np.arange(n), lat=np.full(n, 57.0), lon=np.full(n, 41.0), weight=self.weight
        )
        offices = Facilities.build(
            index=[f"{100000 + j}" for j in range(m)],
            lat=np.full(m, 57.0),
            lon=np.full(m, 41.0),
            fixed=self.fixed,
            candidate=self.candidate,
            cost=self.cost,
        )
        return covering_problem(demand, offices, coverage=sparse.csr_array(self.cover))

    def covered(self, opened: tuple[int, ...] | list[int]) -> float:
        is_open = self.fixed.copy()
        is_open[list(opened)] = True
        return float(self.weight[(self.cover[:, is_open]).any(axis=1)].sum())

    def options(self) -> list[int]:
        return [j for j in range(len(self.fixed)) if self.candidate[j] and not self.fixed[j]]

    def best(self, k: int | None = None, budget: float | None = None) -> float:
        """Brute force: every subset of candidates within the limit."""
        best = self.covered(())
        options = self.options()
        for size in range(1, len(options) + 1):
            for subset in itertools.combinations(options, size):
                if k is not None and size > k:
                    continue
                if budget is not None and self.cost[list(subset)].sum() > budget + 1e-9:
                    continue
                best = max(best, self.covered(subset))
        return best


@st.composite
def tiny_instances(draw: st.DrawFn) -> Tiny:
    n = draw(st.integers(1, 9))
    m = draw(st.integers(1, 7))
    density = draw(st.sampled_from([0.15, 0.3, 0.5]))
    cells = draw(st.lists(st.floats(0, 1), min_size=n * m, max_size=n * m))
    cover = np.array(cells).reshape(n, m) < density
    weight = np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), dtype=float)
    fixed = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m))) & (
        np.array(draw(st.lists(st.floats(0, 1), min_size=m, max_size=m))) < 0.3
    )
    candidate = np.array(draw(st.lists(st.floats(0, 1), min_size=m, max_size=m))) < 0.85
    cost = np.array(draw(st.lists(st.integers(0, 6), min_size=m, max_size=m)), dtype=float)
    return Tiny(cover, weight, fixed, candidate, cost)


def check_plan(tiny: Tiny, result: CoveringResult) -> None:
    """What every plan must satisfy whatever the solver."""
    positions = [c.position for c in result.chosen]
    assert len(set(positions)) == len(positions)
    assert all(tiny.candidate[p] and not tiny.fixed[p] for p in positions)
    assert result.covered_after == pytest.approx(tiny.covered(positions))
    assert result.covered_before == pytest.approx(tiny.covered(()))
    assert result.total_weight == pytest.approx(tiny.weight.sum())
    assert result.bound >= result.objective - 1e-9
    assert sum(c.marginal for c in result.chosen) == pytest.approx(
        result.covered_after - result.covered_before
    )
    if result.k is not None:
        assert len(positions) <= result.k
    if result.budget is not None:
        assert tiny.cost[positions].sum() <= result.budget + 1e-9
        assert result.spent == pytest.approx(tiny.cost[positions].sum())


@FAST
@given(tiny=tiny_instances(), k=st.integers(0, 4), reduce=st.booleans())
def test_exact_matches_brute_force_with_and_without_reductions(
    tiny: Tiny, k: int, reduce: bool
) -> None:
    result = solve_max_covering(tiny.problem(), k=k, method="exact", reduce=reduce)
    check_plan(tiny, result)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(tiny.best(k=k))
    assert result.gap == pytest.approx(0.0, abs=1e-9)


@FAST
@given(tiny=tiny_instances(), budget=st.integers(0, 12))
def test_budget_variant_matches_brute_force_and_respects_the_budget(
    tiny: Tiny, budget: int
) -> None:
    for reduce in (True, False):
        result = solve_max_covering(
            tiny.problem(), budget=float(budget), method="exact", reduce=reduce
        )
        check_plan(tiny, result)
        assert result.objective == pytest.approx(tiny.best(budget=budget))


@FAST
@given(tiny=tiny_instances(), k=st.integers(1, 4), use_budget=st.booleans())
def test_heuristic_is_feasible_never_beats_the_optimum_and_its_bound_holds(
    tiny: Tiny, k: int, use_budget: bool
) -> None:
    limits = {"budget": float(2 * k)} if use_budget else {"k": k}
    result = solve_max_covering(tiny.problem(), method="heuristic", **limits)
    check_plan(tiny, result)
    best = tiny.best(**limits)
    assert result.objective <= best + 1e-9
    assert result.bound >= best - 1e-6
    if result.status == "optimal":
        assert result.objective == pytest.approx(best)


@FAST
@given(tiny=tiny_instances(), k_max=st.integers(0, 5))
def test_curve_is_nested_non_decreasing_and_bounded(tiny: Tiny, k_max: int) -> None:
    curve = coverage_curve(tiny.problem(), k_max=k_max, exact=False)
    points = curve.points
    assert [p.k for p in points] == list(range(k_max + 1))
    assert points[0].covered == pytest.approx(tiny.covered(()))
    order = [int(i) - 100000 for i in curve.greedy_order]
    for point in points:
        best = tiny.best(k=point.k)
        assert point.greedy_covered <= best + 1e-9  # greedy never beats the optimum
        assert point.covered <= best + 1e-9
        assert point.bound >= best - 1e-6
        assert len(curve.plan(point.k)) == point.opened <= point.k
        opened = [int(i) - 100000 for i in curve.plan(point.k)]
        assert tiny.covered(opened) == pytest.approx(point.covered)
        assert point.greedy_covered == pytest.approx(tiny.covered(order[: point.k]))
    covered = [p.covered for p in points]
    assert covered == sorted(covered)
    greedy = [p.greedy_covered for p in points]
    assert greedy == sorted(greedy)


@FAST
@given(tiny=tiny_instances(), k_max=st.integers(0, 4))
def test_exact_curve_points_are_optimal(tiny: Tiny, k_max: int) -> None:
    curve = coverage_curve(tiny.problem(), k_max=k_max, exact=True)
    for point in curve.points:
        assert point.status == "optimal"
        assert point.covered == pytest.approx(tiny.best(k=point.k))
        opened = [int(i) - 100000 for i in curve.plan(point.k)]
        assert tiny.covered(opened) == pytest.approx(point.covered)
    assert curve.exact_points == k_max + 1


def test_exact_beats_or_equals_greedy_on_a_trap() -> None:
    # Greedy takes the big middle office first and then needs two more; two edge offices
    # cover everything.
    cover = np.array(
        [
            [1, 0, 1],
            [1, 0, 1],
            [1, 1, 0],
            [0, 1, 0],
            [0, 1, 0],
            [0, 0, 1],
        ],
        dtype=bool,
    )
    # Office 0 covers 3 places, but offices 1 and 2 together cover all six.
    tiny = Tiny(
        cover=cover,
        weight=np.array([10.0, 10, 10, 9, 9, 9]),
        fixed=np.zeros(3, dtype=bool),
        candidate=np.ones(3, dtype=bool),
        cost=np.ones(3),
    )
    curve = coverage_curve(tiny.problem(), k_max=2, exact=False)
    exact = solve_max_covering(tiny.problem(), k=2, method="exact")
    assert curve.points[2].greedy_covered < exact.objective == pytest.approx(57.0)
    assert curve.points[2].bound >= exact.objective


def test_fixed_offices_stay_and_are_never_chosen() -> None:
    cover = np.eye(4, dtype=bool)
    tiny = Tiny(
        cover=cover,
        weight=np.array([5.0, 50, 40, 30]),
        fixed=np.array([False, True, False, False]),
        candidate=np.array([True, True, True, True]),
        cost=np.ones(4),
    )
    result = solve_max_covering(tiny.problem(), k=2, method="exact")
    assert result.covered_before == 50.0
    assert {c.index for c in result.chosen} == {"100002", "100003"}
    assert result.covered_after == 120.0


def test_twins_are_reported_and_interchangeable() -> None:
    cover = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    tiny = Tiny(
        cover=cover,
        weight=np.array([10.0, 10, 1]),
        fixed=np.zeros(3, dtype=bool),
        candidate=np.ones(3, dtype=bool),
        cost=np.ones(3),
    )
    result = solve_max_covering(tiny.problem(), k=1, method="exact")
    assert result.reduction.candidates_twins == 1
    (chosen,) = result.chosen
    assert chosen.index == "100000"
    assert chosen.twins == ("100001",)
    assert chosen.exclusive == 20.0


def test_budget_keeps_a_cheap_subset_candidate() -> None:
    # Office 1 covers a subset of office 0 but is cheaper: under a budget it must survive.
    cover = np.array([[1, 1], [1, 0]], dtype=bool)
    tiny = Tiny(
        cover=cover,
        weight=np.array([10.0, 1.0]),
        fixed=np.zeros(2, dtype=bool),
        candidate=np.ones(2, dtype=bool),
        cost=np.array([5.0, 1.0]),
    )
    result = solve_max_covering(tiny.problem(), budget=2.0, method="exact")
    assert [c.index for c in result.chosen] == ["100001"]
    assert result.objective == 10.0
    assert result.reduction.candidates_dominated == 0
    cardinality = solve_max_covering(tiny.problem(), k=1, method="exact")
    assert cardinality.reduction.candidates_dominated == 1
    assert cardinality.objective == 11.0


def test_limits_are_checked() -> None:
    tiny = Tiny(
        cover=np.ones((1, 1), dtype=bool),
        weight=np.ones(1),
        fixed=np.zeros(1, dtype=bool),
        candidate=np.ones(1, dtype=bool),
        cost=np.ones(1),
    )
    problem = tiny.problem()
    with pytest.raises(ValueError, match="exactly one"):
        solve_max_covering(problem)
    with pytest.raises(ValueError, match="exactly one"):
        solve_max_covering(problem, k=1, budget=1.0)
    with pytest.raises(ValueError, match="k must be"):
        solve_max_covering(problem, k=-1)
    no_cost = covering_problem(
        problem.demand,
        Facilities.build(index=["100000"], lat=[57.0], lon=[41.0], fixed=[False], candidate=[True]),
        coverage=np.ones((1, 1)),
    )
    with pytest.raises(ValueError, match="cost"):
        solve_max_covering(no_cost, budget=1.0)


@pytest.fixture(scope="module")
def region() -> CoveringProblem:
    instance = named_instance("region")
    return covering_problem(instance.demand, instance.facilities, radius_m=5_000)


def test_region_size_is_proven_optimal_fast_and_heuristics_stay_under_it(
    region: CoveringProblem,
) -> None:
    exact = solve_max_covering(region, k=132, method="exact", seed=1)
    assert exact.status == "optimal"
    assert exact.seconds < 5.0  # typically ~0.05 s; generous for a loaded CI machine
    assert exact.reduction.demand_after < exact.reduction.demand_before
    heuristic = solve_max_covering(region, k=132, method="heuristic")
    assert heuristic.objective <= exact.objective + 1e-9
    assert heuristic.bound >= exact.objective - 1e-6
    assert heuristic.gap < 0.005
    unreduced = solve_max_covering(region, k=132, method="exact", reduce=False)
    assert unreduced.objective == pytest.approx(exact.objective)
    mask = covered_places(region, [c.position for c in exact.chosen])
    assert float(region.demand.weight[mask].sum()) == pytest.approx(exact.covered_after)


def test_same_seed_same_plan(region: CoveringProblem) -> None:
    first = solve_max_covering(region, k=40, method="heuristic", seed=3)
    second = solve_max_covering(region, k=40, method="heuristic", seed=3)
    assert [c.index for c in first.chosen] == [c.index for c in second.chosen]
    assert first.objective == second.objective


def test_region_budget_run(region: CoveringProblem) -> None:
    result = solve_max_covering(region, budget=20_000.0)
    assert result.status == "optimal"
    assert result.spent <= 20_000.0
    cost = region.facilities.cost
    assert cost is not None
    assert result.spent == pytest.approx(sum(cost[c.position] for c in result.chosen))


def test_region_curve_with_exact_points(region: CoveringProblem) -> None:
    curve = coverage_curve(region, k_max=30)
    assert curve.exact_points == 31
    assert all(p.status == "optimal" for p in curve.points)
    covered = [p.covered for p in curve.points]
    assert covered == sorted(covered)
    assert all(p.covered >= p.greedy_covered for p in curve.points)
    single = solve_max_covering(region, k=30, method="exact")
    assert curve.points[30].covered == pytest.approx(single.objective)
