"""Loading a run's way back (the pure kernel): never over the van's room, oldest first, and
whatever fits an empty van leaves sooner or later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from selpo.logistics.return_loading import Waiting, load_leg, oldest_first

START = datetime(2026, 11, 23, 5, tzinfo=UTC)
CALL = START + timedelta(days=30)


def _thing(key: int, hours: int, litres: float, call: datetime = CALL) -> Waiting:
    return Waiting(key, START + timedelta(hours=hours), litres, call)


things = st.lists(
    st.builds(
        _thing,
        st.integers(0, 10_000),
        st.integers(0, 24 * 20),
        st.floats(0.1, 120.0, allow_nan=False),
    ),
    max_size=60,
    unique_by=lambda w: w.key,
)
capacities = st.tuples(st.integers(0, 25), st.floats(1.0, 400.0, allow_nan=False))


@given(things, capacities)
def test_a_leg_is_never_over_capacity(waiting: list[Waiting], room: tuple[int, float]) -> None:
    parcels, litres = room
    load = load_leg(waiting, parcels, litres)
    assert len(load.loaded) <= parcels
    assert load.litres <= litres + 1e-9
    assert {w.key for w in load.loaded} | {w.key for w in load.waiting} == {w.key for w in waiting}
    assert not {w.key for w in load.loaded} & {w.key for w in load.waiting}


@given(things, capacities)
def test_oldest_first_a_thing_waits_only_when_it_did_not_fit(
    waiting: list[Waiting], room: tuple[int, float]
) -> None:
    parcels, litres = room
    load = load_leg(waiting, parcels, litres)
    assert list(load.loaded) == oldest_first(load.loaded)
    assert list(load.waiting) == oldest_first(load.waiting)
    for left in load.waiting:
        # What was loaded before it (older) left it no room.
        before = [w for w in load.loaded if (w.ready_at, w.key) < (left.ready_at, left.key)]
        used = sum(w.litres for w in before)
        assert len(before) + 1 > parcels or used + left.litres > litres


@settings(max_examples=60)
@given(things, capacities)
def test_everything_that_fits_an_empty_van_leaves_run_by_run(
    waiting: list[Waiting], room: tuple[int, float]
) -> None:
    parcels, litres = room
    left = list(waiting)
    runs = 0
    while left and runs <= len(waiting):
        load = load_leg(left, parcels, litres)
        if load.loaded:
            # The oldest thing that fits an empty van is always on the next run.
            first = oldest_first([w for w in left if w not in load.too_big])
            assert first[0] in load.loaded
        left = list(load.waiting)
        runs += 1
    assert all(w.litres > litres or parcels < 1 for w in left)


def test_a_thing_not_ready_when_the_van_calls_is_not_on_this_run() -> None:
    late = Waiting(1, CALL + timedelta(minutes=1), 5.0, CALL)
    early = Waiting(2, CALL - timedelta(days=2), 5.0, CALL)
    load = load_leg([late, early], 10, 100.0)
    assert load.loaded == (early,)
    assert load.waiting == ()


def test_a_smaller_newer_thing_fills_the_room_a_bigger_one_left() -> None:
    big = _thing(1, 0, 80.0)
    small_old = _thing(2, 1, 30.0)
    small_new = _thing(3, 2, 15.0)
    load = load_leg([small_new, big, small_old], 5, 100.0)
    assert [w.key for w in load.loaded] == [1, 3]
    assert [w.key for w in load.waiting] == [2]
    assert load.too_big == ()
