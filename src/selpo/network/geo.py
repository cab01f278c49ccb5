"""Great-circle distances and the pickup-point spatial index: pure numpy/scipy, no I/O.

The index (``PointIndex``) is a k-d tree (scipy ``cKDTree``) over 3-D unit vectors, not over
raw latitude/longitude, so it is valid anywhere on Earth: at the poles, across the
antimeridian, with longitudes given as 179.9 or -180.1. Straight-line (chord) distance between
unit vectors is monotone in the great-circle angle θ (chord = 2·sin(θ/2)), so the tree's
nearest neighbours are the great-circle nearest ones.

Answers are defined by the brute-force reference (``nearest_brute_force``): every point with a
haversine distance ``<= radius_m`` that passes the mask, nearest first, equal distances in
position order. The index reproduces that exactly (same positions, same order, bit-identical
distances), because

* the tree only proposes candidates; it is queried with a slightly inflated chord
  (``_ANGLE_SLACK_RAD``) so rounding can never drop a point the haversine would keep;
* the reported distance is the haversine of the same arrays with the same helper
  (``_haversine_rad``) the brute force uses, and inclusion is decided on it;
* a result is accepted only once every point that could rank at or before the last one
  returned is provably among the candidates; otherwise more neighbours are fetched.

Filtered queries (``mask``: e.g. open offices serving a marketplace that fit the parcel) stay
fast without a tree per filter: the tree is asked for ``k`` neighbours, ``k`` sized from the
share of points the mask lets through, and ``k`` doubles until ``limit`` survivors are
provably the nearest or the radius is exhausted. Once ``k`` would pass 512 (a filter few
points pass, or hundreds of offices geocoded to one town centre), one ball query over the
whole radius finishes that query instead, exact by construction and never much slower than
the brute force. A single query (``nearest``) that already has ``limit`` hits but cannot
prove the last place (ties) takes one ball query to the last hit's distance rather than
doubling; a batch keeps doubling, which stays vectorised. A filter that is both static and
very selective (a few per cent of points) is better served by a separate ``PointIndex`` over
just those points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

FloatArray = NDArray[np.float64]
PositionArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

EARTH_RADIUS_M: Final[float] = 6_371_008.8
"""Mean Earth radius (IUGG R1), metres."""

# Rounding headroom for candidate selection, in radians of arc (~6.4 m on Earth). Haversine
# loses about half its digits near the antipode (asin close to 1: ~3e-8 rad of error), and the
# chord from unit vectors carries ~1e-16 of its own; 1e-6 rad covers both with a wide margin.
# It only widens the set of candidates; inclusion is always decided by the haversine itself.
_ANGLE_SLACK_RAD: Final[float] = 1e-6
_CHORD_SLACK: Final[float] = 1e-12
# First round asks for 1.25 neighbours per survivor wanted (and at least limit + 1, one more
# than needed, to prove nothing unseen ties the last): on the national benchmark a tighter
# first round plus the occasional second beats asking for 2x up front.
_INITIAL_FACTOR: Final[float] = 1.25
# Past this many neighbours, one ball query over the radius is cheaper than doubling k again
# (a network this small just takes k = all of it).
_MAX_TREE_K: Final[int] = 512
# A batch round handles at most this many (query, neighbour) pairs at once, so the 2-D
# temporaries stay around 10 MB each whatever the batch size and k.
_ROUND_PAIRS: Final[int] = 1 << 20


class Neighbours(NamedTuple):
    """Points found for one query, nearest first: positions in the indexed arrays, metres."""

    positions: PositionArray
    distances_m: FloatArray


@dataclass(frozen=True)
class NeighbourBatch:
    """Points found for many queries; row ``i`` holds ``counts[i]`` hits, then padding.

    ``positions`` is padded with -1 and ``distances_m`` with ``inf`` past each row's count.
    """

    positions: PositionArray
    distances_m: FloatArray
    counts: PositionArray

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    def row(self, i: int) -> Neighbours:
        """The hits of query ``i`` without padding."""
        count = int(self.counts[i])
        return Neighbours(self.positions[i, :count], self.distances_m[i, :count])


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2.0
    half_dlambda = (math.radians(lon2) - math.radians(lon1)) / 2.0
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    # min() guards against a hair above 1 from rounding near the antipode.
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(a, 1.0)))


def haversine_m_array(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> FloatArray:
    """Vectorised ``haversine_m``: great-circle metres between broadcast arrays of degrees."""
    lat1_rad = np.radians(np.asarray(lat1, dtype=np.float64))
    lat2_rad = np.radians(np.asarray(lat2, dtype=np.float64))
    return _haversine_rad(
        lat1_rad,
        np.radians(np.asarray(lon1, dtype=np.float64)),
        np.cos(lat1_rad),
        lat2_rad,
        np.radians(np.asarray(lon2, dtype=np.float64)),
        np.cos(lat2_rad),
    )


def _haversine_rad(
    lat1: FloatArray,
    lon1: FloatArray,
    cos_lat1: FloatArray,
    lat2: FloatArray,
    lon2: FloatArray,
    cos_lat2: FloatArray,
) -> FloatArray:
    # The one haversine both the index and the brute force use: numpy ufuncs give the same
    # bits for the same element whatever the array shape, so both agree to the last bit.
    a = np.sin((lat2 - lat1) * 0.5) ** 2 + cos_lat1 * cos_lat2 * np.sin((lon2 - lon1) * 0.5) ** 2
    result: FloatArray = (2.0 * EARTH_RADIUS_M) * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return result


def chord_for_distance(distance_m: ArrayLike) -> FloatArray:
    """Straight-line distance on the unit sphere for a great-circle distance: 2·sin(θ/2)."""
    theta = np.minimum(np.asarray(distance_m, dtype=np.float64) / EARTH_RADIUS_M, np.pi)
    result: FloatArray = 2.0 * np.sin(theta * 0.5)
    return result


def _candidate_chord(distance_m: ArrayLike) -> FloatArray:
    # A chord no point within ``distance_m`` (as the haversine rounds it) can exceed.
    theta = np.asarray(distance_m, dtype=np.float64) / EARTH_RADIUS_M + _ANGLE_SLACK_RAD
    chord = 2.0 * np.sin(np.minimum(theta, np.pi) * 0.5)
    result: FloatArray = chord * (1.0 + _CHORD_SLACK) + _CHORD_SLACK
    return result


def _candidate_chord_scalar(distance_m: float) -> float:
    # _candidate_chord for one distance, without numpy's per-call overhead.
    theta = min(distance_m / EARTH_RADIUS_M + _ANGLE_SLACK_RAD, math.pi)
    return 2.0 * math.sin(theta * 0.5) * (1.0 + _CHORD_SLACK) + _CHORD_SLACK


def unit_vectors(lat_deg: ArrayLike, lon_deg: ArrayLike) -> FloatArray:
    """Points on the unit sphere (x, y, z) for arrays of latitude and longitude in degrees."""
    lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=-1)


def _coordinates(
    lat_deg: ArrayLike, lon_deg: ArrayLike, what: str
) -> tuple[FloatArray, FloatArray]:
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    if lat.ndim != 1 or lat.shape != lon.shape:
        raise ValueError(f"{what}: latitudes and longitudes must be 1-D arrays of equal length")
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise ValueError(f"{what}: coordinates must be finite numbers")
    if np.any(np.abs(lat) > 90.0):
        raise ValueError(f"{what}: latitude must be between -90 and 90")
    return lat, lon


def _check_request(radius_m: float, limit: int) -> None:
    if not radius_m >= 0.0:  # also rejects NaN
        raise ValueError("radius_m must be a non-negative number of metres")
    if limit < 0:
        raise ValueError("limit must not be negative")


def _check_mask(mask: BoolArray | None, size: int) -> BoolArray | None:
    if mask is None:
        return None
    checked = np.asarray(mask)
    if checked.dtype != np.bool_ or checked.shape != (size,):
        raise ValueError(f"mask must be a boolean array of shape ({size},)")
    return checked


def _ranked(distances: FloatArray, positions: PositionArray, limit: int) -> Neighbours:
    # Nearest first; equal distances (duplicate coordinates) in position order.
    order = np.lexsort((positions, distances))[:limit]
    return Neighbours(positions[order], distances[order])


def nearest_brute_force(
    lat_deg: ArrayLike,
    lon_deg: ArrayLike,
    query_lat: float,
    query_lon: float,
    *,
    radius_m: float,
    limit: int,
    mask: BoolArray | None = None,
) -> Neighbours:
    """Reference search: haversine to every point, keep ``<= radius_m`` and mask, sort."""
    lat, lon = _coordinates(lat_deg, lon_deg, "points")
    q_lat, q_lon = _coordinates([query_lat], [query_lon], "query")
    _check_request(radius_m, limit)
    checked_mask = _check_mask(mask, lat.shape[0])
    lat_rad, q_lat_rad = np.radians(lat), np.radians(q_lat)
    distances = _haversine_rad(
        q_lat_rad, np.radians(q_lon), np.cos(q_lat_rad), lat_rad, np.radians(lon), np.cos(lat_rad)
    )
    keep = distances <= radius_m
    if checked_mask is not None:
        keep &= checked_mask
    positions = np.flatnonzero(keep).astype(np.intp)
    return _ranked(distances[positions], positions, limit)


@dataclass(frozen=True)
class _QueryRows:
    # Query points with the terms every round needs, computed once per batch.
    lat_rad: FloatArray
    lon_rad: FloatArray
    cos_lat: FloatArray
    xyz: FloatArray


class PointIndex:
    """Nearest points within a radius, exact and deterministic; built once per data version.

    Positions returned index the arrays the index was built from. Build cost is
    O(n log n); a query costs a tree lookup plus a haversine over a few dozen candidates.
    """

    def __init__(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> None:
        lat, lon = _coordinates(lat_deg, lon_deg, "points")
        self._size = int(lat.shape[0])
        self._lat_rad = np.radians(lat)
        self._lon_rad = np.radians(lon)
        self._cos_lat = np.cos(self._lat_rad)
        # Sliding-midpoint splits (balanced_tree=False) build ~30 % faster than median splits
        # and query as fast on the national network; compact nodes query slightly faster.
        self._tree = cKDTree(unit_vectors(lat, lon), balanced_tree=False, compact_nodes=True)

    def __len__(self) -> int:
        return self._size

    def nearest(
        self,
        lat: float,
        lon: float,
        *,
        radius_m: float,
        limit: int,
        mask: BoolArray | None = None,
    ) -> Neighbours:
        """Up to ``limit`` points within ``radius_m`` passing ``mask``, as the brute force has."""
        # nearest_batch's algorithm for one row without its 2-D bookkeeping: per-call overhead
        # is most of a single query's cost, and this path has about half of it.
        if not (math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0):
            raise ValueError("query: coordinates must be finite, latitude between -90 and 90")
        _check_request(radius_m, limit)
        checked_mask = _check_mask(mask, self._size)
        passing = self._size if checked_mask is None else int(np.count_nonzero(checked_mask))
        if limit == 0 or passing == 0:
            return Neighbours(np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64))
        # The haversine terms go through numpy exactly as in the brute force (same bits); the
        # tree's query vector only picks candidates, so plain math is good enough there.
        q_lat_rad = np.radians(np.array([lat], dtype=np.float64))
        phi, lam = math.radians(lat), math.radians(lon)
        xyz = np.array(
            [[math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)]]
        )
        query = _QueryRows(
            q_lat_rad, np.radians(np.array([lon], dtype=np.float64)), np.cos(q_lat_rad), xyz
        )
        radius_chord = _candidate_chord_scalar(radius_m)
        k = self._initial_k(limit, passing)
        while not self._use_ball(k):
            chords, found_at = self._tree.query(
                query.xyz[0], k=k, distance_upper_bound=radius_chord
            )
            chords = np.atleast_1d(chords)
            found_at = np.atleast_1d(found_at).astype(np.intp)
            # Neighbours come nearest first; missing ones (position == size) only at the end.
            n_found = int(np.searchsorted(found_at >= self._size, True))
            candidates = found_at[:n_found]
            dist = _haversine_rad(
                query.lat_rad,
                query.lon_rad,
                query.cos_lat,
                self._lat_rad[candidates],
                self._lon_rad[candidates],
                self._cos_lat[candidates],
            )
            keep = dist <= radius_m
            if checked_mask is not None:
                keep &= checked_mask[candidates]
            ranked = _ranked(dist[keep], candidates[keep], limit)
            # The proof, as in _k_nearest_round: the ball ran dry, or everything that could
            # tie or beat the last hit lies strictly inside the k-th neighbour's chord.
            if n_found < k or k >= self._size:
                return ranked
            if ranked.positions.shape[0] < limit:
                k = min(2 * k, self._size)
                continue
            last_chord = _candidate_chord_scalar(float(ranked.distances_m[-1]))
            if last_chord < float(chords[-1]):
                return ranked
            # Enough hits, but more points may tie the last one (offices geocoded to one
            # town centre): all of them lie within its distance, so one ball query to there
            # settles it, where doubling k might take several rounds.
            return self._ball(query, 0, last_chord, radius_m, limit, checked_mask)
        return self._ball(query, 0, radius_chord, radius_m, limit, checked_mask)

    def _initial_k(self, limit: int, passing: int) -> int:
        # Expect a share passing/size of neighbours to survive the mask; ask for enough.
        k = math.ceil(_INITIAL_FACTOR * limit * self._size / passing)
        return min(max(k, limit + 1), self._size)

    def _use_ball(self, k: int) -> bool:
        return k > _MAX_TREE_K

    def nearest_batch(
        self,
        lat: ArrayLike,
        lon: ArrayLike,
        *,
        radius_m: float,
        limit: int,
        mask: BoolArray | None = None,
        workers: int = 1,
    ) -> NeighbourBatch:
        """``nearest`` for many query points at once (vectorised); ``workers`` as in scipy."""
        q_lat, q_lon = _coordinates(lat, lon, "queries")
        _check_request(radius_m, limit)
        checked_mask = _check_mask(mask, self._size)
        n_queries = int(q_lat.shape[0])
        positions = np.full((n_queries, limit), -1, dtype=np.intp)
        distances = np.full((n_queries, limit), np.inf, dtype=np.float64)
        counts = np.zeros(n_queries, dtype=np.intp)
        passing = self._size if checked_mask is None else int(np.count_nonzero(checked_mask))
        if n_queries == 0 or limit == 0 or passing == 0:
            return NeighbourBatch(positions, distances, counts)

        q_lat_rad = np.radians(q_lat)
        query = _QueryRows(
            lat_rad=q_lat_rad,
            lon_rad=np.radians(q_lon),
            cos_lat=np.cos(q_lat_rad),
            xyz=unit_vectors(q_lat, q_lon),
        )
        radius_chord = _candidate_chord_scalar(radius_m)
        k = self._initial_k(limit, passing)
        pending = np.arange(n_queries)
        while pending.size:
            if self._use_ball(k):
                for row in pending.tolist():
                    found = self._ball(query, row, radius_chord, radius_m, limit, checked_mask)
                    count = found.positions.shape[0]
                    positions[row, :count] = found.positions
                    distances[row, :count] = found.distances_m
                    counts[row] = count
                break
            step = max(1, _ROUND_PAIRS // k)
            unproven = [
                self._k_nearest_round(
                    query,
                    pending[start : start + step],
                    k,
                    (radius_chord, radius_m, limit),
                    checked_mask,
                    workers,
                    (positions, distances, counts),
                )
                for start in range(0, pending.shape[0], step)
            ]
            pending = np.concatenate(unproven)
            k = min(2 * k, self._size)
        return NeighbourBatch(positions, distances, counts)

    def _k_nearest_round(
        self,
        query: _QueryRows,
        rows: PositionArray,
        k: int,
        request: tuple[float, float, int],
        mask: BoolArray | None,
        workers: int,
        out: tuple[PositionArray, FloatArray, PositionArray],
    ) -> PositionArray:
        # One tree query for ``rows``; fills the rows whose answer is proven, returns the rest.
        radius_chord, radius_m, limit = request
        chords, found_at = self._tree.query(
            query.xyz[rows], k=k, distance_upper_bound=radius_chord, workers=workers
        )
        chords = np.asarray(chords, dtype=np.float64).reshape(rows.shape[0], k)
        found_at = np.asarray(found_at, dtype=np.intp).reshape(rows.shape[0], k)
        found = found_at < self._size  # missing neighbours come back as position == size
        safe = np.where(found, found_at, 0)
        dist = _haversine_rad(
            query.lat_rad[rows, None],
            query.lon_rad[rows, None],
            query.cos_lat[rows, None],
            self._lat_rad[safe],
            self._lon_rad[safe],
            self._cos_lat[safe],
        )
        keep = found & (dist <= radius_m)
        if mask is not None:
            keep &= mask[safe]
        dist = np.where(keep, dist, np.inf)
        take = min(limit, k)
        order = np.lexsort((found_at, dist), axis=-1)[:, :take]
        best_dist = np.take_along_axis(dist, order, axis=-1)
        best_pos = np.take_along_axis(found_at, order, axis=-1)
        survivors = np.count_nonzero(keep, axis=-1)
        # The ball ran dry (fewer than k inside the radius) or k covers every point: every
        # candidate is here. Otherwise everything that could tie or beat the last hit we
        # return (or, short of hits, anything inside the radius) must lie strictly closer than
        # the k-th neighbour, or someone unseen could still belong in the answer.
        exhausted = ~found[:, -1] | (k >= self._size)
        needed = np.where(survivors >= limit, best_dist[:, take - 1], radius_m)
        proven = exhausted | (_candidate_chord(needed) < chords[:, -1])
        positions, distances, counts = out
        done = rows[proven]
        hits = np.minimum(survivors[proven], take)
        counts[done] = hits
        columns = np.arange(take)
        valid = columns[None, :] < hits[:, None]
        positions[done, :take] = np.where(valid, best_pos[proven], -1)
        distances[done, :take] = np.where(valid, best_dist[proven], np.inf)
        return rows[~proven]

    def _ball(
        self,
        query: _QueryRows,
        row: int,
        chord: float,
        radius_m: float,
        limit: int,
        mask: BoolArray | None,
    ) -> Neighbours:
        # Every point within ``chord`` at once: exact, with no proof step, when the chord
        # covers everything that could make the answer (the radius, or the last hit's distance).
        inside = np.asarray(
            self._tree.query_ball_point(query.xyz[row], chord, return_sorted=False),
            dtype=np.intp,
        )
        if mask is not None:
            inside = inside[mask[inside]]
        dist = _haversine_rad(
            query.lat_rad[row : row + 1],
            query.lon_rad[row : row + 1],
            query.cos_lat[row : row + 1],
            self._lat_rad[inside],
            self._lon_rad[inside],
            self._cos_lat[inside],
        )
        keep = dist <= radius_m
        return _ranked(dist[keep], inside[keep], limit)
