"""Shapes of the planning API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PlanCreate(BaseModel):
    """A planning scenario to run and store."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    region: str | None = Field(
        default=None,
        min_length=1,
        max_length=16,
        description='The region\'s code ("37"); may be left out when the database holds one',
    )
    regions: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description='Plan over these regions at once (codes, e.g. ["37", "33"]) instead of one',
    )
    national: bool = Field(
        default=False,
        description="Plan over every region imported (every locality and office of the country)",
    )
    kind: Literal["connect", "median", "modernise"] = "connect"
    marketplace: str = Field(default="OZON", description="Its active offices stay connected")
    add: int | None = Field(default=113, ge=0, le=100_000, description="Offices to add")
    budget_rub: float | None = Field(
        default=None, gt=0, le=1e13, description="modernise: the budget"
    )
    radius_km: float = Field(default=10.0, gt=0, le=200)
    solver: Literal["exact", "fast", "auto"] = "auto"
    modernised_only: bool = False
    time_limit_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="A budget the solver plans within (no round starts that would not fit)",
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class ChosenOffice(BaseModel):
    """An office the plan opens and the people it brings."""

    index: str
    name: str
    newly_covered: float
    exclusive: float
    cost_rub: float | None = None


class UncoveredPlace(BaseModel):
    """A locality with no connected office within the radius after the plan."""

    name: str
    district: str
    population: float
    distance_km: float | None = Field(
        description="By road (estimated) to the nearest connected office; null: none connected"
    )
    region: str | None = Field(
        default=None, description="The locality's region (code), in a plan over several"
    )


class RegionFigures(BaseModel):
    """One region's part of a plan over several regions (or the whole country)."""

    code: str
    name: str
    demand_localities: int
    total_population: float
    covered_before: float | None
    covered_after: float | None
    added: int = Field(description="Offices the plan connects in this region")


class PlanResult(BaseModel):
    """The answer of one scenario (the `--json` shape of `selpo plan connect`).

    ``region`` is the region's code when the plan covers one; ``regions`` lists every region
    covered (``national``: all imported) and, over several, ``by_region`` gives each one's part.
    ``total_population`` is the people of the region's ``demand_localities`` (localities with
    people and a coordinate); ``share_before`` / ``share_after`` are the shares of them within
    the radius of a connected office before and after the plan; ``uncovered`` lists the
    largest localities still out of reach after it.
    """

    region: str | None = None
    regions: list[str] = Field(
        default_factory=list, description="Every region the plan covers (codes)"
    )
    national: bool = Field(default=False, description="Planned over every region imported")
    by_region: list[RegionFigures] = Field(
        default_factory=list, description="A plan over several regions: each region's part"
    )
    demand_localities: int | None = None
    kind: str
    status: str
    method: str
    objective: float
    bound: float
    gap: float
    covered_before: float | None
    covered_after: float | None
    total_population: float
    share_before: float | None = None
    share_after: float | None = None
    uncovered: list[UncoveredPlace] = Field(default_factory=list)
    chosen: list[ChosenOffice]
    seconds: float
    parameters: dict[str, Any]
    reduction: dict[str, Any]
    extra: dict[str, Any] = Field(default_factory=dict)


class PlanRead(PlanResult):
    """A stored scenario."""

    id: int
    name: str
    created_at: datetime
