"""Delivery of the outbox: claim due rows fairly, send them in parallel lanes, record results.

* **Lanes.** Recipients' SMS are claimed first and sent on threads of their own; webhooks share
  a bounded pool in which each subscription may hold only a few places, so a slow or dead
  endpoint holds back only its own messages.
* **Endpoint health.** A refused connection, a timeout or a 5xx puts the subscription on hold
  (a short, growing, jittered pause): its other messages wait instead of each timing out in
  turn, and after the pause one delivery probes. The first success lifts the hold and the
  backlog drains as fast as the receiver answers. A 4xx is that message's own problem: it
  retries on its own backoff and the endpoint is not held.
* **Batches.** A subscription with ``batch_max`` above 1 gets up to that many events in one
  POST (``{"batch_id", "events": [...]}``, ``batching.group_deliveries``); its concurrency
  still counts POSTs, so it may have ``concurrency x batch_max`` messages claimed. A batch
  succeeds or fails as a whole: each of its messages records the same attempt.
* **Recording in bulk.** The sent messages of a pass are recorded in one UPDATE per claim
  token (chunked), guarded by the token, and an endpoint that answered is marked healthy once
  per pass; failures (rare) are recorded one by one, each with its own backoff.
* **Claims are leases** (``claimed_until``), short enough that a crashed worker's rows come
  back within a minute, renewed for attempts still running. On PostgreSQL ``FOR UPDATE SKIP
  LOCKED`` lets many workers claim side by side; SQLite has a single writer, so one UPDATE
  claims, re-checking the rows are still free.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import (
    JSON,
    ColumnElement,
    CursorResult,
    case,
    func,
    literal_column,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.kit.phone import mask_phone
from selpo.models import OutboxMessage, WebhookSubscription
from selpo.notify.batching import batched, chunked, group_deliveries
from selpo.notify.destination import DestinationRefused, HostNotFound
from selpo.notify.service import wipe_secrets, wiped
from selpo.notify.signing import SIGNATURE_HEADER, sign
from selpo.notify.sms import SmsGateway
from selpo.notify.transport import (
    ATTEMPT_TIMEOUT_S,
    USER_AGENT,
    attempt_deadline,
)
from selpo.notify.transport import make_http_client as make_http_client

log = logging.getLogger("selpo.notify")

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
# An endpoint that fails is held 2 s, 4 s, 8 s ... at most 30 s between probes: a dead one
# costs one attempt every half minute, and one that comes back is found within that.
HOLD_BASE = timedelta(seconds=2)
HOLD_CAP = timedelta(seconds=30)
# Retried for a day after the row was queued, then dead-lettered (visible and replayable).
DELIVERY_WINDOW = timedelta(hours=24)
DEFAULT_BATCH = 20
# Far longer than an attempt may take (ATTEMPT_TIMEOUT_S), short enough that the rows of a
# worker that died come back within a minute. Attempts still running are renewed.
DEFAULT_LEASE = timedelta(seconds=45)
PER_SUBSCRIPTION = 4
WEBHOOK_THREADS = 16
SMS_THREADS = 4
EXPIRE_BATCH = 500
CLAIM_BRANCHES = 100  # subscriptions per claim statement (SQLite allows 500 compound terms)
EXPIRE_EVERY = timedelta(minutes=1)
RECORD_CHUNK = 500  # rows per recording or renewing UPDATE (SQLite binds ~2,500 values then)
BATCH_EVENT_TYPE = "batch"  # X-Selpo-Event-Type of a batched POST
BATCH_SIZE_HEADER = "X-Selpo-Batch-Size"


@dataclass(frozen=True)
class ClaimedMessage:
    """A claimed outbox row with what sending it needs, detached from any session."""

    id: int
    kind: str
    claim_token: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    event_id: str | None = None
    event_type: str | None = None
    url: str | None = None
    secret: str | None = None
    subscription_active: bool = True
    subscription_id: int | None = None
    secret_fields: tuple[str, ...] = ()  # data fields to wipe once the row is finished
    batch_max: int = 1  # the subscription's events per POST when it was claimed


@dataclass(frozen=True)
class SendResult:
    """What one attempt gave: sent, or why not (a text safe to show the subscriber).

    ``endpoint_failed`` says the endpoint itself is unwell (no connection, no answer in time,
    5xx, 429, refused address), as opposed to a refusal of this one message (other 4xx).
    """

    ok: bool
    error: str | None = None
    endpoint_failed: bool = False
    status_code: int | None = None
    duration_ms: int | None = None


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0
    lost_claim: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        """Add another pass's counts to this one."""
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.dead += other.dead
        self.cancelled += other.cancelled
        self.lost_claim += other.lost_claim
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class DeliveryLimits:
    """How much a worker sends at once."""

    webhook_threads: int = WEBHOOK_THREADS
    sms_threads: int = SMS_THREADS
    per_subscription: int = PER_SUBSCRIPTION
    lease: timedelta = DEFAULT_LEASE
    attempt_timeout_s: float = ATTEMPT_TIMEOUT_S


