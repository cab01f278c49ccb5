"""The planning shell: load the live network, build the problem, solve, store the scenario.

A plan covers one region, a list of regions, or the whole country (every region imported):
demand is every locality of those regions with people and a coordinate (populations scaled
to the 2021 census per municipality, docs/data.md); facilities are their post offices: the
marketplace's active offices there are fixed (they stay), open offices are candidates
(optionally only modernised ones). Localities and offices of regions outside the plan never
count; inside it, an office covers the localities within reach whatever their region.
Distances are great circle × ``DEFAULT_CIRCUITY`` unless the instance carries a road
``DistanceProvider`` (``planning.roads``).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput, NotFound
from selpo.logistics.distance import DistanceProvider
from selpo.models import (
    District,
    Marketplace,
    MarketplaceConnection,
    Plan,
    PlanRegion,
    PostOffice,
    Region,
    Settlement,
)
from selpo.planning.problem import (
    CoverageCurve,
    CoveringProblem,
    CoveringResult,
    DemandPoints,
    Facilities,
    MedianProblem,
    MedianResult,
    Method,
    covering_problem,
    median_problem,
)
from selpo.planning.roads import coverage_within, median_pairs, nearest_open_m
from selpo.planning.schemas import (
    ChosenOffice,
    PlanCreate,
    PlanRead,
    PlanResult,
    RegionFigures,
    UncoveredPlace,
)
from selpo.planning.solver import (
    coverage_curve,
    covered_places,
    solve_max_covering,
    solve_p_median,
)

# Modernisation cost per office when none is recorded (roubles): a documented assumption
# for budget runs (docs/planning.md), by the kind of place.
DEFAULT_MODERNISATION_COST_RUB = {"town": 2_500_000.0, "pgt": 1_800_000.0, "rural": 1_200_000.0}
# How many of the largest localities out of reach a plan lists.
UNCOVERED_LISTED = 10


@dataclass(frozen=True)
class RegionInstance:
    """The live network of one region (or of several, or of the country) as arrays, plus
    names to report with.

    ``region_id`` / ``region_code`` name the region when there is one (None over several);
    ``region_codes`` lists every region planned and ``place_region`` / ``office_region`` give
    each place's and office's position in it; ``national``: every region imported.
    ``roads``: road distances from an imported road network, when there is one; None means
    great circle × ``DEFAULT_CIRCUITY`` (docs/planning.md, "Distances").
    """

    region_id: int | None
    region_code: str | None
    region_name: str
    demand: DemandPoints
    facilities: Facilities
    office_names: dict[str, str]
    place_names: dict[int, str]
    place_districts: dict[int, str]
    estimated_places: int
    unlocated_population: int
    roads: DistanceProvider | None = None
    region_codes: tuple[str, ...] = ()
    region_names: tuple[str, ...] = ()
    place_region: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    office_region: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    national: bool = False

    @property
    def several(self) -> bool:
        """True when the plan covers more than one region."""
        return len(self.region_codes) > 1


def resolve_region(session: Session, code: str | None) -> Region:
    """The region named by its code, or the database's only region when none is named."""
    if code is not None:
        region = session.scalars(select(Region).where(Region.code == code.strip())).first()
        if region is None:
            known = ", ".join(session.scalars(select(Region.code).order_by(Region.code)))
            raise InvalidInput(
                f"no region has code {code!r} (imported: {known or 'none'})", field="region"
            )
        return region
    regions = list(session.scalars(select(Region).order_by(Region.code).limit(50)))
    if not regions:
        raise InvalidInput("no region is imported: import a region first", field="region")
    if len(regions) > 1:
        codes = ", ".join(r.code for r in regions)
        raise InvalidInput(
            f"the database holds several regions ({codes}): name one with --region CODE",
            field="region",
        )
    return regions[0]


# How many region codes a plan over a list of regions may name (Russia has 89 subjects).
MAX_REGIONS = 100


