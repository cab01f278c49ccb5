"""The stored planning scenarios the dashboard shows: the plans one can put on the map, and
one row per scenario on the scenarios page (docs/dashboard.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput, NotFound
from selpo.models import Plan, PostOffice

# Plans whose chosen offices are offices to connect (a coverage curve chooses none).
PLAN_KINDS_ON_MAP = ("connect", "modernise", "median")
DEFAULT_RADIUS_KM = 10.0  # the planning default (PlanCreate.radius_km)

# ---------------------------------------------------------------------------- plans on the map


@dataclass(frozen=True)
class PlanOption:
    """A stored plan one can show on the map."""

    id: int
    name: str
    kind: str
    created_at: datetime


@dataclass(frozen=True)
class PlanOnMap:
    """The plan shown: the offices it connects and its coverage radius."""

    id: int
    name: str
    kind: str
    radius_km: float
    indexes: frozenset[str]


def plan_options(session: Session, *, region_id: int) -> list[PlanOption]:
    """Stored plans (of a region) that choose offices, newest first."""
    query = (
        select(Plan.id, Plan.name, Plan.kind, Plan.created_at)
        .where(Plan.kind.in_(PLAN_KINDS_ON_MAP), Plan.region_id == region_id)
        .order_by(Plan.id.desc())
    )
    return [PlanOption(*row) for row in session.execute(query)]


def _radius_km(plan: Plan) -> float:
    for source in (plan.parameters, plan.result.get("parameters") or {}):
        value = source.get("radius_km") if isinstance(source, dict) else None
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return DEFAULT_RADIUS_KM


def _chosen(plan: Plan) -> list[str]:
    return [str(c["index"]) for c in plan.result.get("chosen") or [] if "index" in c]


def plan_on_map(
    session: Session, plan_id: int | None = None, *, region_id: int
) -> PlanOnMap | None:
    """The plan asked for, or by default the latest ``connect`` plan (``None``: there is none);
    a plan of another region than the one given is not found."""
    if plan_id is None:
        plan = session.scalars(
            select(Plan)
            .where(Plan.kind == "connect", Plan.region_id == region_id)
            .order_by(Plan.id.desc())
            .limit(1)
        ).first()
        if plan is None:
            return None
    else:
        found = session.scalars(
            select(Plan).where(Plan.id == plan_id, Plan.region_id == region_id)
        ).first()
        if found is None:
            raise NotFound(f"Плана №{plan_id} нет.", field="plan")
        if found.kind not in PLAN_KINDS_ON_MAP:
            raise InvalidInput(
                f"План №{plan_id} ({found.kind}) не выбирает отделений.", field="plan"
            )
        plan = found
    return PlanOnMap(
        id=plan.id,
        name=plan.name,
        kind=plan.kind,
        radius_km=_radius_km(plan),
        indexes=frozenset(_chosen(plan)),
    )


# ---------------------------------------------------------------------------- planning scenarios


@dataclass(frozen=True)
class PlanLine:
    """A stored planning scenario as one row of the scenarios page.

    For a district's supervisor ``added`` counts the district's offices only and the
    region-wide coverage figures are ``None``.
    """

    id: int
    name: str
    kind: str
    marketplace: str | None
    status: str
    added: int
    covered_before: float | None
    covered_after: float | None
    total_population: float | None
    gap: float
    radius_km: float | None
    created_at: datetime

    @property
    def gain(self) -> float | None:
        if self.covered_before is None or self.covered_after is None:
            return None
        return self.covered_after - self.covered_before


def plan_lines(
    session: Session, *, region_id: int, district_id: int | None = None
) -> list[PlanLine]:
    """Every stored scenario (of a region), newest first."""
    own: set[str] | None = None
    if district_id is not None:
        own = set(
            session.scalars(select(PostOffice.index).where(PostOffice.district_id == district_id))
        )
    lines = []
    query = select(Plan).where(Plan.region_id == region_id).order_by(Plan.id.desc())
    for plan in session.scalars(query):
        chosen = _chosen(plan)
        whole = own is None
        lines.append(
            PlanLine(
                id=plan.id,
                name=plan.name,
                kind=plan.kind,
                marketplace=plan.marketplace_code,
                status=plan.status,
                added=len(chosen) if own is None else sum(1 for i in chosen if i in own),
                covered_before=plan.covered_before if whole else None,
                covered_after=plan.covered_after if whole else None,
                total_population=plan.total_population if whole else None,
                gap=plan.gap,
                radius_km=_radius_km(plan) if plan.kind in ("connect", "modernise") else None,
                created_at=plan.created_at,
            )
        )
    return lines
