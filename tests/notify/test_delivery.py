"""Delivery through a real HTTP receiver: retries, dead letters, leases, signatures, SMS."""

from __future__ import annotations

import json
import random
import socket
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import create_db_engine, database_switching, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.models import WebhookSubscription
from selpo.notify import service
from selpo.notify.delivery import (
    DEFAULT_LEASE,
    DELIVERY_WINDOW,
    PER_SUBSCRIPTION,
    ClaimedMessage,
    Dispatcher,
    SendResult,
    claim_due,
    deliver_due,
    record_result,
    retry_delay,
)
from selpo.notify.signing import verify_signature
from selpo.notify.sms import LogSmsGateway
from selpo.notify.transport import make_http_client
from tests.conftest import TEST_NOW
from tests.fixtures.receiver import Receiver
from tests.notify.conftest import (
    LOOPBACK,
    MarketplaceKey,
    RecordingSmsGateway,
    outbox_rows,
    subscribe,
)


def _publish(
    session_factory: sessionmaker[Session],
    marketplace_id: int,
    now: datetime,
    event_type: str = "shipment.status_changed",
    **data: object,
) -> str:
    with session_scope(session_factory) as session:
        return service.publish_event(
            session, marketplace_id=marketplace_id, event_type=event_type, data=data, now=now
        )


def _deliver(
    session_factory: sessionmaker[Session],
    http: httpx.Client,
    now: datetime,
    sms: RecordingSmsGateway | None = None,
    limit: int = 20,
) -> dict[str, int]:
    report = deliver_due(
        session_factory,
        now=now,
        http=http,
        sms_gateway=sms or RecordingSmsGateway(),
        limit=limit,
        rng=random.Random(7),
    )
    return {
        "claimed": report.claimed,
        "sent": report.sent,
        "retried": report.retried,
        "dead": report.dead,
        "cancelled": report.cancelled,
    }


def _publish_then_fail(session_factory: sessionmaker[Session], marketplace_id: int) -> None:
    with session_scope(session_factory) as session:
        service.publish_event(
            session,
            marketplace_id=marketplace_id,
            event_type="shipment.cancelled",
            data={},
            now=TEST_NOW,
        )
        raise RuntimeError("the cancellation failed")


