"""FastAPI dependencies as ``Annotated`` aliases, so signatures read ``session: SessionDep``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from selpo.config import Settings
from selpo.db import end_session, open_session
from selpo.kit.clock import Clock


# Trivial dependencies are ``async def`` so FastAPI runs them inline instead of handing each
# to the thread pool (each hand-off costs about 0.1 ms on a small machine).
async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


READ_METHODS = frozenset({"GET", "HEAD"})


def reads_only(request: Request) -> bool:
    """Whether the request gets a read-only session: a GET or HEAD, unless its route says it
    writes (``writes_on_read = True`` on the route class, e.g. pages that clear a message)."""
    if request.method not in READ_METHODS:
        return False
    route = request.scope.get("route")
    return not getattr(route, "writes_on_read", False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed on success, rolled back on any error.

    GET and HEAD requests read in a deferred transaction (on SQLite they never queue behind
    writers); every other request's transaction takes the write lock at once. Opening a
    session does no I/O, so it happens inline; only the end (commit, close) goes to the
    thread pool: one hand-off per request instead of two.
    """
    session = open_session(request.app.state.session_factory, read_only=reads_only(request))
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(end_session, session, commit=False)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(end_session, session, commit=True)


async def get_read_session(
    request: Request, primary: Annotated[Session, Depends(get_session, scope="function")]
) -> AsyncIterator[Session]:
    """A read-only session for reads that tolerate a little lag (the standby of
    ``SELPO_READ_DATABASE_URL``); without that setting, the request's own session. Never for a
    write, nor for what must see the request's or the client's last write."""
    factory = request.app.state.read_session_factory
    if factory is None:
        yield primary
        return
    session = open_session(factory, read_only=True)
    try:
        yield session
    finally:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(end_session, session, commit=False)


async def get_clock(request: Request) -> Clock:
    """The clock the app runs on (the wall clock, or a virtual one in the simulation)."""
    clock: Clock = request.app.state.clock
    return clock


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": commit (or roll back) before the response is sent, so a client never
# hears "created" for a change that then fails to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
# Lag-tolerant reads: the standby when one is configured (get_read_session).
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]

# The largest id an INTEGER primary key holds: a bigger one is refused (422) before any query.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id (1 to 2^31 - 1)")]
