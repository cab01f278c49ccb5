"""The transactional outbox and webhook subscriptions.

Other domains call ``publish_event`` and ``queue_sms`` inside their own transaction: the outbox
rows commit or roll back with the change they report, and the worker sends them afterwards.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, insert, select, update
from sqlalchemy.orm import Session

from selpo.db import in_sandbox
from selpo.errors import InvalidInput
from selpo.models import OutboxMessage, WebhookSubscription
from selpo.notify.batching import BATCH_MAX_LIMIT
from selpo.notify.destination import (
    DestinationRefused,
    Resolver,
    check_destination,
    system_resolve,
)
from selpo.notify.errors import WebhookSubscriptionNotFound
from selpo.notify.events import CATALOGUE

# The event types, in the catalogue's order (notify/events.py: payload models, examples).
EVENT_TYPES = tuple(CATALOGUE)
ALL_EVENTS = "*"
SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2000
# Finished rows (sent, dead, cancelled) are kept this long, the replay window, then purged
# with the personal data they carry.
OUTBOX_RETENTION = timedelta(days=30)
_PHONE = re.compile(r"\+?\d{10,15}")


@dataclass(frozen=True)
class OutboxCounts:
    """How many outbox rows are in each status."""

    pending: int
    sent: int
    dead: int
    cancelled: int


def _json_default(value: object) -> str:
    # Let callers pass dates and ids as they hold them; the body carries them as ISO text.
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"event data holds a {type(value).__name__}, which JSON cannot carry")


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, as the rest of the API writes times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _new_webhook_row(
    subscription_id: int,
    *,
    event_id: str,
    event_type: str,
    event_created_at: datetime,
    payload: dict[str, Any],
    now: datetime,
) -> OutboxMessage:
    return OutboxMessage(
        kind="webhook",
        status="pending",
        subscription_id=subscription_id,
        event_id=event_id,
        event_type=event_type,
        event_created_at=event_created_at,
        payload=payload,
        created_at=now,
        available_at=now,
        attempts=0,
    )


def subscribes_to(subscription: WebhookSubscription, event_type: str) -> bool:
    """Whether the subscription wants this event type."""
    return ALL_EVENTS in subscription.events or event_type in subscription.events


def publish_event(
    session: Session,
    *,
    marketplace_id: int,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
) -> str:
    """Queue an event for every active subscription of the marketplace that wants it; return
    the event id."""
    return publish_events(
        session, marketplace_id=marketplace_id, events=[(event_type, data)], now=now
    )[0]


def publish_events(
    session: Session,
    *,
    marketplace_id: int,
    events: Sequence[tuple[str, dict[str, Any]]],
    now: datetime,
) -> list[str]:
    """Queue many events of one marketplace at once (one read of its subscriptions, one
    bulk insert); return their event ids in order."""
    return publish_many(
        session,
        events=[MarketplaceEvent(marketplace_id, t, data) for t, data in events],
        now=now,
    )


@dataclass(frozen=True)
class MarketplaceEvent:
    """An event for one marketplace's subscriptions.

    ``secrets``: fields of ``data`` (a pickup code) that only https subscriptions get, in their
    own outbox row, wiped once it is finished (``delivery.wipe_secrets``); every other
    subscription gets them as null.
    """

    marketplace_id: int
    event_type: str
    data: dict[str, Any]
    secrets: dict[str, Any] | None = None


def over_https(subscription: WebhookSubscription) -> bool:
    """Whether the subscription's URL is https (a development allow-listed one may be http)."""
    return subscription.url.lower().startswith("https://")