def retry_delay(failures: int, rng: random.Random) -> timedelta:
    """Exponential backoff with full jitter: uniform in [0, min(1 h, 30 s * 2^(failures-1))]."""
    exponent = min(max(failures - 1, 0), 20)  # 30 s * 2^7 already passes the cap
    ceiling = min(RETRY_CAP.total_seconds(), RETRY_BASE.total_seconds() * 2**exponent)
    return timedelta(seconds=rng.uniform(0, ceiling))


def hold_delay(failures: int, rng: random.Random) -> timedelta:
    """How long a failing endpoint is left alone: half of min(30 s, 2 s * 2^(failures-1)),
    plus a random part up to the other half (never near zero, never in step with others)."""
    exponent = min(max(failures - 1, 0), 20)
    ceiling = min(HOLD_CAP.total_seconds(), HOLD_BASE.total_seconds() * 2**exponent)
    return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))


# 'pending' as a literal, as the partial indexes' predicates spell it (models/outbox_message):
# a bound parameter would leave a generic plan unable to prove the predicate and use them.
PENDING: ColumnElement[str] = literal_column("'pending'")


def _claimable(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        OutboxMessage.status == PENDING,
        OutboxMessage.available_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
    )


def _sms_candidates(session: Session, *, now: datetime, limit: int) -> list[int]:
    # SMS have no subscription: the (subscription_id, status, available_at) index finds them
    # without walking past a webhook backlog.
    query = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.subscription_id.is_(None), *_claimable(now), OutboxMessage.kind == "sms"
        )
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def _webhook_candidates(
    session: Session, *, now: datetime, limit: int, per_subscription: int
) -> list[int]:
    """Ids to claim for at most ``limit`` deliveries (POSTs), taken round-robin over the
    subscriptions that are not on hold, each up to its free places, oldest first within each.

    A subscription's places are ``per_subscription`` POSTs (one while it is failing) less the
    POSTs running anywhere; a POST carries up to its ``batch_max`` messages. A claim's messages
    of one subscription are sent in consecutive groups of ``batch_max`` (only the last may be
    shorter) and a group is recorded at once, so the rows still running under one claim token
    make ``ceil(rows / batch_max)`` POSTs. One small index range per subscription
    (the subscriptions are few, their backlogs may be long), so the cost does not grow with a
    backlog held behind a dead endpoint.
    """
    running: dict[tuple[int | None, str | None], int] = {}
    # Only claimed pending rows have a lease in the future (recording clears it); few rows,
    # counted here so the planner walks the claimed_until index rather than group the table.
    for subscription_id, token in session.execute(
        select(OutboxMessage.subscription_id, OutboxMessage.claim_token).where(
            OutboxMessage.claimed_until > now
        )
    ):
        running[subscription_id, token] = running.get((subscription_id, token), 0) + 1
    claims: dict[int, list[int]] = {}  # subscription -> rows running under each claim token
    for (subscription_id, _), rows in running.items():
        if subscription_id is not None:
            claims.setdefault(subscription_id, []).append(rows)
    places: dict[int, int] = {}  # messages
    sizes: dict[int, int] = {}  # messages per POST
    for subscription_id, failures, batch_max in session.execute(
        select(
            WebhookSubscription.id,
            WebhookSubscription.consecutive_failures,
            WebhookSubscription.batch_max,
        ).where(
            # Recently stopped ones too: a message published as it was stopped is cancelled.
            or_(
                WebhookSubscription.active.is_(True),
                WebhookSubscription.deactivated_at >= now - DELIVERY_WINDOW,
            ),
            or_(WebhookSubscription.held_until.is_(None), WebhookSubscription.held_until <= now),
        )
    ):
        size = max(batch_max or 1, 1)
        posts_running = sum(-(-rows // size) for rows in claims.get(subscription_id, ()))
        free = (1 if failures else per_subscription) - posts_running
        if free > 0:
            places[subscription_id] = free * size
            sizes[subscription_id] = size
    per_subscription_due: dict[int, list[tuple[datetime, int]]] = {}
    subscriptions = sorted(places)
    for start in range(0, len(subscriptions), CLAIM_BRANCHES):
        branches = [
            select(OutboxMessage.id, OutboxMessage.subscription_id, OutboxMessage.available_at)
            .where(OutboxMessage.subscription_id == subscription_id, *_claimable(now))
            .order_by(OutboxMessage.available_at, OutboxMessage.id)
            .limit(places[subscription_id])
            .subquery()
            for subscription_id in subscriptions[start : start + CLAIM_BRANCHES]
        ]
        query = union_all(
            *(select(b.c.id, b.c.subscription_id, b.c.available_at) for b in branches)
        )
        for message_id, subscription_id, available_at in session.execute(query):
            per_subscription_due.setdefault(subscription_id, []).append((available_at, message_id))
    # Round-robin over deliveries: every subscription's oldest first, then every second oldest,
    # and so on (a delivery is one message, or a batch of up to batch_max in claim order).
    ranked = sorted(
        (rank, delivery[0], [message_id for _, message_id in delivery])
        for subscription_id, due in per_subscription_due.items()
        for rank, delivery in enumerate(chunked(sorted(due), sizes[subscription_id]))
    )
    return [message_id for _, _, ids in ranked[:limit] for message_id in ids]


def _claim_ids(
    session: Session, ids: list[int], *, now: datetime, lease: timedelta, token: str
) -> None:
    if not ids:
        return
    claim = update(OutboxMessage).values(claim_token=token, claimed_until=now + lease)
    if session.get_bind().dialect.name == "postgresql":
        # Lock the chosen rows still free and skip those another worker holds; a statement of
        # its own, so the rows claimed are exactly the rows locked.
        # By id alone (the primary key), and still free checked here: with the claimable
        # conditions in the query a planner may walk the due index past the backlog instead.
        rows = session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.status,
                OutboxMessage.available_at,
                OutboxMessage.claimed_until,
            )
            .where(OutboxMessage.id.in_(ids))
            .with_for_update(skip_locked=True)
        )
        locked = [
            message_id
            for message_id, status, available_at, claimed_until in rows
            if status == "pending"
            and available_at <= now
            and (claimed_until is None or claimed_until <= now)
        ]
        if locked:
            session.execute(claim.where(OutboxMessage.id.in_(locked)))
    else:
        # SQLite: the UPDATE re-checks that the rows are still free under the write lock.
        session.execute(claim.where(OutboxMessage.id.in_(ids), *_claimable(now)))


