"""Scenarios: a stored plan as a simulation set-up, and a run's figures kept for the dashboard.

The simulation runs on a scratch database; the plan it tries and the figures it produces live
in the main database (``plan``, ``simulation_run``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput, NotFound
from selpo.models import District, MarketplaceConnection, Plan, PostOffice, Region, SimulationRun
from selpo.planning.schemas import PlanResult
from selpo.simulation.report import Report
from selpo.simulation.service import SimulationConfig

# Plans whose ``chosen`` offices are offices to connect (a curve has no single choice).
PLAN_KINDS_WITH_OFFICES = frozenset({"connect", "median", "modernise"})
DEFAULT_PLAN_MARKETPLACE = "OZON"


@dataclass(frozen=True)
class PlanScenario:
    """The offices a stored plan connects, and to which marketplace."""

    plan_id: int
    name: str
    marketplace: str
    indexes: list[str]
    region: str | None = None  # the code of the plan's region (None: a plan kept without one)

    @property
    def label(self) -> str:
        return f"План №{self.plan_id} «{self.name}»: +{len(self.indexes)} {self.marketplace}"


def plan_scenario(session: Session, plan_id: int) -> PlanScenario:
    """Read a stored plan as the offices to connect before a simulation."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"no plan has id {plan_id}", field="plan")
    if plan.kind not in PLAN_KINDS_WITH_OFFICES:
        raise InvalidInput(
            f"plan {plan_id} is a {plan.kind!r} plan: it chooses no offices to connect",
            field="plan",
        )
    result = PlanResult.model_validate(plan.result)
    if len(result.regions) > 1:
        raise InvalidInput(
            f"plan {plan_id} covers several regions ({', '.join(result.regions)}): "
            "a simulation runs one region's plan",
            field="plan",
        )
    indexes = [chosen.index for chosen in result.chosen]
    if not indexes:
        raise InvalidInput(f"plan {plan_id} connects no office", field="plan")
    region = session.get(Region, plan.region_id) if plan.region_id is not None else None
    return PlanScenario(
        plan_id=plan.id,
        name=plan.name,
        marketplace=plan.marketplace_code or DEFAULT_PLAN_MARKETPLACE,
        indexes=indexes,
        region=region.code if region is not None else None,
    )


def default_region(session: Session) -> str | None:
    """The code of the database's only region; None when it holds none (or is not migrated).

    Several regions and none named is refused: the caller must say which (``--region``).
    """
    if not inspect(session.connection()).has_table("region"):
        return None
    codes = list(session.scalars(select(Region.code).order_by(Region.code).limit(50)))
    if len(codes) > 1:
        raise InvalidInput(
            f"the database holds several regions ({', '.join(codes)}): name one with --region",
            field="region",
        )
    return codes[0] if codes else None


def connected_offices(session: Session, region: str | None = None) -> int:
    """Offices with at least one active marketplace connection (in the region, given its code)."""
    query = select(func.count(func.distinct(MarketplaceConnection.post_office_id))).where(
        MarketplaceConnection.status == "active"
    )
    if region is not None:
        query = (
            query.join(PostOffice, MarketplaceConnection.post_office_id == PostOffice.id)
            .join(District, PostOffice.district_id == District.id)
            .join(Region, District.region_id == Region.id)
            .where(Region.code == region)
        )
    return int(session.scalar(query) or 0)


def record_run(
    session: Session,
    *,
    report: Report,
    config: SimulationConfig,
    kind: str,
    label: str,
    connected: int,
    seconds: float,
    now: datetime,
    comparison: str | None = None,
    plan_id: int | None = None,
    region: str | None = None,
) -> SimulationRun:
    """Keep a run's figures in the main database (the dashboard shows them), under the
    region of code ``region`` when this database holds it."""
    stored = report.stored()
    region_id = session.scalar(select(Region.id).where(Region.code == region)) if region else None
    run = SimulationRun(
        kind=kind,
        region_id=region_id,
        label=label,
        comparison=comparison,
        plan_id=plan_id,
        seed=config.seed,
        days=config.days,
        scale=config.scale,
        start=config.start,
        connected_offices=connected,
        region=stored["region"],
        districts=stored["districts"],
        offices=stored["offices"],
        statuses=stored["statuses"],
        seconds=round(seconds, 3),
        created_at=now,
    )
    session.add(run)
    session.flush()
    return run
