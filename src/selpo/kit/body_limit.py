"""Refuse request bodies over a size (413) without reading them into memory first.

A declared ``Content-Length`` over the limit is refused before the body is read; a body sent
in chunks is counted as it streams and refused the moment it passes the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from selpo.errors import PROBLEM_JSON, problem_body


class BodyTooLarge(HTTPException):
    """The body passed the limit while it was read (rendered as a 413 problem)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return
                break
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state") or {}
        body = problem_body(
            413,
            f"the request body is larger than {self.max_bytes} bytes",
            request_id=state.get("request_id"),
        )
        response = JSONResponse(
            body,
            status_code=413,
            media_type=PROBLEM_JSON,
            headers={"Connection": "close", "Cache-Control": "no-store"},
        )
        await response(scope, receive, send)
