"""Road distances for planning: the seam where an imported road network plugs in.

Until a road network is imported, planning measures a road as the great-circle distance times
the circuity factor ``DEFAULT_CIRCUITY`` (``geometry``: k-d trees over unit vectors, memory
that follows the pairs within reach). A road network comes in as a ``DistanceProvider``
(``selpo.logistics.distance``: road metres for every (from, to) pair, from coordinates): an
OSRM or Valhalla table, or a places × offices matrix derived from OpenStreetMap and imported
beside the region. The functions here turn such a provider's matrix into what the planning
problems take: the covering pattern within a radius (``covering_problem(coverage=...)``), the
allowed pairs of the p-median (``median_problem(distances=...)``) and the distance from each
place to its nearest open office. With no provider they give the great-circle answers, so a
caller never branches on where distances come from. A provider's matrix is dense (places ×
offices of one region: 3,071 × 700 for Ivanovo, 17 MB), which is why a region is the unit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from selpo.logistics.distance import DEFAULT_CIRCUITY, DistanceProvider
from selpo.planning.geometry import nearest_road_distances, unit_vectors
from selpo.planning.problem import DemandPoints, Facilities

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def road_matrix_m(
    demand: DemandPoints, facilities: Facilities, provider: DistanceProvider
) -> FloatArray:
    """Road metres, places (rows) × offices (columns), checked finite and non-negative."""
    matrix = np.asarray(
        provider.matrix_m(demand.lat, demand.lon, facilities.lat, facilities.lon),
        dtype=np.float64,
    )
    if matrix.shape != (len(demand), len(facilities)):
        raise ValueError(f"the road matrix must be places × offices, got {matrix.shape}")
    if np.any(matrix < 0) or np.any(np.isnan(matrix)):
        raise ValueError("road distances must be non-negative numbers (inf: no road)")
    return matrix


def coverage_within(
    demand: DemandPoints, facilities: Facilities, provider: DistanceProvider, radius_m: float
) -> sparse.csr_array:
    """Boolean CSR (places × offices): the office can open and is within ``radius_m`` by road."""
    within = road_matrix_m(demand, facilities, provider) <= radius_m
    within &= facilities.openable[np.newaxis, :]
    return sparse.csr_array(within)


def median_pairs(
    demand: DemandPoints, facilities: Facilities, provider: DistanceProvider, nearest: int
) -> sparse.csr_array:
    """Road metres to each place's ``nearest`` candidates and its nearest fixed office (CSR,
    explicit zeros kept): the allowed pairs of ``median_problem(distances=...)``."""
    matrix = road_matrix_m(demand, facilities, provider)
    n = len(demand)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    candidates = np.flatnonzero(facilities.candidate & ~facilities.fixed)
    fixed = np.flatnonzero(facilities.fixed)
    if len(candidates):
        take = min(nearest, len(candidates))
        part = np.argpartition(matrix[:, candidates], take - 1, axis=1)[:, :take]
        rows.append(np.repeat(np.arange(n), take))
        cols.append(candidates[part].reshape(-1))
    if len(fixed):
        rows.append(np.arange(n))
        cols.append(fixed[np.argmin(matrix[:, fixed], axis=1)])
    if not rows:
        return sparse.csr_array((n, len(facilities)), dtype=np.float64)
    row, col = np.concatenate(rows), np.concatenate(cols)
    values = matrix[row, col]
    usable = np.isfinite(values)
    row, col, values = row[usable], col[usable], values[usable]
    order = np.lexsort((col, row))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=n), out=indptr[1:])
    return sparse.csr_array((values[order], col[order], indptr), shape=(n, len(facilities)))


def nearest_open_m(
    demand: DemandPoints,
    facilities: Facilities,
    is_open: BoolArray,
    provider: DistanceProvider | None = None,
    circuity: float = DEFAULT_CIRCUITY,
) -> FloatArray:
    """Road metres from every place to its nearest open office (``inf`` when none is open)."""
    where = np.flatnonzero(is_open)
    if len(where) == 0:
        return np.full(len(demand), np.inf)
    if provider is not None:
        matrix = road_matrix_m(demand, facilities, provider)
        return np.asarray(matrix[:, where].min(axis=1), dtype=np.float64)
    distance, _ = nearest_road_distances(
        unit_vectors(demand.lat, demand.lon),
        unit_vectors(facilities.lat[where], facilities.lon[where]),
        1,
        circuity,
    )
    return np.asarray(distance[:, 0], dtype=np.float64)
