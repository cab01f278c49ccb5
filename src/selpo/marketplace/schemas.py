"""Shapes of the operator's marketplace API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MarketplaceCreate(BaseModel):
    """A new marketplace."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9_]+$")
    name: str = Field(min_length=1, max_length=200)
    storage_days: int = Field(default=7, ge=1, le=60)


class MarketplaceRead(BaseModel):
    """A marketplace."""

    code: str
    name: str
    storage_days: int
    storage_extension_days: int
    accepting_index: str


class ApiKeyCreated(BaseModel):
    """A new API key: ``key`` is shown this once and never again."""

    prefix: str
    key: str


class ConnectionsUpdate(BaseModel):
    """Offices to connect (all open offices when ``all`` is true)."""

    model_config = ConfigDict(extra="forbid")

    indexes: list[str] = Field(default_factory=list, max_length=100_000)
    all: bool = False


class ConnectionsChanged(BaseModel):
    """How many connections were added or reactivated."""

    changed: int