def publish_many(
    session: Session, *, events: Sequence[MarketplaceEvent], now: datetime
) -> list[str]:
    """Queue events of any marketplaces at once: one read of their active subscriptions, one
    bulk insert, rows in the order of ``events``; return the event ids in order.

    Events published by a sandbox session (a test key's) say so: ``"sandbox": true`` beside
    their type, so a receiver that gets live and test events can tell them apart."""
    for event in events:
        if event.event_type not in EVENT_TYPES:
            raise ValueError(
                f"unknown event type {event.event_type!r}; known: {', '.join(EVENT_TYPES)}"
            )
    if not events:
        return []
    subscriptions: dict[int, list[WebhookSubscription]] = {}
    query = (
        select(WebhookSubscription)
        .where(
            WebhookSubscription.marketplace_id.in_(sorted({e.marketplace_id for e in events})),
            WebhookSubscription.active.is_(True),
        )
        .order_by(WebhookSubscription.id)
    )
    for subscription in session.scalars(query):
        subscriptions.setdefault(subscription.marketplace_id, []).append(subscription)
    ids: list[str] = []
    rows: list[dict[str, Any]] = []
    created_at = format_timestamp(now)
    sandbox = in_sandbox(session)
    # Serialise even when nobody listens: data JSON cannot carry is a bug to surface now.
    # All the events' data in one round trip through JSON (one encoder set up, not one each).
    datas: list[Any] = json.loads(json.dumps([e.data for e in events], default=_json_default))
    for event, data in zip(events, datas, strict=True):
        event_id = str(uuid.uuid4())
        ids.append(event_id)
        wanted = [
            s
            for s in subscriptions.get(event.marketplace_id, ())
            if subscribes_to(s, event.event_type)
        ]
        if not wanted:
            continue
        payload: dict[str, Any] = {
            "event_id": event_id,
            "type": event.event_type,
            "created_at": created_at,
            "data": data,
        }
        if sandbox:
            payload["sandbox"] = True
        secret = None
        if event.secrets:
            secret = {
                **payload,
                "data": {**payload["data"], **json.loads(json.dumps(event.secrets))},
            }
        for subscription in wanted:
            confidential = secret is not None and over_https(subscription)
            rows.append(
                {
                    "kind": "webhook",
                    "status": "pending",
                    "subscription_id": subscription.id,
                    "event_id": event_id,
                    "event_type": event.event_type,
                    "event_created_at": now,
                    "payload": secret if confidential else payload,
                    "secret_fields": sorted(event.secrets or ()) if confidential else None,
                    "created_at": now,
                    "available_at": now,
                    "attempts": 0,
                }
            )
    if rows:
        session.execute(insert(OutboxMessage), rows)
    return ids


def normalise_phone(phone: str) -> str:
    """Strip spaces, dashes and brackets; refuse anything but 10 to 15 digits (with a +)."""
    compact = re.sub(r"[\s\-()]", "", phone)
    if not _PHONE.fullmatch(compact):
        raise InvalidInput("a phone number is 10 to 15 digits, optionally after +", field="phone")
    return compact


def queue_sms(
    session: Session, *, phone: str, text: str, now: datetime, reference: str | None = None
) -> None:
    """Queue a text message to a recipient's phone."""
    queue_sms_many(session, messages=[Sms(phone, text, reference)], now=now)


@dataclass(frozen=True)
class Sms:
    """A text message to one phone; ``reference`` names what it is about (a tracking number)."""

    phone: str
    text: str
    reference: str | None = None


def queue_sms_many(session: Session, *, messages: Sequence[Sms], now: datetime) -> None:
    """Queue many text messages in one insert; a bad phone or an empty text refuses them all.

    A sandbox session (a test key's) texts nobody: its parcels are tests, their phones
    perhaps real."""
    if in_sandbox(session):
        return
    rows: list[dict[str, Any]] = []
    for message in messages:
        if not message.text.strip():
            raise InvalidInput("an SMS needs a text", field="text")
        rows.append(
            {
                "kind": "sms",
                "status": "pending",
                "payload": {"phone": normalise_phone(message.phone), "text": message.text},
                "reference": message.reference[:100] if message.reference else None,
                "created_at": now,
                "available_at": now,
                "attempts": 0,
            }
        )
    if rows:
        session.execute(insert(OutboxMessage), rows)


