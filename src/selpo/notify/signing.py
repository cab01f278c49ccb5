"""Webhook signatures: ``X-Selpo-Signature: t=<unix ts>,v1=<hex HMAC-SHA256(secret, "t.body")>``.

This module uses the standard library only, so a receiver can copy ``verify_signature`` as is.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "X-Selpo-Signature"
SCHEME = "v1"


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, body: bytes | str, timestamp: int) -> str:
    """Build the ``X-Selpo-Signature`` value for a body sent at ``timestamp`` (unix seconds)."""
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, _as_bytes(body))}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    now: datetime | float,
    tolerance_s: float = 300,
) -> bool:
    """Say whether ``header`` signs exactly ``body`` with ``secret`` within ``tolerance_s`` of now.

    ``body`` must be the raw request body as received (not re-serialised JSON). The tolerance
    refuses replays of old captured requests; several ``v1=`` entries may be present (any one
    matching is enough), so a secret can be rotated without downtime.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    now_s = now.timestamp() if isinstance(now, datetime) else float(now)
    if abs(now_s - timestamp) > tolerance_s:
        return False
    expected = _digest(secret, timestamp, _as_bytes(body))
    # compare_digest keeps the comparison constant-time, so timing leaks nothing of the HMAC.
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
