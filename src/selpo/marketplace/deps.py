"""Authentication of API callers: ``Authorization: Bearer KEY``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from selpo.deps import ClockDep, SessionDep
from selpo.marketplace import service
from selpo.marketplace.errors import AdminOnly, MissingApiKey


def current_principal(request: Request, session: SessionDep, clock: ClockDep) -> service.Principal:
    """The caller behind the bearer key."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise MissingApiKey()
    return service.authenticate(session, secret=secret.strip(), now=clock.now())


def current_marketplace(
    principal: Annotated[service.Principal, Depends(current_principal)],
) -> service.Principal:
    """A marketplace caller (admin keys act for no marketplace here)."""
    if principal.marketplace_id is None:
        raise MissingApiKey("this route needs a marketplace's API key")
    return principal


def current_admin(
    principal: Annotated[service.Principal, Depends(current_principal)],
) -> service.Principal:
    """The operator's admin key."""
    if not principal.is_admin:
        raise AdminOnly()
    return principal


PrincipalDep = Annotated[service.Principal, Depends(current_principal)]
MarketplaceDep = Annotated[service.Principal, Depends(current_marketplace)]
AdminDep = Annotated[service.Principal, Depends(current_admin)]