def claim_due(
    session: Session,
    *,
    now: datetime,
    limit: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    sms_limit: int | None = None,
    per_subscription: int = PER_SUBSCRIPTION,
) -> list[ClaimedMessage]:
    """Claim due pending rows until ``now + lease``: SMS first (up to ``sms_limit``, default
    ``limit``), then webhooks fairly up to ``limit`` sendings in all (an SMS, a webhook POST:
    a batching subscription's POST carries up to its ``batch_max`` messages); return the
    messages, SMS first, then by ``available_at`` and id."""
    token = uuid.uuid4().hex
    sms_ids = _sms_candidates(session, now=now, limit=limit if sms_limit is None else sms_limit)
    _claim_ids(session, sms_ids, now=now, lease=lease, token=token)
    room = limit - len(sms_ids)
    webhook_ids: list[int] = []
    if room > 0:
        webhook_ids = _webhook_candidates(
            session, now=now, limit=room, per_subscription=per_subscription
        )
        _claim_ids(session, webhook_ids, now=now, lease=lease, token=token)
    if not sms_ids and not webhook_ids:
        return []
    rows = session.execute(
        select(OutboxMessage, WebhookSubscription)
        .outerjoin(WebhookSubscription, OutboxMessage.subscription_id == WebhookSubscription.id)
        # By id (the primary key) first: the token alone has no index.
        .where(OutboxMessage.id.in_(sms_ids + webhook_ids), OutboxMessage.claim_token == token)
        .order_by((OutboxMessage.kind != "sms"), OutboxMessage.available_at, OutboxMessage.id)
    )
    return [
        ClaimedMessage(
            id=message.id,
            kind=message.kind,
            claim_token=token,
            payload=message.payload,
            created_at=message.created_at,
            attempts=message.attempts,
            event_id=message.event_id,
            event_type=message.event_type,
            url=subscription.url if subscription else None,
            secret=subscription.secret if subscription else None,
            subscription_active=subscription.active if subscription else True,
            subscription_id=message.subscription_id,
            secret_fields=tuple(message.secret_fields or ()),
            batch_max=subscription.batch_max if subscription else 1,
        )
        for message, subscription in rows
    ]


