"""The lockout rule of anything guessed: codes, passwords.

``max_failures`` wrong attempts in a row lock it for ``period``; the count then starts again
at 0, a right attempt clears it, and while the lock is in force nothing is checked or
counted. The databases count in one atomic statement with ``selpo.db.failure_counted`` and
``selpo.db.unlocked`` (the SQL twin of :meth:`Lockout.after_failure` and
:meth:`Lockout.in_force`); a counter already held under a row lock counts with these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Lockout:
    """How many wrong attempts in a row lock, and for how long."""

    max_failures: int
    period: timedelta

    def lock_until(self, now: datetime) -> datetime:
        """When a lock set at ``now`` ends."""
        return now + self.period

    def in_force(self, locked_until: datetime | None, now: datetime) -> datetime | None:
        """The end of the lock if it holds at ``now``, else ``None``."""
        return locked_until if locked_until is not None and now < locked_until else None

    def attempts_left(self, failures: int) -> int:
        """Wrong attempts still allowed before the lock."""
        return max(0, self.max_failures - failures)

    def after_failure(self, failures: int, now: datetime) -> tuple[int, datetime | None]:
        """The count and the new lock after one more wrong attempt (``None``: no new lock)."""
        following = failures + 1
        if following >= self.max_failures:
            return 0, self.lock_until(now)
        return following, None
