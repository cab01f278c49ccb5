"""The stored planning scenarios the dashboard shows: the plans one can put on the map, and
one row per scenario on the scenarios page (docs/dashboard.md).

A region's dashboard shows every plan that covers the region (``plan_region``): its own, and
those over several regions or the whole country, with the region's part of their figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput, NotFound
from selpo.models import District, Plan, PlanRegion, PostOffice, Region, Settlement, StaffJob

# Plans whose chosen offices are offices to connect (a coverage curve chooses none).
PLAN_KINDS_ON_MAP = ("connect", "modernise", "median")
DEFAULT_RADIUS_KM = 10.0  # the planning default (PlanCreate.radius_km)

# ---------------------------------------------------------------------------- plans on the map


def _covering(region_id: int) -> Select[int]:
    """Ids of the plans that cover the region (its own and those over several regions)."""
    return select(PlanRegion.plan_id).where(PlanRegion.region_id == region_id)


def _several(plan: Plan) -> bool:
    return len(plan.result.get("regions") or []) > 1


def _part(plan: Plan, region_code: str) -> dict[str, object] | None:
    """The region's part of a plan over several regions (``by_region`` of its result)."""
    for part in plan.result.get("by_region") or []:
        if isinstance(part, dict) and part.get("code") == region_code:
            return part
    return None


