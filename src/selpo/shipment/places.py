"""The places of an order (pure): when an order of several places counts as arrived, what a
scan of one place asks of the order, and which status each place shows.

An order has places 1..n (n = 1 for an ordinary parcel; place 1's tracking number is the
order's). Each place travels on its own and has its own status while it travels
(``created``, ``handed_over``, ``in_transit``, ``arrived_at_office``; ``lost``). The order:

- follows its places on the way: a scan of a place that takes the order further along moves
  it (the first place handed over hands the order over); a scan that does not (place 2 handed
  over after place 1) is recorded on the order without moving it;
- is ``arrived_at_office`` when every place is at the office, or, where the marketplace
  allows (``ready_on_first_place``), when the first one is; until then an arrived place is a
  ``place_arrived`` event and the order is ``in_transit``;
- from the office on is shelved, issued and returned as one (the order's status speaks for
  every place that is there).

A single-place order behaves exactly as a parcel always has: its scans are judged as they
come, and its place shows the order's status.
"""

from __future__ import annotations

from collections.abc import Iterable

from selpo.shipment.lifecycle import PROGRESS, Status

S = Status

MAX_PLACES = 20
PLACE_ARRIVED = "place_arrived"
"""The event of a place that reached the office without making its order arrive."""

TRAVELLING: frozenset[str] = frozenset({S.CREATED, S.HANDED_OVER, S.IN_TRANSIT})
"""A place's own statuses while it is still on its way to the office."""
HERE = S.ARRIVED_AT_OFFICE.value
RETURNING = S.RETURNING.value
# What a scan may do to a place's own status: the statuses of the way to the office.
_OWN: frozenset[Status] = frozenset({S.HANDED_OVER, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE, S.LOST})


def arrival_complete(arrived: Iterable[bool], *, ready_on_first: bool) -> bool:
    """Whether an order whose places are at the office as ``arrived`` says counts as
    arrived: every place is, or (``ready_on_first``) at least one is."""
    flags = list(arrived)
    if not flags:
        return False
    return any(flags) if ready_on_first else all(flags)


def arrival_event(
    before: Iterable[bool], after: Iterable[bool], *, ready_on_first: bool
) -> tuple[str, Status]:
    """The event one place's arrival makes of its order, given which places were at the
    office before it and after: ``arrived_at_office`` (the order arrives) when this arrival
    completes the order, else ``place_arrived`` asking ``in_transit`` (the order is on its
    way; an order already further along just records it)."""
    was = arrival_complete(before, ready_on_first=ready_on_first)
    now = arrival_complete(after, ready_on_first=ready_on_first)
    if now and not was:
        return S.ARRIVED_AT_OFFICE.value, S.ARRIVED_AT_OFFICE
    return PLACE_ARRIVED, S.IN_TRANSIT


def holds(current: Status, target: Status, *, places: int) -> bool:
    """Whether a scan of one place of an order of ``places`` is recorded without moving the
    order: it does not take the order further along (another place got there first). An
    order of one place never holds: its scans are judged by the lifecycle table alone."""
    return places > 1 and PROGRESS[target] <= PROGRESS[current]


def advanced(own: str, target: Status) -> str:
    """A place's own status after a scan asking ``target``: only forward along the way, and
    only for the statuses of the way (the office's statuses are the order's)."""
    if target not in _OWN:
        return own
    if own not in PROGRESS_OF_OWN or PROGRESS[target] > PROGRESS_OF_OWN[own]:
        return target.value
    return own


PROGRESS_OF_OWN: dict[str, int] = {s.value: PROGRESS[s] for s in _OWN | {S.CREATED}}


def shown_status(order: str, own: str, *, places: int) -> str:
    """The status a place shows: the order's for a single place and once the place is at
    the office with its order; its own while it travels (or is here ahead of its order, or
    scanned for the return before the order goes back)."""
    if places == 1 or order in (S.CANCELLED, S.LOST):
        return order
    if own in TRAVELLING or own == S.LOST:
        return own
    if PROGRESS[Status(own)] > PROGRESS[Status(order)]:
        return own
    return order
