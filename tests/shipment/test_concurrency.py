"""Concurrent requests against a database of their own: no duplicate, no repeated number."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Shipment
from selpo.network.importer import import_region
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, shipment_payload
from tests.fixtures.regions import bundled_source

THREADS = 8


@pytest.fixture
def live(scratch_url: str, backend: str) -> tuple[Settings, dict[str, str]]:
    if backend != "postgresql":
        pytest.skip("real concurrent writers need PostgreSQL (SQLite serialises writers)")
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    with session_scope(make_session_factory(engine)) as session:
        import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
        key = marketplace_key(session, "OZON", now=TEST_NOW)
        headers = key.headers
    engine.dispose()
    return Settings(database_url=scratch_url), headers


def _count(url: str) -> int:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(Shipment)).scalar_one()
    engine.dispose()
    return int(count)


def test_identical_requests_at_once_make_exactly_one_shipment(
    live: tuple[Settings, dict[str, str]],
) -> None:
    settings, headers = live
    app = create_app(settings, clock=FrozenClock(TEST_NOW))
    barrier = threading.Barrier(THREADS)
    body = shipment_payload(external_order_id="SAME")

    def post(_: int) -> tuple[int, str]:
        with TestClient(app) as client:
            barrier.wait()
            response = client.post(
                "/v1/shipments", json=body, headers={**headers, "Idempotency-Key": "same-key"}
            )
            return response.status_code, response.text

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(post, range(THREADS)))
    app.state.engine.dispose()
    assert {status for status, _ in answers} == {201}
    assert len({text for _, text in answers}) == 1
    assert _count(settings.database_url) == 1


def test_concurrent_creation_never_repeats_a_tracking_number(
    live: tuple[Settings, dict[str, str]],
) -> None:
    settings, headers = live
    app = create_app(settings, clock=FrozenClock(TEST_NOW))
    barrier = threading.Barrier(THREADS)

    def post_batch(n: int) -> list[str]:
        batch = [shipment_payload(external_order_id=f"C-{n}-{i}") for i in range(25)]
        with TestClient(app) as client:
            barrier.wait()
            response = client.post("/v1/shipments/batch", json=batch, headers=headers)
            assert response.status_code == 200, response.text
            return [r["shipment"]["tracking_number"] for r in response.json()["results"]]

    with ThreadPoolExecutor(THREADS) as pool:
        numbers = [n for batch in pool.map(post_batch, range(THREADS)) for n in batch]
    app.state.engine.dispose()
    assert len(numbers) == THREADS * 25
    assert len(set(numbers)) == len(numbers)
    assert _count(settings.database_url) == THREADS * 25