def _checked_url(url: str, *, allow_hosts: frozenset[str], resolve: Resolver) -> str:
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"the webhook URL is longer than {MAX_URL_LENGTH}", field="url")
    try:
        check_destination(url, allow_hosts=allow_hosts, resolve=resolve)
    except DestinationRefused as refusal:
        raise InvalidInput(str(refusal), field="url") from None
    return url


def _checked_events(events: Sequence[str]) -> list[str]:
    if not events:
        raise InvalidInput("name at least one event type, or *", field="events")
    unknown = [e for e in events if e != ALL_EVENTS and e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(
            f"unknown event type {unknown[0]!r}; known: {', '.join(EVENT_TYPES)} or *",
            field="events",
        )
    if ALL_EVENTS in events:
        return [ALL_EVENTS]
    return list(dict.fromkeys(events))


def _checked_batch_max(batch_max: int) -> int:
    if isinstance(batch_max, bool) or not 1 <= batch_max <= BATCH_MAX_LIMIT:
        raise InvalidInput(
            f"batch_max is 1 (one event per POST) to {BATCH_MAX_LIMIT}", field="batch_max"
        )
    return batch_max


def create_subscription(
    session: Session,
    *,
    marketplace_id: int,
    url: str,
    events: Sequence[str],
    now: datetime,
    allow_hosts: frozenset[str] = frozenset(),
    resolve: Resolver = system_resolve,
    batch_max: int = 1,
) -> WebhookSubscription:
    """Subscribe a URL of the marketplace to event types, with a new signing secret.

    The URL must be https to a host whose addresses are all public, unless the host is on
    ``allow_hosts`` (development: http and any address). ``resolve`` looks names up.
    ``batch_max`` (1 to 100): events per POST; above 1 they come batched (docs/notify.md).
    """
    subscription = WebhookSubscription(
        marketplace_id=marketplace_id,
        url=_checked_url(url, allow_hosts=allow_hosts, resolve=resolve),
        events=_checked_events(events),
        secret=SECRET_PREFIX + secrets.token_urlsafe(32),
        active=True,
        created_at=now,
        batch_max=_checked_batch_max(batch_max),
    )
    session.add(subscription)
    session.flush()
    return subscription


def list_subscriptions(session: Session, *, marketplace_id: int) -> list[WebhookSubscription]:
    """The marketplace's active subscriptions, oldest first."""
    query = (
        select(WebhookSubscription)
        .where(
            WebhookSubscription.marketplace_id == marketplace_id,
            WebhookSubscription.active.is_(True),
        )
        .order_by(WebhookSubscription.id)
    )
    return list(session.scalars(query))


def get_subscription(
    session: Session, *, marketplace_id: int, subscription_id: int
) -> WebhookSubscription:
    """One active subscription of the marketplace (another marketplace's is not found)."""
    subscription = session.get(WebhookSubscription, subscription_id)
    if (
        subscription is None
        or subscription.marketplace_id != marketplace_id
        or not subscription.active
    ):
        raise WebhookSubscriptionNotFound(subscription_id)
    return subscription


def update_subscription(
    session: Session,
    *,
    marketplace_id: int,
    subscription_id: int,
    batch_max: int | None = None,
    events: Sequence[str] | None = None,
) -> WebhookSubscription:
    """Change an active subscription of the marketplace: its events per POST, its event types
    (``None``: unchanged). Everything is checked before anything changes. Messages already
    queued keep going (a new event-type list applies to events published from now on); a new
    ``batch_max`` applies from the next claim."""
    subscription = get_subscription(
        session, marketplace_id=marketplace_id, subscription_id=subscription_id
    )
    checked_batch = None if batch_max is None else _checked_batch_max(batch_max)
    checked_events = None if events is None else _checked_events(events)
    if checked_batch is not None:
        subscription.batch_max = checked_batch
    if checked_events is not None:
        subscription.events = checked_events
    session.flush()
    return subscription


def deactivate_subscription(
    session: Session, *, marketplace_id: int, subscription_id: int, now: datetime
) -> None:
    """Stop a subscription; its undelivered messages are cancelled."""
    subscription = get_subscription(
        session, marketplace_id=marketplace_id, subscription_id=subscription_id
    )
    subscription.active = False
    subscription.deactivated_at = now
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.subscription_id == subscription.id, OutboxMessage.status == "pending")
        .values(status="cancelled", claim_token=None, claimed_until=None)
    )
    wipe_secrets(session, OutboxMessage.subscription_id == subscription.id)
    session.flush()


