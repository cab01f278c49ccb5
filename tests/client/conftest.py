"""The client's fixtures: the real application under uvicorn on 127.0.0.1 (a free port), over
the test database (SQLite and PostgreSQL, rolled back after each test), and a marketplace key.

The server runs in a thread of this process with the test's session factory, so it sees the
rows the test built and everything it writes is rolled back with the test. The key's use is
never recorded in a background task: that task would run after the answer, on the test's one
connection, while the client already sends its next request.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import session_scope
from selpo.kit.clock import FrozenClock
from selpo.logistics import timetables
from selpo.marketplace.service import KeyUsage, Principal
from selpo_client import SelpoClient
from tests.conftest import TEST_NOW
from tests.fixtures.builders import MarketplaceWithKey, marketplace_key


class NeverRecorded(KeyUsage):
    """Key usage that never asks for the background write (see the module's docstring)."""

    def due(self, principal: Principal, now: datetime) -> bool:
        return False


@dataclass(frozen=True)
class Live:
    """The running server, its clock and two marketplaces' keys."""

    base_url: str
    clock: FrozenClock
    ozon: MarketplaceWithKey
    yandex: MarketplaceWithKey

    def client(self, key: MarketplaceWithKey | None = None, **options: object) -> SelpoClient:
        secret = (key or self.ozon).secret
        return SelpoClient(self.base_url, api_key=secret, **options)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def live(
    seeded_engine: Engine, session_factory: sessionmaker[Session], clock: FrozenClock
) -> Iterator[Live]:
    """The application under uvicorn on a free loopback port, over the test's transaction."""
    with session_scope(session_factory) as session:
        timetables.generate_timetable(session, now=TEST_NOW, seed=7)
        ozon = marketplace_key(session, "OZON", now=TEST_NOW)
        yandex = marketplace_key(session, "YANDEX_MARKET", now=TEST_NOW)
    settings = Settings(
        database_url=seeded_engine.url.render_as_string(hide_password=False),
        rate_limit_per_key=0,
        webhook_allow_hosts="127.0.0.1",
    )
    application = create_app(settings, clock=clock)
    application.state.session_factory = session_factory
    application.state.key_usage = NeverRecorded()
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="selpo-client-live", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    try:
        yield Live(f"http://127.0.0.1:{port}", clock, ozon, yandex)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        application.state.engine.dispose()


@pytest.fixture
def selpo(live: Live) -> Iterator[SelpoClient]:
    """The client with OZON's key."""
    with live.client() as client:
        yield client
