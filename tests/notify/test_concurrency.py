"""Several workers on one PostgreSQL database never send the same message twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.migrate import upgrade_to_head
from selpo.models import OutboxMessage
from selpo.notify import service
from selpo.notify.delivery import ClaimedMessage, claim_due, deliver_due
from selpo.notify.transport import make_http_client
from tests.conftest import TEST_NOW
from tests.fixtures.receiver import Receiver
from tests.notify.conftest import LOOPBACK, RecordingSmsGateway, make_marketplace, subscribe

WORKERS = 2
EVENTS = 60

pytestmark = pytest.mark.postgres


@pytest.fixture
def shared_url(backend: str, scratch_url: str) -> str:
    if backend != "postgresql":
        pytest.skip("SQLite has a single writer: concurrent claims are PostgreSQL's case")
    return scratch_url


@pytest.fixture
def engines(shared_url: str) -> Iterator[list[Engine]]:
    """One engine (pool) per worker, as separate processes would have."""
    setup = create_db_engine(shared_url)
    upgrade_to_head(setup)
    setup.dispose()
    engines = [create_db_engine(shared_url) for _ in range(WORKERS)]
    yield engines
    for engine in engines:
        engine.dispose()


def _publish_many(factory: sessionmaker[Session], receiver: Receiver) -> set[str]:
    with session_scope(factory) as session:
        key = make_marketplace(session, "NOTIFY_RACE", now=TEST_NOW)
    subscribe(factory, key.marketplace_id, receiver.url, now=TEST_NOW)
    published = set()
    with session_scope(factory) as session:
        for n in range(EVENTS):
            published.add(
                service.publish_event(
                    session,
                    marketplace_id=key.marketplace_id,
                    event_type="shipment.status_changed",
                    data={"n": n},
                    now=TEST_NOW,
                )
            )
    return published


def _in_threads(target: list[threading.Thread]) -> None:
    for thread in target:
        thread.start()
    for thread in target:
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_simultaneous_claims_are_disjoint(engines: list[Engine], receiver: Receiver) -> None:
    factories = [make_session_factory(engine) for engine in engines]
    published = _publish_many(factories[0], receiver)
    barrier = threading.Barrier(WORKERS, timeout=10)
    claims: list[list[ClaimedMessage]] = [[] for _ in range(WORKERS)]

    def claim(worker: int) -> None:
        with session_scope(factories[worker]) as session:
            barrier.wait()
            claims[worker] = claim_due(session, now=TEST_NOW, limit=EVENTS, per_subscription=EVENTS)
            barrier.wait()  # both hold their claim transactions open at the same time

    _in_threads([threading.Thread(target=claim, args=(w,)) for w in range(WORKERS)])
    ids = [message.id for batch in claims for message in batch]
    assert len(ids) == len(set(ids)) == EVENTS  # every row claimed, none twice
    assert {m.event_id for batch in claims for m in batch} == published


def test_workers_racing_through_a_backlog_send_each_event_once(
    engines: list[Engine], receiver: Receiver
) -> None:
    factories = [make_session_factory(engine) for engine in engines]
    published = _publish_many(factories[0], receiver)
    barrier = threading.Barrier(WORKERS, timeout=10)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            with make_http_client(allow_hosts=LOOPBACK) as http:
                barrier.wait()
                while deliver_due(
                    factories[worker],
                    now=TEST_NOW,
                    http=http,
                    sms_gateway=RecordingSmsGateway(),
                    limit=5,
                ).claimed:
                    pass
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    _in_threads([threading.Thread(target=work, args=(w,)) for w in range(WORKERS)])
    assert errors == []
    per_event = Counter(r.event_id for r in receiver.accepted)
    assert set(per_event) == published
    assert set(per_event.values()) == {1}
    with session_scope(factories[0]) as session:
        statuses = session.scalars(select(OutboxMessage.status)).all()
    assert Counter(statuses) == {"sent": EVENTS}
