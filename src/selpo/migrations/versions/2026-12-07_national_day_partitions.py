"""a national day: tracking events and the outbox partitioned by month on PostgreSQL

On PostgreSQL ``tracking_event`` becomes range-partitioned by ``occurred_at`` and
``outbox_message`` by ``created_at``, a partition a month (``<table>_yYYYYmMM``) and a default
one for rows outside every month made; the months of the rows already there, the current
month and the next two get theirs now, the worker's ``maintain-partitions`` job the later
ones (``selpo.partitions``). A partitioned table's primary key must hold the partition key,
so it becomes ``(id, occurred_at)`` / ``(id, created_at)``; ``id`` stays unique by its
sequence, and no table refers to either by a foreign key. ``outbox_message.id`` becomes a
``bigint`` on the way: at national size (about five million messages a day) a 32-bit id
runs out within fifteen months. The rows are copied once, in this transaction.

SQLite keeps plain tables: nothing changes there.

Revision ID: 5d1e0a7c3b92
Revises: 7c3e5b1f0a42
Create Date: 2026-12-07 23:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import Connection, text

from selpo.partitions import (
    MONTHS_AHEAD,
    MonthlyTable,
    add_months,
    make_default_partition,
    make_partition,
    month_start,
)

revision: str = "5d1e0a7c3b92"
down_revision: str | Sequence[str] | None = "7c3e5b1f0a42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    MonthlyTable("tracking_event", "occurred_at"),
    MonthlyTable("outbox_message", "created_at"),
)


def _secondary(connection: Connection, table: str) -> tuple[list[str], list[str]]:
    """The table's indexes (but its primary key's) and foreign keys, as SQL to make again."""
    indexes = list(
        connection.execute(
            text(
                "SELECT i.indexdef FROM pg_indexes i WHERE i.tablename = :t "
                "AND i.schemaname = current_schema() AND i.indexname <> :pk ORDER BY i.indexname"
            ),
            {"t": table, "pk": f"pk_{table}"},
        ).scalars()
    )
    keys = [
        f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"
        for name, definition in connection.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = to_regclass(:t) AND contype = 'f' ORDER BY conname"
            ),
            {"t": table},
        )
    ]
    return indexes, keys


def _sequence(connection: Connection, table: str) -> str:
    name = connection.execute(
        text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}
    ).scalar_one()
    return str(name)


def _rebuild(
    connection: Connection, table: MonthlyTable, *, partitioned: bool, id_type: str | None = None
) -> None:
    """Make ``table`` again (partitioned by month, or plain) with the same rows, indexes,
    foreign keys and id sequence (and ``id`` of type ``id_type``, when given)."""
    name = table.name
    indexes, keys = _secondary(connection, name)
    sequence = _sequence(connection, name)
    old = f"{name}_before_partitioning" if partitioned else f"{name}_partitioned"
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    op.execute(f"ALTER TABLE {name} RENAME TO {old}")
    how = f" PARTITION BY RANGE ({table.key})" if partitioned else ""
    op.execute(f"CREATE TABLE {name} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){how}")
    if id_type is not None:
        op.execute(f"ALTER TABLE {name} ALTER COLUMN id TYPE {id_type}")
        op.execute(f"ALTER SEQUENCE {sequence} AS {id_type}")
    if partitioned:
        months = connection.execute(
            text(f"SELECT DISTINCT date_trunc('month', {table.key} AT TIME ZONE 'UTC') FROM {old}")
        ).scalars()
        current = month_start(datetime.now(UTC))
        wanted = {month_start(m.replace(tzinfo=UTC)) for m in months}
        wanted |= {add_months(current, n) for n in range(MONTHS_AHEAD + 1)}
        make_default_partition(connection, table)
        for month in sorted(wanted):
            make_partition(connection, table, month)
    op.execute(f"INSERT INTO {name} SELECT * FROM {old}")
    op.execute(f"DROP TABLE {old}")
    key = f"id, {table.key}" if partitioned else "id"
    op.execute(f"ALTER TABLE {name} ADD CONSTRAINT pk_{name} PRIMARY KEY ({key})")
    for statement in [*indexes, *keys]:
        op.execute(statement)
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {name}.id")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    tracking_event, outbox_message = TABLES
    _rebuild(connection, tracking_event, partitioned=True)
    _rebuild(connection, outbox_message, partitioned=True, id_type="bigint")


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    tracking_event, outbox_message = TABLES
    _rebuild(connection, tracking_event, partitioned=False)
    _rebuild(connection, outbox_message, partitioned=False, id_type="integer")