def scope_label(plan: Plan) -> str | None:
    """What a plan over several regions covers, in Russian; None for a region's own plan."""
    if plan.result.get("national"):
        return f"вся Россия, {len(plan.result.get('regions') or [])} регионов"
    if _several(plan):
        return "регионы " + ", ".join(str(c) for c in plan.result.get("regions") or [])
    return None


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
    """Stored plans (covering a region) that choose offices, newest first."""
    query = (
        select(Plan.id, Plan.name, Plan.kind, Plan.created_at)
        .where(Plan.kind.in_(PLAN_KINDS_ON_MAP), Plan.id.in_(_covering(region_id)))
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
    a plan that does not cover the region given is not found."""
    if plan_id is None:
        plan = session.scalars(
            select(Plan)
            .where(Plan.kind == "connect", Plan.id.in_(_covering(region_id)))
            .order_by(Plan.id.desc())
            .limit(1)
        ).first()
        if plan is None:
            return None
    else:
        found = session.scalars(
            select(Plan).where(Plan.id == plan_id, Plan.id.in_(_covering(region_id)))
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
    region-wide coverage figures are ``None``. For a plan over several regions (``scope``
    says which) the figures are the region's part of it.
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
    scope: str | None = None

    @property
    def gain(self) -> float | None:
        if self.covered_before is None or self.covered_after is None:
            return None
        return self.covered_after - self.covered_before


def plan_lines(
    session: Session, *, region_id: int, district_id: int | None = None
) -> list[PlanLine]:
    """Every stored scenario covering a region, newest first."""
    own: set[str] | None = None
    if district_id is not None:
        own = set(
            session.scalars(select(PostOffice.index).where(PostOffice.district_id == district_id))
        )
    code = session.scalar(select(Region.code).where(Region.id == region_id)) or ""
    lines = []
    query = select(Plan).where(Plan.id.in_(_covering(region_id))).order_by(Plan.id.desc())
    for plan in session.scalars(query):
        chosen = _chosen(plan)
        whole = own is None
        before, after = plan.covered_before, plan.covered_after
        total: float | None = plan.total_population
        added = len(chosen)
        if _several(plan):
            part = _part(plan, code) or {}
            before, after = _number(part.get("covered_before")), _number(part.get("covered_after"))
            total = _number(part.get("total_population"))
            added = int(_number(part.get("added")) or 0)
        if own is not None:
            added = sum(1 for i in chosen if i in own)
        lines.append(
            PlanLine(
                id=plan.id,
                name=plan.name,
                kind=plan.kind,
                marketplace=plan.marketplace_code,
                status=plan.status,
                added=added,
                covered_before=before if whole else None,
                covered_after=after if whole else None,
                total_population=total if whole else None,
                gap=plan.gap,
                radius_km=_radius_km(plan) if plan.kind in ("connect", "modernise") else None,
                created_at=plan.created_at,
                scope=scope_label(plan),
            )
        )
    return lines


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


# ---------------------------------------------------------------------------- which offices next


@dataclass(frozen=True)
class NextOffice:
    """One office of the latest plan, in the plan's order: the people it newly brings within
    reach, and the share of the region's people covered once it and those before it are
    connected."""

    rank: int
    index: str
    name: str
    settlement: str
    district_id: int | None
    newly_covered: float
    cumulative: float | None  # people covered after this office (None: the plan has no base)
    cumulative_share: float | None


@dataclass(frozen=True)
class NextOffices:
    """The ranked list of the region's latest ``connect`` plan."""

    plan_id: int
    plan_name: str
    created_at: datetime
    radius_km: float
    offices: list[NextOffice]


def next_offices(
    session: Session, *, region_id: int, district_id: int | None = None
) -> NextOffices | None:
    """Which offices to connect next: the latest ``connect`` plan covering the region, office by
    office in the order the solver chose them (each one's newly covered people are counted
    after those before it), with the cumulative share of the population covered. For a plan
    over several regions, the region's offices and the region's people. For a district's
    supervisor, the district's offices only (ranks and shares stay the region's)."""
    plan = session.scalars(
        select(Plan)
        .where(Plan.kind == "connect", Plan.id.in_(_covering(region_id)))
        .order_by(Plan.id.desc())
        .limit(1)
    ).first()
    if plan is None:
        return None
    chosen = [c for c in plan.result.get("chosen") or [] if "index" in c]
    covered = plan.covered_before
    total: float | None = plan.total_population
    in_region = PostOffice.district_id.in_(
        select(District.id).where(District.region_id == region_id)
    )
    if _several(plan):
        part = _part(plan, session.scalar(select(Region.code).where(Region.id == region_id)) or "")
        covered = _number((part or {}).get("covered_before"))
        total = _number((part or {}).get("total_population"))
        mine = set(
            session.scalars(
                select(PostOffice.index).where(
                    in_region, PostOffice.index.in_([str(c["index"]) for c in chosen])
                )
            )
        )
        chosen = [c for c in chosen if str(c["index"]) in mine]
    indexes = [str(c["index"]) for c in chosen]
    places = {
        row.office_index: row
        for row in session.execute(
            select(
                PostOffice.index.label("office_index"),
                PostOffice.name,
                PostOffice.district_id,
                Settlement.name.label("settlement"),
            )
            .outerjoin(Settlement, PostOffice.settlement_id == Settlement.id)
            .where(PostOffice.index.in_(indexes))
        )
    }
    offices = []
    for rank, entry in enumerate(chosen, start=1):
        index = str(entry["index"])
        gain = float(entry.get("newly_covered") or 0.0)
        covered = None if covered is None else covered + gain
        place = places.get(index)
        office = NextOffice(
            rank=rank,
            index=index,
            name=place.name if place is not None else str(entry.get("name") or ""),
            settlement=(place.settlement or "") if place is not None else "",
            district_id=place.district_id if place is not None else None,
            newly_covered=gain,
            cumulative=covered,
            cumulative_share=covered / total if covered is not None and total else None,
        )
        if district_id is None or office.district_id == district_id:
            offices.append(office)
    return NextOffices(
        plan_id=plan.id,
        plan_name=plan.name,
        created_at=plan.created_at,
        radius_km=_radius_km(plan),
        offices=offices,
    )


# ---------------------------------------------------------------- jobs started on the web


@dataclass(frozen=True)
class JobLine:
    """A plan or simulation started from the dashboard, with its progress."""

    id: int
    kind: str  # plan | simulation
    parameters: dict[str, object]
    status: str  # queued | running | done | failed
    progress: float
    stage: str
    plan_id: int | None
    run_id: int | None
    error: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        """For the page's polling (``/region/api/jobs``)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "progress": round(self.progress, 3),
            "stage": self.stage,
            "plan_id": self.plan_id,
            "run_id": self.run_id,
            "error": self.error,
        }


def jobs(session: Session, *, region_id: int, limit: int = 20) -> list[JobLine]:
    """The region's latest jobs, newest first."""
    query = (
        select(StaffJob).where(StaffJob.region_id == region_id).order_by(StaffJob.id.desc())
    ).limit(limit)
    return [
        JobLine(
            id=j.id,
            kind=j.kind,
            parameters=dict(j.parameters),
            status=j.status,
            progress=j.progress,
            stage=j.stage,
            plan_id=j.plan_id,
            run_id=j.run_id,
            error=j.error,
            created_by=j.created_by,
            created_at=j.created_at,
            finished_at=j.finished_at,
        )
        for j in session.scalars(query)
    ]
