"""Fair delivery: a dead endpoint holds back only its own messages; SMS go first; a receiver
that comes back gets its backlog at once; a crashed worker's claims come back within a minute."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock, SystemClock
from selpo.migrate import upgrade_to_head
from selpo.models import OutboxMessage, WebhookSubscription
from selpo.notify import service
from selpo.notify.delivery import (
    DEFAULT_LEASE,
    DELIVERY_WINDOW,
    HOLD_CAP,
    PER_SUBSCRIPTION,
    DeliveryLimits,
    Dispatcher,
    claim_due,
    deliver_due,
)
from selpo.notify.transport import make_http_client
from selpo.worker import Worker
from tests.conftest import TEST_NOW
from tests.fixtures.receiver import Receiver, Tarpit
from tests.notify.conftest import (
    LOOPBACK,
    MarketplaceKey,
    RecordingSmsGateway,
    make_marketplace,
    outbox_rows,
    subscribe,
)


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    """A loopback port that accepts and never answers."""
    pit = Tarpit()
    yield pit
    pit.stop()


def _publish(
    factory: sessionmaker[Session], marketplace_id: int, count: int, now: datetime = TEST_NOW
) -> list[str]:
    with session_scope(factory) as session:
        return [
            service.publish_event(
                session,
                marketplace_id=marketplace_id,
                event_type="shipment.status_changed",
                data={"n": n},
                now=now,
            )
            for n in range(count)
        ]


def _subscription(factory: sessionmaker[Session], subscription_id: int) -> WebhookSubscription:
    with session_scope(factory) as session:
        found = session.get(WebhookSubscription, subscription_id)
        assert found is not None
        return found


@pytest.fixture
def worker_factory(scratch_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database of the worker's own (it commits for real, from its own thread)."""
    engine: Engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    yield make_session_factory(engine)
    engine.dispose()


class TestTarpit:
    def test_a_silent_endpoint_delays_neither_other_webhooks_nor_sms(
        self, worker_factory: sessionmaker[Session], tarpit: Tarpit, receiver: Receiver
    ) -> None:
        with session_scope(worker_factory) as session:
            dead = make_marketplace(session, "TARPIT_SHOP", now=TEST_NOW)
            alive = make_marketplace(session, "HEALTHY_SHOP", now=TEST_NOW)
        stuck = subscribe(worker_factory, dead.marketplace_id, tarpit.url, now=TEST_NOW)
        subscribe(worker_factory, alive.marketplace_id, receiver.url, now=TEST_NOW)
        # The silent endpoint's messages are the oldest, and more than a batch.
        now = SystemClock().now()
        _publish(worker_factory, dead.marketplace_id, 30, now=now)
        (healthy_event,) = _publish(worker_factory, alive.marketplace_id, 1, now=now)
        with session_scope(worker_factory) as session:
            service.queue_sms(session, phone="+79161234567", text="Код 4321", now=now)
        gateway = RecordingSmsGateway()
        with make_http_client(allow_hosts=LOOPBACK) as http:
            worker = Worker(
                worker_factory,
                clock=SystemClock(),  # real time: the attempts time out for real (10 s)
                http=http,
                sms_gateway=gateway,
                poll_interval_s=0.2,
            )
            thread = threading.Thread(target=worker.run, daemon=True)
            started = time.monotonic()
            thread.start()
            try:
                while time.monotonic() - started < 10 and not (gateway.sent and receiver.accepted):
                    time.sleep(0.05)
                elapsed = time.monotonic() - started
            finally:
                worker.stop()
                thread.join(30)
        assert not thread.is_alive()
        assert elapsed < 10
        assert [r.event_id for r in receiver.accepted] == [healthy_event]
        assert gateway.sent == [("+79161234567", "Код 4321")]
        # The silent endpoint got only its own few places, never the whole pool.
        assert tarpit.connections <= PER_SUBSCRIPTION
        rows = [r for r in outbox_rows(worker_factory) if r.subscription_id == stuck.id]
        tried = [r for r in rows if r.attempts]
        assert 1 <= len(tried) <= PER_SUBSCRIPTION
        assert {r.last_error for r in tried} == {"no answer within 10 s"}
        assert all(r.last_duration_ms is not None and r.last_duration_ms < 11_000 for r in tried)
        assert all(r.status == "pending" and r.claim_token is None for r in rows)  # none lost
        assert _subscription(worker_factory, stuck.id).held_until is not None