def renew_claims(
    session: Session, messages: Iterable[ClaimedMessage], *, now: datetime, lease: timedelta
) -> int:
    """Extend the lease of claims still ours (attempts still running, every message of a
    batch); one UPDATE per claim token (chunked); return how many rows were renewed."""
    by_token: dict[str, list[int]] = {}
    for message in messages:
        by_token.setdefault(message.claim_token, []).append(message.id)
    renewed = 0
    for token, ids in by_token.items():
        for piece in chunked(ids, RECORD_CHUNK):
            result = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(piece), OutboxMessage.claim_token == token)
                .values(claimed_until=now + lease)
                .execution_options(synchronize_session=False)
            )
            renewed += cast(CursorResult[Any], result).rowcount
    return renewed


def expire_held(session: Session, *, now: datetime, limit: int = EXPIRE_BATCH) -> int:
    """Dead-letter webhooks whose delivery window closed while their endpoint was on hold (they
    would otherwise wait for a probe); return how many."""
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .join(WebhookSubscription, OutboxMessage.subscription_id == WebhookSubscription.id)
            .where(
                *_claimable(now),
                OutboxMessage.created_at <= now - DELIVERY_WINDOW,
                WebhookSubscription.held_until > now,
            )
            .limit(limit)
        )
    )
    if not ids:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), *_claimable(now))
        .values(
            status="dead",
            last_error=func.coalesce(
                OutboxMessage.last_error, "the endpoint was failing for the whole window"
            ),
        )
    )
    wipe_secrets(session, OutboxMessage.id.in_(ids))
    return cast(CursorResult[Any], result).rowcount


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed) for a webhook payload."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _post(
    http: httpx.Client, url: str, body: bytes, headers: dict[str, str], timeout_s: float
) -> SendResult:
    """POST ``body`` within ``timeout_s`` in all; any 2xx means sent. What the receiver
    answers is never read beyond its status."""
    started = time.monotonic()
    try:
        # Redirects are not followed: the signed event goes only to the registered URL.
        with (
            attempt_deadline(timeout_s),
            http.stream("POST", url, content=body, headers=headers) as response,
        ):
            status = response.status_code
    except DestinationRefused as refusal:
        return SendResult(False, f"refused: {refusal}", True, duration_ms=_elapsed_ms(started))
    except HostNotFound:
        return SendResult(False, "the host name does not resolve", True, None, _elapsed_ms(started))
    except httpx.TimeoutException:
        error = f"no answer within {timeout_s:g} s"
        return SendResult(False, error, True, duration_ms=_elapsed_ms(started))
    except httpx.ConnectError:
        return SendResult(False, "could not connect", True, duration_ms=_elapsed_ms(started))
    except Exception as exc:  # TLS, protocol, a bad URL: the class only, never the details
        error = f"failed: {type(exc).__name__}"
        return SendResult(False, error, True, duration_ms=_elapsed_ms(started))
    elapsed = _elapsed_ms(started)
    if 200 <= status < 300:
        return SendResult(True, status_code=status, duration_ms=elapsed)
    endpoint_failed = status >= 500 or status in (408, 429)
    return SendResult(False, f"HTTP {status}", endpoint_failed, status, elapsed)


def send_webhook(
    http: httpx.Client,
    message: ClaimedMessage,
    *,
    now: datetime,
    timeout_s: float = ATTEMPT_TIMEOUT_S,
) -> SendResult:
    """POST one event to its subscription, signed, within ``timeout_s`` in all; any 2xx means
    sent."""
    if message.url is None or message.secret is None:
        return SendResult(False, "the message has no subscription")
    body = webhook_body(message.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Selpo-Event-Id": message.event_id or "",
        "X-Selpo-Event-Type": message.event_type or "",
        SIGNATURE_HEADER: sign(message.secret, body, int(now.timestamp())),
    }
    return _post(http, message.url, body, headers, timeout_s)


