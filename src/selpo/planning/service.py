"""The planning shell: load the live network, build the problem, solve, store the scenario.

Demand is the registry's settlements with their census-consistent populations
(docs/data.md); facilities are the post offices: the marketplace's active offices are fixed
(they stay), open offices are candidates (optionally only modernised ones).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput, NotFound
from selpo.models import Marketplace, MarketplaceConnection, Plan, PostOffice, Settlement
from selpo.planning.problem import (
    CoverageCurve,
    CoveringProblem,
    CoveringResult,
    DemandPoints,
    Facilities,
    MedianResult,
    Method,
    covering_problem,
    median_problem,
)
from selpo.planning.schemas import ChosenOffice, PlanCreate, PlanRead, PlanResult
from selpo.planning.solver import coverage_curve, solve_max_covering, solve_p_median

# Modernisation cost per office when none is recorded (roubles): a documented assumption
# for budget runs (docs/planning.md), by the kind of place.
DEFAULT_MODERNISATION_COST_RUB = {"town": 2_500_000.0, "pgt": 1_800_000.0, "rural": 1_200_000.0}


@dataclass(frozen=True)
class RegionInstance:
    """The live network as arrays, plus names to report with."""

    demand: DemandPoints
    facilities: Facilities
    office_names: dict[str, str]
    place_names: dict[int, str]
    estimated_places: int
    unlocated_population: int


def load_instance(
    session: Session,
    *,
    marketplace: str = "OZON",
    modernised_only: bool = False,
    cost_rub: dict[str, float] | None = None,
) -> RegionInstance:
    """Read settlements and offices into a planning instance."""
    market = session.scalars(select(Marketplace).where(Marketplace.code == marketplace)).first()
    if market is None:
        raise InvalidInput(f"unknown marketplace {marketplace!r}", field="marketplace")
    places = session.execute(
        select(
            Settlement.id,
            Settlement.name,
            Settlement.lat,
            Settlement.lon,
            Settlement.population,
            Settlement.population_is_estimate,
        ).where(
            Settlement.lat.is_not(None),
            Settlement.lon.is_not(None),
            Settlement.population.is_not(None),
        )
    ).all()
    if not places:
        raise InvalidInput("no settlements with people and coordinates: import a region first")
    connected = set(
        session.scalars(
            select(MarketplaceConnection.post_office_id).where(
                MarketplaceConnection.marketplace_id == market.id,
                MarketplaceConnection.status == "active",
            )
        )
    )
    offices = session.execute(
        select(
            PostOffice.id,
            PostOffice.index.label("office_index"),
            PostOffice.name,
            PostOffice.lat,
            PostOffice.lon,
            PostOffice.status,
            PostOffice.rural,
            PostOffice.modernised_year,
            Settlement.kind,
        )
        .outerjoin(Settlement, PostOffice.settlement_id == Settlement.id)
        .order_by(PostOffice.index)
    ).all()
    costs = cost_rub or DEFAULT_MODERNISATION_COST_RUB
    fixed = [o.id in connected and o.status == "open" for o in offices]
    candidate = [
        (not f) and o.status == "open" and (not modernised_only or o.modernised_year is not None)
        for o, f in zip(offices, fixed, strict=True)
    ]
    place_kind = {"town": "town", "urban_type_settlement": "pgt"}
    kind = ["rural" if o.rural else place_kind.get(o.kind or "", "town") for o in offices]
    demand = DemandPoints.build(
        ids=[p.id for p in places],
        lat=[p.lat for p in places],
        lon=[p.lon for p in places],
        weight=[p.population for p in places],
    )
    facilities = Facilities.build(
        index=[o.office_index for o in offices],
        lat=[o.lat for o in offices],
        lon=[o.lon for o in offices],
        fixed=fixed,
        candidate=candidate,
        cost=[costs.get(k, costs["rural"]) for k in kind],
    )
    return RegionInstance(
        demand=demand,
        facilities=facilities,
        office_names={o.office_index: o.name for o in offices},
        place_names={p.id: p.name for p in places},
        estimated_places=sum(1 for p in places if p.population_is_estimate),
        unlocated_population=int(
            session.scalar(
                select(func.coalesce(func.sum(Settlement.population), 0)).where(
                    Settlement.lat.is_(None)
                )
            )
            or 0
        ),
    )


def _method(solver: str) -> Method:
    """The CLI's and API's solver names: "fast" is the heuristic with its proven bound."""
    methods: dict[str, Method] = {"exact": "exact", "fast": "heuristic", "auto": "auto"}
    if solver not in methods:
        raise InvalidInput("solver is exact, fast or auto", field="solver")
    return methods[solver]


def _chosen(result: CoveringResult | MedianResult, names: dict[str, str]) -> list[ChosenOffice]:
    return [
        ChosenOffice(
            index=c.index,
            name=names.get(c.index, ""),
            newly_covered=c.marginal,
            exclusive=c.exclusive,
            cost_rub=c.cost,
        )
        for c in result.chosen
    ]


def _reduction(result: CoveringResult | MedianResult | CoverageCurve) -> dict[str, Any]:
    return asdict(result.reduction)


def plan_connect(
    instance: RegionInstance,
    *,
    add: int | None,
    radius_km: float,
    solver: str = "auto",
    budget_rub: float | None = None,
    time_limit_s: float = 30.0,
    seed: int = 0,
) -> tuple[PlanResult, CoveringProblem]:
    """Maximal covering: add offices (or spend a budget) to bring the most people in reach."""
    if add is None and budget_rub is None:
        raise InvalidInput("give a number of offices to add or a budget", field="add")
    candidates = int(instance.facilities.candidate.sum())
    if add is not None and add > candidates:
        raise InvalidInput(f"only {candidates} offices can be added", field="add")
    problem = covering_problem(instance.demand, instance.facilities, radius_m=radius_km * 1000)
    result = solve_max_covering(
        problem,
        k=None if budget_rub is not None else add,
        budget=budget_rub,
        method=_method(solver),
        time_limit_s=time_limit_s,
        seed=seed,
    )
    chosen = _chosen(result, instance.office_names)
    filled = 0
    if budget_rub is None and add is not None and len(chosen) < add:
        # Everyone in reach already: fill the remaining places by the secondary aim, the
        # shortest people-weighted distance (p-median with the plan so far fixed).
        filler = _fill_by_distance(instance, [c.index for c in chosen], add - len(chosen), seed)
        filled = len(filler)
        chosen += filler
    return (
        PlanResult(
            kind="connect" if budget_rub is None else "modernise",
            status=result.status,
            method=result.method,
            objective=result.objective,
            bound=result.bound,
            gap=result.gap,
            covered_before=result.covered_before,
            covered_after=result.covered_after,
            total_population=result.total_weight,
            chosen=chosen,
            seconds=result.seconds,
            parameters={
                "add": add,
                "budget_rub": budget_rub,
                "radius_km": radius_km,
                "solver": solver,
                "seed": seed,
            },
            reduction=_reduction(result),
            extra={
                "bound_method": result.bound_method,
                "spent_rub": result.spent,
                "filled_by_distance": filled,
                "places_with_estimated_population": instance.estimated_places,
                "population_without_location": instance.unlocated_population,
            },
        ),
        problem,
    )


def _fill_by_distance(
    instance: RegionInstance, chosen: list[str], count: int, seed: int
) -> list[ChosenOffice]:
    facilities = instance.facilities
    picked = np.isin(np.array(facilities.index), chosen)
    fixed = facilities.fixed | picked
    candidate = facilities.candidate & ~picked
    count = min(count, int(candidate.sum()))
    if count <= 0:
        return []
    rest = Facilities.build(
        index=facilities.index,
        lat=facilities.lat,
        lon=facilities.lon,
        fixed=fixed,
        candidate=candidate,
        cost=facilities.cost,
    )
    result = solve_p_median(
        median_problem(instance.demand, rest), k=count, method="auto", seed=seed
    )
    return [
        ChosenOffice(
            index=c.index,
            name=instance.office_names.get(c.index, ""),
            newly_covered=0.0,
            exclusive=0.0,
            cost_rub=c.cost,
        )
        for c in result.chosen
    ]


def plan_median(
    instance: RegionInstance,
    *,
    add: int,
    solver: str = "auto",
    nearest: int = 10,
    time_limit_s: float = 30.0,
    seed: int = 0,
) -> PlanResult:
    """p-median: add offices to shorten the people-weighted road distance to the nearest."""
    problem = median_problem(instance.demand, instance.facilities, nearest=nearest)
    result = solve_p_median(
        problem, k=add, method=_method(solver), time_limit_s=time_limit_s, seed=seed
    )
    return PlanResult(
        kind="median",
        status=result.status,
        method=result.method,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        covered_before=None,
        covered_after=None,
        total_population=result.total_weight,
        chosen=_chosen(result, instance.office_names),
        seconds=result.seconds,
        parameters={"add": add, "solver": solver, "nearest": nearest, "seed": seed},
        reduction=_reduction(result),
        extra={
            "objective_before": result.objective_before,
            "mean_distance_m": result.mean_distance_m,
            "bound_method": result.bound_method,
        },
    )


def plan_curve(
    instance: RegionInstance, *, k_max: int, radius_km: float, time_limit_s: float = 60.0
) -> CoverageCurve:
    """People covered for k = 0..k_max more offices, each point with its proven bound."""
    problem = covering_problem(instance.demand, instance.facilities, radius_m=radius_km * 1000)
    return coverage_curve(problem, k_max=k_max, time_limit_s=time_limit_s)


def export_instance(instance: RegionInstance, problem: CoveringProblem, folder: Path) -> None:
    """Write the solved instance as demand.csv, facilities.csv and coverage.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    demand, facilities = instance.demand, instance.facilities
    with (folder / "demand.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "lat", "lon", "weight"])
        for i in range(len(demand)):
            writer.writerow(
                [
                    int(demand.ids[i]),
                    f"{demand.lat[i]:.6f}",
                    f"{demand.lon[i]:.6f}",
                    f"{demand.weight[i]:g}",
                ]
            )
    with (folder / "facilities.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["index", "lat", "lon", "fixed", "candidate"])
        for j, index in enumerate(facilities.index):
            writer.writerow(
                [
                    index,
                    f"{facilities.lat[j]:.6f}",
                    f"{facilities.lon[j]:.6f}",
                    int(facilities.fixed[j]),
                    int(facilities.candidate[j]),
                ]
            )
    coverage = problem.coverage.tocoo()
    with (folder / "coverage.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["demand_id", "index"])
        order = np.lexsort((coverage.col, coverage.row))
        for position in order:
            writer.writerow(
                [int(demand.ids[coverage.row[position]]), facilities.index[coverage.col[position]]]
            )


def write_csv(result: PlanResult, path: Path) -> None:
    """The chosen offices as CSV."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["order", "index", "name", "newly_covered", "exclusive"])
        for n, office in enumerate(result.chosen, start=1):
            writer.writerow(
                [n, office.index, office.name, f"{office.newly_covered:g}", f"{office.exclusive:g}"]
            )


def write_geojson(result: PlanResult, instance: RegionInstance, path: Path) -> None:
    """The plan's offices (fixed and chosen) as GeoJSON points."""
    chosen = {c.index: c for c in result.chosen}
    features = []
    facilities = instance.facilities
    for j, index in enumerate(facilities.index):
        role = "connected" if facilities.fixed[j] else ("chosen" if index in chosen else None)
        if role is None:
            continue
        properties: dict[str, Any] = {
            "index": index,
            "name": instance.office_names.get(index, ""),
            "role": role,
        }
        if index in chosen:
            properties["newly_covered"] = chosen[index].newly_covered
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(facilities.lon[j]), float(facilities.lat[j])],
                },
                "properties": properties,
            }
        )
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )


