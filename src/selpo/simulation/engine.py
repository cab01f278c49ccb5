"""The simulation step loop: pure, with the clock, the rng and the operations passed in."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from selpo.kit.clock import FrozenClock
from selpo.simulation.demand import Order

STEP = timedelta(hours=1)
ORDER_HOUR_UTC = 7  # the day's orders are handed over at the warehouse at 10:00 Moscow time
RETRY_CLOSED = timedelta(hours=1)  # a recipient who finds the office closed comes back later
RETRY_UNSTAFFED = timedelta(days=1)  # the counter is unstaffed today: come back tomorrow


@dataclass(frozen=True)
class Pickup:
    """A recipient at the counter: what they will do."""

    tracking_number: str
    order: Order


@dataclass
class StepOutcome:
    """What the operations did in one step."""

    created: list[tuple[str, str]] = field(default_factory=list)  # (order id, tracking number)
    refused_orders: list[str] = field(default_factory=list)  # refused at creation
    shelved: list[str] = field(default_factory=list)  # tracking numbers now ready for pickup
    not_served: list[Pickup] = field(default_factory=list)  # office closed: come back later
    turned_away: list[Pickup] = field(default_factory=list)  # unstaffed: come back tomorrow
    sent_back: list[str] = field(default_factory=list)  # tracking numbers now returning
    # (they ride the route runs' return legs: ``ServiceOperations`` moves them to the act)


class Operations(Protocol):
    """What the engine needs from the system (``service.ServiceOperations`` is the real one)."""

    def step(
        self,
        now: datetime,
        orders: Sequence[Order],
        pickups: Sequence[Pickup],
    ) -> StepOutcome: ...


@dataclass
class EngineTotals:
    """Counts the engine itself keeps (the rest comes from the database)."""

    orders: int = 0
    unserved: int = 0
    refused_at_creation: int = 0
    created: int = 0
    sent_back: int = 0  # parcels whose return started at their office
    unserved_by_district: dict[str, int] = field(default_factory=dict)
    orders_by_district: dict[str, int] = field(default_factory=dict)


def run(
    *,
    days: int,
    start: date,
    clock: FrozenClock,
    rng: random.Random,
    demand: Callable[[date, random.Random], list[Order]],
    operations: Operations,
    progress: Callable[[int], None] | None = None,
) -> EngineTotals:
    """Walk ``days`` days hour by hour: orders once a day, pickups when due (the way back,
    from the offices to the warehouses, is the operations' own: the route runs carry it).

    The clock must start at or before ``start`` 00:00 UTC; it ends ``days`` days later.
    """
    totals = EngineTotals()
    by_tracking: dict[str, Order] = {}
    due: list[tuple[datetime, str]] = []  # (when, tracking number) of pickups
    end = datetime(start.year, start.month, start.day, tzinfo=clock.now().tzinfo) + timedelta(
        days=days
    )
    step_no = 0
    while clock.now() < end:
        now = clock.advance(STEP)
        orders: list[Order] = []
        if now.hour == ORDER_HOUR_UTC:
            for order in demand(now.date(), rng):
                totals.orders += 1
                d = order.district
                totals.orders_by_district[d] = totals.orders_by_district.get(d, 0) + 1
                if order.office_index is None:
                    totals.unserved += 1
                    totals.unserved_by_district[d] = totals.unserved_by_district.get(d, 0) + 1
                else:
                    orders.append(order)
        pickups = [Pickup(t, by_tracking[t]) for when, t in due if when <= now]
        due = [(when, t) for when, t in due if when > now]
        outcome = operations.step(now, orders, pickups)
        by_order = {o.order_id: o for o in orders}
        for order_id, tracking in outcome.created:
            by_tracking[tracking] = by_order[order_id]
        totals.created += len(outcome.created)
        totals.refused_at_creation += len(outcome.refused_orders)
        for tracking in outcome.shelved:
            order = by_tracking[tracking]
            if not order.never_collect:
                due.append((now + timedelta(hours=order.pickup_delay_h), tracking))
        for pickup in outcome.not_served:
            due.append((now + RETRY_CLOSED, pickup.tracking_number))
        for pickup in outcome.turned_away:
            due.append((now + RETRY_UNSTAFFED, pickup.tracking_number))
        totals.sent_back += len(outcome.sent_back)
        due.sort()
        step_no += 1
        if progress is not None and now.hour == 0:
            progress(1)
    return totals
