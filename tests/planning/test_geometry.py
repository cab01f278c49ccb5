"""Coverage through the k-d tree agrees with brute-force haversine; chords convert both ways."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selpo.planning.geometry import (
    EARTH_RADIUS_M,
    chord_for_road_distance,
    coverage_pattern,
    nearest_road_distances,
    road_distance_from_chord,
    road_distance_m,
    unit_vectors,
)


def test_chord_and_road_distance_are_inverse() -> None:
    for metres in (0.0, 1.0, 5_000.0, 250_000.0, 5_000_000.0):
        chord = chord_for_road_distance(metres, 1.3)
        assert road_distance_from_chord(np.array([chord]), 1.3)[0] == pytest.approx(
            metres, abs=1e-6
        )
    assert chord_for_road_distance(np.pi * EARTH_RADIUS_M * 1.3 * 2, 1.3) == 2.0


def test_circuity_scales_road_distance() -> None:
    straight = road_distance_m(
        np.array([57.0]), np.array([41.0]), np.array([57.1]), np.array([41.0]), 1.0
    )
    winding = road_distance_m(
        np.array([57.0]), np.array([41.0]), np.array([57.1]), np.array([41.0]), 1.3
    )
    assert straight[0] == pytest.approx(11_119.5, rel=1e-3)  # 0.1° of latitude
    assert winding[0] == pytest.approx(1.3 * straight[0])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    radius=st.floats(500, 60_000),
    circuity=st.floats(1.0, 2.0),
    centre_lon=st.sampled_from([41.0, 179.9, -179.9, 0.0]),
    centre_lat=st.sampled_from([57.0, 0.0, 89.5, -60.0]),
)
def test_tree_coverage_matches_brute_force(
    seed: int, radius: float, circuity: float, centre_lon: float, centre_lat: float
) -> None:
    rng = np.random.default_rng(seed)
    n, m = 60, 25
    lat = np.clip(centre_lat + rng.uniform(-0.5, 0.5, n + m), -90, 90)
    lon = (centre_lon + rng.uniform(-0.8, 0.8, n + m) + 180.0) % 360.0 - 180.0
    pattern = coverage_pattern(
        unit_vectors(lat[:n], lon[:n]), unit_vectors(lat[n:], lon[n:]), radius, circuity
    )
    road = road_distance_m(lat[:n, None], lon[:n, None], lat[None, n:], lon[None, n:], circuity)
    expected = road <= radius
    clear = np.abs(road - radius) > 1e-6 * radius  # rounding may decide pairs on the circle
    got = pattern.toarray()
    assert np.array_equal(got[clear], expected[clear])


def test_antimeridian_neighbours_are_found() -> None:
    lat, lon = np.array([0.0, 0.0]), np.array([179.99, -179.99])
    xyz = unit_vectors(lat, lon)
    pattern = coverage_pattern(xyz[:1], xyz[1:], 5_000, 1.3)
    assert pattern.toarray()[0, 0]
    distance, where = nearest_road_distances(xyz[:1], xyz[1:], 1, 1.3)
    assert where[0, 0] == 0
    assert distance[0, 0] == pytest.approx(2_223.9 * 1.3, rel=1e-3)


def test_nearest_marks_missing_neighbours() -> None:
    xyz = unit_vectors(np.array([57.0, 57.0, 58.0]), np.array([41.0, 41.01, 41.0]))
    distance, where = nearest_road_distances(xyz[:1], xyz[1:], 3, 1.3, cap_m=10_000)
    assert where[0].tolist() == [0, -1, -1]
    assert np.isinf(distance[0, 1:]).all()
    empty_d, empty_w = nearest_road_distances(xyz[:1], xyz[:0], 2, 1.3)
    assert empty_d.shape == (1, 2)
    assert (empty_w == -1).all()
