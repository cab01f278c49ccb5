"""Checking a webhook's signature, as docs/notify.md describes it.

Every webhook POST carries ``X-Selpo-Signature: t=<unix seconds>,v1=<hex>`` where the hex is
HMAC-SHA256 keyed with the subscription's secret over ``"<t>." + raw body``. Several ``v1=``
entries may be present while a secret is rotated: any one matching is enough. A signature
older (or newer) than the tolerance is refused, so a captured request cannot be replayed.
Standard library only. A subscription with ``batch_max`` above 1 receives
``{"batch_id", "events": [...]}`` (``X-Selpo-Event-Type: batch``), signed the same way over the
whole body: ``parse_webhook_batch`` reads it, ``parse_webhook_events`` either shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime

from selpo_client.errors import InvalidSignature
from selpo_client.models import WebhookBatch, WebhookEvent

SIGNATURE_HEADER = "X-Selpo-Signature"
DEFAULT_TOLERANCE_S = 300.0


def _hex_hmac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()


def _raw(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign_webhook(secret: str, body: bytes | str, timestamp: int) -> str:
    """The ``X-Selpo-Signature`` value for ``body`` sent at ``timestamp`` (for receivers' tests)."""
    return f"t={timestamp},v1={_hex_hmac(secret, timestamp, _raw(body))}"


def verify_webhook_signature(
    secret: str,
    header: str,
    body: bytes | str,
    *,
    now: datetime | float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether ``header`` signs exactly ``body`` (the raw bytes received, not re-encoded JSON)
    with ``secret``, at a time within ``tolerance_s`` of ``now`` (default: the clock)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    if now is None:
        now_s = time.time()
    elif isinstance(now, datetime):
        now_s = now.timestamp()
    else:
        now_s = float(now)
    if abs(now_s - timestamp) > tolerance_s:
        return False
    expected = _hex_hmac(secret, timestamp, _raw(body))
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


def parse_webhook(
    secret: str,
    header: str | None,
    body: bytes | str,
    *,
    now: datetime | float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> WebhookEvent:
    """The event of a webhook whose signature checks out; ``InvalidSignature`` otherwise."""
    return WebhookEvent.model_validate_json(
        _checked(secret, header, body, now=now, tolerance_s=tolerance_s)
    )


def _checked(
    secret: str,
    header: str | None,
    body: bytes | str,
    *,
    now: datetime | float | None,
    tolerance_s: float,
) -> bytes:
    if header is None or not verify_webhook_signature(
        secret, header, body, now=now, tolerance_s=tolerance_s
    ):
        raise InvalidSignature("the webhook's X-Selpo-Signature does not match its body")
    return _raw(body)


def parse_webhook_batch(
    secret: str,
    header: str | None,
    body: bytes | str,
    *,
    now: datetime | float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> WebhookBatch:
    """The batch of a batched webhook whose signature checks out; ``InvalidSignature``
    otherwise. Its events are in the order they were queued; handle each once per
    ``event_id``."""
    return WebhookBatch.model_validate_json(
        _checked(secret, header, body, now=now, tolerance_s=tolerance_s)
    )


def parse_webhook_events(
    secret: str,
    header: str | None,
    body: bytes | str,
    *,
    now: datetime | float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> list[WebhookEvent]:
    """The events of a webhook of either shape (one event, or a batch) whose signature checks
    out; ``InvalidSignature`` otherwise. Useful while a subscription's ``batch_max`` changes."""
    parsed = json.loads(_checked(secret, header, body, now=now, tolerance_s=tolerance_s))
    if isinstance(parsed, dict) and "batch_id" in parsed and "events" in parsed:
        return WebhookBatch.model_validate(parsed).events
    return [WebhookEvent.model_validate(parsed)]
