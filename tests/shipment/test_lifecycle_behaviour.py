"""The shipment lifecycle as behaviour: what may happen to a parcel, said in words, and
random event sequences (hypothesis) against the real ``shipment/lifecycle.py`` checking
what must hold whatever the order. Nothing here re-lists the transition table: each test
says a rule of the post office and asks the module."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from selpo.shipment.lifecycle import (
    EVENT_CODES,
    KEEPS_TRAVELLING,
    MISSORTED,
    Decision,
    IllegalTransition,
    Status,
    arrival_target,
    can_become,
    decide,
)

S = Status
FINISHED = (S.DELIVERED, S.RETURNED, S.CANCELLED, S.LOST)
"""A parcel in the recipient's hands, back with the sender, cancelled or lost is finished."""
ON_THE_ROAD = (S.HANDED_OVER, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE, S.RETURNING)


def walk(*statuses: Status) -> Status:
    """Take a parcel from ``created`` through ``statuses``; each step must be allowed."""
    current = S.CREATED
    for target in statuses:
        decision = decide(current, target, late=False)
        assert decision.applies, f"{current} -> {target} should move the parcel"
        current = decision.status_after
    return current


def refused(current: Status, target: Status) -> bool:
    try:
        decide(current, target, late=False)
    except IllegalTransition:
        return True
    return False


def _outcome(current: Status, target: Status, *, late: bool) -> Decision | IllegalTransition:
    try:
        return decide(current, target, late=late)
    except IllegalTransition as refusal:
        return refusal


def reachable_from(start: Status) -> set[Status]:
    seen = {start}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for there in Status:
            if there not in seen and can_become(here, there):
                seen.add(there)
                queue.append(there)
    return seen


# ---------------------------------------------------------------------------- the road


def test_a_parcel_walks_from_the_warehouse_to_the_recipient() -> None:
    assert (
        walk(S.HANDED_OVER, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE, S.READY_FOR_PICKUP, S.DELIVERED)
        is S.DELIVERED
    )


def test_missed_hub_scans_do_not_stop_the_parcel_at_the_office() -> None:
    assert walk(S.HANDED_OVER, S.ARRIVED_AT_OFFICE) is S.ARRIVED_AT_OFFICE


def test_a_missorted_parcel_is_scanned_in_transit_again_and_still_arrives() -> None:
    assert EVENT_CODES[MISSORTED] is S.IN_TRANSIT
    assert walk(S.HANDED_OVER, S.IN_TRANSIT, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE)


def test_an_arrival_scanned_at_another_office_is_a_missort() -> None:
    assert arrival_target("arrived_at_office", scanned_at="155654", destination="155650") == (
        MISSORTED
    )
    assert arrival_target("arrived_at_office", scanned_at="155650", destination="155650") == (
        "arrived_at_office"
    )
    assert arrival_target("arrived_at_office", scanned_at=None, destination="155650") == (
        "arrived_at_office"
    )
    assert arrival_target("departed_hub", scanned_at="155654", destination="155650") == (
        "departed_hub"
    )


def test_a_parcel_reaches_the_recipient_only_from_the_shelf() -> None:
    for status in Status:
        if status is not S.READY_FOR_PICKUP:
            assert refused(status, S.DELIVERED), status
            assert refused(status, S.PARTIALLY_DELIVERED), status
            assert refused(status, S.REFUSED), status


def test_no_scan_alone_puts_a_parcel_on_the_shelf_or_in_the_recipients_hands() -> None:
    counter_only = {S.READY_FOR_PICKUP, S.DELIVERED, S.PARTIALLY_DELIVERED, S.REFUSED}
    assert not counter_only & set(EVENT_CODES.values())


def test_nothing_goes_back_to_created() -> None:
    for status in Status:
        assert refused(status, S.CREATED), status


# ---------------------------------------------------------------------------- the way back


def test_an_issued_parcel_cannot_be_recalled() -> None:
    issued = walk(S.HANDED_OVER, S.ARRIVED_AT_OFFICE, S.READY_FOR_PICKUP, S.DELIVERED)
    for target in (S.RETURNING, S.RETURNED, S.CANCELLED, S.LOST, S.READY_FOR_PICKUP):
        assert refused(issued, target), target


def test_a_refused_parcel_goes_back_to_the_sender() -> None:
    assert (
        walk(
            S.HANDED_OVER,
            S.ARRIVED_AT_OFFICE,
            S.READY_FOR_PICKUP,
            S.REFUSED,
            S.RETURNING,
            S.RETURNED,
        )
        is S.RETURNED
    )


def test_a_parcel_nobody_collected_goes_back_after_its_storage() -> None:
    assert walk(
        S.HANDED_OVER, S.ARRIVED_AT_OFFICE, S.READY_FOR_PICKUP, S.STORAGE_EXPIRED, S.RETURNING
    )


def test_the_rest_of_a_partly_delivered_parcel_goes_back() -> None:
    assert walk(
        S.HANDED_OVER,
        S.ARRIVED_AT_OFFICE,
        S.READY_FOR_PICKUP,
        S.PARTIALLY_DELIVERED,
        S.RETURNING,
        S.RETURNED,
    )


def test_an_office_may_send_a_parcel_back_before_shelving_it() -> None:
    assert walk(S.HANDED_OVER, S.ARRIVED_AT_OFFICE, S.RETURNING)


def test_a_parcel_on_the_shelf_goes_back_only_once_refused_or_expired() -> None:
    shelved = walk(S.HANDED_OVER, S.ARRIVED_AT_OFFICE, S.READY_FOR_PICKUP)
    assert refused(shelved, S.RETURNING)