def batch_body(batch_id: str, messages: Sequence[ClaimedMessage]) -> bytes:
    """The exact bytes POSTed (and signed) for a batch: ``{"batch_id", "events"}``, each event
    exactly the body it would have on its own, in claim order."""
    return webhook_body({"batch_id": batch_id, "events": [m.payload for m in messages]})


def send_batch(
    http: httpx.Client,
    messages: Sequence[ClaimedMessage],
    *,
    now: datetime,
    timeout_s: float = ATTEMPT_TIMEOUT_S,
    batch_id: str | None = None,
) -> SendResult:
    """POST the events of one subscription together, signed like a single event; the answer
    stands for every event of the batch (a 2xx: all sent)."""
    first = messages[0]
    if first.url is None or first.secret is None:
        return SendResult(False, "the message has no subscription")
    body = batch_body(batch_id or str(uuid.uuid4()), messages)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Selpo-Event-Type": BATCH_EVENT_TYPE,
        BATCH_SIZE_HEADER: str(len(messages)),
        SIGNATURE_HEADER: sign(first.secret, body, int(now.timestamp())),
    }
    return _post(http, first.url, body, headers, timeout_s)


def send_delivery(
    http: httpx.Client,
    delivery: Sequence[ClaimedMessage],
    *,
    now: datetime,
    timeout_s: float = ATTEMPT_TIMEOUT_S,
) -> SendResult:
    """Send one delivery of ``group_deliveries``: a batching subscription's in the batch
    shape (a batch of one too: its receiver sees one shape), any other's as the one event."""
    if batched(delivery[0]):
        return send_batch(http, delivery, now=now, timeout_s=timeout_s)
    return send_webhook(http, delivery[0], now=now, timeout_s=timeout_s)


def send_sms(gateway: SmsGateway, message: ClaimedMessage) -> SendResult:
    """Hand one text message to the gateway; an exception means not sent."""
    started = time.monotonic()
    try:
        gateway.send(str(message.payload["phone"]), str(message.payload["text"]))
    except Exception as exc:  # a gateway adapter may fail in any way; the outbox retries
        # Only the class: the message may echo the number or the text (a pickup code).
        error = f"the gateway failed: {type(exc).__name__}"
        return SendResult(False, error, duration_ms=_elapsed_ms(started))
    return SendResult(True, duration_ms=_elapsed_ms(started))


