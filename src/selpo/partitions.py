"""Monthly partitions of the fast-growing tables on PostgreSQL: made ahead, dropped when old.

At national size (a million parcels and six million tracking events a day) two tables grow
without bound: ``tracking_event`` (by ``occurred_at``) and ``outbox_message`` (by
``created_at``). On PostgreSQL they are range-partitioned by month (declarative partitioning,
set up by the migration ``national_day_partitions``): a month's rows live in
``<table>_yYYYYmMM``, and rows outside every month made so far land in ``<table>_default``, so a
write never fails for want of a partition (a scan dated far back, a test's frozen clock).

This module is the maintenance, run by the worker's ``maintain-partitions`` job and by the
migration: it makes the current month's and the next months' partitions ahead of time (moving
any rows of that month out of the default partition first), and drops the partitions whose
whole month lies before the retention period. It is ours rather than ``pg_partman``'s: two
tables and one rule need some eighty lines, not an extension that must be installed and
preloaded on every server (``docs/operations.md``).

SQLite keeps plain tables: every function here does nothing there.

Locks: a partition is made with ``CREATE TABLE`` and ``ATTACH PARTITION``, which takes SHARE
UPDATE EXCLUSIVE on the parent (writes go on) but an exclusive lock on the default partition
(any query the planner cannot prune reads it); dropping one locks the parent exclusively. Each
step waits at most ``LOCK_TIMEOUT`` for its locks, so a long report never makes every insert
queue behind it; a step that could not have them is tried again at the next run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

log = logging.getLogger("selpo.partitions")

# How long dropping an old partition waits for the parent's lock before giving up this round:
# a long report holding the table must not make every insert queue behind the drop.
LOCK_TIMEOUT = "5s"
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out
# Months made ahead of the current one (the job runs far more often than monthly; this is the
# margin if the worker is down at a month's turn).
MONTHS_AHEAD = 2


@dataclass(frozen=True)
class MonthlyTable:
    """A table partitioned by month on ``key`` (a timezone-aware timestamp column)."""

    name: str
    key: str
    # Rows that must not go while the partition still holds one (an outbox row not yet sent).
    keep_while: str | None = None

    @property
    def default_partition(self) -> str:
        return f"{self.name}_default"

    def partition(self, month: datetime) -> str:
        return f"{self.name}_y{month.year:04d}m{month.month:02d}"


TRACKING_EVENT = MonthlyTable("tracking_event", "occurred_at")
OUTBOX_MESSAGE = MonthlyTable("outbox_message", "created_at", keep_while="status = 'pending'")
TABLES = (TRACKING_EVENT, OUTBOX_MESSAGE)


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of the month ``moment`` falls in."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    """The first instant of the month ``count`` months after (or before) ``month``'s."""
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def is_partitioned(connection: Connection, table: str) -> bool:
    """Whether ``table`` is a partitioned table here (never on SQLite)."""
    if connection.dialect.name != "postgresql":
        return False
    kind = connection.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    ).scalar_one_or_none()
    return kind == "p"


def months_held(connection: Connection, table: MonthlyTable) -> list[datetime]:
    """The months that have a partition of their own, oldest first (the default aside)."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": table.name},
    ).scalars()
    pattern = re.compile(rf"^{re.escape(table.name)}_y(\d{{4}})m(\d{{2}})$")
    months = []
    for name in names:
        found = pattern.match(name)
        if found:
            months.append(datetime(int(found[1]), int(found[2]), 1, tzinfo=UTC))
    return sorted(months)


def _bound(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def _briefly(connection: Connection, what: str, statements: list[str]) -> bool:
    """Run ``statements`` in a savepoint, each waiting at most ``LOCK_TIMEOUT`` for its
    locks; False (and nothing done) when a lock was not had: the next run tries again."""
    try:
        with connection.begin_nested():
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            for statement in statements:
                connection.exec_driver_sql(statement)
            connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        log.warning("%s: not this time, a lock was busy", what)
        return False
    return True


def make_partition(connection: Connection, table: MonthlyTable, month: datetime) -> bool:
    """Give ``month`` a partition of its own unless it has one; True when one was made.

    The month's rows already in the default partition move into it first (ATTACH refuses a
    range the default still holds rows of, and locks the default exclusively to check it).
    """
    month = month_start(month)
    if month in months_held(connection, table):
        return False
    name = table.partition(month)
    lower, upper = _bound(month), _bound(add_months(month, 1))
    statements = [
        f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    ]
    if connection.execute(
        text("SELECT to_regclass(:d) IS NOT NULL"), {"d": table.default_partition}
    ).scalar_one():
        statements.append(
            f"WITH moved AS (DELETE FROM {table.default_partition} "
            f"WHERE {table.key} >= '{lower}' AND {table.key} < '{upper}' RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        )
    statements.append(
        f"ALTER TABLE {table.name} ATTACH PARTITION {name} "
        f"FOR VALUES FROM ('{lower}') TO ('{upper}')"
    )
    return _briefly(connection, f"partition {name}", statements)


def make_default_partition(connection: Connection, table: MonthlyTable) -> None:
    """The partition for rows outside every month made (once)."""
    connection.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {table.default_partition} PARTITION OF {table.name} DEFAULT"
    )


def drop_partition(connection: Connection, table: MonthlyTable, month: datetime) -> bool:
    """Drop ``month``'s partition; False when it still holds rows to keep or its lock was
    not had this time."""
    name = table.partition(month)
    if (
        table.keep_while is not None
        and connection.exec_driver_sql(
            f"SELECT EXISTS (SELECT 1 FROM {name} WHERE {table.keep_while})"
        ).scalar_one()
    ):
        log.warning("partition %s is past retention but still holds rows to keep", name)
        return False
    return _briefly(connection, f"dropping {name}", [f"DROP TABLE {name}"])


@dataclass(frozen=True)
class Maintenance:
    """What one round of maintenance did."""

    made: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    purged_from_default: int = 0

    @property
    def count(self) -> int:
        return len(self.made) + len(self.dropped)


def maintain(
    connection: Connection,
    now: datetime,
    *,
    retention_months: dict[str, int],
    months_ahead: int = MONTHS_AHEAD,
) -> Maintenance:
    """Make this month's and the next ``months_ahead`` months' partitions of every
    partitioned table, and drop those older than its retention: the current month and the
    ``retention_months[table]`` months before it are kept. Does nothing to a table that is not
    partitioned (SQLite, or before the migration)."""
    made: list[str] = []
    dropped: list[str] = []
    purged = 0
    current = month_start(now)
    for table in TABLES:
        if not is_partitioned(connection, table.name):
            continue
        for ahead in range(months_ahead + 1):
            month = add_months(current, ahead)
            if make_partition(connection, table, month):
                made.append(table.partition(month))
        keep = retention_months.get(table.name)
        if keep is None:
            continue
        oldest_kept = add_months(current, -keep)
        for month in months_held(connection, table):
            if month < oldest_kept and drop_partition(connection, table, month):
                dropped.append(table.partition(month))
        # Stray rows of months long gone (the default partition's) follow the same rule.
        keep_clause = f" AND NOT ({table.keep_while})" if table.keep_while else ""
        purged += connection.exec_driver_sql(
            f"DELETE FROM {table.default_partition} "
            f"WHERE {table.key} < '{_bound(oldest_kept)}'{keep_clause}"
        ).rowcount
    if made or dropped:
        log.info("partitions made: %s; dropped: %s", made or "none", dropped or "none")
    return Maintenance(tuple(made), tuple(dropped), purged)
