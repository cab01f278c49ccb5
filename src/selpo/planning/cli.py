"""`selpo plan …`: the planning commands, a thin shell over the planning service."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal, cast

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import DomainError, InvalidInput
from selpo.kit.clock import SystemClock
from selpo.planning import service
from selpo.planning.schemas import PlanCreate, PlanResult

plan_app = typer.Typer(help="Network planning: which offices to connect or modernise next.")
console = Console()
err_console = Console(stderr=True)

Radius = Annotated[float, typer.Option("--radius-km", help="Reach of an office by road, km")]
Solver = Annotated[str, typer.Option(help="exact | fast | auto")]
Market = Annotated[str, typer.Option(help="Marketplace whose active offices stay")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object")]
TimeLimit = Annotated[float, typer.Option("--time-limit", help="Seconds at most")]
RegionCode = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="The region's code, e.g. 37 (may be left out when the database holds one region)",
    ),
]
RegionCodes = Annotated[
    str | None,
    typer.Option(
        "--regions",
        help="Plan over several regions at once: their codes, comma-separated (37,33,76)",
    ),
]
National = Annotated[
    bool,
    typer.Option("--national", help="Plan over every region imported: every locality and office"),
]


def _codes(regions: str | None) -> list[str] | None:
    return [c.strip() for c in regions.split(",") if c.strip()] if regions else None


def _instance(
    region: str | None,
    marketplace: str,
    modernised_only: bool = False,
    *,
    regions: str | None = None,
    national: bool = False,
) -> service.RegionInstance:
    codes = _codes(regions)
    if regions is not None and not codes:
        raise InvalidInput("--regions takes region codes separated by commas", field="regions")
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            if codes is None and not national:
                region = service.resolve_region(session, region).code
            return service.load_instance(
                session,
                region=region,
                regions=codes,
                national=national,
                marketplace=marketplace,
                modernised_only=modernised_only,
            )
    finally:
        engine.dispose()


def _where(result: PlanResult) -> str:
    if result.national:
        return f"Russia ({len(result.regions)} regions)"
    if len(result.regions) > 1:
        return f"regions {', '.join(result.regions)}"
    return f"region {result.region}"


def _store(plan_in: PlanCreate, result: PlanResult) -> int:
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return service.store_plan(
                session, plan_in=plan_in, result=result, now=SystemClock().now()
            ).id
    finally:
        engine.dispose()


def _solving(message: str) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn(message),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


def _print(result: PlanResult, as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    table = Table(title=title)
    table.add_column("#", justify="right")
    table.add_column("index")
    table.add_column("office")
    table.add_column("people newly covered", justify="right")
    for n, office in enumerate(result.chosen, start=1):
        table.add_row(str(n), office.index, office.name, f"{office.newly_covered:,.0f}")
    console.print(table)
    total = result.total_population
    if result.by_region:
        _print_regions(result)
    if result.covered_before is not None and result.covered_after is not None:
        console.print(
            f"{_where(result)}: {result.demand_localities:,} localities, "
            f"{total:,.0f} people; within reach before: {result.covered_before:,.0f} "
            f"({result.share_before or 0:.1%}), after: {result.covered_after:,.0f} "
            f"({result.share_after or 0:.1%})"
        )
    if result.covered_after is not None and not result.uncovered:
        console.print("every locality with people and a coordinate is within reach after the plan")
    if result.uncovered:
        out = Table(title="largest localities still out of reach")
        for column in ("locality", "district", "people", "nearest connected, km"):
            out.add_column(
                column, justify="left" if column in {"locality", "district"} else "right"
            )
        for place in result.uncovered:
            distance = "—" if place.distance_km is None else f"{place.distance_km:,.1f}"
            district = (
                place.district if place.region is None else f"{place.district} ({place.region})"
            )
            out.add_row(place.name, district, f"{place.population:,.0f}", distance)
        console.print(out)
    console.print(
        f"{result.status}: objective {result.objective:,.0f}, bound {result.bound:,.0f}, "
        f"gap {result.gap:.3%}, {result.seconds:.2f} s ({result.method})"
    )


def _print_regions(result: PlanResult) -> None:
    table = Table(title="by region")
    for column in ("code", "region", "localities", "people", "offices added", "within reach"):
        table.add_column(column, justify="left" if column == "region" else "right")
    for part in result.by_region:
        reach = "—"
        if part.covered_before is not None and part.covered_after is not None:
            people = part.total_population or 1.0
            reach = f"{part.covered_before / people:.1%} → {part.covered_after / people:.1%}"
        table.add_row(
            part.code,
            part.name,
            f"{part.demand_localities:,}",
            f"{part.total_population:,.0f}",
            f"{part.added:,}",
            reach,
        )
    console.print(table)


def _fail(exc: DomainError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(2)


@plan_app.command("connect")
def connect(
    add: Annotated[int, typer.Option(help="How many offices to connect")] = 113,
    radius_km: Radius = 10.0,
    region: RegionCode = None,
    regions: RegionCodes = None,
    national: National = False,
    solver: Solver = "auto",
    marketplace: Market = "OZON",
    as_json: AsJson = False,
    uncovered: Annotated[
        int, typer.Option(min=0, help="How many of the largest uncovered localities to list")
    ] = service.UNCOVERED_LISTED,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the chosen offices")] = None,
    geojson: Annotated[Path | None, typer.Option("--geojson", help="Write a map layer")] = None,
    export_instance: Annotated[
        Path | None, typer.Option("--export-instance", help="Write the instance solved")
    ] = None,
    time_limit: TimeLimit = 30.0,
    modernised_only: Annotated[bool, typer.Option(help="Only modernised offices")] = False,
    save: Annotated[
        str | None,
        typer.Option(help="Keep the plan under this name (for the dashboard, `simulate --plan`)"),
    ] = None,
) -> None:
    """Which offices to connect next to bring a pickup point in reach of the most people.

    One region (``--region``), several at once (``--regions 37,33``) or the whole country
    (``--national``: every locality and office of every region imported).
    """
    try:
        instance = _instance(
            region, marketplace, modernised_only, regions=regions, national=national
        )
        with _solving("solving the maximal covering problem"):
            result, problem = service.plan_connect(
                instance,
                add=add,
                radius_km=radius_km,
                solver=solver,
                time_limit_s=time_limit,
                uncovered=uncovered,
            )
    except DomainError as exc:
        raise _fail(exc) from exc
    if csv_file:
        service.write_csv(result, csv_file)
    if geojson:
        service.write_geojson(result, instance, geojson)
    if export_instance:
        service.export_instance(instance, problem, export_instance)
    _print(result, as_json, f"{add} offices to connect within {radius_km:g} km")
    if save is not None:
        plan_in = PlanCreate(
            name=save,
            region=instance.region_code if not (regions or national) else None,
            regions=list(instance.region_codes) if regions else None,
            national=national,
            kind="connect",
            marketplace=marketplace,
            add=add,
            radius_km=radius_km,
            solver=cast(Literal["exact", "fast", "auto"], solver),
            modernised_only=modernised_only,
            time_limit_s=time_limit,
        )
        plan_id = _store(plan_in, result)
        err_console.print(f"kept as plan {plan_id}: `selpo simulate --plan {plan_id} --compare`")


@plan_app.command("modernise")
def modernise(
    budget: Annotated[float, typer.Option(help="Budget in roubles")],
    radius_km: Radius = 10.0,
    region: RegionCode = None,
    regions: RegionCodes = None,
    national: National = False,
    solver: Solver = "auto",
    marketplace: Market = "OZON",
    as_json: AsJson = False,
    time_limit: TimeLimit = 30.0,
) -> None:
    """Which offices to modernise within a budget to bring the most people in reach."""
    try:
        instance = _instance(region, marketplace, regions=regions, national=national)
        with _solving("solving the budgeted covering problem"):
            result, _ = service.plan_connect(
                instance,
                add=None,
                budget_rub=budget,
                radius_km=radius_km,
                solver=solver,
                time_limit_s=time_limit,
            )
    except DomainError as exc:
        raise _fail(exc) from exc
    _print(result, as_json, f"offices to modernise for {budget:,.0f} ₽")


@plan_app.command("median")
def median(
    add: Annotated[int, typer.Option(help="How many offices to connect")] = 113,
    region: RegionCode = None,
    regions: RegionCodes = None,
    national: National = False,
    solver: Solver = "auto",
    marketplace: Market = "OZON",
    as_json: AsJson = False,
    time_limit: TimeLimit = 30.0,
) -> None:
    """Which offices to connect to shorten the people-weighted distance to the nearest."""
    try:
        instance = _instance(region, marketplace, regions=regions, national=national)
        with _solving("solving the p-median problem"):
            result = service.plan_median(instance, add=add, solver=solver, time_limit_s=time_limit)
    except DomainError as exc:
        raise _fail(exc) from exc
    if as_json:
        _print(result, True, "")
        return
    _print(result, False, f"{add} offices by p-median")
    console.print(
        f"mean distance to the nearest office: {result.extra['mean_distance_m'] / 1000:.2f} km"
    )


@plan_app.command("curve")
def curve(
    k_max: Annotated[int, typer.Option("--k-max", help="Largest number of offices added")] = 113,
    radius_km: Radius = 10.0,
    region: RegionCode = None,
    regions: RegionCodes = None,
    national: National = False,
    marketplace: Market = "OZON",
    as_json: AsJson = False,
    time_limit: TimeLimit = 60.0,
) -> None:
    """People covered against offices connected, k = 0…K, each point with its bound."""
    try:
        instance = _instance(region, marketplace, regions=regions, national=national)
        with _solving(f"solving the coverage curve for k = 0…{k_max}"):
            result = service.plan_curve(
                instance, k_max=k_max, radius_km=radius_km, time_limit_s=time_limit
            )
    except DomainError as exc:
        raise _fail(exc) from exc
    if as_json:
        points = [
            {"k": p.k, "covered": p.covered, "bound": p.bound, "status": p.status}
            for p in result.points
        ]
        typer.echo(
            json.dumps(
                {
                    "region": instance.region_code,
                    "regions": list(instance.region_codes),
                    "national": instance.national,
                    "demand_localities": len(instance.demand),
                    "total_population": result.total_weight,
                    "covered_before": result.covered_before,
                    "points": points,
                    "seconds": result.seconds,
                },
                ensure_ascii=False,
            )
        )
        return
    table = Table(title=f"coverage curve within {radius_km:g} km")
    for column in ("k", "people covered", "share", "bound", "status"):
        table.add_column(column, justify="right")
    for p in result.points:
        table.add_row(
            str(p.k),
            f"{p.covered:,.0f}",
            f"{p.covered / result.total_weight:.1%}",
            f"{p.bound:,.0f}",
            p.status,
        )
    console.print(table)
