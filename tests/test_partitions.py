"""Monthly partitions on PostgreSQL: the migration keeps every row, the worker's job makes the
months ahead and drops those past retention; SQLite keeps plain tables and the job does nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from selpo import partitions
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.migrate import alembic_config, upgrade_to_head
from selpo.models import OutboxMessage
from selpo.partitions import OUTBOX_MESSAGE, TRACKING_EVENT, add_months, month_start
from selpo.worker import find_job, run_job, timed_jobs

BEFORE = "2990f32264cb"  # the revision before the partitions
RETENTION = {TRACKING_EVENT.name: 24, OUTBOX_MESSAGE.name: 2}


def _at(year: int, month: int, day: int = 10) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


def _message(created_at: datetime, status: str = "sent") -> OutboxMessage:
    return OutboxMessage(
        kind="sms",
        status=status,
        payload={"phone": "+79160000000", "text": "test"},
        reference=f"{status}-{created_at:%Y%m}",
        created_at=created_at,
        available_at=created_at,
        attempts=0,
    )


def _add(engine: Engine, *messages: OutboxMessage) -> list[int]:
    with session_scope(make_session_factory(engine)) as session:
        session.add_all(messages)
        session.flush()
        return [m.id for m in messages]


def _references(engine: Engine) -> dict[int, str | None]:
    with session_scope(make_session_factory(engine)) as session:
        rows = session.execute(select(OutboxMessage.id, OutboxMessage.reference)).all()
    return {row.id: row.reference for row in rows}


def _held(engine: Engine, table: partitions.MonthlyTable) -> list[datetime]:
    with engine.connect() as connection:
        return partitions.months_held(connection, table)


def _maintain(engine: Engine, now: datetime) -> partitions.Maintenance:
    with engine.begin() as connection:
        return partitions.maintain(connection, now, retention_months=RETENTION)


@pytest.fixture
def engine(scratch_url: str) -> Iterator[Engine]:
    engine = create_db_engine(scratch_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine(engine: Engine, backend: str) -> Engine:
    if backend != "postgresql":
        pytest.skip("partitions are PostgreSQL's; SQLite keeps plain tables")
    upgrade_to_head(engine)
    return engine


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_the_migration_partitions_by_month_and_keeps_every_row(
    engine: Engine, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("partitions are PostgreSQL's; SQLite keeps plain tables")
    _migrate(engine, BEFORE)
    ids = _add(engine, _message(_at(2025, 3)), _message(_at(2026, 11), status="pending"))
    before = _references(engine)

    _migrate(engine, "head")
    with engine.connect() as connection:
        assert partitions.is_partitioned(connection, "outbox_message")
        assert partitions.is_partitioned(connection, "tracking_event")
    current = month_start(datetime.now(UTC))
    held = _held(engine, OUTBOX_MESSAGE)
    # The months of the rows there, this month and the next two.
    assert {month_start(_at(2025, 3)), month_start(_at(2026, 11))} <= set(held)
    assert {add_months(current, n) for n in range(3)} <= set(held)
    assert {add_months(current, n) for n in range(3)} <= set(_held(engine, TRACKING_EVENT))
    assert _references(engine) == before
    (new,) = _add(engine, _message(_at(2026, 11)))
    assert new > max(ids)  # the sequence goes on

    _migrate(engine, BEFORE, down=True)
    with engine.connect() as connection:
        assert not partitions.is_partitioned(connection, "outbox_message")
    assert len(_references(engine)) == 3
    _migrate(engine, "head")
    assert len(_references(engine)) == 3


def test_maintenance_makes_the_months_ahead_and_moves_their_rows_out_of_the_default(
    pg_engine: Engine,
) -> None:
    # Far ahead of the migration's months: these rows land in the default partition.
    _add(pg_engine, _message(_at(2030, 2)), _message(_at(2030, 3), status="pending"))

    done = _maintain(pg_engine, _at(2030, 2, 15))

    assert {"outbox_message_y2030m02", "outbox_message_y2030m04"} <= set(done.made)
    assert {"tracking_event_y2030m02", "tracking_event_y2030m04"} <= set(done.made)
    with pg_engine.connect() as connection:
        in_default = connection.exec_driver_sql("SELECT count(*) FROM outbox_message_default")
        assert in_default.scalar_one() == 0
        in_march = connection.exec_driver_sql("SELECT reference FROM outbox_message_y2030m03")
        assert in_march.scalars().all() == ["pending-203003"]
    # Twice is the same as once.
    assert _maintain(pg_engine, _at(2030, 2, 20)).made == ()


def test_retention_drops_whole_months_but_not_one_with_a_pending_message(
    pg_engine: Engine,
) -> None:
    _add(
        pg_engine,
        _message(_at(2030, 2)),
        _message(_at(2030, 3), status="pending"),
        _message(_at(2020, 1)),  # a stray row of a month long gone, in the default partition
    )
    assert _maintain(pg_engine, _at(2030, 2, 15)).purged_from_default == 1

    # June: two months are kept besides the current one (April, May), so February and
    # March are past retention; March still holds a message not yet sent.
    done = _maintain(pg_engine, _at(2030, 6, 15))

    assert "outbox_message_y2030m02" in done.dropped
    assert "outbox_message_y2030m03" not in done.dropped
    assert "tracking_event_y2030m02" not in done.dropped  # events are kept 24 months
    assert list(_references(pg_engine).values()) == ["pending-203003"]

    with session_scope(make_session_factory(pg_engine)) as session:
        session.execute(update(OutboxMessage).values(status="sent"))
    assert _maintain(pg_engine, _at(2030, 6, 16)).dropped == ("outbox_message_y2030m03",)
    assert _references(pg_engine) == {}


def test_a_step_that_cannot_have_its_lock_waits_for_the_next_run(pg_engine: Engine) -> None:
    _maintain(pg_engine, _at(2030, 2, 15))
    with pg_engine.connect() as reader:
        # A long report holds the table (ACCESS SHARE) while the drop asks for it.
        reader.exec_driver_sql("SELECT count(*) FROM outbox_message").scalar_one()
        done = _maintain(pg_engine, _at(2030, 6, 15))
        # Neither the new months (ATTACH locks the default partition the report reads)
        # nor the drop: each gave up after the lock timeout instead of queueing every insert.
        assert not [name for name in done.made if name.startswith("outbox_message")]
        assert not [name for name in done.dropped if name.startswith("outbox_message")]
        reader.rollback()
    done = _maintain(pg_engine, _at(2030, 6, 15))
    assert "outbox_message_y2030m02" in done.dropped


def test_the_worker_job_maintains_partitions_and_does_nothing_on_sqlite(
    engine: Engine, backend: str
) -> None:
    upgrade_to_head(engine)
    job = find_job(timed_jobs(Settings()), "maintain-partitions")
    assert job is not None
    factory = make_session_factory(engine)

    done, chunks = run_job(factory, job, _at(2031, 1))

    if backend == "sqlite":
        assert (done, chunks) == (0, 1)
        return
    assert {month_start(_at(2031, m)) for m in (1, 2, 3)} <= set(_held(engine, OUTBOX_MESSAGE))
    # The migration's months are past the outbox's retention (two months) and were dropped.
    assert min(_held(engine, OUTBOX_MESSAGE)) == month_start(_at(2031, 1))
    assert run_job(factory, job, _at(2031, 1)) == (0, 1)


def test_a_row_of_a_month_without_a_partition_is_written_all_the_same(
    pg_engine: Engine,
) -> None:
    with Session(pg_engine) as session, session.begin():
        session.add(_message(_at(1999, 12)))
    assert list(_references(pg_engine).values()) == ["sent-199912"]
