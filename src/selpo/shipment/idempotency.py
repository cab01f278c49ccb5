"""Idempotency-Key: a write retried with the same key gets the first answer, once.

The one place that handles the header for every write of the marketplace API
(``POST /v1/shipments``, ``POST /v1/shipments/batch``): :func:`answer_once` claims the key,
replays an earlier answer, or runs the use case and remembers its answer in the same
transaction. A key is per marketplace; the same key with another body is refused (422).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selpo.errors import DomainError, InvalidInput
from selpo.models import IdempotencyRecord
from selpo.shipment import repository
from selpo.shipment.errors import IdempotencyKeyReused

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Answer:
    """What a write answers: its status code and JSON body."""

    status_code: int
    body: Any


def request_fingerprint(body: Any) -> str:
    """A stable hash of a request body (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim_idempotency_key(
    session: Session, *, marketplace_id: int, key: str, fingerprint: str, now: datetime
) -> IdempotencyRecord | None:
    """Claim a key for this request; return the earlier record if the key was used before.

    The claim is an insert under a unique constraint: of two concurrent identical requests,
    the second waits for the first to commit and then finds its answer.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", field="Idempotency-Key"
        )
    existing = repository.get_idempotency_record(session, marketplace_id, key)
    if existing is None:
        try:
            with session.begin_nested():
                session.add(
                    IdempotencyRecord(
                        marketplace_id=marketplace_id,
                        key=key,
                        request_sha256=fingerprint,
                        created_at=now,
                    )
                )
            return None
        except IntegrityError:
            existing = repository.get_idempotency_record(session, marketplace_id, key)
            if existing is None:  # pragma: no cover - the winner rolled back; let the client retry
                raise DomainError("a concurrent request with this key failed; retry") from None
    if existing.request_sha256 != fingerprint:
        raise IdempotencyKeyReused()
    return existing


def store_idempotent_response(
    session: Session, *, marketplace_id: int, key: str, answer: Answer
) -> None:
    """Remember the answer given under a key, in the same transaction as the change."""
    record = repository.get_idempotency_record(session, marketplace_id, key)
    if record is not None:
        record.status_code = answer.status_code
        record.response = answer.body


def confirm_replicated(session: Session, record: IdempotencyRecord) -> None:
    """Make the transaction that repeats an answer write (the record, unchanged), so that its
    commit waits for the synchronous standby as the first answer's did.

    A primary killed and restarted before its standby was promoted may hold a commit the
    standby never got; read alone, the record would let us repeat "created" for a shipment
    that vanishes when that node is rewound. Written, the commit waits for the standby: it is
    acknowledged only if the standby holds the record too, else the node is demoted, the
    connection dropped and the retry runs on the new primary, where the key is new.
    """
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record.id)
        .values(status_code=IdempotencyRecord.status_code)
    )


def answer_once(
    session: Session,
    *,
    marketplace_id: int,
    key: str | None,
    request: Any,
    now: datetime,
    run: Callable[[], Answer],
) -> Answer:
    """Answer a write at most once per key: without a key ``run()``; with one the earlier
    answer when there is one, else ``run()``'s, remembered under the key. A ``DomainError``
    from ``run`` passes through and the claim rolls back with the request's transaction."""
    if key is None:
        return run()
    earlier = claim_idempotency_key(
        session,
        marketplace_id=marketplace_id,
        key=key,
        fingerprint=request_fingerprint(request),
        now=now,
    )
    if earlier is not None and earlier.status_code is not None:
        confirm_replicated(session, earlier)
        return Answer(earlier.status_code, earlier.response)
    answer = run()
    store_idempotent_response(session, marketplace_id=marketplace_id, key=key, answer=answer)
    return answer
