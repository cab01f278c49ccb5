"""Road distances and driving speeds for the logistics kernels: pure numpy, no I/O.

Everything that needs "how far by road" (hub assignment, route building, line-haul
durations) asks a ``DistanceProvider`` for a matrix of road metres. The default,
``GreatCircleDistance``, is the haversine distance times a **circuity factor**: roads are
longer than the straight line between two places. Published comparisons of road and
straight-line distance (e.g. Ballou, Rahardja and Sakai, 2002) put dense national networks at
roughly 1.1-1.3, and sparse networks higher, where roads go round rivers, marshes and forests;
for rural central Russia (one road into a village, river crossings far apart) 1.2-1.4 is the
plausible range, and ``DEFAULT_CIRCUITY = 1.3`` is its middle. It is an assumption, not a
measurement: a routing engine behind the same Protocol replaces it.

A routing engine (OSRM ``/table``, Valhalla ``sources_to_targets``) can implement the same
Protocol: it returns road metres for every (from, to) pair, which may be asymmetric. The
kernels only require a finite, non-negative matrix; where they need symmetry (ordering the
stops of a route) they use the mean of the two directions and say so.

Speeds are averages over a whole leg, stops at junctions and slow village streets included:

* ``LINE_HAUL_SPEED_KMH = 60``: a truck on federal and regional roads (70-90 km/h limits for
  trucks outside towns, 40-60 km/h through them, plus rest stops).
* ``RURAL_ROUTE_SPEED_KMH = 45``: a van on district roads between villages (60-90 km/h on
  asphalt, 20-40 km/h on gravel and in villages).
* ``TOWN_ROUTE_SPEED_KMH = 25``: a van in town traffic between offices a few km apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from selpo.network.geo import haversine_m_array

FloatArray = NDArray[np.float64]

DEFAULT_CIRCUITY: Final[float] = 1.3
"""Road metres per great-circle metre (rural Russia: ~1.2-1.4); see the module docstring."""

LINE_HAUL_SPEED_KMH: Final[float] = 60.0
RURAL_ROUTE_SPEED_KMH: Final[float] = 45.0
TOWN_ROUTE_SPEED_KMH: Final[float] = 25.0


@runtime_checkable
class DistanceProvider(Protocol):
    """Road distances between two sets of points (degrees), as a (len(from), len(to)) matrix."""

    def matrix_m(
        self, from_lat: ArrayLike, from_lon: ArrayLike, to_lat: ArrayLike, to_lon: ArrayLike
    ) -> FloatArray:
        """Road metres from every ``from`` point (rows) to every ``to`` point (columns)."""
        ...


@dataclass(frozen=True)
class GreatCircleDistance:
    """Road distance estimated as the great-circle distance times ``circuity``."""

    circuity: float = DEFAULT_CIRCUITY

    def __post_init__(self) -> None:
        if not (np.isfinite(self.circuity) and self.circuity >= 1.0):
            raise ValueError("circuity must be a finite number >= 1 (roads are never shorter)")

    def matrix_m(
        self, from_lat: ArrayLike, from_lon: ArrayLike, to_lat: ArrayLike, to_lon: ArrayLike
    ) -> FloatArray:
        """Road metres from every ``from`` point (rows) to every ``to`` point (columns)."""
        f_lat = np.asarray(from_lat, dtype=np.float64).reshape(-1, 1)
        f_lon = np.asarray(from_lon, dtype=np.float64).reshape(-1, 1)
        t_lat = np.asarray(to_lat, dtype=np.float64).reshape(1, -1)
        t_lon = np.asarray(to_lon, dtype=np.float64).reshape(1, -1)
        result: FloatArray = haversine_m_array(f_lat, f_lon, t_lat, t_lon) * self.circuity
        return result


def driving_seconds(distance_m: ArrayLike, speed_kmh: float) -> FloatArray:
    """Seconds to drive ``distance_m`` road metres at an average ``speed_kmh``."""
    if not speed_kmh > 0.0:
        raise ValueError("speed_kmh must be positive")
    result: FloatArray = np.asarray(distance_m, dtype=np.float64) / (speed_kmh / 3.6)
    return result