def wiped(payload: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """A webhook body with these fields of its ``data`` set to null."""
    data = payload.get("data")
    if not isinstance(data, dict):
        return payload
    return {**payload, "data": {**data, **dict.fromkeys(fields)}}


def wipe_secrets(session: Session, *where: ColumnElement[bool]) -> int:
    """Null the secret fields (a pickup code) of the finished webhook rows matching ``where``
    (sent, dead or cancelled: no attempt will need them again); return how many. Rows that
    hold secrets are few and each is wiped once, so this reads only those."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.payload, OutboxMessage.secret_fields).where(
            OutboxMessage.secret_fields.is_not(None),
            OutboxMessage.status != "pending",
            *where,
        )
    ).all()
    for message_id, payload, fields in rows:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(payload=wiped(payload, fields), secret_fields=None)
        )
    return len(rows)


def replay_events(
    session: Session,
    *,
    marketplace_id: int,
    subscription_id: int,
    since: datetime,
    now: datetime,
) -> int:
    """Queue again every event of the subscription created since ``since`` (same event ids);
    return how many. Events still waiting for delivery are not queued twice."""
    subscription = get_subscription(
        session, marketplace_id=marketplace_id, subscription_id=subscription_id
    )
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.subscription_id == subscription.id,
            OutboxMessage.event_created_at >= since,
        )
        .order_by(OutboxMessage.event_created_at, OutboxMessage.id)
    )
    latest: dict[str, OutboxMessage] = {}
    waiting: set[str] = set()
    for row in rows:
        if row.event_id is None:
            continue
        latest[row.event_id] = row
        if row.status == "pending":
            waiting.add(row.event_id)
    requeued = 0
    for event_id, row in latest.items():
        if event_id in waiting or row.event_type is None or row.event_created_at is None:
            continue
        session.add(
            _new_webhook_row(
                subscription.id,
                event_id=event_id,
                event_type=row.event_type,
                event_created_at=row.event_created_at,
                payload=row.payload,
                now=now,
            )
        )
        requeued += 1
    session.flush()
    return requeued


def list_deliveries(
    session: Session,
    *,
    marketplace_id: int,
    subscription_id: int,
    status: str | None = None,
    limit: int = 100,
) -> list[OutboxMessage]:
    """The subscription's latest deliveries, newest first (dead letters with ``status="dead"``)."""
    subscription = get_subscription(
        session, marketplace_id=marketplace_id, subscription_id=subscription_id
    )
    query = select(OutboxMessage).where(OutboxMessage.subscription_id == subscription.id)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    query = query.order_by(OutboxMessage.id.desc()).limit(limit)
    return list(session.scalars(query))


def count_messages(session: Session) -> OutboxCounts:
    """How many outbox rows are pending, sent, dead and cancelled."""
    counts = dict.fromkeys(("pending", "sent", "dead", "cancelled"), 0)
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    for status, count in session.execute(query):
        counts[status] = count
    return OutboxCounts(**counts)


def purge_finished_messages(session: Session, now: datetime, *, limit: int = 1000) -> int:
    """Delete up to ``limit`` outbox rows created more than 30 days ago that are no longer
    pending (call again while it returns ``limit``)."""
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.created_at < now - OUTBOX_RETENTION,
                OutboxMessage.status != "pending",
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    result = session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], result).rowcount
