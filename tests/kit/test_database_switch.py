"""While PostgreSQL switches to its standby: which errors say so, and what the HTTP edge answers.

The database "away" here is a real PostgreSQL URL on a loopback port nobody listens on (a primary
whose postmaster is gone); the failover drill (tests/test_failover.py) kills a real one.
"""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import create_db_engine, database_switching
from tests.fixtures.builders import shipment_payload


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connections to it are refused


@pytest.fixture
def gone_url() -> str:
    """A multi-host URL whose every host refuses connections."""
    first, second = _closed_port(), _closed_port()
    return (
        f"postgresql+psycopg://postgres@/selpo?host=127.0.0.1:{first}&host=127.0.0.1:{second}"
        "&target_session_attrs=read-write"
    )


def _error_of(engine: Engine, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.connect() as connection:
        connection.execute(text(sql))
    return caught.value


def test_a_refused_connection_means_the_database_is_switching(gone_url: str) -> None:
    engine = create_db_engine(gone_url)
    try:
        assert database_switching(_error_of(engine, "SELECT 1"))
    finally:
        engine.dispose()


def test_ordinary_errors_do_not(seeded_engine: Engine) -> None:
    assert not database_switching(_error_of(seeded_engine, "SELECT * FROM no_such_table"))
    assert not database_switching(ValueError("not a database error"))


def test_a_node_that_only_reads_means_switching_and_its_connections_are_dropped(
    backend: str, seeded_engine: Engine
) -> None:
    if backend != "postgresql":
        pytest.skip("a read-only node is PostgreSQL's (25006)")
    engine = create_db_engine(seeded_engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            connection.execute(text("SET TRANSACTION READ ONLY"))
            with pytest.raises(DBAPIError) as caught:
                connection.execute(text("CREATE TEMPORARY TABLE demoted (x int)"))
        assert database_switching(caught.value)
        assert caught.value.connection_invalidated  # the pool will not hand it out again
    finally:
        engine.dispose()


def test_a_write_without_a_key_answers_503_with_retry_after_never_500(gone_url: str) -> None:
    app = create_app(Settings(database_url=gone_url, rate_limit_per_key=0))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.post(
                "/v1/shipments",
                json=shipment_payload(),
                headers={"Authorization": "Bearer selpo_0123456789ab_secret"},
            )
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert int(answer.headers["Retry-After"]) >= 1
        assert answer.json()["request_id"] == answer.headers["X-Request-Id"]
    finally:
        app.state.engine.dispose()


def test_a_safe_request_is_tried_again_then_answers_503(
    gone_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=gone_url, database_switch_retry_s=0.5))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get("/healthz")
        assert answer.status_code == 503
        assert "Retry-After" in answer.headers
        tries = [r for r in caplog.records if "trying again" in r.getMessage()]
        assert len(tries) >= 2  # held and tried again within its budget before giving up
    finally:
        app.state.engine.dispose()
