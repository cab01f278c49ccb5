"""The seeded instance generator: reproducible, the right sizes, plausible shape."""

from __future__ import annotations

import numpy as np
import pytest

from selpo.planning.synthetic import SIZES, named_instance, synthetic_instance


def test_same_seed_same_instance_other_seed_other_instance() -> None:
    a = synthetic_instance(2_000, 200, seed=7)
    b = synthetic_instance(2_000, 200, seed=7)
    c = synthetic_instance(2_000, 200, seed=8)
    assert np.array_equal(a.demand.lat, b.demand.lat)
    assert np.array_equal(a.demand.weight, b.demand.weight)
    assert a.facilities.index == b.facilities.index
    assert np.array_equal(a.facilities.fixed, b.facilities.fixed)
    assert not np.array_equal(a.demand.lat, c.demand.lat)


def test_region_size_instance_looks_like_a_region() -> None:
    instance = named_instance("region")
    demand, offices = instance.demand, instance.facilities
    assert (len(demand), len(offices)) == SIZES["region"]
    assert int(offices.fixed.sum()) == 19
    assert not (offices.fixed & offices.candidate).any()
    assert all(len(i) == 6 and i.isdigit() for i in offices.index)
    assert len(set(offices.index)) == len(offices)
    assert demand.weight.min() >= 1
    assert demand.weight.sum() == pytest.approx(930_000, rel=0.01)
    # Zipf towns: the biggest place holds far more people than the median one.
    assert demand.weight.max() > 100 * np.median(demand.weight)
    assert offices.cost is not None
    assert (offices.cost > 0).all()
    # Points stay inside the square (about 146 km across) without piling up at its edge.
    assert np.ptp(demand.lat) < 1.5
    assert len(np.unique(np.column_stack((demand.lat, demand.lon)), axis=0)) == len(demand)


def test_tiny_and_lopsided_sizes_work() -> None:
    for n, m in ((1, 1), (5, 40), (150, 3)):
        instance = synthetic_instance(n, m, seed=1)
        assert (len(instance.demand), len(instance.facilities)) == (n, m)


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        synthetic_instance(0, 5)