def _hold_endpoint(
    session: Session, subscription_id: int, *, now: datetime, rng: random.Random
) -> datetime:
    # Attempts that were already running when the endpoint went on hold fail together: they
    # count as one failure, so the hold grows per probe, not per message in flight.
    escalate = or_(WebhookSubscription.held_until.is_(None), WebhookSubscription.held_until <= now)
    failures = session.execute(
        update(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .values(
            consecutive_failures=WebhookSubscription.consecutive_failures
            + case((escalate, 1), else_=0)
        )
        .returning(WebhookSubscription.consecutive_failures)
    ).scalar_one()
    until = now + hold_delay(failures, rng)
    session.execute(
        update(WebhookSubscription)
        .where(
            WebhookSubscription.id == subscription_id,
            or_(WebhookSubscription.held_until.is_(None), WebhookSubscription.held_until < until),
        )
        .values(held_until=until)
    )
    return until


def _endpoints_answered(session: Session, subscription_ids: Iterable[int]) -> None:
    """They answered (a 2xx, or a 4xx about one message): alive, so their holds are lifted and
    their backlogs claimable at once. One UPDATE, touching only those that were failing."""
    ids = sorted(set(subscription_ids))
    if not ids:
        return
    session.execute(
        update(WebhookSubscription)
        .where(
            WebhookSubscription.id.in_(ids),
            or_(
                WebhookSubscription.consecutive_failures > 0,
                WebhookSubscription.held_until.is_not(None),
            ),
        )
        .values(consecutive_failures=0, held_until=None)
        .execution_options(synchronize_session=False)
    )


def _finished_body(message: ClaimedMessage) -> dict[str, Any] | None:
    """What the row keeps once it is sent or given up, if not its body as it is: an SMS only
    the masked number (its text may hold a pickup code, its phone is personal data), a
    webhook with secret fields (a pickup code) those fields nulled."""
    if message.kind == "sms":
        return {"phone": mask_phone(str(message.payload["phone"])), "text": None}
    if message.secret_fields:
        return wiped(message.payload, message.secret_fields)
    return None


def _per_row(values: dict[int, Any]) -> Any:
    """One value for every row if they agree, else a CASE on the row's id."""
    distinct = set(values.values())
    if len(distinct) == 1:
        return distinct.pop()
    return case(values, value=OutboxMessage.id)


def _record_sent(
    session: Session,
    token: str,
    outcomes: Sequence[tuple[ClaimedMessage, SendResult]],
    *,
    now: datetime,
) -> set[int]:
    """Mark sent, in one UPDATE, the rows of ``outcomes`` still claimed with ``token``; return
    the ids that were (any other lost its claim and is left alone). The rows either all keep
    their body or all get their finished body (``_finished_body``)."""
    values: dict[str, Any] = {
        "status": "sent",
        "sent_at": now,
        "last_error": None,
        # The token guards the row: its attempts are still those it was claimed with.
        "attempts": OutboxMessage.attempts + 1,
        "claim_token": None,
        "claimed_until": None,
        "last_attempt_at": now,
        "last_status_code": _per_row({m.id: r.status_code for m, r in outcomes}),
        "last_duration_ms": _per_row({m.id: r.duration_ms for m, r in outcomes}),
    }
    bodies = {m.id: body for m, _ in outcomes if (body := _finished_body(m)) is not None}
    if bodies:
        values["payload"] = case(
            {message_id: type_coerce(body, JSON) for message_id, body in bodies.items()},
            value=OutboxMessage.id,
        )
        values["secret_fields"] = None
    updated = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_([m.id for m, _ in outcomes]),
            OutboxMessage.claim_token == token,
        )
        .values(**values)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(updated.scalars())


def _record_failure(
    session: Session,
    message: ClaimedMessage,
    result: SendResult,
    *,
    now: datetime,
    rng: random.Random,
    holds: dict[int, datetime],
) -> str:
    """Store a failed attempt on the row still claimed by us: retried ("pending") or given up
    ("dead"), or "lost_claim". ``holds``: the subscriptions held in this pass, and until when
    (each is held once per pass, however many of its messages failed)."""
    values: dict[str, Any] = {
        "attempts": message.attempts + 1,
        "claim_token": None,
        "claimed_until": None,
        "last_attempt_at": now,
        "last_status_code": result.status_code,
        "last_duration_ms": result.duration_ms,
    }
    deadline = message.created_at + DELIVERY_WINDOW
    if now >= deadline:
        values.update(status="dead", last_error=result.error)
    elif result.endpoint_failed and message.subscription_id is not None:
        # The endpoint is held; this message goes behind the ones not yet tried, so the next
        # probe is another message (one the endpoint chokes on cannot block the rest).
        until = holds.get(message.subscription_id)
        if until is None:
            until = _hold_endpoint(session, message.subscription_id, now=now, rng=rng)
            holds[message.subscription_id] = until
        values.update(status="pending", available_at=min(until, deadline), last_error=result.error)
    else:
        # The last retry falls on the deadline itself rather than after it.
        next_attempt = min(now + retry_delay(message.attempts + 1, rng), deadline)
        values.update(status="pending", available_at=next_attempt, last_error=result.error)
    if values["status"] != "pending":
        body = _finished_body(message)
        if body is not None:
            values["payload"] = body
        if message.secret_fields:
            values["secret_fields"] = None
    outcome = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
        .values(**values)
    )
    if cast(CursorResult[Any], outcome).rowcount != 1:
        return "lost_claim"
    return str(values["status"])