class TestEndpointHold:
    def test_a_receiver_back_from_an_outage_drains_its_backlog_at_once(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
    ) -> None:
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW
        )
        published = _publish(session_factory, marketplace.marketplace_id, 40)
        receiver.stop()
        clock = FrozenClock(TEST_NOW)
        rng = random.Random(5)
        with make_http_client(allow_hosts=LOOPBACK) as http:

            def step() -> int:
                return deliver_due(
                    session_factory,
                    now=clock.now(),
                    http=http,
                    sms_gateway=RecordingSmsGateway(),
                    rng=rng,
                ).claimed

            # Ten minutes down, the worker passing every 5 s: probes, not 40 messages in turn.
            tried_while_down = 0
            for _ in range(120):
                tried_while_down += step()
                clock.advance(timedelta(seconds=5))
            assert tried_while_down < 40
            assert receiver.requests == []

            receiver.start()
            back = clock.now()
            # Within one hold (at most 30 s) a probe gets through, and the whole backlog
            # follows at the same moment, as fast as the receiver answers.
            while len(receiver.accepted) < 40 and clock.now() - back <= HOLD_CAP + timedelta(
                seconds=5
            ):
                while step():
                    pass
                clock.advance(timedelta(seconds=5))
        assert sorted(r.event_id for r in receiver.accepted) == sorted(published)
        assert {r.status for r in outbox_rows(session_factory)} == {"sent"}
        healed = _subscription(session_factory, subscription.id)
        assert (healed.consecutive_failures, healed.held_until) == (0, None)

    def test_a_4xx_is_the_messages_own_problem(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
    ) -> None:
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW
        )
        _publish(session_factory, marketplace.marketplace_id, 6)
        receiver.answer = 422
        with make_http_client(allow_hosts=LOOPBACK) as client:
            first = deliver_due(
                session_factory, now=TEST_NOW, http=client, sms_gateway=RecordingSmsGateway()
            )
            # The endpoint answered: not held, the rest are tried at once.
            second = deliver_due(
                session_factory, now=TEST_NOW, http=client, sms_gateway=RecordingSmsGateway()
            )
        assert (first.retried, second.retried) == (PER_SUBSCRIPTION, 6 - PER_SUBSCRIPTION)
        assert _subscription(session_factory, subscription.id).held_until is None
        rows = outbox_rows(session_factory)
        assert {(r.last_error, r.last_status_code) for r in rows} == {("HTTP 422", 422)}
        assert all(r.available_at > TEST_NOW for r in rows)  # each on its own backoff

    def test_messages_held_past_the_window_are_dead_letters(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        tarpit: Tarpit,
    ) -> None:
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, tarpit.url, now=TEST_NOW
        )
        _publish(session_factory, marketplace.marketplace_id, 3)
        with session_scope(session_factory) as session:
            held = session.get(WebhookSubscription, subscription.id)
            assert held is not None
            held.consecutive_failures = 9
            held.held_until = TEST_NOW + DELIVERY_WINDOW + timedelta(minutes=1)
        late = TEST_NOW + DELIVERY_WINDOW
        with make_http_client(allow_hosts=LOOPBACK) as http:
            report = deliver_due(
                session_factory, now=late, http=http, sms_gateway=RecordingSmsGateway()
            )
        assert (report.dead, report.claimed) == (3, 0)
        rows = outbox_rows(session_factory)
        assert {r.status for r in rows} == {"dead"}
        assert tarpit.connections == 0


