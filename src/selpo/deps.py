"""FastAPI dependencies as ``Annotated`` aliases, so signatures read ``session: SessionDep``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from selpo.config import Settings
from selpo.db import session_scope
from selpo.kit.clock import Clock


# Trivial dependencies are ``async def`` so FastAPI runs them inline instead of handing each
# to the thread pool (each hand-off costs about 0.1 ms on a small machine).
async def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed on success, rolled back on any error."""
    with session_scope(request.app.state.session_factory) as session:
        yield session


async def get_clock(request: Request) -> Clock:
    """The clock the app runs on (the wall clock, or a virtual one in the simulation)."""
    clock: Clock = request.app.state.clock
    return clock


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": commit (or roll back) before the response is sent, so a client never
# hears "created" for a change that then fails to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ClockDep = Annotated[Clock, Depends(get_clock)]

# The largest id an INTEGER primary key holds: a bigger one is refused (422) before any query.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id (1 to 2^31 - 1)")]
