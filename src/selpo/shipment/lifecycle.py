"""The shipment lifecycle as an explicit transition table (pure).

    created → handed_over → in_transit → arrived_at_office → ready_for_pickup
    ready_for_pickup → delivered | partially_delivered | refused | storage_expired
    partially_delivered | refused | storage_expired → returning → returned
    created → cancelled;  handed_over | in_transit | arrived_at_office | returning → lost
    handed_over | in_transit → in_transit on ``missorted`` (arrived at another office: back
    to the hub)
    handed_over | in_transit | arrived_at_office | ready_for_pickup → recalled (the marketplace
    recalls it before it is issued); recalled → returning | lost

A recalled parcel still on its way keeps travelling to its office, where its return leg
starts: its hub and office scans are recorded without moving the status (``KEEPS_TRAVELLING``),
and its acceptance at the office starts the return (recalled → returning). A parcel recalled
at the office starts its return at once. After it is issued a parcel cannot be recalled; a
created one is cancelled instead. ``returned`` is final: a returned parcel never moves again.

Every change is recorded as a tracking event. A status change not in the table is refused
with the current status and what is allowed. Events that arrive late (a scan uploaded hours
after a later one) are recorded in time order but never move the status backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    """Where a shipment is in its life."""

    CREATED = "created"
    HANDED_OVER = "handed_over"
    IN_TRANSIT = "in_transit"
    ARRIVED_AT_OFFICE = "arrived_at_office"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    PARTIALLY_DELIVERED = "partially_delivered"
    REFUSED = "refused"
    STORAGE_EXPIRED = "storage_expired"
    RETURNING = "returning"
    RETURNED = "returned"
    RECALLED = "recalled"
    CANCELLED = "cancelled"
    LOST = "lost"


S = Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    S.CREATED: frozenset({S.HANDED_OVER, S.CANCELLED}),
    # A hub may scan a parcel straight into transit or at the office (scans can be missed).
    S.HANDED_OVER: frozenset({S.IN_TRANSIT, S.ARRIVED_AT_OFFICE, S.RECALLED, S.LOST}),
    S.IN_TRANSIT: frozenset({S.IN_TRANSIT, S.ARRIVED_AT_OFFICE, S.RECALLED, S.LOST}),
    S.ARRIVED_AT_OFFICE: frozenset({S.READY_FOR_PICKUP, S.RETURNING, S.RECALLED, S.LOST}),
    S.READY_FOR_PICKUP: frozenset(
        {S.DELIVERED, S.PARTIALLY_DELIVERED, S.REFUSED, S.STORAGE_EXPIRED, S.RECALLED}
    ),
    S.RECALLED: frozenset({S.RETURNING, S.LOST}),
    S.PARTIALLY_DELIVERED: frozenset({S.RETURNING}),
    S.REFUSED: frozenset({S.RETURNING}),
    S.STORAGE_EXPIRED: frozenset({S.RETURNING}),
    S.RETURNING: frozenset({S.RETURNED, S.LOST}),
    S.DELIVERED: frozenset(),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
    S.LOST: frozenset(),
}

# What a marketplace may recall (before the parcel is issued); a created one is cancelled.
RECALLABLE: frozenset[Status] = frozenset(
    {S.HANDED_OVER, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE, S.READY_FOR_PICKUP}
)
# Recalled at the office: the return starts at once (not on the office's acceptance).
AT_OFFICE: frozenset[Status] = frozenset({S.ARRIVED_AT_OFFICE, S.READY_FOR_PICKUP})
# The scans of the road a recalled parcel still on its way takes: recorded, status kept.
KEEPS_TRAVELLING: frozenset[Status] = frozenset({S.HANDED_OVER, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE})

FINAL: frozenset[Status] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
# A partially delivered parcel is finished for the recipient once its rest is back.
ENDED: frozenset[Status] = FINAL

# How far along the road a status is: a late event whose status is not further along than
# the current one is recorded without changing the status.
PROGRESS: dict[Status, int] = {
    S.CREATED: 0,
    S.HANDED_OVER: 1,
    S.IN_TRANSIT: 2,
    S.ARRIVED_AT_OFFICE: 3,
    S.READY_FOR_PICKUP: 4,
    S.DELIVERED: 5,
    S.PARTIALLY_DELIVERED: 5,
    S.REFUSED: 5,
    S.STORAGE_EXPIRED: 5,
    S.RECALLED: 5,
    S.RETURNING: 6,
    S.RETURNED: 7,
    S.CANCELLED: 8,
    S.LOST: 8,
}

MISSORTED = "missorted"

# Event codes a hub or office scan may report, and the status each leads to.
EVENT_CODES: dict[str, Status] = {
    "handed_over": S.HANDED_OVER,
    "arrived_at_sorting_centre": S.IN_TRANSIT,
    "departed_sorting_centre": S.IN_TRANSIT,
    "arrived_at_hub": S.IN_TRANSIT,
    "departed_hub": S.IN_TRANSIT,
    "in_transit": S.IN_TRANSIT,
    "arrived_at_office": S.ARRIVED_AT_OFFICE,
    # Scanned at an office that is not its destination: recorded, and the parcel goes back
    # to its hub, still in transit (an arrival scanned elsewhere becomes this event).
    MISSORTED: S.IN_TRANSIT,
    "lost": S.LOST,
    "returned_to_sender": S.RETURNED,
}


@dataclass(frozen=True)
class Decision:
    """What to do with an event: record it, and whether it moves the status."""

    applies: bool
    status_after: Status


class IllegalTransition(Exception):
    """A status change the table does not allow."""

    def __init__(self, current: Status, target: Status) -> None:
        self.current = current
        self.target = target
        self.allowed = sorted(TRANSITIONS[current])
        allowed = ", ".join(self.allowed) or "nothing (final)"
        super().__init__(f"a {current} shipment cannot become {target}; allowed: {allowed}")


def decide(current: Status, target: Status, *, late: bool) -> Decision:
    """Decide whether an event with status ``target`` moves a shipment at ``current``.

    ``late`` says the event happened before the latest event already recorded.
    """
    if late and PROGRESS[target] <= PROGRESS[current]:
        return Decision(applies=False, status_after=current)
    if current == S.RECALLED and target in KEEPS_TRAVELLING:
        # Recalled on its way: it still travels to its office, where its return starts.
        return Decision(applies=False, status_after=current)
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return Decision(applies=True, status_after=target)


def can_become(current: Status, target: Status) -> bool:
    """Whether the table allows ``current`` → ``target``."""
    return target in TRANSITIONS[current]


def arrival_target(code: str, *, scanned_at: str | None, destination: str) -> str:
    """The event an office scan stands for: an arrival scanned at an office other than the
    parcel's destination is a mis-sort (the parcel goes back to its hub), never an arrival.
    ``scanned_at`` ``None`` (the scan did not say where) is taken as the destination."""
    if EVENT_CODES.get(code) == S.ARRIVED_AT_OFFICE and scanned_at not in (None, destination):
        return MISSORTED
    return code


# What a marketplace may still change of a shipment (``PATCH /v1/shipments/{n}``), by status:
# everything until the parcel is handed over, then only the recipient's phone until it is
# issued (an SMS with the pickup code can still reach the right person), then nothing.
CHANGEABLE_FIELDS: tuple[str, ...] = (
    "recipient.name",
    "recipient.phone",
    "parcel.cod_kop",
    "destination_index",
    "options.fitting",
    "options.contents_check",
    "options.partial_redemption",
)
PHONE_ONLY: frozenset[Status] = frozenset(
    {S.HANDED_OVER, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE, S.READY_FOR_PICKUP}
)


def changeable(status: Status) -> tuple[str, ...]:
    """The fields of a shipment at ``status`` its marketplace may still change."""
    if status == S.CREATED:
        return CHANGEABLE_FIELDS
    if status in PHONE_ONLY:
        return ("recipient.phone",)
    return ()


# A hub may scan a parcel straight to the office (a missed in-transit scan): a real parcel may
# take this step, a walk never does.
MISSED_SCANS: frozenset[tuple[Status, Status]] = frozenset({(S.HANDED_OVER, S.ARRIVED_AT_OFFICE)})


def walk(current: Status, target: Status) -> list[Status] | None:
    """The statuses a shipment at ``current`` passes through to ``target`` (the target last):
    the shortest way the table allows without a missed scan (``MISSED_SCANS``), so handed over
    → in transit → arrived. ``None`` when the table does not lead there. To pass a branch
    of one's choosing (refused, then returned), walk to it first. The sandbox moves its
    parcels along these walks.
    """
    if target == current:
        return [target] if target in TRANSITIONS[current] else None
    came_from: dict[Status, Status] = {current: current}
    frontier = [current]
    while frontier and target not in came_from:
        following: list[Status] = []
        for status in frontier:
            for step in sorted(TRANSITIONS[status], key=lambda s: (PROGRESS[s], s.value)):
                detour = step == S.RECALLED and target != S.RECALLED
                if step not in came_from and (status, step) not in MISSED_SCANS and not detour:
                    came_from[step] = status
                    following.append(step)
        frontier = following
    if target not in came_from:
        return None
    path = [target]
    while came_from[path[-1]] != current:
        path.append(came_from[path[-1]])
    return path[::-1]


def reachable(current: Status) -> list[Status]:
    """Every status a shipment at ``current`` can still reach, in the table's order."""
    return [s for s in Status if walk(current, s) is not None]
