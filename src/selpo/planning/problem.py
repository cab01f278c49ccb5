"""Network planning: the data model and results (the pure core's public API).

Which post offices to connect next so that the most people have a pickup point nearby. The
core is pure (numpy, scipy, highspy; no database, no web): a service loads places and offices,
builds a problem here, calls a solver from ``selpo.planning.solver`` and stores or renders the
result.

Using it from a service::

    from selpo.planning.problem import DemandPoints, Facilities, covering_problem, median_problem
    from selpo.planning.solver import (
        coverage_curve, covered_places, solve_max_covering, solve_p_median,
    )

    demand = DemandPoints.build(ids=place_ids, lat=lats, lon=lons, weight=populations)
    offices = Facilities.build(
        index=office_indexes,            # "153000", ...
        lat=office_lats, lon=office_lons,
        fixed=is_connected,              # connected already: stays open, counted as covering
        candidate=may_connect,           # may be opened; neither flag = ignored (closed, ...)
        cost=modernisation_cost,         # optional, only for budget runs
    )
    problem = covering_problem(demand, offices, radius_m=5_000)   # or coverage=<CSR matrix>
    result = solve_max_covering(problem, k=132, time_limit_s=10)  # or budget=...
    result.covered_after, result.gap, [c.index for c in result.chosen]

    curve = coverage_curve(problem, k_max=132)                    # k = 0..132 in one run
    curve.points[40].covered, curve.points[40].bound, curve.plan(40)
    median = solve_p_median(median_problem(demand, offices, nearest=10), k=20)
    covered_places(problem, [c.position for c in result.chosen])  # mask over places

The solvers take ``method`` ("auto" | "exact" | "heuristic"), ``time_limit_s``, ``seed`` and
``reduce`` (turn the exact reductions off, for checking). Everything returned is a frozen
dataclass of plain values (floats, ints, strings, tuples, ``ReductionStats``), so
``dataclasses.asdict`` gives JSON. Positions (``ChosenFacility.position``) index the arrays
the problem was built from; ``index`` is the office's postal index. Inputs are checked when
built (``ValueError`` with the reason): a service turns that into its own domain error.
The method behind all this (model, reductions, bounds, how to read a gap): docs/planning.md.

Distances. Without a road network, road distance = great-circle distance × ``circuity``
(default 1.3, ``DEFAULT_CIRCUITY``: the house's one circuity factor, defined in
``selpo.logistics.distance`` and re-exported by ``geometry``). A road network plugs in through
``covering_problem(coverage=...)`` (a scipy sparse matrix, places × offices, non-zero = the
office is within the radius by road) and ``median_problem(distances=...)`` (sparse road
metres; the stored entries are the allowed pairs, explicit zeros included); ``roads`` builds
both from a ``DistanceProvider``.

Objectives, bounds and gaps. Covering maximises covered weight; ``objective`` and ``bound``
are covered weights (fixed offices' coverage included) and ``gap = (bound − objective) /
bound``. The p-median minimises Σ population × road metres to the nearest open office;
``bound`` is a lower bound and ``gap = (objective − bound) / objective``. ``status`` is
"optimal" when the gap is proven closed (HiGHS's MIP within a relative 1e-7, or a heuristic
that met its bound), else "feasible".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

from selpo.planning.geometry import (
    DEFAULT_CIRCUITY,
    EARTH_RADIUS_M,
    coverage_pattern,
    nearest_road_distances,
    unit_vectors,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

Status = Literal["optimal", "feasible"]
Method = Literal["auto", "exact", "heuristic"]

# Charged to a place no allowed office can ever serve (no fixed office, no cap): farther than
# any road on Earth, so such places dominate the objective instead of vanishing from it.
UNSERVED_DEFAULT_M = np.pi * EARTH_RADIUS_M * 2.0


def _float_array(values: ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def _check_coordinates(lat: FloatArray, lon: FloatArray) -> None:
    if np.any(np.abs(lat) > 90.0) or np.any(np.abs(lon) > 180.0):
        raise ValueError("latitudes must lie in [-90, 90] and longitudes in [-180, 180]")


@dataclass(frozen=True, eq=False)
class DemandPoints:
    """Places where people live: id, position (degrees, WGS 84) and weight (population)."""

    ids: IntArray
    lat: FloatArray
    lon: FloatArray
    weight: FloatArray

    @classmethod
    def build(
        cls, *, ids: ArrayLike, lat: ArrayLike, lon: ArrayLike, weight: ArrayLike
    ) -> DemandPoints:
        """Check and convert columns of equal length (weights ≥ 0)."""
        id_array = np.asarray(ids, dtype=np.int64).reshape(-1)
        lat_a, lon_a = _float_array(lat, "lat"), _float_array(lon, "lon")
        w = _float_array(weight, "weight")
        if not len(id_array) == len(lat_a) == len(lon_a) == len(w):
            raise ValueError("ids, lat, lon and weight must have the same length")
        _check_coordinates(lat_a, lon_a)
        if np.any(w < 0):
            raise ValueError("weights must be non-negative")
        return cls(ids=id_array, lat=lat_a, lon=lon_a, weight=w)

    def __len__(self) -> int:
        return len(self.weight)


@dataclass(frozen=True, eq=False)
class Facilities:
    """Post offices: postal index, position, fixed (open, stays) / candidate, optional cost."""

    index: tuple[str, ...]
    lat: FloatArray
    lon: FloatArray
    fixed: BoolArray
    candidate: BoolArray
    cost: FloatArray | None = None

    @classmethod
    def build(
        cls,
        *,
        index: Sequence[str],
        lat: ArrayLike,
        lon: ArrayLike,
        fixed: ArrayLike,
        candidate: ArrayLike,
        cost: ArrayLike | None = None,
    ) -> Facilities:
        """Check and convert columns of equal length; indexes must be unique 6-digit strings."""
        names = tuple(str(i) for i in index)
        lat_a, lon_a = _float_array(lat, "lat"), _float_array(lon, "lon")
        fixed_a = np.asarray(fixed, dtype=np.bool_).reshape(-1)
        candidate_a = np.asarray(candidate, dtype=np.bool_).reshape(-1)
        if not len(names) == len(lat_a) == len(lon_a) == len(fixed_a) == len(candidate_a):
            raise ValueError("index, lat, lon, fixed and candidate must have the same length")
        bad = [n for n in names if len(n) != 6 or not n.isdigit()]
        if bad:
            raise ValueError(f"postal indexes are 6 digits: {bad[:3]}")
        if len(set(names)) != len(names):
            raise ValueError("postal indexes must be unique")
        _check_coordinates(lat_a, lon_a)
        cost_a = None
        if cost is not None:
            cost_a = _float_array(cost, "cost")
            if len(cost_a) != len(names) or np.any(cost_a < 0):
                raise ValueError("cost must give a non-negative figure per facility")
        return cls(
            index=names, lat=lat_a, lon=lon_a, fixed=fixed_a, candidate=candidate_a, cost=cost_a
        )

    def __len__(self) -> int:
        return len(self.index)

    @property
    def openable(self) -> BoolArray:
        """Facilities that are or may become open (fixed or candidate)."""
        return self.fixed | self.candidate


@dataclass(frozen=True, eq=False)
class CoveringProblem:
    """Maximal covering: which places each office covers (CSR, places × offices, boolean)."""

    demand: DemandPoints
    facilities: Facilities
    coverage: sparse.csr_array
    radius_m: float | None
    circuity: float | None


@dataclass(frozen=True, eq=False)
class MedianProblem:
    """p-median restricted to each place's nearest offices (CSR road metres) plus a fallback.

    ``distances`` holds, per place, the offices it may use (explicit entries, zeros included):
    its ``nearest`` candidates within ``cap_m`` and its nearest fixed office. ``fallback_m``
    is what a place is charged when none of them is open: a lower bound on the distance to any
    candidate it may not use (its (L+1)-th nearest, or the cap), or ``unserved_m`` when there
    is none. So the restricted cost of any choice never exceeds its true cost, and a lower
    bound of the restricted problem is a lower bound of the unrestricted one.
    """

    demand: DemandPoints
    facilities: Facilities
    distances: sparse.csr_array
    fallback_m: FloatArray
    nearest: int | None
    cap_m: float | None
    circuity: float | None


def covering_problem(
    demand: DemandPoints,
    facilities: Facilities,
    *,
    radius_m: float | None = None,
    circuity: float = DEFAULT_CIRCUITY,
    coverage: sparse.sparray | sparse.spmatrix | None = None,
) -> CoveringProblem:
    """Coverage within ``radius_m`` road metres (k-d tree), or a precomputed sparse matrix."""
    if (radius_m is None) == (coverage is None):
        raise ValueError("give either radius_m or coverage")
    shape = (len(demand), len(facilities))
    if coverage is not None:
        matrix = sparse.csr_array(coverage)
        if matrix.shape != shape:
            raise ValueError(f"coverage must be places × offices {shape}, got {matrix.shape}")
        matrix = sparse.csr_array(matrix != 0)
        matrix.sort_indices()
        return CoveringProblem(demand, facilities, matrix, None, None)
    if radius_m is None or radius_m < 0 or circuity < 1.0:
        raise ValueError("radius_m must be ≥ 0 and circuity ≥ 1")
    openable = np.flatnonzero(facilities.openable)
    pattern = coverage_pattern(
        unit_vectors(demand.lat, demand.lon),
        unit_vectors(facilities.lat[openable], facilities.lon[openable]),
        float(radius_m),
        circuity,
    )
    # Back to all facility positions: offices that can never open cover nobody.
    matrix = sparse.csr_array(
        (pattern.data, openable[pattern.indices], pattern.indptr), shape=shape
    )
    matrix.sort_indices()
    return CoveringProblem(demand, facilities, matrix, float(radius_m), circuity)


def median_problem(
    demand: DemandPoints,
    facilities: Facilities,
    *,
    nearest: int = 10,
    cap_m: float | None = None,
    circuity: float = DEFAULT_CIRCUITY,
    unserved_m: float = UNSERVED_DEFAULT_M,
    distances: sparse.sparray | sparse.spmatrix | None = None,
) -> MedianProblem:
    """Each place may use its ``nearest`` candidates within ``cap_m`` and its nearest fixed office.

    With ``distances`` (sparse road metres, places × offices) the stored entries are the
    allowed pairs instead and a place none of whose entries is open is charged ``unserved_m``.
    """
    n, m = len(demand), len(facilities)
    if distances is not None:
        return _median_from_matrix(demand, facilities, distances, unserved_m)
    if nearest < 1 or circuity < 1.0:
        raise ValueError("nearest must be ≥ 1 and circuity ≥ 1")
    xyz = unit_vectors(demand.lat, demand.lon)
    fixed = np.flatnonzero(facilities.fixed)
    candidates = np.flatnonzero(facilities.candidate & ~facilities.fixed)
    fixed_d, fixed_pos = nearest_road_distances(
        xyz, unit_vectors(facilities.lat[fixed], facilities.lon[fixed]), 1, circuity
    )
    cand_d, cand_pos = nearest_road_distances(
        xyz,
        unit_vectors(facilities.lat[candidates], facilities.lon[candidates]),
        nearest + 1,
        circuity,
        cap_m,
    )
    # Any candidate a place may not use is at least as far as its (L+1)-th nearest (or the cap).
    beyond = cand_d[:, nearest]
    if cap_m is not None:
        beyond = np.minimum(beyond, cap_m)
    fallback = np.where(np.isfinite(beyond), beyond, unserved_m)
    allowed_d, allowed_pos = cand_d[:, :nearest], cand_pos[:, :nearest]
    keep = allowed_pos >= 0
    has_fixed = fixed_pos[:, 0] >= 0
    rows = np.concatenate((np.repeat(np.arange(n), keep.sum(axis=1)), np.flatnonzero(has_fixed)))
    cols = np.concatenate((candidates[allowed_pos[keep]], fixed[fixed_pos[has_fixed, 0]]))
    values = np.concatenate((allowed_d[keep], fixed_d[has_fixed, 0]))
    matrix = _csr_keep_zeros(rows, cols, values, (n, m))
    return MedianProblem(demand, facilities, matrix, fallback, nearest, cap_m, circuity)


def _csr_keep_zeros(
    rows: IntArray, cols: IntArray, values: FloatArray, shape: tuple[int, int]
) -> sparse.csr_array:
    """CSR built straight from sorted triples so that explicit zero distances survive."""
    order = np.lexsort((cols, rows))
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sparse.csr_array((values[order], cols[order], indptr), shape=shape)


def _median_from_matrix(
    demand: DemandPoints,
    facilities: Facilities,
    distances: sparse.sparray | sparse.spmatrix,
    unserved_m: float,
) -> MedianProblem:
    coo = sparse.coo_array(distances)
    shape = (len(demand), len(facilities))
    if coo.shape != shape:
        raise ValueError(f"distances must be places × offices {shape}, got {coo.shape}")
    rows = np.asarray(coo.row, dtype=np.int64)
    cols = np.asarray(coo.col, dtype=np.int64)
    values = np.asarray(coo.data, dtype=np.float64)
    if np.any(values < 0) or not np.all(np.isfinite(values)):
        raise ValueError("distances must be finite and non-negative")
    usable = facilities.openable[cols]
    fallback = np.full(len(demand), float(unserved_m))
    matrix = _csr_keep_zeros(rows[usable], cols[usable], values[usable], shape)
    return MedianProblem(demand, facilities, matrix, fallback, None, None, None)


@dataclass(frozen=True)
class ChosenFacility:
    """An office the plan opens, with what it brings.

    ``marginal``: in the order listed, what this office adds on top of the fixed offices and
    those listed before it (covering: weight newly covered; p-median: reduction of weighted
    road metres). The marginals sum to the plan's total improvement. ``exclusive``: what is
    lost if this office alone is dropped from the plan (covering: weight no other open office
    covers). ``twins``: offices covering exactly the same not-yet-covered places (or at the
    same distances), interchangeable with this one at no loss.
    """

    position: int
    index: str
    marginal: float
    exclusive: float
    cost: float | None
    twins: tuple[str, ...]


@dataclass(frozen=True)
class ReductionStats:
    """Sizes before and after the exact reductions, and what each removed."""

    demand_before: int
    demand_after: int
    candidates_before: int
    candidates_after: int
    demand_settled_by_fixed: int
    demand_unreachable: int
    demand_zero_weight: int
    demand_aggregated: int
    candidates_useless: int
    candidates_twins: int
    candidates_dominated: int
    candidates_unaffordable: int
    seconds: float


@dataclass(frozen=True)
class CoveringResult:
    """A maximal-covering plan: what it opens, what it covers, how far from optimal at most."""

    status: Status
    method: str
    bound_method: str
    objective: float
    bound: float
    gap: float
    seconds: float
    chosen: tuple[ChosenFacility, ...]
    covered_before: float
    covered_after: float
    total_weight: float
    k: int | None
    budget: float | None
    spent: float
    reduction: ReductionStats

    @property
    def added(self) -> float:
        """Weight covered thanks to the chosen offices."""
        return self.covered_after - self.covered_before

    @property
    def gap_on_added(self) -> float:
        """Gap measured against what the plan can add (stricter than ``gap``)."""
        room = self.bound - self.covered_before
        return 0.0 if room <= 0 else (self.bound - self.objective) / room


@dataclass(frozen=True)
class MedianResult:
    """A p-median plan: weighted road metres to the nearest open office (restricted model)."""

    status: Status
    method: str
    bound_method: str
    objective: float
    bound: float
    gap: float
    seconds: float
    chosen: tuple[ChosenFacility, ...]
    objective_before: float
    total_weight: float
    mean_distance_m: float
    unrestricted_objective: float | None
    k: int | None
    budget: float | None
    spent: float
    reduction: ReductionStats


@dataclass(frozen=True)
class CurvePoint:
    """Covered weight with k more offices: best known, a proven upper bound, and the greedy.

    The best known plan opens ``opened`` (≤ k) offices: the first ``opened`` of the curve's
    ``greedy_order`` when ``facilities`` is None (nested plans, stored once), else the listed
    ones (an optimal or LP-guided plan for this k, not nested).
    """

    k: int
    covered: float
    bound: float
    status: Status
    greedy_covered: float
    opened: int
    facilities: tuple[str, ...] | None


@dataclass(frozen=True)
class CoverageCurve:
    """Covered weight for k = 0..K; ``greedy_order`` is the nested sequence behind it."""

    points: tuple[CurvePoint, ...]
    greedy_order: tuple[str, ...]
    covered_before: float
    total_weight: float
    seconds: float
    exact_points: int
    reduction: ReductionStats

    def plan(self, k: int) -> tuple[str, ...]:
        """Postal indexes of the best known plan with k more offices."""
        point = self.points[k]
        if point.facilities is not None:
            return point.facilities
        return self.greedy_order[: point.opened]
