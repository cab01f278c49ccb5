"""The spatial index answers exactly as a haversine scan over every office, anywhere on Earth."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from selpo.network import geo
from selpo.network.geo import (
    EARTH_RADIUS_M,
    NeighbourBatch,
    Neighbours,
    PointIndex,
    chord_for_distance,
    haversine_m,
    haversine_m_array,
    nearest_brute_force,
    unit_vectors,
)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

HALF_CIRCUMFERENCE_M = math.pi * EARTH_RADIUS_M

# Coordinates hypothesis should try often: poles, the equator, the antimeridian from both sides
# and longitudes outside [-180, 180] (the index must not care how a longitude is written).
LATITUDES = st.one_of(
    st.sampled_from([90.0, -90.0, 0.0, 89.999999, -89.999999]),
    st.floats(-90.0, 90.0, allow_nan=False),
)
LONGITUDES = st.one_of(
    st.sampled_from([180.0, -180.0, 179.999999, -179.999999, 0.0, 540.0, -360.0]),
    st.floats(-180.0, 180.0, allow_nan=False),
)
RADII = st.one_of(
    st.sampled_from([0.0, 1e-9, 1.0, 25_000.0, HALF_CIRCUMFERENCE_M, math.inf, 1e12]),
    st.floats(0.0, 2.5e7, allow_nan=False),
)
POINT = st.tuples(LATITUDES, LONGITUDES)


@st.composite
def point_sets(draw: st.DrawFn) -> list[tuple[float, float]]:
    """Points anywhere, some repeated exactly and some a hair apart from another."""
    points = draw(st.lists(POINT, max_size=40))
    for _ in range(draw(st.integers(0, 10)) if points else 0):
        lat, lon = draw(st.sampled_from(points))
        jitter = draw(st.sampled_from([0.0, 0.0, 1e-9, 1e-6, 0.01]))
        points.append((max(-90.0, min(90.0, lat + jitter)), lon - jitter))
    return draw(st.permutations(points))


@st.composite
def queries(draw: st.DrawFn, points: list[tuple[float, float]]) -> tuple[float, float]:
    """Anywhere, on a point, or on a point's antipode (where the haversine is least precise)."""
    if not points:
        return draw(POINT)
    lat, lon = draw(st.sampled_from(points))
    kind = draw(st.sampled_from(["anywhere", "on", "antipode"]))
    if kind == "on":
        return lat, lon
    if kind == "antipode":
        return -lat, lon + 180.0
    return draw(POINT)


def _arrays(points: list[tuple[float, float]]) -> tuple[FloatArray, FloatArray]:
    lat = np.array([p[0] for p in points], dtype=np.float64)
    lon = np.array([p[1] for p in points], dtype=np.float64)
    return lat, lon


def _assert_same(found: Neighbours, expected: Neighbours) -> None:
    np.testing.assert_array_equal(found.positions, expected.positions)
    np.testing.assert_allclose(found.distances_m, expected.distances_m, rtol=0, atol=1e-6)


def _assert_batch_matches(
    batch: NeighbourBatch,
    lat: FloatArray,
    lon: FloatArray,
    query_lat: FloatArray,
    query_lon: FloatArray,
    *,
    radius_m: float,
    limit: int,
    mask: BoolArray | None,
) -> None:
    assert len(batch) == query_lat.shape[0]
    for i, (q_lat, q_lon) in enumerate(zip(query_lat, query_lon, strict=True)):
        expected = nearest_brute_force(
            lat, lon, float(q_lat), float(q_lon), radius_m=radius_m, limit=limit, mask=mask
        )
        _assert_same(batch.row(i), expected)
        assert (batch.positions[i, batch.counts[i] :] == -1).all()
        assert np.isinf(batch.distances_m[i, batch.counts[i] :]).all()


# --- haversine -------------------------------------------------------------------------------


def test_known_distances() -> None:
    quarter = HALF_CIRCUMFERENCE_M / 2
    assert haversine_m(0.0, 0.0, 90.0, 0.0) == pytest.approx(quarter, abs=1e-6)
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(HALF_CIRCUMFERENCE_M, abs=1e-6)
    assert haversine_m(90.0, 0.0, -90.0, 77.0) == pytest.approx(HALF_CIRCUMFERENCE_M, abs=1e-6)
    # One degree of longitude across the antimeridian at the equator, written either way.
    degree = HALF_CIRCUMFERENCE_M / 180
    assert haversine_m(0.0, 179.5, 0.0, -179.5) == pytest.approx(degree, rel=1e-12)
    assert haversine_m(0.0, 179.5, 0.0, 180.5) == pytest.approx(degree, rel=1e-12)
    # Every longitude at a pole is the same place.
    assert haversine_m(90.0, 10.0, 90.0, -170.0) < 1e-6
    # Ivanovo to Moscow (city centres), about 250 km.
    assert haversine_m(57.0, 40.97, 55.756, 37.617) == pytest.approx(249_600, rel=0.01)


