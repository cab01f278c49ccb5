"""The HTTP edge while the database switches to its standby: retry what is safe, else 503.

When the primary is lost, a request may fail because its connection died or the node it reached
no longer takes writes (``selpo.db.database_switching`` tells those errors apart). A request that
is safe to run again — a GET or HEAD, or a write carrying an ``Idempotency-Key`` (its second run
finds the first one's answer if that one committed) — is run again, after a short and growing
pause, for as long as the budget allows; the switch usually takes a few seconds. Any other
request, or one still failing when the budget is spent, answers 503 problem+json with
``Retry-After``, never 500: the client may retry later (with its key, a write is applied once).

A response already started is never run again (its status went out). Sits innermost, under the
rate limits and the body limit, so a replay counts once and the buffered body is bounded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from selpo.errors import PROBLEM_JSON, problem_body

log = logging.getLogger("selpo.database")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENCY_HEADER = b"idempotency-key"
# How long a safe request is held and tried again while the database switches (a switch of
# pg_auto_failover measured 2-6 s on one machine, docs/operations.md), the first pause and
# the longest one, and the Retry-After told to a client whose request failed.
RETRY_BUDGET_S = 10.0
FIRST_PAUSE_S = 0.1
LONGEST_PAUSE_S = 1.0
RETRY_AFTER_S = 3


def safe_to_retry(scope: Scope) -> bool:
    """Whether running the request twice cannot do its work twice: a read, or a write whose
    ``Idempotency-Key`` makes the server answer it once."""
    if scope.get("method") in SAFE_METHODS:
        return True
    return any(name == IDEMPOTENCY_HEADER for name, _ in scope.get("headers", ()))


class DatabaseSwitchMiddleware:
    """Run safe requests again while the database switches; answer 503 when that fails."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        switching: Callable[[BaseException], bool],
        budget_s: float = RETRY_BUDGET_S,
        retry_after_s: int = RETRY_AFTER_S,
    ) -> None:
        self.app = app
        self.switching = switching
        self.budget_s = budget_s
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not safe_to_retry(scope):
            await self._once(scope, receive, send)
            return
        body = await _read_body(receive)
        deadline = time.monotonic() + self.budget_s
        pause = FIRST_PAUSE_S
        attempt = 1
        while True:
            started = False

            async def tracking_send(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            try:
                await self.app(scope, _replay(body, receive), tracking_send)
                return
            except Exception as exc:
                if started or not self.switching(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    await self._unavailable(scope, exc, attempt)(scope, receive, send)
                    return
                log.warning(
                    "database switching (%s) on %s %s, attempt %d: trying again in %.1f s",
                    type(exc.__cause__ or exc).__name__,
                    scope.get("method"),
                    scope.get("path"),
                    attempt,
                    pause,
                )
            await anyio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_S)
            attempt += 1

    async def _once(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not self.switching(exc):
                raise
            await self._unavailable(scope, exc, 1)(scope, receive, send)

    def _unavailable(self, scope: Scope, exc: BaseException, attempts: int) -> JSONResponse:
        # The class only, never the message: a database error's text may quote row values.
        log.warning(
            "database switching (%s) on %s %s: 503 after %d attempt(s)",
            type(exc.__cause__ or exc).__name__,
            scope.get("method"),
            scope.get("path"),
            attempts,
        )
        state = scope.get("state") or {}
        body = problem_body(
            503,
            "the database is switching to its standby; try again in "
            f"{self.retry_after_s} s (with the same Idempotency-Key, a write is applied once)",
            request_id=state.get("request_id"),
        )
        return JSONResponse(
            body,
            status_code=503,
            media_type=PROBLEM_JSON,
            headers={"Retry-After": str(self.retry_after_s), "Cache-Control": "no-store"},
        )


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the app will see an empty body and end
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands out the buffered body once, then waits for the disconnect."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
