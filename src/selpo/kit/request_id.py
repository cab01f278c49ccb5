"""Every request gets an id (``X-Request-Id``), the time the application took to answer
(``Server-Timing: app;dur=<ms>``) and one access-log line.

The id is the client's when it is a sane token (1 to 64 letters, digits, ``.``, ``_``, ``-``,
``:``), otherwise a new one. It goes back in the response's header, in every problem body and
in the log line: method, path (never the query string, which may hold a secret), status,
duration and the id. Bodies are never logged.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-Id"
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")

access_log = logging.getLogger("selpo.access")


def accept_request_id(offered: str | None) -> str:
    """The client's id when it is a sane token, else a new random one."""
    if offered is not None and _SANE.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def request_id_of(connection: HTTPConnection) -> str | None:
    """The id the middleware gave this request (None outside it)."""
    state: dict[str, Any] = connection.scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


def _loggable(path: str) -> str:
    # Never let a path break the line (log injection) or flood it.
    return _UNPRINTABLE.sub("?", path[:200])


class RequestIdMiddleware:
    """Give the request an id, echo it in the response and log one line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                offered = value.decode("latin-1")
                break
        request_id = accept_request_id(offered)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers[HEADER] = request_id
                # How long the application took to start answering (W3C Server Timing), so a
                # client can tell the server's time from the network's and its own queueing.
                spent_ms = (time.perf_counter() - started) * 1000
                headers.append("Server-Timing", f"app;dur={spent_ms:.1f}")
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            status = 500  # the server's error handler answers (with the id) after us
            raise
        finally:
            access_log.info(
                "%s %s %d %.1fms request_id=%s",
                scope.get("method", "-"),
                _loggable(scope.get("path", "")),
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
            )
