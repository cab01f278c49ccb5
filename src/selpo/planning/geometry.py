"""Road-distance estimates and spatial queries for planning, over plain numpy arrays.

Road distance is estimated as the great-circle distance times a circuity factor,
``DEFAULT_CIRCUITY``: the one named constant of the house (``selpo.logistics.distance``, where
its derivation is written; 1.3, rural roads in central Russia run about 30 % longer than the
straight line), used alike by logistics, planning and the simulation until a road network is
imported (docs/planning.md, "Distances").
Spatial queries use a k-d tree over 3-D unit vectors: on the unit sphere the chord between two
points grows monotonically with the arc, so a radius in metres along the ground becomes an
exact chord radius and no pair is missed or wrongly admitted near the poles or the
antimeridian, as it would be with a tree over raw latitude and longitude.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.spatial import cKDTree

from selpo.logistics.distance import DEFAULT_CIRCUITY

__all__ = [
    "DEFAULT_CIRCUITY",
    "EARTH_RADIUS_M",
    "chord_for_road_distance",
    "coverage_pattern",
    "nearest_road_distances",
    "road_distance_from_chord",
    "road_distance_m",
    "unit_vectors",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG), metres."""

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def unit_vectors(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Points on the unit sphere (n × 3) for latitudes and longitudes in degrees."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


def chord_for_road_distance(road_m: float, circuity: float) -> float:
    """Chord on the unit sphere equivalent to ``road_m`` metres of road."""
    arc = road_m / (circuity * EARTH_RADIUS_M)
    if arc >= np.pi:
        return 2.0
    return float(2.0 * np.sin(arc / 2.0))


def road_distance_from_chord(chord: FloatArray, circuity: float) -> FloatArray:
    """Road metres for chords on the unit sphere (inverse of ``chord_for_road_distance``)."""
    half = np.clip(np.asarray(chord, dtype=np.float64) / 2.0, 0.0, 1.0)
    return np.asarray(2.0 * np.arcsin(half) * EARTH_RADIUS_M * circuity, dtype=np.float64)


def road_distance_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray, circuity: float
) -> FloatArray:
    """Estimated road metres between paired points (haversine × circuity)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2.0) ** 2
    arc = 2.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return np.asarray(arc * EARTH_RADIUS_M * circuity, dtype=np.float64)


def coverage_pattern(
    demand_xyz: FloatArray, facility_xyz: FloatArray, radius_m: float, circuity: float
) -> sparse.csr_array:
    """Boolean CSR (demand × facility): True where the facility is within ``radius_m`` by road.

    Only pairs found by the tree are materialised, so memory follows the number of covering
    pairs, never demand × facilities.
    """
    n, m = len(demand_xyz), len(facility_xyz)
    if n == 0 or m == 0:
        return sparse.csr_array((n, m), dtype=np.bool_)
    tree = cKDTree(facility_xyz)
    # A hair over the chord so a pair sitting exactly on the radius is not lost to rounding.
    chord = chord_for_road_distance(radius_m, circuity) * (1.0 + 1e-12)
    hits = tree.query_ball_point(demand_xyz, chord, workers=-1, return_sorted=True)
    lengths = np.fromiter((len(h) for h in hits), dtype=np.int64, count=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(indptr[-1]))
    data = np.ones(len(indices), dtype=np.bool_)
    return sparse.csr_array((data, indices, indptr), shape=(n, m))


def nearest_road_distances(
    demand_xyz: FloatArray,
    facility_xyz: FloatArray,
    count: int,
    circuity: float,
    cap_m: float | None = None,
) -> tuple[FloatArray, IntArray]:
    """The ``count`` nearest facilities of every demand point: road metres and positions.

    Missing neighbours (fewer facilities, or beyond ``cap_m``) have distance ``inf`` and
    position -1. Rows are sorted by distance.
    """
    n, m = len(demand_xyz), len(facility_xyz)
    if count <= 0 or n == 0 or m == 0:
        return np.full((n, max(count, 0)), np.inf), np.full((n, max(count, 0)), -1, np.int64)
    tree = cKDTree(facility_xyz)
    upper = np.inf if cap_m is None else chord_for_road_distance(cap_m, circuity) * (1 + 1e-12)
    chord, where = tree.query(demand_xyz, k=count, distance_upper_bound=upper, workers=-1)
    chord = np.asarray(chord, dtype=np.float64).reshape(n, count)
    where = np.asarray(where, dtype=np.int64).reshape(n, count)
    missing = ~np.isfinite(chord)
    distance = road_distance_from_chord(np.where(missing, 0.0, chord), circuity)
    distance[missing] = np.inf
    where[missing] = -1
    return distance, where
