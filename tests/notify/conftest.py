"""Notify fixtures: a real HTTP receiver on 127.0.0.1, marketplaces with keys, the router."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.marketplace import service as marketplace_service
from selpo.models import OutboxMessage, WebhookSubscription
from selpo.notify import endpoints as notify_endpoints
from selpo.notify import service
from selpo.notify.delivery import make_http_client
from tests.conftest import TEST_NOW


@dataclass(frozen=True)
class Received:
    """One request the receiver got, and the status it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event_id(self) -> str:
        return self.headers.get("x-selpo-event-id", "")


class Receiver:
    """A webhook receiver: a real HTTP server in a thread that can be taken down and back up.

    ``answer`` is the status it gives (503 to play a failing receiver); ``stop()`` closes the
    port, so senders get "connection refused"; ``start()`` listens on the same port again.
    """

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.answer = 200
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @property
    def accepted(self) -> list[Received]:
        """The requests answered with a 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.answer
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            answered=status,
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test output clean

        return Handler

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = None
        self._thread = None


class RecordingSmsGateway:
    """An SMS provider double: records what it is given, or fails while ``failing``."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failing = False
        self.on_send: Callable[[], None] | None = None

    def send(self, phone: str, text: str) -> None:
        if self.failing:
            raise ConnectionError(f"provider refused {phone}")
        self.sent.append((phone, text))
        if self.on_send is not None:
            self.on_send()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A listening receiver answering 200; stopped after the test."""
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """The HTTP client the worker uses."""
    with make_http_client() as client:
        yield client


@dataclass(frozen=True)
class MarketplaceKey:
    """A marketplace and the bearer header of a fresh key for it."""

    marketplace_id: int
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


def make_marketplace(session: Session, code: str, *, now: datetime) -> MarketplaceKey:
    """A new (or the existing) marketplace with a fresh API key; flushed, not committed."""
    marketplace = marketplace_service.add_marketplace(session, code=code, name=code.title())
    issued = marketplace_service.issue_key(session, now=now, marketplace=marketplace)
    session.flush()
    return MarketplaceKey(marketplace.id, issued.secret)


def subscribe(
    session_factory: sessionmaker[Session],
    marketplace_id: int,
    url: str,
    *,
    now: datetime,
    events: tuple[str, ...] = ("*",),
) -> WebhookSubscription:
    """A committed subscription."""
    with session_scope(session_factory) as session:
        return service.create_subscription(
            session, marketplace_id=marketplace_id, url=url, events=list(events), now=now
        )


def outbox_rows(session_factory: sessionmaker[Session]) -> list[OutboxMessage]:
    """Every outbox row, read afresh, by id."""
    with session_scope(session_factory) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
def marketplace(session_factory: sessionmaker[Session]) -> MarketplaceKey:
    """A marketplace of the notify tests, committed (inside the test's outer transaction)."""
    with session_scope(session_factory) as session:
        return make_marketplace(session, "NOTIFY_TEST", now=TEST_NOW)


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The application with the webhook routes (until ``create_app`` mounts them itself)."""
    if not any(getattr(route, "path", "").startswith("/v1/webhooks") for route in app.routes):
        app.include_router(notify_endpoints.router)
    return app