def run_scenario(session: Session, *, plan_in: PlanCreate, now: datetime) -> PlanRead:
    """Run a scenario on the live network and store it."""
    instance = load_instance(
        session, marketplace=plan_in.marketplace, modernised_only=plan_in.modernised_only
    )
    if plan_in.kind == "median":
        if plan_in.add is None:
            raise InvalidInput("a p-median plan needs add", field="add")
        result = plan_median(
            instance,
            add=plan_in.add,
            solver=plan_in.solver,
            time_limit_s=plan_in.time_limit_s,
            seed=plan_in.seed,
        )
    elif plan_in.kind == "modernise":
        if plan_in.budget_rub is None:
            raise InvalidInput("a modernisation plan needs budget_rub", field="budget_rub")
        result, _ = plan_connect(
            instance,
            add=None,
            budget_rub=plan_in.budget_rub,
            radius_km=plan_in.radius_km,
            solver=plan_in.solver,
            time_limit_s=plan_in.time_limit_s,
            seed=plan_in.seed,
        )
    else:
        result, _ = plan_connect(
            instance,
            add=plan_in.add,
            radius_km=plan_in.radius_km,
            solver=plan_in.solver,
            time_limit_s=plan_in.time_limit_s,
            seed=plan_in.seed,
        )
    return store_plan(session, plan_in=plan_in, result=result, now=now)


def store_plan(
    session: Session, *, plan_in: PlanCreate, result: PlanResult, now: datetime
) -> PlanRead:
    """Keep a solved scenario (what was asked and the answer) in the ``plan`` table."""
    plan = Plan(
        name=plan_in.name,
        kind=result.kind,
        marketplace_code=plan_in.marketplace,
        parameters=plan_in.model_dump(mode="json"),
        status=result.status,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        covered_before=result.covered_before,
        covered_after=result.covered_after,
        total_population=result.total_population,
        seconds=result.seconds,
        result=result.model_dump(mode="json"),
        created_at=now,
    )
    session.add(plan)
    session.flush()
    return _read(plan)


def _read(plan: Plan) -> PlanRead:
    stored = PlanResult.model_validate(plan.result)
    return PlanRead(**stored.model_dump(), id=plan.id, name=plan.name, created_at=plan.created_at)


def list_plans(session: Session) -> list[PlanRead]:
    """Every stored scenario, newest first."""
    return [_read(p) for p in session.scalars(select(Plan).order_by(Plan.id.desc()))]


def get_plan(session: Session, plan_id: int) -> PlanRead:
    """One stored scenario."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"no plan has id {plan_id}", field="plan_id")
    return _read(plan)
