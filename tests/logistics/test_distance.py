"""Road distances: great circle times circuity, and the Protocol a routing engine would fill."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray

from selpo.logistics.distance import (
    DEFAULT_CIRCUITY,
    DistanceProvider,
    GreatCircleDistance,
    driving_seconds,
)
from selpo.network.geo import haversine_m

IVANOVO = (56.9994, 40.9728)
SHUYA = (56.8500, 41.3800)
KINESHMA = (57.4425, 42.1689)


def test_matrix_is_haversine_times_circuity() -> None:
    provider = GreatCircleDistance()
    matrix = provider.matrix_m(
        [IVANOVO[0], SHUYA[0]],
        [IVANOVO[1], SHUYA[1]],
        [SHUYA[0], KINESHMA[0], IVANOVO[0]],
        [SHUYA[1], KINESHMA[1], IVANOVO[1]],
    )
    assert matrix.shape == (2, 3)
    expected = haversine_m(*IVANOVO, *SHUYA) * DEFAULT_CIRCUITY
    assert matrix[0, 0] == pytest.approx(expected, rel=1e-12)
    assert matrix[1, 0] == 0.0
    assert matrix[0, 2] == 0.0
    assert matrix[1, 2] == pytest.approx(matrix[0, 0], rel=1e-12)
    # Ivanovo-Shuya is ~30 km as the crow flies, ~40 km by this estimate.
    assert 35_000 < matrix[0, 0] < 45_000


def test_circuity_is_configurable_and_checked() -> None:
    plain = GreatCircleDistance(1.0).matrix_m([IVANOVO[0]], [IVANOVO[1]], [SHUYA[0]], [SHUYA[1]])
    assert plain[0, 0] == pytest.approx(haversine_m(*IVANOVO, *SHUYA))
    for bad in (0.9, math.nan, math.inf):
        with pytest.raises(ValueError, match="circuity"):
            GreatCircleDistance(bad)


class TableService:
    """What an OSRM/Valhalla adapter would look like: anything with ``matrix_m``."""

    def matrix_m(
        self, from_lat: ArrayLike, from_lon: ArrayLike, to_lat: ArrayLike, to_lon: ArrayLike
    ) -> NDArray[np.float64]:
        rows = np.asarray(from_lat).shape[0]
        cols = np.asarray(to_lat).shape[0]
        return np.full((rows, cols), 1_000.0)


def test_any_object_with_matrix_m_is_a_provider() -> None:
    assert isinstance(GreatCircleDistance(), DistanceProvider)
    assert isinstance(TableService(), DistanceProvider)
    assert not isinstance(object(), DistanceProvider)


def test_driving_seconds() -> None:
    assert driving_seconds(60_000.0, 60.0) == pytest.approx(3_600.0)
    assert list(driving_seconds([0.0, 45_000.0], 45.0)) == pytest.approx([0.0, 3_600.0])
    with pytest.raises(ValueError, match="positive"):
        driving_seconds(1.0, 0.0)
