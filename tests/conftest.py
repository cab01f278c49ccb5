"""Test fixtures: the real database (SQLite always, PostgreSQL when reachable), per-test rollback.

Every database test runs once per backend. A session-wide database is migrated and loaded with
the bundled region once; each test runs inside an outer transaction that is rolled back, and
the code under test commits only savepoints inside it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import create_db_engine, normalise_url, read_connection, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from tests.fixtures.regions import bundled_source, import_source

PG_URL = os.environ.get("SELPO_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("SELPO_REQUIRE_POSTGRES") == "1"
# A fixed moment for tests that need "now": Wednesday 2026-11-25, 12:00 in Ivanovo.
TEST_NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _postgres_unavailable_reason() -> str | None:
    if not PG_URL:
        return "PostgreSQL tests skipped: SELPO_TEST_DATABASE_URL is not set"
    try:
        engine = create_engine(normalise_url(PG_URL))
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any connection failure means "not reachable"
        return f"PostgreSQL tests skipped: cannot connect to SELPO_TEST_DATABASE_URL ({exc})"
    return None


_PG_REASON = _postgres_unavailable_reason()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database engine the test runs on."""
    name: str = request.param
    if name == "postgresql" and _PG_REASON is not None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is mandatory here (SELPO_REQUIRE_POSTGRES=1): {_PG_REASON}")
        pytest.skip(_PG_REASON)
    return name


def _admin_url() -> str:
    return make_url(normalise_url(PG_URL)).set(database="postgres").render_as_string(False)


def create_scratch_database(backend: str, folder: Path) -> str:
    """A new empty database on the backend; returns its URL."""
    if backend == "sqlite":
        return f"sqlite:///{folder / f'scratch_{uuid.uuid4().hex}.db'}"
    name = f"selpo_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False)


def drop_scratch_database(url: str) -> None:
    """Remove a database made by ``create_scratch_database``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            for suffix in ("", "-wal", "-shm"):
                Path(parsed.database + suffix).unlink(missing_ok=True)
        return
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def scratch_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, for tests that need a blank schema or real concurrency."""
    url = create_scratch_database(backend, tmp_path)
    yield url
    drop_scratch_database(url)


@pytest.fixture(scope="session")
def seeded_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database at head with the default region imported, shared by the session."""
    url = create_scratch_database(backend, tmp_path_factory.mktemp(backend))
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with session_scope(factory) as session:
        import_source(session, bundled_source(), FrozenClock(TEST_NOW))
    yield engine
    engine.dispose()
    drop_scratch_database(url)


@pytest.fixture
def connection(seeded_engine: Engine) -> Iterator[Connection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    # Deferred on SQLite: the outer transaction takes the write lock only when the test
    # writes, so a test may still read the seeded database from a connection of its own.
    with read_connection(seeded_engine) as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions whose commits are savepoints inside the test's outer transaction."""
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session on the seeded database; nothing it does outlives the test."""
    with session_factory() as s:
        yield s


@pytest.fixture
def clock() -> FrozenClock:
    """A clock stopped at ``TEST_NOW``."""
    return FrozenClock(TEST_NOW)


@pytest.fixture
def app(
    seeded_engine: Engine, session_factory: sessionmaker[Session], clock: FrozenClock
) -> Iterator[FastAPI]:
    """The real application, its sessions joined to the test's outer transaction."""
    # No per-key limit here: the suite's clients run faster than any integration (a quote for
    # each of the region's offices in a second); the limits have their own tests (test_http.py).
    settings = Settings(
        database_url=seeded_engine.url.render_as_string(hide_password=False),
        rate_limit_per_key=0,
    )
    application = create_app(settings, clock=clock)
    application.state.session_factory = session_factory
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client through the whole ASGI stack."""
    with TestClient(app) as test_client:
        yield test_client
