"""The lockout rule: N wrong attempts in a row lock for a period, then the count starts
again; the database's atomic counter (``db.failure_counted``) agrees with the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, literal, select

from selpo.db import UTCDateTime, failure_counted
from selpo.kit.lockout import Lockout
from selpo.shipment.rules import PICKUP_CODE_LOCKOUT

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_five_wrong_codes_lock_for_a_quarter_of_an_hour() -> None:
    rule = PICKUP_CODE_LOCKOUT
    failures, locked = 0, None
    for left in (4, 3, 2, 1):
        failures, locked = rule.after_failure(failures, NOW)
        assert locked is None
        assert rule.attempts_left(failures) == left
    failures, locked = rule.after_failure(failures, NOW)
    assert (failures, locked) == (0, NOW + timedelta(minutes=15))
    assert rule.in_force(locked, NOW + timedelta(minutes=14)) == locked
    assert rule.in_force(locked, NOW + timedelta(minutes=15)) is None


@given(st.integers(1, 10), st.integers(1, 60))
def test_every_nth_wrong_attempt_in_a_row_locks(max_failures: int, attempts: int) -> None:
    rule = Lockout(max_failures, timedelta(minutes=5))
    failures, locks = 0, 0
    for _ in range(attempts):
        failures, locked = rule.after_failure(failures, NOW)
        locks += locked is not None
        assert 0 <= failures < max_failures
    assert locks == attempts // max_failures


@given(st.integers(1, 10), st.integers(0, 9))
def test_the_databases_counter_agrees_with_the_rule(max_failures: int, failures: int) -> None:
    rule = Lockout(max_failures, timedelta(minutes=15))
    failures = failures % max_failures
    count, lock = failure_counted(
        literal(failures),
        literal(None, UTCDateTime()),
        max_failures=max_failures,
        lock_until=rule.lock_until(NOW),
    )
    with create_engine("sqlite://").connect() as connection:
        row = connection.execute(select(count, lock)).one()
    assert (row[0], row[1]) == rule.after_failure(failures, NOW)