class TestDeliverDue:
    def test_posts_the_signed_event_with_its_headers(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW
        )
        event_id = _publish(
            session_factory, marketplace.marketplace_id, TEST_NOW, status="in_transit"
        )

        assert _deliver(session_factory, http, TEST_NOW)["sent"] == 1

        (request,) = receiver.requests
        assert request.path == "/hooks"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-selpo-event-id"] == event_id
        assert request.headers["x-selpo-event-type"] == "shipment.status_changed"
        assert verify_signature(
            subscription.secret, request.headers["x-selpo-signature"], request.body, TEST_NOW
        )
        assert not verify_signature(
            subscription.secret,
            request.headers["x-selpo-signature"],
            request.body,
            TEST_NOW + timedelta(minutes=6),
        )
        assert json.loads(request.body) == {
            "event_id": event_id,
            "type": "shipment.status_changed",
            "created_at": "2026-11-25T09:00:00Z",
            "data": {"status": "in_transit"},
        }
        (row,) = outbox_rows(session_factory)
        assert (row.status, row.attempts, row.sent_at, row.claim_token) == (
            "sent",
            1,
            TEST_NOW,
            None,
        )
        assert _deliver(session_factory, http, TEST_NOW + timedelta(days=1))["claimed"] == 0

    def test_each_subscription_gets_its_own_signature(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        first = subscribe(session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW)
        second = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url + "?b", now=TEST_NOW
        )
        _publish(session_factory, marketplace.marketplace_id, TEST_NOW)
        _deliver(session_factory, http, TEST_NOW)
        by_path = {r.path: r for r in receiver.requests}
        for path, subscription in (("/hooks", first), ("/hooks?b", second)):
            request = by_path[path]
            signature = request.headers["x-selpo-signature"]
            assert verify_signature(subscription.secret, signature, request.body, TEST_NOW)
        assert not verify_signature(
            first.secret,
            by_path["/hooks?b"].headers["x-selpo-signature"],
            by_path["/hooks?b"].body,
            TEST_NOW,
        )

    def test_a_rolled_back_change_sends_nothing(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        subscribe(session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW)
        with pytest.raises(RuntimeError, match="cancellation failed"):
            _publish_then_fail(session_factory, marketplace.marketplace_id)
        assert _deliver(session_factory, http, TEST_NOW)["claimed"] == 0
        assert receiver.requests == []

    def test_nothing_is_lost_while_the_receiver_is_down(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        clock = FrozenClock(TEST_NOW)
        subscribe(session_factory, marketplace.marketplace_id, receiver.url, now=clock.now())
        receiver.stop()  # not listening: connection refused
        published = [
            _publish(session_factory, marketplace.marketplace_id, clock.now(), n=n)
            for n in range(6)
        ]
        # As many as the subscription may have in flight are tried; the rest are held back.
        assert _deliver(session_factory, http, clock.now())["retried"] == PER_SUBSCRIPTION
        assert _deliver(session_factory, http, clock.now())["claimed"] == 0  # on hold
        rows = outbox_rows(session_factory)
        assert {r.status for r in rows} == {"pending"}
        assert sorted(r.attempts for r in rows) == [0, 0, 1, 1, 1, 1]
        tried = [r for r in rows if r.attempts]
        assert {r.last_error for r in tried} == {"could not connect"}
        with session_scope(session_factory) as session:
            held = session.get(WebhookSubscription, rows[0].subscription_id)
            assert held is not None
            # The attempts in flight together failed together: one step of the hold, not four.
            assert held.consecutive_failures == 1
            assert held.held_until is not None
            assert held.held_until <= clock.now() + timedelta(seconds=2)
        assert all(r.last_status_code is None and r.last_duration_ms is not None for r in tried)

        receiver.start()
        receiver.answer = 503  # up, but failing: one probe, and the hold grows
        clock.advance(timedelta(minutes=1))
        assert _deliver(session_factory, http, clock.now())["retried"] == 1
        assert _deliver(session_factory, http, clock.now())["claimed"] == 0
        assert [r.answered for r in receiver.requests] == [503]
        probed = next(r for r in outbox_rows(session_factory) if r.last_status_code == 503)
        assert probed.last_error == "HTTP 503"

        receiver.answer = 204
        clock.advance(timedelta(minutes=1))
        while _deliver(session_factory, http, clock.now())["claimed"]:
            pass  # the first success lifts the hold: the backlog drains at once
        assert sorted(r.event_id for r in receiver.accepted) == sorted(published)
        assert {r.status for r in outbox_rows(session_factory)} == {"sent"}

    def test_duplicates_only_ever_carry_the_same_event_id(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        clock = FrozenClock(TEST_NOW)
        subscribe(session_factory, marketplace.marketplace_id, receiver.url, now=clock.now())
        published = {
            _publish(session_factory, marketplace.marketplace_id, clock.now(), n=n)
            for n in range(3)
        }
        # The receiver processes each request but answers 500 (e.g. it crashed after saving):
        # the same events come again, with the same ids and bodies.
        receiver.answer = 500
        _deliver(session_factory, http, clock.now())
        receiver.answer = 200
        clock.advance(timedelta(minutes=1))
        while _deliver(session_factory, http, clock.now())["claimed"]:
            pass
        per_event = Counter(r.event_id for r in receiver.requests)
        assert set(per_event) == published
        assert set(per_event.values()) == {2}
        for event_id in published:
            bodies = {r.body for r in receiver.requests if r.event_id == event_id}
            assert len(bodies) == 1
            assert json.loads(bodies.pop())["event_id"] == event_id

    def test_gives_up_after_24_hours_and_a_replay_delivers_it(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        clock = FrozenClock(TEST_NOW)
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url, now=clock.now()
        )
        event_id = _publish(session_factory, marketplace.marketplace_id, clock.now())
        receiver.answer = 503
        _deliver(session_factory, http, clock.now())
        clock.advance(DELIVERY_WINDOW - timedelta(seconds=1))
        assert _deliver(session_factory, http, clock.now())["retried"] == 1
        (row,) = outbox_rows(session_factory)
        assert row.available_at <= TEST_NOW + DELIVERY_WINDOW  # the last try is at the deadline
        clock.set(TEST_NOW + DELIVERY_WINDOW)
        assert _deliver(session_factory, http, clock.now())["dead"] == 1
        (row,) = outbox_rows(session_factory)
        # Still held at the deadline: dead without another try, with the last error kept.
        assert (row.status, row.attempts, row.last_error) == ("dead", 2, "HTTP 503")
        clock.advance(timedelta(days=1))
        assert _deliver(session_factory, http, clock.now())["claimed"] == 0

        receiver.answer = 200
        with session_scope(session_factory) as session:
            dead = service.list_deliveries(
                session,
                marketplace_id=marketplace.marketplace_id,
                subscription_id=subscription.id,
                status="dead",
            )
            assert [d.event_id for d in dead] == [event_id]
            replayed = service.replay_events(
                session,
                marketplace_id=marketplace.marketplace_id,
                subscription_id=subscription.id,
                since=TEST_NOW,
                now=clock.now(),
            )
        assert replayed == 1
        assert _deliver(session_factory, http, clock.now())["sent"] == 1
        assert [r.event_id for r in receiver.accepted] == [event_id]

    def test_a_stopped_subscription_gets_nothing_more(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW
        )
        _publish(session_factory, marketplace.marketplace_id, TEST_NOW)
        with session_scope(session_factory) as session:
            (claimed,) = claim_due(session, now=TEST_NOW)
        # Deactivated while a worker holds the claim: the worker must not send it.
        with session_scope(session_factory) as session:
            service.deactivate_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                subscription_id=subscription.id,
                now=TEST_NOW,
            )
        assert _deliver(session_factory, http, TEST_NOW + DEFAULT_LEASE)["claimed"] == 0
        assert receiver.requests == []
        assert [r.status for r in outbox_rows(session_factory)] == ["cancelled"]
        assert claimed.subscription_active


class TestClaimDue:
    def test_a_claim_holds_until_its_lease_runs_out(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        subscribe(session_factory, marketplace.marketplace_id, "http://127.0.0.1:9/", now=TEST_NOW)
        for n in range(3):
            _publish(session_factory, marketplace.marketplace_id, TEST_NOW, n=n)
        with session_scope(session_factory) as session:
            first = claim_due(session, now=TEST_NOW, limit=2)
            rest = claim_due(session, now=TEST_NOW)
            none = claim_due(session, now=TEST_NOW + DEFAULT_LEASE - timedelta(seconds=1))
        assert len(first) == 2
        assert len(rest) == 1
        assert {m.id for m in first}.isdisjoint({m.id for m in rest})
        assert none == []

        # The worker holding ``first`` died: once the lease is over the rows come back.
        later = TEST_NOW + DEFAULT_LEASE
        with session_scope(session_factory) as session:
            again = claim_due(session, now=later)
        assert {m.id for m in again} == {m.id for m in first + rest}
        with session_scope(session_factory) as session:
            late = record_result(
                session, first[0], SendResult(True), now=later, rng=random.Random(1)
            )
            current = next(m for m in again if m.id == first[0].id)
            fresh = record_result(
                session, current, SendResult(True), now=later, rng=random.Random(1)
            )
        assert (late, fresh) == ("lost_claim", "sent")

    def test_rows_not_yet_due_stay(self, session_factory: sessionmaker[Session]) -> None:
        with session_scope(session_factory) as session:
            service.queue_sms(
                session, phone="+79161234567", text="later", now=TEST_NOW + timedelta(hours=1)
            )
            assert claim_due(session, now=TEST_NOW) == []
            assert len(claim_due(session, now=TEST_NOW + timedelta(hours=1))) == 1


class TestRetryDelay:
    def test_full_jitter_under_a_doubling_ceiling_capped_at_an_hour(self) -> None:
        rng = random.Random(3)
        for failures, ceiling_s in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (50, 3600)]:
            delays = [retry_delay(failures, rng).total_seconds() for _ in range(400)]
            assert 0 <= min(delays) < ceiling_s * 0.05
            assert ceiling_s * 0.95 < max(delays) <= ceiling_s

    def test_a_failure_after_the_window_is_dead(
        self, session_factory: sessionmaker[Session]
    ) -> None:
        with session_scope(session_factory) as session:
            service.queue_sms(session, phone="+79161234567", text="x", now=TEST_NOW)
        late = TEST_NOW + DELIVERY_WINDOW
        with session_scope(session_factory) as session:
            (message,) = claim_due(session, now=late)
            assert isinstance(message, ClaimedMessage)
            status = record_result(
                session, message, SendResult(False, "down"), now=late, rng=random.Random(1)
            )
        assert status == "dead"
        (row,) = outbox_rows(session_factory)
        assert (row.status, row.last_error) == ("dead", "down")
        assert row.payload == {"phone": "+7******4567", "text": None}


class TestSmsDelivery:
    def test_the_gateway_gets_the_full_number_and_failures_are_retried(
        self, session_factory: sessionmaker[Session], http: httpx.Client
    ) -> None:
        clock = FrozenClock(TEST_NOW)
        with session_scope(session_factory) as session:
            service.queue_sms(session, phone="+79161234567", text="Код 1234", now=clock.now())
        gateway = RecordingSmsGateway()
        gateway.failing = True
        assert _deliver(session_factory, http, clock.now(), sms=gateway)["retried"] == 1
        (row,) = outbox_rows(session_factory)
        # Only the class of the failure: the provider's words may quote the number or the code.
        assert row.last_error == "the gateway failed: ConnectionError"
        gateway.failing = False
        clock.advance(timedelta(seconds=30))
        assert _deliver(session_factory, http, clock.now(), sms=gateway)["sent"] == 1
        assert gateway.sent == [("+79161234567", "Код 1234")]
        (row,) = outbox_rows(session_factory)
        assert row.payload == {"phone": "+7******4567", "text": None}  # nothing left to leak

    def test_the_log_gateway_writes_the_file(
        self, session_factory: sessionmaker[Session], http: httpx.Client, tmp_path: Path
    ) -> None:
        with session_scope(session_factory) as session:
            service.queue_sms(session, phone="+79161234567", text="Код 1234", now=TEST_NOW)
        gateway = LogSmsGateway(tmp_path / "sms.log")
        report = deliver_due(session_factory, now=TEST_NOW, http=http, sms_gateway=gateway)
        assert report.sent == 1
        assert "+7******4567\tКод 1234" in (tmp_path / "sms.log").read_text(encoding="utf-8")


class TestDatabaseSwitch:
    """The database switches to its standby between an SMS's sending and its recording."""

    def test_a_pass_that_fails_keeps_its_finished_attempts_to_record_them_on_the_next(
        self, session_factory: sessionmaker[Session]
    ) -> None:
        with session_scope(session_factory) as session:
            service.queue_sms(session, phone="+79161234567", text="Код 1234", now=TEST_NOW)
        gateway = RecordingSmsGateway()
        gone = create_db_engine(_gone_url())
        with make_http_client(allow_hosts=LOOPBACK) as http:
            dispatcher = Dispatcher(session_factory, http=http, sms_gateway=gateway)
            try:
                assert dispatcher.pump(TEST_NOW).claimed == 1
                dispatcher.wait(5)
                assert gateway.sent  # sent; its result not recorded yet
                dispatcher.session_factory = make_session_factory(gone)
                with pytest.raises(DBAPIError) as caught:
                    dispatcher.pump(TEST_NOW)
                assert database_switching(caught.value)
                assert dispatcher.in_flight == 1  # kept, not forgotten with the rollback
                dispatcher.session_factory = session_factory  # the new primary answers
                report = dispatcher.pump(TEST_NOW, claim=False)
            finally:
                dispatcher.close()
                gone.dispose()
        assert report.sent == 1
        assert len(gateway.sent) == 1  # sent once: the lease was never lost
        (row,) = outbox_rows(session_factory)
        assert row.status == "sent"


def _gone_url() -> str:
    """A PostgreSQL URL on a loopback port nobody listens on (a primary that is gone)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/selpo"