def record_results(
    session: Session,
    outcomes: Sequence[tuple[ClaimedMessage, SendResult]],
    *,
    now: datetime,
    rng: random.Random,
) -> list[str]:
    """Store the outcomes of finished attempts on the rows still claimed by us; return each
    row's new status, in order: "sent", "pending" (a retry), "dead", or "lost_claim" if its
    lease was taken over (such a row is not touched).

    The sent rows go in one UPDATE per claim token (chunked by ``RECORD_CHUNK``, the SMS and
    secret-holding rows in one of their own as their bodies change); the endpoints that
    answered are marked healthy in one UPDATE, before the failures are recorded (one by one:
    they are rare), so an endpoint that both answered and failed in this pass is held."""
    answered = {
        m.subscription_id
        for m, r in outcomes
        if m.subscription_id is not None and r.status_code is not None and not r.endpoint_failed
    }
    _endpoints_answered(session, answered)
    statuses = ["lost_claim"] * len(outcomes)
    holds: dict[int, datetime] = {}
    sent: dict[tuple[str, bool], list[int]] = {}
    for index, (message, result) in enumerate(outcomes):
        if result.ok:
            rewrite = message.kind == "sms" or bool(message.secret_fields)
            sent.setdefault((message.claim_token, rewrite), []).append(index)
        else:
            statuses[index] = _record_failure(
                session, message, result, now=now, rng=rng, holds=holds
            )
    for (token, _), indexes in sent.items():
        for piece in chunked(indexes, RECORD_CHUNK):
            done = _record_sent(session, token, [outcomes[i] for i in piece], now=now)
            for index in piece:
                if outcomes[index][0].id in done:
                    statuses[index] = "sent"
    return statuses


def record_result(
    session: Session,
    message: ClaimedMessage,
    result: SendResult,
    *,
    now: datetime,
    rng: random.Random,
) -> str:
    """Store one attempt's outcome (``record_results`` of one): the row's new status ("sent",
    "pending" for a retry, "dead"), or "lost_claim" if the lease was taken over."""
    return record_results(session, [(message, result)], now=now, rng=rng)[0]


def _cancel(session: Session, message: ClaimedMessage) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
        .values(status="cancelled", claim_token=None, claimed_until=None)
    )
    if message.secret_fields:
        wipe_secrets(session, OutboxMessage.id == message.id)


@dataclass
class _InFlight:
    """One sending running on a lane: an SMS, a webhook, or a batch of one subscription's."""

    messages: tuple[ClaimedMessage, ...]
    claimed_at: datetime

    @property
    def kind(self) -> str:
        return self.messages[0].kind


