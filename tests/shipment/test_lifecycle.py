"""The transition table: every allowed change allowed, every other refused."""

from __future__ import annotations

import itertools

import pytest

from selpo.shipment.lifecycle import (
    FINAL,
    TRANSITIONS,
    IllegalTransition,
    Status,
    decide,
)

ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
ILLEGAL = [(a, b) for a, b in itertools.product(Status, Status) if b not in TRANSITIONS[a]]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transition_moves_the_status(current: Status, target: Status) -> None:
    decision = decide(current, target, late=False)
    assert decision.applies
    assert decision.status_after is target


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transition_is_refused_with_what_is_allowed(
    current: Status, target: Status
) -> None:
    with pytest.raises(IllegalTransition) as refused:
        decide(current, target, late=False)
    assert refused.value.current is current
    assert set(refused.value.allowed) == set(TRANSITIONS[current])


def test_final_statuses_have_no_way_out() -> None:
    assert FINAL == {Status.DELIVERED, Status.RETURNED, Status.CANCELLED, Status.LOST}


def test_late_scan_never_moves_the_status_back() -> None:
    decision = decide(Status.ARRIVED_AT_OFFICE, Status.IN_TRANSIT, late=True)
    assert not decision.applies
    assert decision.status_after is Status.ARRIVED_AT_OFFICE


def test_late_scan_that_is_further_along_still_applies() -> None:
    decision = decide(Status.HANDED_OVER, Status.ARRIVED_AT_OFFICE, late=True)
    assert decision.applies