def resolve_regions(
    session: Session,
    *,
    region: str | None = None,
    regions: Sequence[str] | None = None,
    national: bool = False,
) -> list[Region]:
    """The regions a plan covers: one (``region``, or the database's only one when nothing is
    named), a list of codes (``regions``), or every region imported (``national``)."""
    if national and regions:
        raise InvalidInput("name a list of regions or the whole country, not both", field="regions")
    if (national or regions) and region is not None:
        raise InvalidInput(
            "name one region, a list of regions or the whole country, not several",
            field="region",
        )
    if national:
        every = list(session.scalars(select(Region).order_by(Region.code)))
        if not every:
            raise InvalidInput("no region is imported: import the regions first", field="region")
        return every
    if regions:
        codes = list(dict.fromkeys(c.strip() for c in regions if c.strip()))
        if not codes or len(codes) > MAX_REGIONS:
            raise InvalidInput(f"name 1 to {MAX_REGIONS} region codes", field="regions")
        found = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))}
        unknown = [c for c in codes if c not in found]
        if unknown:
            known = ", ".join(session.scalars(select(Region.code).order_by(Region.code)))
            raise InvalidInput(
                f"no region has code {', '.join(unknown)} (imported: {known or 'none'})",
                field="regions",
            )
        return [found[c] for c in sorted(codes)]
    return [resolve_region(session, region)]


