"""SELPO_READ_DATABASE_URL: lag-tolerant reads go to the read database, nothing else does.

The read database here is a second, empty (migrated) database standing in for the standby: a
route reading through it finds nothing, one reading the primary finds the seeded region and
what the test just wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import WriteInReadOnlySession, create_db_engine, make_session_factory, open_session
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Shipment
from selpo.office import auth
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, shipment_payload
from tests.office.world import PASSWORD, cheap_password_hashing


@pytest.fixture
def read_url(scratch_url: str) -> str:
    """An empty database at head: the read database (a standby that holds nothing yet)."""
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    engine.dispose()
    return scratch_url


@pytest.fixture
def split_app(
    seeded_engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    read_url: str,
) -> Iterator[FastAPI]:
    """The application with a primary (the seeded database, the test's transaction) and a
    read database of its own."""
    settings = Settings(
        database_url=seeded_engine.url.render_as_string(hide_password=False),
        read_database_url=read_url,
        rate_limit_per_key=0,
    )
    application = create_app(settings, clock=clock)
    application.state.session_factory = session_factory
    yield application
    application.state.engine.dispose()
    application.state.read_engine.dispose()


def _shipments_in(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(Shipment)) or 0
    finally:
        engine.dispose()


def test_lag_tolerant_reads_go_to_the_read_database_and_writes_to_the_primary(
    split_app: FastAPI, session: Session, clock: FrozenClock, read_url: str
) -> None:
    key = marketplace_key(session, "READER", now=clock.now())
    session.commit()
    with TestClient(split_app) as client:
        created = client.post(
            "/v1/shipments",
            json=shipment_payload(external_order_id="R-1"),
            headers={**key.headers, "Idempotency-Key": "r-1"},
        )
        assert created.status_code == 201, created.text
        number = created.json()["tracking_number"]

        # What follows a write reads the primary: the marketplace sees its shipment.
        assert client.get(f"/v1/shipments/{number}", headers=key.headers).status_code == 200
        # The recipient's page and the pickup-point search read the (empty) read database.
        assert client.get(f"/t/{number}").status_code == 404
        assert client.get("/v1/pickup-points", params={"limit": 5}).json()["items"] == []
        assert client.get("/v1/pickup-points/155650").status_code == 404

    # The write went to the primary only.
    assert session.scalar(select(func.count()).where(Shipment.tracking_number == number)) == 1
    assert _shipments_in(read_url) == 0


def test_the_dashboard_reads_its_figures_from_the_read_database_and_who_you_are_from_the_primary(
    split_app: FastAPI, session: Session
) -> None:
    with cheap_password_hashing():
        auth.add_manager(session, login="boss", password=PASSWORD, now=TEST_NOW, full_name="Р")
        session.commit()
        with TestClient(split_app, follow_redirects=False) as pages:
            form = pages.get("/office/login").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf is not None
            signed_in = pages.post(
                "/office/login",
                data={"login": "boss", "password": PASSWORD, "csrf": csrf.group(1)},
            )
            assert signed_in.status_code == 303  # the session just written is found next
            offices = pages.get("/region/api/offices")
            hubs = pages.get("/region/api/hubs")
    assert offices.status_code == 200
    assert offices.json()["offices"] == []  # the read database holds none
    assert hubs.json()["hubs"] == []


def test_without_a_read_database_the_same_reads_use_the_primary(client: TestClient) -> None:
    points = client.get("/v1/pickup-points", params={"limit": 5}).json()["items"]
    assert len(points) == 5
    assert client.get("/v1/pickup-points/155650").status_code == 200


def test_the_read_engine_refuses_to_write(backend: str, split_app: FastAPI, read_url: str) -> None:
    factory = split_app.state.read_session_factory
    assert factory is not None
    session = open_session(factory, read_only=True)
    try:
        with pytest.raises(WriteInReadOnlySession):
            session.execute(delete(Shipment))
    finally:
        session.close()
    if backend == "postgresql":
        # On PostgreSQL the server itself holds the read engine's transactions read-only.
        with split_app.state.read_engine.connect() as connection:
            assert connection.execute(text("SHOW transaction_read_only")).scalar() == "on"