class Dispatcher:
    """Claims what its lanes have room for, sends on their threads, records what finished.

    Only the thread calling ``pump`` touches the database; the lanes' threads only send. A lane
    place is one sending: an SMS, or one POST (a batch of up to ``batch_max`` webhooks).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        http: httpx.Client,
        sms_gateway: SmsGateway,
        limits: DeliveryLimits | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.http = http
        self.sms_gateway = sms_gateway
        self.limits = limits or DeliveryLimits()
        self.rng = rng or random.Random()
        self._webhooks = ThreadPoolExecutor(self.limits.webhook_threads, "selpo-webhook")
        self._sms = ThreadPoolExecutor(self.limits.sms_threads, "selpo-sms")
        self._running: dict[Future[SendResult], _InFlight] = {}
        self._expired_at: datetime | None = None

    @property
    def in_flight(self) -> int:
        """How many sendings are running (a batch is one)."""
        return len(self._running)

    def _room(self, kind: str) -> int:
        busy = sum(1 for f in self._running.values() if f.kind == kind)
        threads = self.limits.sms_threads if kind == "sms" else self.limits.webhook_threads
        return threads - busy

    def pump(
        self, now: datetime, *, claim: bool = True, limit: int | None = None
    ) -> DeliveryReport:
        """Record the attempts that finished, renew long-running claims, then (unless ``claim``
        is false) claim and start what the lanes have room for, at most ``limit`` sendings."""
        report = DeliveryReport()
        finished = [f for f in self._running if f.done()]
        stale = [
            flight
            for flight in self._running.values()
            if now - flight.claimed_at >= self.limits.lease / 2
        ]
        sms_room = self._room("sms")
        room = sms_room + self._room("webhook")
        if limit is not None:
            room = min(room, limit)
        if not (finished or stale or (claim and room > 0)):
            return report
        # Should the transaction fail (the database switching to its standby), it rolled back
        # every recording, renewal and claim: the finished attempts are put back to be recorded
        # on the next pass, and nothing claimed is started.
        running, expired_at = dict(self._running), self._expired_at
        claimed_at = {id(flight): flight.claimed_at for flight in stale}
        try:
            with session_scope(self.session_factory) as session:
                self._record(session, finished, now=now, report=report)
                if stale:
                    renew_claims(
                        session,
                        [m for flight in stale for m in flight.messages],
                        now=now,
                        lease=self.limits.lease,
                    )
                    for flight in stale:
                        flight.claimed_at = now
                batch: list[ClaimedMessage] = []
                if claim and room > 0:
                    if self._expired_at is None or now - self._expired_at >= EXPIRE_EVERY:
                        report.dead += expire_held(session, now=now)
                        self._expired_at = now
                    batch = claim_due(
                        session,
                        now=now,
                        limit=room,
                        lease=self.limits.lease,
                        sms_limit=min(sms_room, room),
                        per_subscription=self.limits.per_subscription,
                    )
                    for message in batch:
                        if message.kind == "webhook" and not message.subscription_active:
                            _cancel(session, message)
                            report.cancelled += 1
        except BaseException:
            self._running, self._expired_at = running, expired_at
            for flight in stale:
                flight.claimed_at = claimed_at[id(flight)]
            raise
        report.claimed = len(batch)
        sendable = [m for m in batch if m.kind == "sms" or m.subscription_active]
        for delivery in group_deliveries(sendable):
            if delivery[0].kind == "sms":
                future = self._sms.submit(send_sms, self.sms_gateway, delivery[0])
            else:
                future = self._webhooks.submit(
                    send_delivery,
                    self.http,
                    delivery,
                    now=now,
                    timeout_s=self.limits.attempt_timeout_s,
                )
            self._running[future] = _InFlight(delivery, now)
        return report

    def _record(
        self,
        session: Session,
        finished: list[Future[SendResult]],
        *,
        now: datetime,
        report: DeliveryReport,
    ) -> None:
        outcomes: list[tuple[ClaimedMessage, SendResult]] = []
        for future in finished:
            flight = self._running.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # a bug in a sender: count it as a failed attempt
                result = SendResult(False, f"failed: {type(exc).__name__}")
            outcomes.extend((message, result) for message in flight.messages)
        if not outcomes:
            return
        statuses = record_results(session, outcomes, now=now, rng=self.rng)
        for (message, result), status in zip(outcomes, statuses, strict=True):
            if status == "sent":
                report.sent += 1
            elif status == "pending":
                report.retried += 1
            elif status == "dead":
                report.dead += 1
                log.warning(
                    "outbox message %s dead after %s attempts", message.id, message.attempts + 1
                )
            else:
                report.lost_claim += 1
            if result.error is not None:
                report.errors.append(f"message {message.id}: {result.error}")

    def wait(self, timeout_s: float) -> None:
        """Block until an attempt finishes or ``timeout_s`` passes."""
        if self._running:
            wait(list(self._running), timeout=timeout_s, return_when=FIRST_COMPLETED)

    def finish(self, clock: Callable[[], datetime]) -> DeliveryReport:
        """Wait for every running attempt (each ends within its time bound) and record it."""
        report = DeliveryReport()
        while self._running:
            wait(list(self._running), return_when=FIRST_COMPLETED)
            report.add(self.pump(clock(), claim=False))
        return report

    def close(self) -> None:
        """Stop the lanes' threads (after ``finish``, none is busy)."""
        self._webhooks.shutdown(wait=True)
        self._sms.shutdown(wait=True)


def deliver_due(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    http: httpx.Client,
    sms_gateway: SmsGateway,
    limit: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    rng: random.Random | None = None,
    per_subscription: int = PER_SUBSCRIPTION,
) -> DeliveryReport:
    """One pass: claim up to ``limit`` due sendings (an SMS, a webhook POST: a batching
    subscription's carries up to its ``batch_max`` messages), send them in parallel, record
    the results, all at ``now`` (the worker's loop uses ``Dispatcher`` directly and keeps
    claiming)."""
    dispatcher = Dispatcher(
        session_factory,
        http=http,
        sms_gateway=sms_gateway,
        limits=DeliveryLimits(
            webhook_threads=limit,
            sms_threads=limit,
            per_subscription=per_subscription,
            lease=lease,
        ),
        rng=rng,
    )
    try:
        report = dispatcher.pump(now, limit=limit)
        report.add(dispatcher.finish(lambda: now))
    finally:
        dispatcher.close()
    return report
