"""Token buckets in memory: ``rate`` tokens a second, at most ``burst`` saved up.

Nothing is written to the database: a bucket lives in the process (each API worker limits on
its own, so N workers allow up to N times the rate). A lock makes taking a token atomic
under threads; the number of buckets is bounded (the least recently used is forgotten,
which only ever lets its owner in sooner).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from selpo.errors import PROBLEM_JSON, problem_body


class TokenBuckets:
    """One token bucket per key; ``take(key)`` spends a token or says how long to wait."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0.0 when granted, else seconds until one is."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                tokens -= 1.0
                wait = 0.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait

    def wait(self, key: str) -> float:
        """Seconds until ``key``'s bucket holds a token again, spending nothing (0.0: now)."""
        with self._lock:
            state = self._buckets.get(key)
            if state is None:
                return 0.0
            tokens, at = state
            tokens = min(self.burst, tokens + (self._clock() - at) * self.rate)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate


@dataclass(frozen=True)
class Limit:
    """A set of buckets and how a request picks its bucket (None: this limit does not apply)."""

    name: str
    buckets: TokenBuckets
    key_of: Callable[[Scope], str | None]


class RateLimitMiddleware:
    """Answer 429 (problem+json, ``Retry-After``) when a request's bucket is empty."""

    def __init__(self, app: ASGIApp, *, limits: Sequence[Limit]) -> None:
        self.app = app
        self.limits = tuple(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for limit in self.limits:
                key = limit.key_of(scope)
                if key is None:
                    continue
                wait = limit.buckets.take(f"{limit.name}:{key}")
                if wait > 0:
                    await _too_many(scope, wait, limit.name)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class FailureLimitMiddleware:
    """Count the answers of one status per caller and refuse a caller who ran out (429).

    Unlike the limits above, which every request spends, only a failure spends here (a 401
    for a made-up or revoked API key, say): a caller who keeps failing is refused before its
    requests reach the key lookup, while callers who succeed are never slowed down.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        name: str,
        status: int,
        buckets: TokenBuckets,
        key_of: Callable[[Scope], str | None],
    ) -> None:
        self.app = app
        self.name = name
        self.status = status
        self.buckets = buckets
        self.key_of = key_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.key_of(scope) if scope["type"] == "http" else None
        if key is None:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.wait(key)
        if wait > 0:
            await _too_many(scope, wait, self.name)(scope, receive, send)
            return

        async def send_counting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == self.status:
                self.buckets.take(key)
            await send(message)

        await self.app(scope, receive, send_counting)


def _too_many(scope: Scope, wait: float, name: str) -> JSONResponse:
    state = scope.get("state") or {}
    seconds = max(1, math.ceil(wait))
    body = problem_body(
        429,
        f"too many requests ({name}): try again in {seconds} s",
        request_id=state.get("request_id"),
    )
    return JSONResponse(
        body,
        status_code=429,
        media_type=PROBLEM_JSON,
        headers={"Retry-After": str(seconds), "Cache-Control": "no-store"},
    )
