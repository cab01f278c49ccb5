"""``lifecycle.walk``, the road the sandbox moves its parcels along: every step allowed by the
table, the target last, no missed scan, and a walk exactly when the table leads there."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from selpo.shipment.lifecycle import (
    MISSED_SCANS,
    TRANSITIONS,
    Status,
    can_become,
    reachable,
    walk,
)

S = Status
statuses = st.sampled_from(list(Status))


def _leads_there(current: Status, target: Status) -> bool:
    """Whether any chain of allowed changes (one at least) takes ``current`` to ``target``."""
    seen: set[Status] = set()
    frontier = list(TRANSITIONS[current])
    while frontier:
        status = frontier.pop()
        if status in seen:
            continue
        seen.add(status)
        frontier.extend(TRANSITIONS[status])
    return target in seen


@given(statuses, statuses)
def test_a_walk_is_a_chain_of_allowed_steps_ending_at_the_target(
    current: Status, target: Status
) -> None:
    steps = walk(current, target)
    assert (steps is not None) == _leads_there(current, target)
    if steps is None:
        assert target not in reachable(current)
        return
    assert steps[-1] == target
    assert target in reachable(current)
    before = current
    for step in steps:
        assert can_become(before, step), f"{before} -> {step}"
        assert (before, step) not in MISSED_SCANS
        before = step
    assert len(set(steps)) == len(steps)  # never round in circles


def test_the_road_of_a_delivered_parcel_takes_every_scan() -> None:
    assert walk(S.CREATED, S.DELIVERED) == [
        S.HANDED_OVER,
        S.IN_TRANSIT,
        S.ARRIVED_AT_OFFICE,
        S.READY_FOR_PICKUP,
        S.DELIVERED,
    ]
    assert walk(S.HANDED_OVER, S.ARRIVED_AT_OFFICE) == [S.IN_TRANSIT, S.ARRIVED_AT_OFFICE]
    assert walk(S.REFUSED, S.RETURNED) == [S.RETURNING, S.RETURNED]


def test_a_finished_parcel_goes_nowhere() -> None:
    for final in (S.DELIVERED, S.RETURNED, S.CANCELLED, S.LOST):
        assert reachable(final) == []
    assert walk(S.IN_TRANSIT, S.IN_TRANSIT) == [S.IN_TRANSIT]  # another hub's scan
    assert walk(S.CREATED, S.CREATED) is None
