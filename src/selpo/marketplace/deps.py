"""Authentication of API callers: ``Authorization: Bearer KEY``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import enter_sandbox, session_scope
from selpo.deps import ClockDep, SessionDep
from selpo.marketplace import service
from selpo.marketplace.errors import AdminOnly, MissingApiKey, SandboxOnly

log = logging.getLogger(__name__)


def record_key_use(factory: sessionmaker[Session], key_id: int, now: datetime) -> None:
    """Record a key's use in a short transaction of its own (after the response is sent)."""
    try:
        with session_scope(factory) as session:
            service.record_key_use(session, key_id=key_id, now=now)
    except SQLAlchemyError:
        # Best effort: the next due request records it again; the answer was already sent.
        log.warning("could not record the use of API key %s", key_id, exc_info=True)


def current_principal(
    request: Request, session: SessionDep, clock: ClockDep, background: BackgroundTasks
) -> service.Principal:
    """The caller behind the bearer key; its use is recorded after the response, at most
    once a minute per key, never in the request's transaction. A test key's request works on
    the sandbox's rows only (``db.enter_sandbox``): it sees no live shipment, and what it
    makes is sandbox data."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise MissingApiKey()
    now = clock.now()
    principal = service.authenticate(session, secret=secret.strip(), now=now)
    if principal.sandbox:
        enter_sandbox(session)
    usage: service.KeyUsage = request.app.state.key_usage  # made by create_app
    if usage.due(principal, now):
        background.add_task(
            record_key_use, request.app.state.session_factory, principal.key_id, now
        )
    return principal


# The two checks below do no I/O: ``async def`` runs them inline, without a thread hand-off.
async def current_marketplace(
    principal: Annotated[service.Principal, Depends(current_principal)],
) -> service.Principal:
    """A marketplace caller (admin keys act for no marketplace here)."""
    if principal.marketplace_id is None:
        raise MissingApiKey("this route needs a marketplace's API key")
    return principal


async def current_admin(
    principal: Annotated[service.Principal, Depends(current_principal)],
) -> service.Principal:
    """The operator's admin key."""
    if not principal.is_admin:
        raise AdminOnly()
    return principal


async def current_sandbox_marketplace(
    principal: Annotated[service.Principal, Depends(current_marketplace)],
) -> service.Principal:
    """A marketplace calling with a test key (the sandbox's own routes)."""
    if not principal.sandbox:
        raise SandboxOnly()
    return principal


PrincipalDep = Annotated[service.Principal, Depends(current_principal)]
MarketplaceDep = Annotated[service.Principal, Depends(current_marketplace)]
AdminDep = Annotated[service.Principal, Depends(current_admin)]
SandboxMarketplaceDep = Annotated[service.Principal, Depends(current_sandbox_marketplace)]
