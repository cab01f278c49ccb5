"""Grouping claimed webhooks into deliveries: a pure kernel, no database, no HTTP.

A subscription with ``batch_max`` 1 (and every SMS) gets one delivery per message. A
subscription with ``batch_max`` above 1 gets its messages in groups of at most ``batch_max``,
in the order they were claimed (``available_at``, then ``id``): every group but its last is
full, so a backlog leaves in as few POSTs as the limit allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

BATCH_MAX_LIMIT = 100  # the most events one POST may carry


class Deliverable(Protocol):
    """What the grouping needs of a claimed message."""

    @property
    def subscription_id(self) -> int | None: ...

    @property
    def batch_max(self) -> int: ...


M = TypeVar("M", bound=Deliverable)
T = TypeVar("T")


def batched(message: Deliverable) -> bool:
    """Whether the message's subscription takes the batch shape (even for a batch of one)."""
    return message.subscription_id is not None and message.batch_max > 1


def group_deliveries(messages: Sequence[M]) -> list[tuple[M, ...]]:
    """The deliveries of ``messages`` (in claim order): one per message that is not batched;
    for a batching subscription, its messages in order, ``batch_max`` (of its first message)
    at a time. Deliveries come in the order of their first message."""
    groups: list[list[M]] = []
    filling: dict[int, int] = {}  # subscription -> index of its group still filling
    for message in messages:
        subscription_id = message.subscription_id
        if subscription_id is None or not batched(message):
            groups.append([message])
            continue
        at = filling.get(subscription_id)
        if at is None or len(groups[at]) >= groups[at][0].batch_max:
            filling[subscription_id] = len(groups)
            groups.append([message])
        else:
            groups[at].append(message)
    return [tuple(group) for group in groups]


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` cut into consecutive pieces of ``size`` (the last may be shorter)."""
    return [items[start : start + size] for start in range(0, len(items), max(size, 1))]