class TestFairClaims:
    def test_sms_come_first_and_every_subscription_gets_a_place(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        with session_scope(session_factory) as session:
            other = make_marketplace(session, "NOTIFY_OTHER", now=TEST_NOW)
        busy = subscribe(
            session_factory, marketplace.marketplace_id, "http://127.0.0.1:9/a", now=TEST_NOW
        )
        quiet = subscribe(
            session_factory, other.marketplace_id, "http://127.0.0.1:9/b", now=TEST_NOW
        )
        _publish(session_factory, marketplace.marketplace_id, 50)  # an old backlog
        _publish(session_factory, other.marketplace_id, 1)
        with session_scope(session_factory) as session:
            service.queue_sms(
                session, phone="+79161234567", text="code", now=TEST_NOW + timedelta(seconds=1)
            )
        with session_scope(session_factory) as session:
            batch = claim_due(session, now=TEST_NOW + timedelta(seconds=1), limit=8)
        assert batch[0].kind == "sms"
        per_subscription = {
            s: sum(1 for m in batch if m.subscription_id == s) for s in (busy.id, quiet.id)
        }
        assert per_subscription == {busy.id: PER_SUBSCRIPTION, quiet.id: 1}
        # The busy one's places are taken (by claims running anywhere): nothing more for it.
        with session_scope(session_factory) as session:
            again = claim_due(session, now=TEST_NOW + timedelta(seconds=1), limit=8)
        assert again == []

    def test_a_failing_endpoint_gets_one_probe_after_its_hold(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, "http://127.0.0.1:9/", now=TEST_NOW
        )
        _publish(session_factory, marketplace.marketplace_id, 5)
        with session_scope(session_factory) as session:
            held = session.get(WebhookSubscription, subscription.id)
            assert held is not None
            held.consecutive_failures = 3
            held.held_until = TEST_NOW + timedelta(seconds=10)
        with session_scope(session_factory) as session:
            assert claim_due(session, now=TEST_NOW + timedelta(seconds=9)) == []
            probe = claim_due(session, now=TEST_NOW + timedelta(seconds=10))
        assert len(probe) == 1


class TestLeases:
    def test_a_crashed_workers_claims_are_sent_within_a_minute(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
    ) -> None:
        subscribe(session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW)
        published = _publish(session_factory, marketplace.marketplace_id, 3)
        with session_scope(session_factory) as session:
            service.queue_sms(session, phone="+79161234567", text="code", now=TEST_NOW)
            crashed = claim_due(session, now=TEST_NOW)  # claimed, then the worker died
        assert len(crashed) == 4
        gateway = RecordingSmsGateway()
        with make_http_client(allow_hosts=LOOPBACK) as http:
            soon = deliver_due(
                session_factory,
                now=TEST_NOW + timedelta(seconds=30),
                http=http,
                sms_gateway=gateway,
            )
            assert soon.claimed == 0  # still leased
            recovered = deliver_due(
                session_factory, now=TEST_NOW + DEFAULT_LEASE, http=http, sms_gateway=gateway
            )
        assert DEFAULT_LEASE <= timedelta(minutes=1)
        assert recovered.sent == 4
        assert sorted(r.event_id for r in receiver.accepted) == sorted(published)
        assert len(gateway.sent) == 1

    def test_a_running_attempt_keeps_its_claim(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        tarpit: Tarpit,
    ) -> None:
        subscribe(session_factory, marketplace.marketplace_id, tarpit.url, now=TEST_NOW)
        _publish(session_factory, marketplace.marketplace_id, 1)
        with make_http_client(allow_hosts=LOOPBACK) as http:
            dispatcher = Dispatcher(
                session_factory,
                http=http,
                sms_gateway=RecordingSmsGateway(),
                limits=DeliveryLimits(attempt_timeout_s=2),
            )
            try:
                assert dispatcher.pump(TEST_NOW).claimed == 1
                renewed_at = TEST_NOW + DEFAULT_LEASE * 0.6
                dispatcher.pump(renewed_at, claim=False)  # still running: the lease is renewed
                with session_scope(session_factory) as session:
                    row = session.scalars(select(OutboxMessage)).one()
                    assert row.claimed_until == renewed_at + DEFAULT_LEASE
                    assert claim_due(session, now=TEST_NOW + DEFAULT_LEASE * 1.2) == []
                report = dispatcher.finish(lambda: renewed_at)
            finally:
                dispatcher.close()
        assert report.retried == 1
        (row,) = outbox_rows(session_factory)
        assert row.last_error == "no answer within 2 s"