@given(POINT, POINT)
def test_vectorised_haversine_agrees_with_scalar(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    vector = haversine_m_array([a[0]], [a[1]], [b[0]], [b[1]])
    assert vector.shape == (1,)
    assert float(vector[0]) == pytest.approx(haversine_m(*a, *b), rel=1e-9, abs=1e-3)
    assert haversine_m(*a, *b) == pytest.approx(haversine_m(*b, *a), rel=1e-12, abs=1e-6)
    assert 0.0 <= haversine_m(*a, *b) <= HALF_CIRCUMFERENCE_M + 1e-6


def test_chord_for_distance() -> None:
    assert float(chord_for_distance(0.0)) == 0.0
    assert float(chord_for_distance(HALF_CIRCUMFERENCE_M)) == pytest.approx(2.0)
    assert float(chord_for_distance(1e12)) == pytest.approx(2.0)  # capped at the antipode
    quarter = HALF_CIRCUMFERENCE_M / 2
    assert float(chord_for_distance(quarter)) == pytest.approx(math.sqrt(2.0))
    # The chord is what the unit vectors say.
    xyz = unit_vectors([0.0, 90.0], [0.0, 0.0])
    assert float(np.linalg.norm(xyz[0] - xyz[1])) == pytest.approx(math.sqrt(2.0))


# --- brute force against an independent pure-Python scan -------------------------------------


@given(point_sets(), POINT, RADII, st.integers(0, 60))
def test_brute_force_matches_a_plain_python_scan(
    points: list[tuple[float, float]], query: tuple[float, float], radius_m: float, limit: int
) -> None:
    lat, lon = _arrays(points)
    found = nearest_brute_force(lat, lon, *query, radius_m=radius_m, limit=limit)
    scan = [(haversine_m(*query, *p), i) for i, p in enumerate(points)]
    # Leave out points whose distance is within rounding of the radius: the two formulas
    # (math vs numpy) may fairly disagree on those.
    clear = [(d, i) for d, i in scan if abs(d - radius_m) > 1e-3]
    expected = {i for d, i in clear if d <= radius_m}
    if len(found.positions) < limit:
        assert expected <= set(found.positions.tolist())
    assert list(found.distances_m) == sorted(found.distances_m)
    for position, distance in zip(found.positions, found.distances_m, strict=True):
        assert distance <= radius_m
        assert distance == pytest.approx(scan[position][0], rel=1e-9, abs=1e-3)


# --- the index against the brute force -------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(data=st.data(), points=point_sets(), radius_m=RADII, limit=st.integers(0, 50))
def test_index_matches_brute_force(
    data: st.DataObject, points: list[tuple[float, float]], radius_m: float, limit: int
) -> None:
    lat, lon = _arrays(points)
    index = PointIndex(lat, lon)
    mask = None
    if data.draw(st.booleans(), label="filtered"):
        mask = np.array(
            data.draw(st.lists(st.booleans(), min_size=len(points), max_size=len(points))),
            dtype=bool,
        )
    picked = data.draw(st.lists(queries(points), min_size=1, max_size=5), label="queries")
    query_lat, query_lon = _arrays(picked)
    at_a_point = data.draw(st.booleans(), label="radius exactly at a point")
    if points and at_a_point:
        # The boundary is inclusive and sits right on an office: rounding must not drop it.
        every = nearest_brute_force(lat, lon, *picked[0], radius_m=math.inf, limit=len(points))
        radius_m = float(data.draw(st.sampled_from(every.distances_m.tolist())))
    for q_lat, q_lon in picked:
        expected = nearest_brute_force(
            lat, lon, q_lat, q_lon, radius_m=radius_m, limit=limit, mask=mask
        )
        _assert_same(
            index.nearest(q_lat, q_lon, radius_m=radius_m, limit=limit, mask=mask), expected
        )
    batch = index.nearest_batch(query_lat, query_lon, radius_m=radius_m, limit=limit, mask=mask)
    _assert_batch_matches(
        batch, lat, lon, query_lat, query_lon, radius_m=radius_m, limit=limit, mask=mask
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(500, 4000),
    radius_m=st.sampled_from([0.0, 2_000.0, 25_000.0, 400_000.0, math.inf]),
    limit=st.sampled_from([1, 10, 50]),
    share=st.sampled_from([1.0, 0.5, 0.05, 0.002]),
)
def test_index_matches_brute_force_on_clustered_networks(
    seed: int, size: int, radius_m: float, limit: int, share: float
) -> None:
    """Network-sized sets: towns of offices, some sharing one geocoded point, near the poles
    and the antimeridian too; filters from everything down to a handful of offices."""
    rng = np.random.default_rng(seed)
    centres_lat = rng.uniform(-89.5, 89.5, 12)
    centres_lat[:2] = [89.9, -89.9]
    centres_lon = rng.uniform(-180.0, 180.0, 12)
    centres_lon[2:4] = [179.9, -179.9]
    town = rng.integers(0, 12, size)
    lat = np.clip(centres_lat[town] + rng.normal(0.0, 0.2, size), -90.0, 90.0)
    lon = centres_lon[town] + rng.normal(0.0, 0.3, size)
    at_centroid = rng.random(size) < 0.2  # offices geocoded to their town's centre point
    lat[at_centroid] = centres_lat[town[at_centroid]]
    lon[at_centroid] = centres_lon[town[at_centroid]]
    mask = None if share == 1.0 else rng.random(size) < share
    index = PointIndex(lat, lon)
    picks = rng.integers(0, size, 30)
    query_lat = np.clip(lat[picks] + rng.normal(0.0, 0.05, 30), -90.0, 90.0)
    query_lon = lon[picks] + rng.normal(0.0, 0.05, 30)
    query_lat[:3], query_lon[:3] = centres_lat[:3], centres_lon[:3]  # exactly on a centroid
    batch = index.nearest_batch(query_lat, query_lon, radius_m=radius_m, limit=limit, mask=mask)
    _assert_batch_matches(
        batch, lat, lon, query_lat, query_lon, radius_m=radius_m, limit=limit, mask=mask
    )
    for i in range(5):
        expected = batch.row(i)
        found = index.nearest(
            float(query_lat[i]), float(query_lon[i]), radius_m=radius_m, limit=limit, mask=mask
        )
        _assert_same(found, expected)


# --- edge cases ------------------------------------------------------------------------------


def test_empty_network() -> None:
    index = PointIndex(np.empty(0), np.empty(0))
    assert len(index) == 0
    found = index.nearest(57.0, 41.0, radius_m=1e9, limit=10)
    assert found.positions.shape == (0,)
    assert found.distances_m.shape == (0,)
    batch = index.nearest_batch([57.0, 0.0], [41.0, 0.0], radius_m=1e9, limit=3)
    assert batch.positions.shape == (2, 3)
    assert (batch.counts == 0).all()
    assert nearest_brute_force([], [], 57.0, 41.0, radius_m=1e9, limit=10).positions.size == 0


def test_radius_zero_finds_only_the_same_place_in_position_order() -> None:
    lat = np.array([57.0, 57.0, 57.000001, 57.0])
    lon = np.array([41.0, 41.0, 41.0, 41.0])
    index = PointIndex(lat, lon)
    found = index.nearest(57.0, 41.0, radius_m=0.0, limit=10)
    assert found.positions.tolist() == [0, 1, 3]
    assert found.distances_m.tolist() == [0.0, 0.0, 0.0]


def test_limit_larger_than_the_network_returns_everything_nearest_first() -> None:
    lat = np.array([0.0, 0.0, 0.0])
    lon = np.array([3.0, 1.0, 2.0])
    index = PointIndex(lat, lon)
    found = index.nearest(0.0, 0.0, radius_m=math.inf, limit=100)
    assert found.positions.tolist() == [1, 2, 0]
    batch = index.nearest_batch([0.0], [0.0], radius_m=math.inf, limit=100)
    assert batch.positions.shape == (1, 100)
    assert batch.row(0).positions.tolist() == [1, 2, 0]


def test_limit_zero_and_an_all_false_mask_find_nothing() -> None:
    index = PointIndex([57.0, 57.1], [41.0, 41.1])
    assert index.nearest(57.0, 41.0, radius_m=1e6, limit=0).positions.size == 0
    nothing = np.zeros(2, dtype=bool)
    assert index.nearest(57.0, 41.0, radius_m=1e6, limit=5, mask=nothing).positions.size == 0


def test_across_the_antimeridian_and_over_the_pole() -> None:
    # Anadyr-side offices written with positive and negative longitudes.
    lat = np.array([64.73, 64.73, 64.73, 89.99, 89.99])
    lon = np.array([179.99, -179.99, 170.0, 0.0, 180.0])
    index = PointIndex(lat, lon)
    found = index.nearest(64.73, 180.0, radius_m=10_000.0, limit=5)
    assert sorted(found.positions.tolist()) == [0, 1]
    # Two points 0.01° from the pole on opposite meridians are ~2.2 km apart, via the pole.
    over = index.nearest(89.99, 0.0, radius_m=3_000.0, limit=5)
    assert over.positions.tolist() == [3, 4]
    assert over.distances_m[1] == pytest.approx(2 * 0.01 * HALF_CIRCUMFERENCE_M / 180, rel=1e-6)


def test_a_selective_filter_takes_the_ball_query_and_stays_exact() -> None:
    rng = np.random.default_rng(7)
    size = 6000
    lat = rng.uniform(56.0, 58.0, size)
    lon = rng.uniform(39.0, 43.0, size)
    mask = np.zeros(size, dtype=bool)
    mask[rng.choice(size, 12, replace=False)] = True  # far fewer than k would ever find
    index = PointIndex(lat, lon)
    query_lat, query_lon = rng.uniform(56.0, 58.0, 20), rng.uniform(39.0, 43.0, 20)
    batch = index.nearest_batch(query_lat, query_lon, radius_m=150_000.0, limit=10, mask=mask)
    _assert_batch_matches(
        batch, lat, lon, query_lat, query_lon, radius_m=150_000.0, limit=10, mask=mask
    )
    assert set(batch.positions[batch.positions >= 0].tolist()) <= set(np.flatnonzero(mask))


def test_a_batch_split_into_many_rounds_matches_single_queries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Tiny rounds, so every query lands in a different chunk and some need a second round.
    monkeypatch.setattr(geo, "_ROUND_PAIRS", 40)
    rng = np.random.default_rng(11)
    lat = np.round(rng.uniform(56.5, 57.5, 800), 2)  # rounding makes ties
    lon = np.round(rng.uniform(40.5, 41.5, 800), 2)
    mask = rng.random(800) < 0.4
    index = PointIndex(lat, lon)
    query_lat, query_lon = rng.uniform(56.5, 57.5, 60), rng.uniform(40.5, 41.5, 60)
    for m in (None, mask):
        batch = index.nearest_batch(query_lat, query_lon, radius_m=8_000.0, limit=7, mask=m)
        _assert_batch_matches(
            batch, lat, lon, query_lat, query_lon, radius_m=8_000.0, limit=7, mask=m
        )


def test_many_offices_at_one_point_are_returned_in_position_order() -> None:
    # A town geocoded to its centroid: 700 offices tie, more than any tree round asks for.
    lat = np.concatenate([np.full(700, 57.0), np.linspace(56.0, 58.0, 300)])
    lon = np.concatenate([np.full(700, 41.0), np.linspace(40.0, 42.0, 300)])
    order = np.random.default_rng(3).permutation(1000)
    index = PointIndex(lat[order], lon[order])
    found = index.nearest(57.0001, 41.0, radius_m=25_000.0, limit=20)
    tied = np.flatnonzero((lat[order] == 57.0) & (lon[order] == 41.0))
    assert found.positions.tolist() == tied[:20].tolist()


@pytest.mark.parametrize(
    ("lat", "lon"),
    [([91.0], [0.0]), ([math.nan], [0.0]), ([0.0], [math.inf]), ([0.0, 1.0], [0.0])],
)
def test_bad_coordinates_are_refused(lat: list[float], lon: list[float]) -> None:
    with pytest.raises(ValueError, match="points"):
        PointIndex(lat, lon)


def test_bad_requests_are_refused() -> None:
    index = PointIndex([57.0], [41.0])
    with pytest.raises(ValueError, match="radius_m"):
        index.nearest(57.0, 41.0, radius_m=-1.0, limit=1)
    with pytest.raises(ValueError, match="radius_m"):
        index.nearest(57.0, 41.0, radius_m=math.nan, limit=1)
    with pytest.raises(ValueError, match="limit"):
        index.nearest(57.0, 41.0, radius_m=1.0, limit=-1)
    with pytest.raises(ValueError, match="query"):
        index.nearest(95.0, 41.0, radius_m=1.0, limit=1)
    with pytest.raises(ValueError, match="mask"):
        index.nearest(57.0, 41.0, radius_m=1.0, limit=1, mask=np.ones(2, dtype=bool))
    with pytest.raises(ValueError, match="mask"):
        index.nearest(57.0, 41.0, radius_m=1.0, limit=1, mask=np.ones(1, dtype=np.int64))
