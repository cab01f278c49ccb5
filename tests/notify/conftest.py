"""Notify fixtures: a real HTTP receiver on 127.0.0.1, marketplaces with keys, the router."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.marketplace import service as marketplace_service
from selpo.models import OutboxMessage, WebhookSubscription
from selpo.notify import service
from selpo.notify.transport import make_http_client
from tests.conftest import TEST_NOW
from tests.fixtures.receiver import Receiver

# Test receivers listen on loopback: they are on the development allow list.
LOOPBACK = frozenset({"127.0.0.1"})


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
    with make_http_client(allow_hosts=LOOPBACK) as client:
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
    batch_max: int = 1,
) -> WebhookSubscription:
    """A committed subscription."""
    with session_scope(session_factory) as session:
        return service.create_subscription(
            session,
            marketplace_id=marketplace_id,
            url=url,
            events=list(events),
            now=now,
            allow_hosts=LOOPBACK,
            batch_max=batch_max,
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
