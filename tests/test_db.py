"""The unit of work on SQLite: writers take the lock at BEGIN, readers never do and cannot write."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from selpo.db import (
    WriteInReadOnlySession,
    create_db_engine,
    make_session_factory,
    session_scope,
)
from selpo.migrate import upgrade_to_head
from selpo.models import Marketplace


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def _lock_is_free(engine: Engine) -> bool:
    """Whether another connection can take the write lock right now (without waiting)."""
    path = engine.url.database
    assert path is not None
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        other.close()


def test_a_write_transaction_holds_the_lock_from_its_first_statement(
    sqlite_engine: Engine,
) -> None:
    with session_scope(make_session_factory(sqlite_engine)) as session:
        session.scalars(select(Marketplace)).all()  # only a read so far
        assert not _lock_is_free(sqlite_engine)
    assert _lock_is_free(sqlite_engine)


def test_a_read_only_transaction_never_takes_the_lock(sqlite_engine: Engine) -> None:
    with session_scope(make_session_factory(sqlite_engine), read_only=True) as session:
        session.scalars(select(Marketplace)).all()
        assert _lock_is_free(sqlite_engine)


def _write(session: Session, how: str) -> None:
    if how == "flush":
        session.add(Marketplace(code="X", name="X", storage_days=7, storage_extension_days=7))
        session.flush()
    else:
        session.execute(update(Marketplace).values(name="Y"))


@pytest.mark.parametrize("how", ["flush", "statement"])
def test_a_read_only_session_refuses_to_write(sqlite_engine: Engine, how: str) -> None:
    with session_scope(make_session_factory(sqlite_engine), read_only=True) as session:
        with pytest.raises(WriteInReadOnlySession):
            _write(session, how)
        session.rollback()
    with session_scope(make_session_factory(sqlite_engine)) as session:
        assert session.scalars(select(Marketplace).where(Marketplace.code == "X")).first() is None
