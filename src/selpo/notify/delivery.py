"""Delivery of the outbox: claim due rows, send them outside any transaction, record the result.

Claims are leases (``claimed_until``): a worker that dies mid-batch leaves its rows claimable
again once the lease runs out. On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets many workers claim
side by side without ever taking the same row; SQLite has a single writer, so one UPDATE claims.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.models import OutboxMessage, WebhookSubscription
from selpo.notify.signing import SIGNATURE_HEADER, sign
from selpo.notify.sms import SmsGateway, mask_phone

log = logging.getLogger("selpo.notify")

RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
# Retried for a day after the row was queued, then dead-lettered (visible and replayable).
DELIVERY_WINDOW = timedelta(hours=24)
DEFAULT_BATCH = 20
# A lease outlasts a whole batch even if every receiver times out (20 x 10 s < 5 min).
DEFAULT_LEASE = timedelta(minutes=5)
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "selpo-webhooks/1"


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


@dataclass(frozen=True)
class SendResult:
    """What one attempt gave: sent, or the reason it was not."""

    ok: bool
    error: str | None = None


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    cancelled: int = 0
    lost_claim: int = 0
    released: int = 0
    errors: list[str] = field(default_factory=list)


def retry_delay(failures: int, rng: random.Random) -> timedelta:
    """Exponential backoff with full jitter: uniform in [0, min(1 h, 30 s * 2^(failures-1))]."""
    exponent = min(max(failures - 1, 0), 20)  # 30 s * 2^7 already passes the cap
    ceiling = min(RETRY_CAP.total_seconds(), RETRY_BASE.total_seconds() * 2**exponent)
    return timedelta(seconds=rng.uniform(0, ceiling))


def claim_due(
    session: Session,
    *,
    now: datetime,
    limit: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
) -> list[ClaimedMessage]:
    """Claim up to ``limit`` due pending rows until ``now + lease``; return them, oldest first."""
    token = uuid.uuid4().hex
    claimable = (
        OutboxMessage.status == "pending",
        OutboxMessage.available_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
    )
    due = (
        select(OutboxMessage.id)
        .where(*claimable)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
        .limit(limit)
    )
    claim = update(OutboxMessage).values(claim_token=token, claimed_until=now + lease)
    if session.get_bind().dialect.name == "postgresql":
        # Lock the chosen rows until commit and skip rows another worker holds. A statement of
        # its own, so the rows claimed are exactly the rows locked whatever plan PostgreSQL
        # would pick for a locking subquery inside the UPDATE.
        ids = list(session.scalars(due.with_for_update(skip_locked=True)))
        if not ids:
            return []
        session.execute(claim.where(OutboxMessage.id.in_(ids)))
    else:
        # SQLite: one statement takes the write lock before it reads, so claims serialise.
        session.execute(claim.where(OutboxMessage.id.in_(due), *claimable))
    rows = session.execute(
        select(OutboxMessage, WebhookSubscription)
        .outerjoin(WebhookSubscription, OutboxMessage.subscription_id == WebhookSubscription.id)
        .where(OutboxMessage.claim_token == token)
        .order_by(OutboxMessage.available_at, OutboxMessage.id)
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
        )
        for message, subscription in rows
    ]


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed) for a webhook payload."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def send_webhook(http: httpx.Client, message: ClaimedMessage, *, now: datetime) -> SendResult:
    """POST one event to its subscription, signed; any 2xx answer means sent."""
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
    try:
        # Stream so the answer's body is never read: a receiver could send anything back.
        # Redirects are not followed: the signed event goes only to the registered URL.
        with http.stream("POST", message.url, content=body, headers=headers) as response:
            status = response.status_code
    except Exception as exc:  # connection refused, timeout, bad URL: all mean "try later"
        return SendResult(False, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= status < 300:
        return SendResult(True)
    return SendResult(False, f"HTTP {status}")


def send_sms(gateway: SmsGateway, message: ClaimedMessage) -> SendResult:
    """Hand one text message to the gateway; an exception means not sent."""
    phone = str(message.payload["phone"])
    try:
        gateway.send(phone, str(message.payload["text"]))
    except Exception as exc:  # a gateway adapter may fail in any way; the outbox retries
        # The message may echo the number back: keep only the masked form in the row.
        error = f"{type(exc).__name__}: {exc}".replace(phone, mask_phone(phone))
        return SendResult(False, error[:500])
    return SendResult(True)


def record_result(
    session: Session,
    message: ClaimedMessage,
    result: SendResult,
    *,
    now: datetime,
    rng: random.Random,
) -> str:
    """Store an attempt's outcome on the row still claimed by us; return the row's new status
    ("sent", "pending" for a retry, "dead"), or "lost_claim" if the lease was taken over."""
    values: dict[str, Any] = {
        "attempts": message.attempts + 1,
        "claim_token": None,
        "claimed_until": None,
    }
    deadline = message.created_at + DELIVERY_WINDOW
    if result.ok:
        values.update(status="sent", sent_at=now, last_error=None)
    elif now >= deadline:
        values.update(status="dead", last_error=result.error)
    else:
        # The last retry falls on the deadline itself rather than after it.
        next_attempt = min(now + retry_delay(message.attempts + 1, rng), deadline)
        values.update(status="pending", available_at=next_attempt, last_error=result.error)
    if message.kind == "sms" and values["status"] != "pending":
        # The text may hold a pickup code (stored hashed elsewhere) and the phone is personal
        # data: once the SMS is sent or given up, keep only the masked number.
        values["payload"] = {"phone": mask_phone(str(message.payload["phone"])), "text": None}
    outcome = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
        .values(**values)
    )
    if cast(CursorResult[Any], outcome).rowcount != 1:
        return "lost_claim"
    return str(values["status"])


def release_claims(session: Session, messages: list[ClaimedMessage]) -> int:
    """Give claimed messages back unsent, claimable again at once; return how many."""
    released = 0
    for message in messages:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
            .values(claim_token=None, claimed_until=None)
        )
        released += cast(CursorResult[Any], result).rowcount
    return released


def _cancel(session: Session, message: ClaimedMessage) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim_token == message.claim_token)
        .values(status="cancelled", claim_token=None, claimed_until=None)
    )


def deliver_due(
    session_factory: sessionmaker[Session],
    *,
    now: datetime,
    http: httpx.Client,
    sms_gateway: SmsGateway,
    limit: int = DEFAULT_BATCH,
    lease: timedelta = DEFAULT_LEASE,
    rng: random.Random | None = None,
    stopping: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Claim a batch of due messages, send each, and record each result in its own transaction.

    When ``stopping()`` turns true mid-batch, the messages not yet sent are released at once
    rather than left for their lease to run out.
    """
    rng = rng or random.Random()
    with session_scope(session_factory) as session:
        batch = claim_due(session, now=now, limit=limit, lease=lease)
    report = DeliveryReport(claimed=len(batch))
    for position, message in enumerate(batch):
        if stopping is not None and stopping():
            with session_scope(session_factory) as session:
                report.released = release_claims(session, batch[position:])
            break
        if message.kind == "webhook" and not message.subscription_active:
            with session_scope(session_factory) as session:
                _cancel(session, message)
            report.cancelled += 1
            continue
        if message.kind == "sms":
            result = send_sms(sms_gateway, message)
        else:
            result = send_webhook(http, message, now=now)
        with session_scope(session_factory) as session:
            status = record_result(session, message, result, now=now, rng=rng)
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
    return report


def make_http_client() -> httpx.Client:
    """The HTTP client webhook delivery uses: bounded timeouts, no redirects."""
    return httpx.Client(
        timeout=WEBHOOK_TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    )
