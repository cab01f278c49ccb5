"""Batched webhook delivery and the bulk recording of a pass: through the real dispatcher and
worker, a real HTTP receiver on 127.0.0.1, both databases; the grouping kernel under
hypothesis."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import OutboxMessage, WebhookSubscription
from selpo.notify import service
from selpo.notify.batching import group_deliveries
from selpo.notify.delivery import (
    DEFAULT_LEASE,
    DeliveryLimits,
    Dispatcher,
    SendResult,
    claim_due,
    deliver_due,
    record_results,
)
from selpo.notify.signing import verify_signature
from selpo.notify.transport import USER_AGENT, make_http_client
from selpo.worker import Worker
from tests.conftest import TEST_NOW
from tests.fixtures.receiver import Received, Receiver, Tarpit
from tests.notify.conftest import (
    LOOPBACK,
    MarketplaceKey,
    RecordingSmsGateway,
    make_marketplace,
    outbox_rows,
    subscribe,
)

STATUS = "shipment.status_changed"

# ------------------------------------------------------------------------------ the kernel


@dataclass(frozen=True)
class _Claimed:
    id: int
    subscription_id: int | None
    batch_max: int


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.fixed_dictionaries(
        {1: st.integers(1, 4), 2: st.integers(1, 3), 3: st.integers(1, 100), 4: st.just(1)}
    ),
    owners=st.lists(st.sampled_from([None, 1, 2, 3, 4]), max_size=150),
)
def test_grouping_keeps_every_message_once_in_order_per_subscription(
    sizes: dict[int, int], owners: list[int | None]
) -> None:
    messages = [_Claimed(n, s, sizes[s] if s is not None else 1) for n, s in enumerate(owners)]
    groups = group_deliveries(messages)

    assert sorted(m.id for g in groups for m in g) == list(range(len(messages)))
    for group in groups:
        assert len({m.subscription_id for m in group}) == 1
        limit = sizes[group[0].subscription_id] if group[0].subscription_id is not None else 1
        assert 1 <= len(group) <= limit
    for subscription_id, size in sizes.items():
        mine = [g for g in groups if g[0].subscription_id == subscription_id]
        # Concatenated, its groups are its messages in claim order ...
        assert [m.id for g in mine for m in g] == [
            m.id for m in messages if m.subscription_id == subscription_id
        ]
        # ... in as few POSTs as its limit allows: every group but its last is full.
        assert all(len(g) == size for g in mine[:-1])
    # Deliveries start in the order of their first message (the claim's fairness is kept).
    assert [g[0].id for g in groups] == sorted(g[0].id for g in groups)


# ------------------------------------------------------------------------------- helpers


def _publish(
    factory: sessionmaker[Session],
    marketplace_id: int,
    count: int,
    *,
    now: datetime = TEST_NOW,
    event_type: str = STATUS,
) -> list[str]:
    with session_scope(factory) as session:
        return service.publish_events(
            session,
            marketplace_id=marketplace_id,
            events=[(event_type, {"n": n}) for n in range(count)],
            now=now,
        )


def _deliver(
    factory: sessionmaker[Session], http: httpx.Client, now: datetime, *, rng_seed: int = 7
) -> dict[str, int]:
    report = deliver_due(
        factory,
        now=now,
        http=http,
        sms_gateway=RecordingSmsGateway(),
        limit=20,
        rng=random.Random(rng_seed),
    )
    return {"claimed": report.claimed, "sent": report.sent, "retried": report.retried}


def _subscription(factory: sessionmaker[Session], subscription_id: int) -> WebhookSubscription:
    with session_scope(factory) as session:
        found = session.get(WebhookSubscription, subscription_id)
        assert found is not None
        return found


def _events(request: Received) -> list[dict[str, Any]]:
    body = json.loads(request.body)
    assert set(body) == {"batch_id", "events"}
    assert str(uuid.UUID(body["batch_id"])) == body["batch_id"]
    events: list[dict[str, Any]] = body["events"]
    return events


def _assert_batch_shape(request: Received, secret: str, now: datetime) -> list[dict[str, Any]]:
    events = _events(request)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["x-selpo-event-type"] == "batch"
    assert request.headers["x-selpo-batch-size"] == str(len(events))
    assert "x-selpo-event-id" not in request.headers
    assert verify_signature(secret, request.headers["x-selpo-signature"], request.body, now)
    return events


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    """A loopback port that accepts and never answers."""
    pit = Tarpit()
    yield pit
    pit.stop()


# --------------------------------------------------------------------------- the receiver


class TestBatchedDelivery:
    def test_120_events_arrive_in_three_signed_posts_beside_a_single_event_subscription(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        batched = subscribe(
            session_factory,
            marketplace.marketplace_id,
            receiver.url,
            now=TEST_NOW,
            events=(STATUS,),
            batch_max=50,
        )
        single = subscribe(
            session_factory,
            marketplace.marketplace_id,
            receiver.url + "?single",
            now=TEST_NOW,
            events=("shipment.cancelled",),
        )
        published = _publish(session_factory, marketplace.marketplace_id, 120)
        cancelled = _publish(
            session_factory, marketplace.marketplace_id, 3, event_type="shipment.cancelled"
        )

        first = _deliver(session_factory, http, TEST_NOW)
        assert first == {"claimed": 123, "sent": 123, "retried": 0}
        assert _deliver(session_factory, http, TEST_NOW)["claimed"] == 0

        posts = [r for r in receiver.requests if r.path == "/hooks"]
        assert len(posts) == 3
        batches = sorted(
            (_assert_batch_shape(r, batched.secret, TEST_NOW) for r in posts),
            key=lambda events: published.index(events[0]["event_id"]),
        )
        assert [len(b) for b in batches] == [50, 50, 20]
        # In claim order, each event exactly the body it would have on its own.
        flat = [e for batch in batches for e in batch]
        assert [e["event_id"] for e in flat] == published
        assert flat[7] == {
            "event_id": published[7],
            "type": STATUS,
            "created_at": "2026-11-25T09:00:00Z",
            "data": {"n": 7},
        }
        assert len({json.loads(r.body)["batch_id"] for r in posts}) == 3

        singles = [r for r in receiver.requests if r.path == "/hooks?single"]
        assert sorted(r.event_id for r in singles) == sorted(cancelled)
        for request in singles:
            body = json.loads(request.body)
            assert body["event_id"] == request.event_id
            assert set(body) == {"event_id", "type", "created_at", "data"}
            assert request.headers["x-selpo-event-type"] == "shipment.cancelled"
            assert "x-selpo-batch-size" not in request.headers
            assert verify_signature(
                single.secret, request.headers["x-selpo-signature"], request.body, TEST_NOW
            )
        rows = outbox_rows(session_factory)
        assert {(r.status, r.attempts, r.claim_token, r.sent_at) for r in rows} == {
            ("sent", 1, None, TEST_NOW)
        }
        assert {r.last_status_code for r in rows} == {200}

    def test_a_500_holds_the_endpoint_then_every_event_arrives_once(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        clock = FrozenClock(TEST_NOW)
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW, batch_max=50
        )
        published = _publish(session_factory, marketplace.marketplace_id, 120)
        receiver.answer = 500

        assert _deliver(session_factory, http, clock.now()) == {
            "claimed": 120,
            "sent": 0,
            "retried": 120,
        }
        assert [r.answered for r in receiver.requests] == [500, 500, 500]
        held = _subscription(session_factory, subscription.id)
        # Three POSTs in flight failed together: one step of the hold.
        assert held.consecutive_failures == 1
        assert held.held_until is not None
        assert held.held_until <= clock.now() + timedelta(seconds=2)
        rows = outbox_rows(session_factory)
        assert {(r.status, r.attempts, r.last_error, r.last_status_code) for r in rows} == {
            ("pending", 1, "HTTP 500", 500)
        }
        # Behind the hold (each pass that recorded a failure held it: the latest hold wins).
        assert all(clock.now() < r.available_at <= held.held_until for r in rows)
        assert _deliver(session_factory, http, clock.now())["claimed"] == 0  # on hold

        receiver.answer = 200
        clock.advance(timedelta(minutes=1))
        # One probe POST (a whole batch); its success lifts the hold and the rest follow.
        assert _deliver(session_factory, http, clock.now()) == {
            "claimed": 50,
            "sent": 50,
            "retried": 0,
        }
        assert _deliver(session_factory, http, clock.now())["sent"] == 70
        assert _deliver(session_factory, http, clock.now())["claimed"] == 0

        accepted = receiver.accepted
        assert len(accepted) == 3
        per_event = Counter(
            e["event_id"]
            for r in accepted
            for e in _assert_batch_shape(r, held.secret, clock.now())
        )
        assert set(per_event) == set(published)
        assert set(per_event.values()) == {1}
        # The retried events are the very bodies first sent.
        first_bodies = {e["event_id"]: e for r in receiver.requests[:3] for e in _events(r)}
        assert all(first_bodies[e["event_id"]] == e for r in accepted for e in _events(r))
        healed = _subscription(session_factory, subscription.id)
        assert (healed.consecutive_failures, healed.held_until) == (0, None)
        rows = outbox_rows(session_factory)
        assert {(r.status, r.attempts) for r in rows} == {("sent", 2)}

    def test_a_400_backs_each_message_off_on_its_own(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW, batch_max=10
        )
        published = _publish(session_factory, marketplace.marketplace_id, 10)
        receiver.answer = 400
        assert _deliver(session_factory, http, TEST_NOW)["retried"] == 10
        assert len(receiver.requests) == 1  # one POST of ten
        # The endpoint answered: it is not held.
        healthy = _subscription(session_factory, subscription.id)
        assert (healthy.consecutive_failures, healthy.held_until) == (0, None)
        rows = outbox_rows(session_factory)
        assert {(r.status, r.last_error, r.last_status_code) for r in rows} == {
            ("pending", "HTTP 400", 400)
        }
        # Each on its own jittered backoff within the first ceiling (30 s).
        due = [r.available_at for r in rows]
        assert all(TEST_NOW < d <= TEST_NOW + timedelta(seconds=30) for d in due)
        assert len(set(due)) == 10
        assert _deliver(session_factory, http, TEST_NOW)["claimed"] == 0

        receiver.answer = 200
        later = TEST_NOW + timedelta(seconds=30)
        assert _deliver(session_factory, http, later)["sent"] == 10
        (accepted,) = receiver.accepted
        events = _assert_batch_shape(accepted, subscription.secret, later)
        assert [e["event_id"] for e in events] == [
            r.event_id for r in sorted(rows, key=lambda r: (r.available_at, r.id))
        ]
        assert sorted(e["event_id"] for e in events) == sorted(published)

    def test_a_batch_of_one_keeps_the_batch_shape_and_a_change_applies_at_the_next_claim(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
        http: httpx.Client,
    ) -> None:
        subscription = subscribe(
            session_factory, marketplace.marketplace_id, receiver.url, now=TEST_NOW
        )
        (alone,) = _publish(session_factory, marketplace.marketplace_id, 1)
        with session_scope(session_factory) as session:
            changed = service.update_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                subscription_id=subscription.id,
                batch_max=5,
            )
            assert changed.batch_max == 5
        assert _deliver(session_factory, http, TEST_NOW)["sent"] == 1
        (request,) = receiver.requests
        events = _assert_batch_shape(request, subscription.secret, TEST_NOW)
        assert [e["event_id"] for e in events] == [alone]
        assert request.headers["x-selpo-batch-size"] == "1"

        with session_scope(session_factory) as session:
            service.update_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                subscription_id=subscription.id,
                batch_max=1,
            )
        (back,) = _publish(session_factory, marketplace.marketplace_id, 1)
        assert _deliver(session_factory, http, TEST_NOW)["sent"] == 1
        last = receiver.requests[-1]
        assert last.event_id == back
        assert json.loads(last.body)["event_id"] == back


class TestBatchClaims:
    def test_concurrency_counts_posts_and_a_failing_endpoint_gets_one_batch_as_probe(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        subscription = subscribe(
            session_factory,
            marketplace.marketplace_id,
            "http://127.0.0.1:9/hooks",
            now=TEST_NOW,
            batch_max=10,
        )
        _publish(session_factory, marketplace.marketplace_id, 50)
        with session_scope(session_factory) as session:
            one_post = claim_due(session, now=TEST_NOW, limit=1, per_subscription=2)
            second = claim_due(session, now=TEST_NOW, limit=20, per_subscription=2)
            none = claim_due(session, now=TEST_NOW, limit=20, per_subscription=2)
        assert len(one_post) == 10  # a limit of one sending: one POST, ten messages
        assert len(second) == 10  # two POSTs in flight at most: one more
        assert none == []
        assert [m.id for m in one_post + second] == sorted(m.id for m in one_post + second)
        assert {m.batch_max for m in one_post} == {10}

        with session_scope(session_factory) as session:
            held = session.get(WebhookSubscription, subscription.id)
            assert held is not None
            held.consecutive_failures = 2
            held.held_until = TEST_NOW + timedelta(seconds=5)
        after = TEST_NOW + DEFAULT_LEASE  # the earlier claims ran out
        with session_scope(session_factory) as session:
            assert claim_due(session, now=TEST_NOW + timedelta(seconds=4)) == []
            probe = claim_due(session, now=after, per_subscription=2)
        assert len(probe) == 10

    def test_a_trickle_of_events_still_counts_one_post_per_claim(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        subscribe(
            session_factory,
            marketplace.marketplace_id,
            "http://127.0.0.1:9/hooks",
            now=TEST_NOW,
            batch_max=10,
        )
        claimed: list[int] = []
        for _ in range(3):
            # One event at a time, each claimed on its own: a batch of one each.
            _publish(session_factory, marketplace.marketplace_id, 1)
            with session_scope(session_factory) as session:
                claimed.append(len(claim_due(session, now=TEST_NOW, per_subscription=2)))
        assert claimed == [1, 1, 0]  # two POSTs in flight: the third waits
        with session_scope(session_factory) as session:
            # Once those claims end, the waiting event and seven more leave in one POST.
            _publish(session_factory, marketplace.marketplace_id, 7, now=TEST_NOW)
            later = claim_due(session, now=TEST_NOW + DEFAULT_LEASE, per_subscription=2)
        assert len(later) == 10

    def test_a_running_batch_keeps_the_claim_of_every_message(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        tarpit: Tarpit,
    ) -> None:
        subscribe(
            session_factory, marketplace.marketplace_id, tarpit.url, now=TEST_NOW, batch_max=5
        )
        _publish(session_factory, marketplace.marketplace_id, 5)
        with make_http_client(allow_hosts=LOOPBACK) as http:
            dispatcher = Dispatcher(
                session_factory,
                http=http,
                sms_gateway=RecordingSmsGateway(),
                limits=DeliveryLimits(attempt_timeout_s=2),
            )
            try:
                assert dispatcher.pump(TEST_NOW).claimed == 5
                assert dispatcher.in_flight == 1  # one POST
                renewed_at = TEST_NOW + DEFAULT_LEASE * 0.6
                dispatcher.pump(renewed_at, claim=False)
                with session_scope(session_factory) as session:
                    rows = session.scalars(select(OutboxMessage)).all()
                    assert {r.claimed_until for r in rows} == {renewed_at + DEFAULT_LEASE}
                    assert claim_due(session, now=TEST_NOW + DEFAULT_LEASE * 1.2) == []
                report = dispatcher.finish(lambda: renewed_at)
            finally:
                dispatcher.close()
        assert report.retried == 5
        assert {r.last_error for r in outbox_rows(session_factory)} == {"no answer within 2 s"}
        assert tarpit.connections == 1


# ---------------------------------------------------------------------- bulk recording


def _outbox_updates(connection: Connection) -> list[str]:
    """Collects the UPDATE statements on outbox_message run on ``connection`` from now on."""
    seen: list[str] = []

    def spy(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX_MESSAGE"):
            seen.append(statement)

    event.listen(connection, "before_cursor_execute", spy)
    return seen


def _status(message_id: int, kind: str) -> int | None:
    """An HTTP status per webhook that differs from row to row (an SMS has none)."""
    return None if kind == "sms" else 200 + message_id % 5


class TestBulkRecording:
    def test_a_pass_of_sent_messages_takes_one_update_per_claim_and_chunk(
        self,
        connection: Connection,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
    ) -> None:
        subscribe(session_factory, marketplace.marketplace_id, "http://127.0.0.1:9/a", now=TEST_NOW)
        subscribe(
            session_factory,
            marketplace.marketplace_id,
            "http://127.0.0.1:9/b",
            now=TEST_NOW,
            batch_max=100,
        )
        _publish(session_factory, marketplace.marketplace_id, 550)
        with session_scope(session_factory) as session:
            for n in range(3):
                service.queue_sms(session, phone=f"+7916123456{n}", text=f"Код {n}", now=TEST_NOW)
            claimed = claim_due(session, now=TEST_NOW, limit=2000, per_subscription=600)
        assert len(claimed) == 3 + 2 * 550
        later = TEST_NOW + timedelta(seconds=1)
        outcomes = [
            (m, SendResult(True, status_code=_status(m.id, m.kind), duration_ms=m.id))
            for m in claimed
        ]
        updates = _outbox_updates(connection)
        with session_scope(session_factory) as session:
            statuses = record_results(session, outcomes, now=later, rng=random.Random(1))
        assert statuses == ["sent"] * len(claimed)
        # 1,100 webhooks of one claim: three chunks of at most 500; the SMS: one of their own.
        assert len(updates) == 4
        rows = {r.id: r for r in outbox_rows(session_factory)}
        for message in claimed:
            row = rows[message.id]
            assert (row.status, row.attempts, row.sent_at, row.claim_token) == (
                "sent",
                1,
                later,
                None,
            )
            assert (row.last_duration_ms, row.last_status_code) == (
                message.id,
                _status(message.id, message.kind),
            )
            if message.kind == "sms":
                assert row.payload == {
                    "phone": "+7******456" + row.payload["phone"][-1],
                    "text": None,
                }
            else:
                assert row.payload == message.payload

    def test_a_lost_claim_is_counted_and_its_row_left_alone(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        subscribe(
            session_factory,
            marketplace.marketplace_id,
            "http://127.0.0.1:9/",
            now=TEST_NOW,
            batch_max=10,
        )
        _publish(session_factory, marketplace.marketplace_id, 4)
        with session_scope(session_factory) as session:
            service.queue_sms(session, phone="+79161234567", text="Код 1", now=TEST_NOW)
            first = claim_due(session, now=TEST_NOW)
        assert [m.kind for m in first] == ["sms"] + ["webhook"] * 4
        # The worker holding ``first`` stalled past its lease: another took the SMS and one
        # webhook of the batch (their tokens changed).
        later = TEST_NOW + DEFAULT_LEASE
        stolen = {first[0].id, first[2].id}
        with session_scope(session_factory) as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(stolen))
                .values(claim_token="another-worker", claimed_until=later + DEFAULT_LEASE)
            )
        with session_scope(session_factory) as session:
            statuses = record_results(
                session,
                [(m, SendResult(True, status_code=None, duration_ms=3)) for m in first],
                now=later,
                rng=random.Random(1),
            )
        assert statuses == ["lost_claim", "sent", "lost_claim", "sent", "sent"]
        rows = {r.id: r for r in outbox_rows(session_factory)}
        for message in first:
            row = rows[message.id]
            if message.id in stolen:
                assert (row.status, row.attempts, row.claim_token) == (
                    "pending",
                    0,
                    "another-worker",
                )
            else:
                assert (row.status, row.attempts) == ("sent", 1)
        # Not ours to finish: the SMS keeps its text for the worker that holds it now.
        assert rows[first[0].id].payload == {"phone": "+79161234567", "text": "Код 1"}


# ------------------------------------------------------------------------------ the worker


@pytest.fixture
def worker_engine(scratch_url: str) -> Iterator[Engine]:
    """A migrated database of the worker's own (it commits for real)."""
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


class TestWorker:
    def test_one_pass_of_the_worker_sends_batches(
        self, worker_engine: Engine, receiver: Receiver, http: httpx.Client
    ) -> None:
        factory = make_session_factory(worker_engine)
        with session_scope(factory) as session:
            key = make_marketplace(session, "NOTIFY_BATCH", now=TEST_NOW)
        subscription = subscribe(
            factory, key.marketplace_id, receiver.url, now=TEST_NOW, batch_max=50
        )
        published = _publish(factory, key.marketplace_id, 120)
        worker = Worker(
            factory,
            clock=FrozenClock(TEST_NOW),
            http=http,
            sms_gateway=RecordingSmsGateway(),
            limits=DeliveryLimits(per_subscription=4),
        )
        report = worker.run_once()
        assert (report.claimed, report.sent) == (120, 120)
        assert len(receiver.requests) == 3
        delivered = [
            e["event_id"]
            for r in receiver.requests
            for e in _assert_batch_shape(r, subscription.secret, TEST_NOW)
        ]
        assert sorted(delivered) == sorted(published)
        assert {r.status for r in outbox_rows(factory)} == {"sent"}
