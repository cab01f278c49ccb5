"""The engine alone, with fake operations: orders once a day, pickups when due, returns."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime

from selpo.kit.clock import FrozenClock
from selpo.simulation.demand import Order
from selpo.simulation.engine import Pickup, StepOutcome, run


def _order(n: int, *, office: str | None = "155000", never: bool = False) -> Order:
    return Order(
        order_id=f"O-{n}",
        marketplace="OZON",
        district="D",
        office_index=office,
        items=(1000,),
        cod=False,
        pickup_delay_h=5.0,
        never_collect=never,
        refuse_all=False,
        refuse_part=False,
    )


class FakeOperations:
    """Creates every order, shelves it on the next step, records pickups."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.picked: list[tuple[datetime, str]] = []

    def step(
        self,
        now: datetime,
        orders: Sequence[Order],
        pickups: Sequence[Pickup],
    ) -> StepOutcome:
        outcome = StepOutcome(shelved=self.pending)
        self.pending = [f"T-{o.order_id}" for o in orders]
        outcome.created = [(o.order_id, f"T-{o.order_id}") for o in orders]
        self.picked.extend((now, p.tracking_number) for p in pickups)
        return outcome


def test_orders_unserved_and_pickups() -> None:
    def demand(day: date, rng: random.Random) -> list[Order]:
        return [_order(1), _order(2, office=None), _order(3, never=True)] if day.day == 2 else []

    ops = FakeOperations()
    clock = FrozenClock(datetime(2026, 11, 2, tzinfo=UTC))
    totals = run(
        days=2,
        start=date(2026, 11, 2),
        clock=clock,
        rng=random.Random(1),
        demand=demand,
        operations=ops,
    )
    assert (totals.orders, totals.unserved, totals.created) == (3, 1, 2)
    # Created at 07:00, shelved at 08:00, collected 5 hours later; O-3 never comes.
    assert ops.picked == [(datetime(2026, 11, 2, 13, tzinfo=UTC), "T-O-1")]
    assert clock.now() == datetime(2026, 11, 4, tzinfo=UTC)


class UnstaffedOnce(FakeOperations):
    """Like ``FakeOperations``, but the first recipient finds nobody at the counter."""

    def __init__(self) -> None:
        super().__init__()
        self.turned_away = False

    def step(
        self,
        now: datetime,
        orders: Sequence[Order],
        pickups: Sequence[Pickup],
    ) -> StepOutcome:
        if pickups and not self.turned_away:
            self.turned_away = True
            outcome = super().step(now, orders, [])
            outcome.turned_away = list(pickups)
            return outcome
        return super().step(now, orders, pickups)


def test_a_recipient_turned_away_comes_back_the_next_day() -> None:
    def demand(day: date, rng: random.Random) -> list[Order]:
        return [_order(1)] if day.day == 2 else []

    ops = UnstaffedOnce()
    run(
        days=3,
        start=date(2026, 11, 2),
        clock=FrozenClock(datetime(2026, 11, 2, tzinfo=UTC)),
        rng=random.Random(1),
        demand=demand,
        operations=ops,
    )
    # Due at 13:00 on the 2nd, nobody at the counter: back at 13:00 on the 3rd.
    assert ops.picked == [(datetime(2026, 11, 3, 13, tzinfo=UTC), "T-O-1")]
