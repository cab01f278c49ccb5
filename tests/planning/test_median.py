"""p-median against brute force on tiny instances, restricted and unrestricted."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selpo.planning import solver
from selpo.planning.geometry import road_distance_m
from selpo.planning.problem import (
    DemandPoints,
    Facilities,
    MedianProblem,
    MedianResult,
    median_problem,
)
from selpo.planning.solver import solve_p_median
from selpo.planning.synthetic import named_instance

FAST = settings(max_examples=30, deadline=None)


def allowed_pairs(problem: MedianProblem) -> dict[tuple[int, int], float]:
    """The stored (place, office) pairs with their road metres, explicit zeros included."""
    d = problem.distances
    pairs = {}
    for i in range(d.shape[0]):
        for p in range(d.indptr[i], d.indptr[i + 1]):
            pairs[(i, int(d.indices[p]))] = float(d.data[p])
    return pairs


def restricted_cost(problem: MedianProblem, opened: list[int]) -> float:
    """Σ weight × min(fallback, nearest allowed open office): the restricted model by hand."""
    pairs = allowed_pairs(problem)
    is_open = problem.facilities.fixed.copy()
    is_open[opened] = True
    total = 0.0
    for i, w in enumerate(problem.demand.weight):
        best = problem.fallback_m[i]
        for (row, j), d in pairs.items():
            if row == i and is_open[j]:
                best = min(best, d)
        total += w * best
    return total


def true_cost(problem: MedianProblem, opened: list[int]) -> float:
    """Σ weight × road metres to the truly nearest open office."""
    f, demand = problem.facilities, problem.demand
    is_open = f.fixed.copy()
    is_open[opened] = True
    where = np.flatnonzero(is_open)
    if len(where) == 0:
        return float(np.inf) if demand.weight.sum() > 0 else 0.0
    d = road_distance_m(
        demand.lat[:, None], demand.lon[:, None], f.lat[where][None, :], f.lon[where][None, :], 1.3
    )
    return float(demand.weight @ d.min(axis=1))


def options(problem: MedianProblem) -> list[int]:
    f = problem.facilities
    return [j for j in range(len(f)) if f.candidate[j] and not f.fixed[j]]


def brute(problem: MedianProblem, k: int, cost_of: object = restricted_cost) -> float:
    assert callable(cost_of)
    best = np.inf
    choices = options(problem)
    for size in range(0, min(k, len(choices)) + 1):
        for subset in itertools.combinations(choices, size):
            best = min(best, float(cost_of(problem, list(subset))))
    return best


@st.composite
def tiny_medians(draw: st.DrawFn) -> MedianProblem:
    n = draw(st.integers(1, 8))
    m = draw(st.integers(1, 6))
    coords = st.floats(-0.15, 0.15)
    lat = 57.0 + np.array(draw(st.lists(coords, min_size=n + m, max_size=n + m)))
    lon = 41.0 + np.array(draw(st.lists(coords, min_size=n + m, max_size=n + m)))
    weight = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))
    fixed = np.array(draw(st.lists(st.floats(0, 1), min_size=m, max_size=m))) < 0.25
    candidate = np.array(draw(st.lists(st.floats(0, 1), min_size=m, max_size=m))) < 0.9
    demand = DemandPoints.build(ids=np.arange(n), lat=lat[:n], lon=lon[:n], weight=weight)
    offices = Facilities.build(
        index=[f"{200000 + j}" for j in range(m)],
        lat=lat[n:],
        lon=lon[n:],
        fixed=fixed,
        candidate=candidate,
        cost=np.ones(m),
    )
    nearest = draw(st.integers(1, m))
    cap = draw(st.one_of(st.none(), st.floats(1_000, 30_000)))
    return median_problem(demand, offices, nearest=nearest, cap_m=cap)


def check(problem: MedianProblem, result: MedianResult, k: int) -> None:
    positions = [c.position for c in result.chosen]
    f = problem.facilities
    assert len(positions) <= k
    assert all(f.candidate[p] and not f.fixed[p] for p in positions)
    assert result.objective == pytest.approx(restricted_cost(problem, positions))
    assert result.bound <= result.objective + 1e-6
    assert result.objective_before == pytest.approx(restricted_cost(problem, []))
    assert sum(c.marginal for c in result.chosen) == pytest.approx(
        result.objective_before - result.objective, abs=1e-9 * max(1.0, result.objective_before)
    )


@FAST
@given(problem=tiny_medians(), k=st.integers(0, 3), reduce=st.booleans())
def test_exact_matches_brute_force(problem: MedianProblem, k: int, reduce: bool) -> None:
    result = solve_p_median(problem, k=k, method="exact", reduce=reduce)
    check(problem, result, k)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(brute(problem, k), rel=1e-9)


@FAST
@given(problem=tiny_medians(), k=st.integers(1, 3))
def test_heuristic_stays_above_the_optimum_and_its_bound_below(
    problem: MedianProblem, k: int
) -> None:
    result = solve_p_median(problem, k=k, method="heuristic")
    check(problem, result, k)
    best = brute(problem, k)
    assert result.objective >= best - 1e-6
    assert result.bound <= best + 1e-6


@FAST
@given(problem=tiny_medians(), k=st.integers(1, 3))
def test_restricted_bound_is_a_bound_of_the_true_problem(problem: MedianProblem, k: int) -> None:
    result = solve_p_median(problem, k=k, method="exact")
    true_best = brute(problem, k, true_cost)
    assert result.bound <= true_best + 1e-6
    positions = [c.position for c in result.chosen]
    if result.unrestricted_objective is None:  # nothing open at all
        assert not positions
        assert not problem.facilities.fixed.any()
        return
    assert result.unrestricted_objective == pytest.approx(true_cost(problem, positions))
    assert result.unrestricted_objective >= result.objective - 1e-6


def test_all_candidates_allowed_makes_the_model_exact() -> None:
    rng = np.random.default_rng(5)
    n, m = 12, 6
    demand = DemandPoints.build(
        ids=np.arange(n),
        lat=57 + rng.uniform(-0.2, 0.2, n),
        lon=41 + rng.uniform(-0.2, 0.2, n),
        weight=rng.integers(1, 100, n),
    )
    offices = Facilities.build(
        index=[f"{300000 + j}" for j in range(m)],
        lat=57 + rng.uniform(-0.2, 0.2, m),
        lon=41 + rng.uniform(-0.2, 0.2, m),
        fixed=[True, False, False, False, False, False],
        candidate=[False, True, True, True, True, True],
    )
    problem = median_problem(demand, offices, nearest=m)
    for k in range(4):
        result = solve_p_median(problem, k=k, method="exact")
        assert result.objective == pytest.approx(brute(problem, k, true_cost))
        assert result.unrestricted_objective == pytest.approx(result.objective)


def test_precomputed_distances_keep_explicit_zeros() -> None:
    from scipy import sparse

    demand = DemandPoints.build(ids=[1, 2], lat=[57.0, 57.1], lon=[41.0, 41.1], weight=[10, 5])
    offices = Facilities.build(
        index=["111111", "222222"],
        lat=[57.0, 57.1],
        lon=[41.0, 41.1],
        fixed=[False, False],
        candidate=[True, True],
    )
    rows, cols = np.array([0, 0, 1]), np.array([0, 1, 1])
    distances = sparse.coo_array((np.array([0.0, 900.0, 0.0]), (rows, cols)), shape=(2, 2))
    problem = median_problem(demand, offices, distances=distances, unserved_m=10_000)
    result = solve_p_median(problem, k=1, method="exact")
    # Office 222222 serves place 2 at 0 m and place 1 at 900 m: 9,000 < 50,000.
    assert [c.index for c in result.chosen] == ["222222"]
    assert result.objective == pytest.approx(9_000.0)
    assert result.unrestricted_objective is None


def test_region_p_median_is_proven() -> None:
    instance = named_instance("region")
    problem = median_problem(instance.demand, instance.facilities, nearest=8)
    result = solve_p_median(problem, k=20, time_limit_s=20)
    assert result.gap < 1e-3
    assert result.objective < result.objective_before
    assert result.mean_distance_m == pytest.approx(result.objective / result.total_weight)
    assert result.unrestricted_objective is not None
    assert result.unrestricted_objective >= result.objective - 1e-6


def test_lagrangian_path_stops_at_the_tolerance(monkeypatch: pytest.MonkeyPatch) -> None:
    instance = named_instance("region")
    problem = median_problem(instance.demand, instance.facilities, nearest=6)
    proven = solve_p_median(problem, k=15, time_limit_s=20)
    assert proven.status == "optimal"
    # Pretend the LP is too big: the Lagrangian rounds must bound and plan on their own.
    monkeypatch.setattr(solver, "LP_NONZEROS_MEDIAN", 0)
    result = solve_p_median(problem, k=15, method="heuristic", gap_tolerance=1e-3)
    assert result.bound_method == "lagrangian"
    assert result.gap <= 1e-3
    assert result.bound <= proven.objective + 1e-6
    assert result.objective >= proven.objective - 1e-6