def load_instance(
    session: Session,
    *,
    region: str | None = None,
    regions: Sequence[str] | None = None,
    national: bool = False,
    marketplace: str = "OZON",
    modernised_only: bool = False,
    cost_rub: dict[str, float] | None = None,
    roads: DistanceProvider | None = None,
) -> RegionInstance:
    """Read the localities and offices of one region (``region``: its code), of a list of
    regions (``regions``) or of every region imported (``national``) into a planning
    instance."""
    chosen = resolve_regions(session, region=region, regions=regions, national=national)
    market = session.scalars(select(Marketplace).where(Marketplace.code == marketplace)).first()
    if market is None:
        raise InvalidInput(f"unknown marketplace {marketplace!r}", field="marketplace")
    position = {r.id: n for n, r in enumerate(chosen)}
    # Nationally every district is in scope: no list of 89 ids in every query.
    in_region = (
        District.region_id.is_not(None) if national else District.region_id.in_(list(position))
    )
    label = (
        "Россия"
        if national
        else chosen[0].name
        if len(chosen) == 1
        else ", ".join(r.code for r in chosen)
    )
    places = session.execute(
        select(
            Settlement.id,
            Settlement.name,
            District.name.label("district"),
            District.region_id,
            Settlement.lat,
            Settlement.lon,
            Settlement.population,
            Settlement.population_is_estimate,
        )
        .join(District, Settlement.district_id == District.id)
        .where(
            in_region,
            Settlement.lat.is_not(None),
            Settlement.lon.is_not(None),
            Settlement.population > 0,
        )
        .order_by(Settlement.id)
    ).all()
    if not places:
        what = f"region {chosen[0].code}" if len(chosen) == 1 else "the regions named"
        raise InvalidInput(f"{what} has no localities with people and coordinates", field="region")
    connected = set(
        session.scalars(
            select(MarketplaceConnection.post_office_id)
            .join(PostOffice, MarketplaceConnection.post_office_id == PostOffice.id)
            .join(District, PostOffice.district_id == District.id)
            .where(
                in_region,
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
            District.region_id,
        )
        .join(District, PostOffice.district_id == District.id)
        .outerjoin(Settlement, PostOffice.settlement_id == Settlement.id)
        .where(in_region)
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
    unlocated = session.scalar(
        select(func.coalesce(func.sum(Settlement.population), 0))
        .join(District, Settlement.district_id == District.id)
        .where(in_region, Settlement.population > 0, Settlement.lat.is_(None))
    )
    one = chosen[0] if len(chosen) == 1 else None
    return RegionInstance(
        region_id=one.id if one is not None else None,
        region_code=one.code if one is not None else None,
        region_name=label,
        demand=demand,
        facilities=facilities,
        office_names={o.office_index: o.name for o in offices},
        place_names={p.id: p.name for p in places},
        place_districts={p.id: p.district for p in places},
        estimated_places=sum(1 for p in places if p.population_is_estimate),
        unlocated_population=int(unlocated or 0),
        roads=roads,
        region_codes=tuple(r.code for r in chosen),
        region_names=tuple(r.name for r in chosen),
        place_region=np.array([position[p.region_id] for p in places], dtype=np.int64),
        office_region=np.array([position[o.region_id] for o in offices], dtype=np.int64),
        national=national,
    )


def covering(instance: RegionInstance, radius_km: float) -> CoveringProblem:
    """The covering problem of the instance: who is within ``radius_km`` of which office."""
    radius_m = radius_km * 1000
    if instance.roads is None:
        return covering_problem(instance.demand, instance.facilities, radius_m=radius_m)
    coverage = coverage_within(instance.demand, instance.facilities, instance.roads, radius_m)
    return covering_problem(instance.demand, instance.facilities, coverage=coverage)


def median(instance: RegionInstance, nearest: int) -> MedianProblem:
    """The p-median problem of the instance, each place restricted to its nearest offices."""
    if instance.roads is None:
        return median_problem(instance.demand, instance.facilities, nearest=nearest)
    pairs = median_pairs(instance.demand, instance.facilities, instance.roads, nearest)
    return median_problem(instance.demand, instance.facilities, distances=pairs)


def uncovered_places(
    instance: RegionInstance, problem: CoveringProblem, chosen: list[str], *, limit: int
) -> list[UncoveredPlace]:
    """The ``limit`` most populous places no connected office (fixed or chosen) covers, with
    the road distance to the nearest of those offices."""
    if limit <= 0:
        return []
    facilities = instance.facilities
    positions = [facilities.index.index(c) for c in chosen]
    out = np.flatnonzero(~covered_places(problem, positions))
    if len(out) == 0:
        return []
    weight = instance.demand.weight[out]
    largest = out[np.lexsort((instance.demand.ids[out], -weight))[:limit]]
    is_open = facilities.fixed.copy()
    is_open[positions] = True
    picked = DemandPoints.build(
        ids=instance.demand.ids[largest],
        lat=instance.demand.lat[largest],
        lon=instance.demand.lon[largest],
        weight=instance.demand.weight[largest],
    )
    distance = nearest_open_m(picked, facilities, is_open, instance.roads)
    return [
        UncoveredPlace(
            name=instance.place_names[int(place_id)],
            district=instance.place_districts[int(place_id)],
            population=float(people),
            distance_km=round(float(metres) / 1000, 3) if np.isfinite(metres) else None,
            region=instance.region_codes[int(instance.place_region[row])]
            if instance.several
            else None,
        )
        for row, place_id, people, metres in zip(
            largest, picked.ids, picked.weight, distance, strict=True
        )
    ]


def region_figures(
    instance: RegionInstance, problem: CoveringProblem | None, chosen: list[str]
) -> list[RegionFigures]:
    """Each region's part of a plan over several: its localities and people, those within
    reach before and after (covering plans), and the offices the plan connects there."""
    if not instance.several:
        return []
    n = len(instance.region_codes)
    weight = instance.demand.weight
    people = np.bincount(instance.place_region, weights=weight, minlength=n)
    places = np.bincount(instance.place_region, minlength=n)
    position = {index: j for j, index in enumerate(instance.facilities.index)}
    added = np.bincount(
        instance.office_region[[position[c] for c in chosen]].astype(np.int64), minlength=n
    )
    before = after = None
    if problem is not None:
        covered_before = covered_places(problem, [])
        covered_after = covered_places(problem, [position[c] for c in chosen])
        before = np.bincount(instance.place_region, weights=weight * covered_before, minlength=n)
        after = np.bincount(instance.place_region, weights=weight * covered_after, minlength=n)
    return [
        RegionFigures(
            code=code,
            name=name,
            demand_localities=int(places[r]),
            total_population=float(people[r]),
            covered_before=None if before is None else float(before[r]),
            covered_after=None if after is None else float(after[r]),
            added=int(added[r]),
        )
        for r, (code, name) in enumerate(
            zip(instance.region_codes, instance.region_names, strict=True)
        )
    ]


def _scope(instance: RegionInstance) -> dict[str, Any]:
    """The scope fields of a result: the region (when one), every region, national or not."""
    return {
        "region": instance.region_code,
        "regions": list(instance.region_codes),
        "national": instance.national,
    }


def _share(part: float | None, total: float) -> float | None:
    return None if part is None or total <= 0 else part / total


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
    uncovered: int = UNCOVERED_LISTED,
) -> tuple[PlanResult, CoveringProblem]:
    """Maximal covering: add offices (or spend a budget) to bring the most people in reach.

    Reports the shares of the region's people within the radius before and after, and the
    ``uncovered`` most populous localities still out of reach.
    """
    if add is None and budget_rub is None:
        raise InvalidInput("give a number of offices to add or a budget", field="add")
    candidates = int(instance.facilities.candidate.sum())
    if add is not None and add > candidates:
        raise InvalidInput(f"only {candidates} offices can be added", field="add")
    started = time.perf_counter()
    problem = covering(instance, radius_km)
    # The budget is the whole answer's: finding who is within reach comes out of it.
    built = time.perf_counter() - started
    result = solve_max_covering(
        problem,
        k=None if budget_rub is not None else add,
        budget=budget_rub,
        method=_method(solver),
        time_limit_s=max(0.1 * time_limit_s, time_limit_s - built),
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
    indexes = [c.index for c in chosen]
    return (
        PlanResult(
            **_scope(instance),
            by_region=region_figures(instance, problem, indexes),
            demand_localities=len(instance.demand),
            kind="connect" if budget_rub is None else "modernise",
            status=result.status,
            method=result.method,
            objective=result.objective,
            bound=result.bound,
            gap=result.gap,
            covered_before=result.covered_before,
            covered_after=result.covered_after,
            total_population=result.total_weight,
            share_before=_share(result.covered_before, result.total_weight),
            share_after=_share(result.covered_after, result.total_weight),
            uncovered=uncovered_places(instance, problem, indexes, limit=uncovered),
            chosen=chosen,
            seconds=built + result.seconds,
            parameters={
                **_scope(instance),
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
    roads = instance.roads
    problem = (
        median_problem(instance.demand, rest)
        if roads is None
        else median_problem(
            instance.demand, rest, distances=median_pairs(instance.demand, rest, roads, 10)
        )
    )
    result = solve_p_median(problem, k=count, method="auto", seed=seed)
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
    problem = median(instance, nearest)
    result = solve_p_median(
        problem, k=add, method=_method(solver), time_limit_s=time_limit_s, seed=seed
    )
    chosen = _chosen(result, instance.office_names)
    return PlanResult(
        **_scope(instance),
        by_region=region_figures(instance, None, [c.index for c in chosen]),
        demand_localities=len(instance.demand),
        kind="median",
        status=result.status,
        method=result.method,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        covered_before=None,
        covered_after=None,
        total_population=result.total_weight,
        chosen=chosen,
        seconds=result.seconds,
        parameters={
            **_scope(instance),
            "add": add,
            "solver": solver,
            "nearest": nearest,
            "seed": seed,
        },
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
    problem = covering(instance, radius_km)
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
    """Run a scenario on the live network of a region, a list of regions or the country, and
    store it."""
    covered = resolve_regions(
        session, region=plan_in.region, regions=plan_in.regions, national=plan_in.national
    )
    instance = load_instance(
        session,
        region=covered[0].code if not (plan_in.regions or plan_in.national) else None,
        regions=plan_in.regions,
        national=plan_in.national,
        marketplace=plan_in.marketplace,
        modernised_only=plan_in.modernised_only,
    )
    if not (plan_in.regions or plan_in.national):
        plan_in = plan_in.model_copy(update={"region": covered[0].code})
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
    """Keep a solved scenario (what was asked and the answer) in the ``plan`` table, with a
    ``plan_region`` row for every region it covers."""
    code = result.region or plan_in.region
    several = len(result.regions) > 1
    region = resolve_region(session, code) if code is not None and not several else None
    covered = (
        resolve_regions(session, regions=result.regions)
        if result.regions
        else [region]
        if region is not None
        else []
    )
    plan = Plan(
        name=plan_in.name,
        region_id=region.id if region is not None else None,
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
    session.add_all(PlanRegion(plan_id=plan.id, region_id=r.id) for r in covered)
    session.flush()
    return _read(session, plan)


def _read(session: Session, plan: Plan) -> PlanRead:
    stored = PlanResult.model_validate(plan.result)
    if stored.region is None and plan.region_id is not None:
        # A plan solved before results named their region: the migration gave it its region.
        region = session.get(Region, plan.region_id)
        stored.region = region.code if region is not None else None
    if not stored.regions and stored.region is not None:
        stored.regions = [stored.region]
    return PlanRead(**stored.model_dump(), id=plan.id, name=plan.name, created_at=plan.created_at)


def list_plans(session: Session, *, region: str | None = None) -> list[PlanRead]:
    """Every stored scenario (those covering one region, given its code: the region's own
    plans and those over several regions or the country), newest first."""
    query = select(Plan).order_by(Plan.id.desc())
    if region is not None:
        covering = select(PlanRegion.plan_id).where(
            PlanRegion.region_id == resolve_region(session, region).id
        )
        query = query.where(Plan.id.in_(covering))
    return [_read(session, p) for p in session.scalars(query)]


def get_plan(session: Session, plan_id: int) -> PlanRead:
    """One stored scenario."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(f"no plan has id {plan_id}", field="plan_id")
    return _read(session, plan)