# ---------------------------------------------------------------------------- cancel, loss


def test_a_parcel_can_be_cancelled_only_before_it_is_handed_over() -> None:
    assert walk(S.CANCELLED) is S.CANCELLED
    for status in Status:
        if status is not S.CREATED:
            assert refused(status, S.CANCELLED), status


@pytest.mark.parametrize("where", ON_THE_ROAD)
def test_a_parcel_can_be_lost_on_the_road(where: Status) -> None:
    assert can_become(where, S.LOST)


@pytest.mark.parametrize("where", [S.CREATED, S.READY_FOR_PICKUP])
def test_a_parcel_not_yet_on_the_road_or_on_the_shelf_is_not_lost(where: Status) -> None:
    assert refused(where, S.LOST)


# ---------------------------------------------------------------------------- finished


@pytest.mark.parametrize("finished", FINISHED)
def test_a_finished_parcel_changes_no_more(finished: Status) -> None:
    for target in Status:
        with pytest.raises(IllegalTransition) as refusal:
            decide(finished, target, late=False)
        assert refusal.value.allowed == []
        assert "nothing (final)" in str(refusal.value)


def test_every_parcel_can_finish_and_every_status_can_be_reached() -> None:
    assert reachable_from(S.CREATED) == set(Status)
    for status in Status:
        assert reachable_from(status) & set(FINISHED), f"{status} can never finish"


def test_a_refusal_names_where_the_parcel_is_and_where_it_may_go() -> None:
    with pytest.raises(IllegalTransition) as refusal:
        decide(S.IN_TRANSIT, S.DELIVERED, late=False)
    assert refusal.value.current is S.IN_TRANSIT
    assert refusal.value.target is S.DELIVERED
    assert S.ARRIVED_AT_OFFICE in refusal.value.allowed
    assert "in_transit" in str(refusal.value)
    assert "arrived_at_office" in str(refusal.value)


# ---------------------------------------------------------------------------- late scans


def test_a_late_scan_is_recorded_without_moving_the_parcel_back() -> None:
    decision = decide(S.ARRIVED_AT_OFFICE, S.IN_TRANSIT, late=True)
    assert not decision.applies
    assert decision.status_after is S.ARRIVED_AT_OFFICE


def test_a_late_scan_further_along_still_moves_the_parcel() -> None:
    decision = decide(S.HANDED_OVER, S.ARRIVED_AT_OFFICE, late=True)
    assert decision.applies
    assert decision.status_after is S.ARRIVED_AT_OFFICE


def test_a_late_scan_of_the_leg_the_parcel_is_on_is_not_a_move() -> None:
    decision = decide(S.IN_TRANSIT, S.IN_TRANSIT, late=True)
    assert not decision.applies
    assert decision.status_after is S.IN_TRANSIT


# ---------------------------------------------------------------------------- any order

events = st.lists(st.tuples(st.sampled_from(list(Status)), st.booleans()), max_size=40)


@given(events)
@example([(S.HANDED_OVER, False), (S.IN_TRANSIT, False), (S.IN_TRANSIT, True)])
def test_whatever_arrives_in_whatever_order_the_rules_hold(
    sequence: list[tuple[Status, bool]],
) -> None:
    current = S.CREATED
    history = [current]
    for target, late in sequence:
        outcome = _outcome(current, target, late=late)
        if isinstance(outcome, IllegalTransition):
            # A refusal changes nothing, names the status the parcel is at, and what it
            # offers instead is exactly what would have been accepted.
            assert outcome.current is current
            offered = set(outcome.allowed)
            assert offered == {t for t in Status if can_become(current, t)}
            assert target not in offered
            continue
        decision = outcome
        if not decision.applies:
            # A late event is recorded and leaves the status where it is; so is a scan of
            # a recalled parcel still travelling to its office (its return starts there).
            assert late or (current is S.RECALLED and target in KEEPS_TRAVELLING)
            assert decision.status_after is current
            continue
        assert decision.status_after is target
        assert can_become(current, target)
        if late:
            # A late event never brings the parcel back to where it already was.
            assert target not in history
        current = target
        history.append(current)

    # What must hold of any history the rules let through:
    assert S.CREATED not in history[1:], "nothing goes back to created"
    for finished in FINISHED:
        if finished in history:
            assert history[-1] is finished, f"a parcel moved after {finished}"
    if S.CANCELLED in history:
        assert history == [S.CREATED, S.CANCELLED], "cancelled after it was handed over"
    if S.DELIVERED in history:
        assert history[history.index(S.DELIVERED) - 1] is S.READY_FOR_PICKUP
    if S.RETURNED in history:
        assert S.RETURNING in history, "back with the sender without being sent back"
    if S.READY_FOR_PICKUP in history:
        assert S.ARRIVED_AT_OFFICE in history[: history.index(S.READY_FOR_PICKUP)]
    if len(history) > 1 and history[1] is not S.CANCELLED:
        assert history[1] is S.HANDED_OVER, "on the road without being handed over"


@given(st.lists(st.sampled_from(sorted(EVENT_CODES)), max_size=30))
def test_scans_in_any_order_never_issue_a_parcel(codes: list[str]) -> None:
    current = walk(S.HANDED_OVER)
    for code in codes:
        try:
            current = decide(current, EVENT_CODES[code], late=False).status_after
        except IllegalTransition:
            continue
        assert current not in {S.READY_FOR_PICKUP, S.DELIVERED, S.PARTIALLY_DELIVERED}
        assert current is not S.CANCELLED
