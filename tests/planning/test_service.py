"""Planning on the live network: the region's plan, its export, the CLI and the API.

The seeded database holds Ivanovo (region 37). Assertions are relations (what the region's
localities sum to, what its offices are), so they hold whether the region's settlements are
the localities with an office or every locality of the region.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from selpo.cli import app as cli_app
from selpo.db import create_db_engine, session_scope
from selpo.errors import InvalidInput
from selpo.logistics.distance import DEFAULT_CIRCUITY, GreatCircleDistance
from selpo.migrate import upgrade_to_head
from selpo.models import District, Marketplace, MarketplaceConnection, Plan, PostOffice, Region
from selpo.planning import service
from selpo.planning.geometry import road_distance_m
from selpo.planning.problem import covering_problem
from selpo.planning.roads import nearest_open_m
from selpo.planning.solver import covered_places
from tests.conftest import TEST_NOW
from tests.fixtures.builders import admin_headers
from tests.fixtures.regions import open_offices
from tests.planning.regions import add_region, region_people

REGION = "37"
REGION_CENSUS_2021 = 927_828


@pytest.fixture
def instance(session: Session) -> service.RegionInstance:
    return service.load_instance(session, region=REGION, marketplace="OZON")


def _ozon_offices(session: Session, code: str) -> int:
    query = (
        select(func.count(MarketplaceConnection.id))
        .join(Marketplace, MarketplaceConnection.marketplace_id == Marketplace.id)
        .join(PostOffice, MarketplaceConnection.post_office_id == PostOffice.id)
        .join(District, PostOffice.district_id == District.id)
        .join(Region, District.region_id == Region.id)
        .where(
            Region.code == code,
            Marketplace.code == "OZON",
            MarketplaceConnection.status == "active",
            PostOffice.status == "open",
        )
    )
    return int(session.scalar(query) or 0)


class TestLoadInstance:
    def test_connected_offices_are_fixed_and_the_rest_candidates(
        self, instance: service.RegionInstance, session: Session
    ) -> None:
        facilities = instance.facilities
        assert int(facilities.fixed.sum()) == _ozon_offices(session, REGION) > 0
        assert not (facilities.fixed & facilities.candidate).any()
        assert int(facilities.fixed.sum() + facilities.candidate.sum()) == open_offices(
            session, REGION
        )
        located = float(instance.demand.weight.sum())
        people = region_people(session, REGION)
        assert located + instance.unlocated_population == people == REGION_CENSUS_2021
        assert (instance.region_code, len(instance.demand)) == (REGION, len(instance.place_names))
        assert (instance.demand.weight > 0).all()

    def test_unknown_marketplace_is_refused(self, session: Session) -> None:
        with pytest.raises(InvalidInput):
            service.load_instance(session, region=REGION, marketplace="NOPE")

    def test_unknown_region_is_refused(self, session: Session) -> None:
        with pytest.raises(InvalidInput) as refused:
            service.load_instance(session, region="99")
        assert refused.value.field == "region"


class TestRegions:
    """A second region in the same database: none of its localities or offices counts."""

    def test_a_locality_of_another_region_never_counts(
        self, session: Session, instance: service.RegionInstance
    ) -> None:
        # On top of the seeded region's busiest office, a million people and a connected office.
        busiest = int(np.argmax(instance.demand.weight))
        at = (float(instance.demand.lat[busiest]), float(instance.demand.lon[busiest]))
        other = add_region(session, now=TEST_NOW, at=at)
        again = service.load_instance(session, region=REGION, marketplace="OZON")
        assert other.settlement.id not in set(again.demand.ids.tolist())
        assert other.office.index not in again.facilities.index
        assert float(again.demand.weight.sum()) == float(instance.demand.weight.sum())
        assert int(again.facilities.fixed.sum()) == int(instance.facilities.fixed.sum())
        before, _ = service.plan_connect(instance, add=3, radius_km=5.0)
        after, _ = service.plan_connect(again, add=3, radius_km=5.0)
        assert (after.covered_before, after.covered_after) == (
            before.covered_before,
            before.covered_after,
        )
        assert after.total_population == before.total_population

        theirs = service.load_instance(session, region="33", marketplace="OZON")
        assert theirs.demand.ids.tolist() == [other.settlement.id]
        assert theirs.facilities.index == (other.office.index,)
        assert theirs.facilities.fixed.tolist() == [True]

    def test_the_region_must_be_named_when_there_are_several(self, session: Session) -> None:
        assert service.resolve_region(session, None).code == REGION
        add_region(session, now=TEST_NOW, at=(56.0, 40.4))
        with pytest.raises(InvalidInput) as refused:
            service.resolve_region(session, None)
        assert refused.value.field == "region"
        assert "33" in refused.value.message
        assert REGION in refused.value.message
        assert service.resolve_region(session, "33").code == "33"


class TestPlanConnect:
    def test_the_region_plan_is_optimal_and_keeps_the_connected(
        self, instance: service.RegionInstance
    ) -> None:
        result, problem = service.plan_connect(instance, add=113, radius_km=10.0)
        assert result.status == "optimal"
        assert result.gap == 0.0
        assert len(result.chosen) == 113
        assert len({c.index for c in result.chosen}) == 113
        facilities = instance.facilities
        fixed = {i for i, f in zip(facilities.index, facilities.fixed, strict=True) if f}
        assert not fixed & {c.index for c in result.chosen}
        assert result.covered_after is not None
        assert result.covered_before is not None
        assert result.covered_after >= result.covered_before
        # The reported figure is what the chosen offices really cover.
        positions = [instance.facilities.index.index(c.index) for c in result.chosen]
        covered = instance.demand.weight[covered_places(problem, positions)].sum()
        assert covered == pytest.approx(result.covered_after)
        assert sum(c.newly_covered for c in result.chosen) == pytest.approx(
            result.covered_after - result.covered_before
        )

    def test_shares_are_of_the_region_people_and_grow(
        self, instance: service.RegionInstance, session: Session
    ) -> None:
        result, _ = service.plan_connect(instance, add=5, radius_km=3.0)
        assert result.region == REGION
        assert result.demand_localities == len(instance.demand)
        assert result.share_before is not None
        assert result.share_after is not None
        assert 0.0 <= result.share_before <= result.share_after <= 1.0
        assert result.covered_before is not None
        assert result.covered_after is not None
        assert result.share_before == pytest.approx(result.covered_before / result.total_population)
        assert result.share_after == pytest.approx(result.covered_after / result.total_population)
        assert result.total_population + instance.unlocated_population == region_people(
            session, REGION
        )

    def test_the_largest_uncovered_localities_are_out_of_reach(
        self, instance: service.RegionInstance
    ) -> None:
        radius_km = 3.0
        result, problem = service.plan_connect(instance, add=5, radius_km=radius_km, uncovered=8)
        listed = result.uncovered
        assert 0 < len(listed) <= 8
        people = [p.population for p in listed]
        assert people == sorted(people, reverse=True)
        # Nobody out of reach is larger than the smallest listed.
        positions = [instance.facilities.index.index(c.index) for c in result.chosen]
        covered = covered_places(problem, positions)
        assert instance.demand.weight[~covered].max() == people[0]
        # Each distance is the road estimate to the nearest connected office, beyond the radius.
        facilities = instance.facilities
        is_open = facilities.fixed.copy()
        is_open[positions] = True
        for place in listed:
            assert place.distance_km is not None
            assert place.distance_km > radius_km
            row = next(
                i
                for i, pid in enumerate(instance.demand.ids)
                if instance.place_names[int(pid)] == place.name
                and instance.place_districts[int(pid)] == place.district
                and instance.demand.weight[i] == place.population
            )
            nearest = road_distance_m(
                np.full(int(is_open.sum()), instance.demand.lat[row]),
                np.full(int(is_open.sum()), instance.demand.lon[row]),
                facilities.lat[is_open],
                facilities.lon[is_open],
                DEFAULT_CIRCUITY,
            ).min()
            assert place.distance_km == pytest.approx(nearest / 1000, abs=1e-3)

    def test_road_distances_from_a_provider_give_the_same_plan(
        self, instance: service.RegionInstance
    ) -> None:
        """The road seam: a DistanceProvider with the great-circle estimate plans as the
        built-in estimate does (an imported road matrix plugs in the same way)."""
        roads = service.RegionInstance(**{**instance.__dict__, "roads": GreatCircleDistance()})
        built_in, _ = service.plan_connect(instance, add=10, radius_km=5.0)
        provided, _ = service.plan_connect(roads, add=10, radius_km=5.0)
        assert provided.covered_before == pytest.approx(built_in.covered_before)
        assert provided.covered_after == pytest.approx(built_in.covered_after)
        assert provided.status == built_in.status == "optimal"
        assert [p.distance_km for p in provided.uncovered] == pytest.approx(
            [p.distance_km for p in built_in.uncovered]
        )
        median = service.plan_median(roads, add=5)
        assert len(median.chosen) == 5
        assert median.bound <= median.objective <= median.extra["objective_before"]
        # Restricted to each place's nearest offices, the objective never undercounts the road
        # metres to the truly nearest open office.
        is_open = instance.facilities.fixed.copy()
        is_open[[instance.facilities.index.index(c.index) for c in median.chosen]] = True
        nearest = nearest_open_m(instance.demand, instance.facilities, is_open)
        assert float(instance.demand.weight @ nearest) <= median.objective * (1 + 1e-9)

    def test_a_smaller_plan_is_never_better_than_a_larger(
        self, instance: service.RegionInstance
    ) -> None:
        small, _ = service.plan_connect(instance, add=3, radius_km=10.0)
        large, _ = service.plan_connect(instance, add=10, radius_km=10.0)
        assert small.covered_after is not None
        assert large.covered_after is not None
        assert small.covered_after <= large.covered_after
        assert small.status == large.status == "optimal"

    def test_exact_and_fast_agree_within_the_fast_gap(
        self, instance: service.RegionInstance
    ) -> None:
        exact, _ = service.plan_connect(instance, add=10, radius_km=5.0, solver="exact")
        fast, _ = service.plan_connect(instance, add=10, radius_km=5.0, solver="fast")
        assert fast.objective <= exact.objective + 1e-6
        assert exact.objective <= fast.bound + 1e-6

    def test_modernisation_respects_the_budget(self, instance: service.RegionInstance) -> None:
        result, _ = service.plan_connect(instance, add=None, budget_rub=5_000_000, radius_km=10.0)
        spent = sum(c.cost_rub or 0 for c in result.chosen)
        assert 0 < spent <= 5_000_000

    def test_export_writes_an_instance_another_tool_can_check(
        self, instance: service.RegionInstance, tmp_path: Path, session: Session
    ) -> None:
        _, problem = service.plan_connect(instance, add=5, radius_km=10.0)
        service.export_instance(instance, problem, tmp_path)
        with (tmp_path / "demand.csv").open(encoding="utf-8") as handle:
            demand = list(csv.DictReader(handle))
        with (tmp_path / "facilities.csv").open(encoding="utf-8") as handle:
            facilities = list(csv.DictReader(handle))
        with (tmp_path / "coverage.csv").open(encoding="utf-8") as handle:
            coverage = list(csv.DictReader(handle))
        assert len(demand) == len(instance.demand)
        assert len(facilities) == len(instance.facilities)
        assert sum(int(f["fixed"]) for f in facilities) == _ozon_offices(session, REGION)
        assert len(coverage) == problem.coverage.nnz
        rebuilt = covering_problem(instance.demand, instance.facilities, radius_m=10_000)
        assert rebuilt.coverage.nnz == len(coverage)


def test_p_median_shortens_the_mean_distance(instance: service.RegionInstance) -> None:
    result = service.plan_median(instance, add=10)
    assert result.objective <= result.extra["objective_before"]
    assert result.bound <= result.objective + 1e-6
    assert len(result.chosen) == 10


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_cli_prints_the_plan_as_json(
    seeded_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SELPO_DATABASE_URL", _url(seeded_engine))
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        [
            "plan",
            "connect",
            "--add",
            "113",
            "--radius-km",
            "10",
            "--json",
            "--csv",
            str(tmp_path / "plan.csv"),
            "--geojson",
            str(tmp_path / "plan.geojson"),
            "--export-instance",
            str(tmp_path / "instance"),
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    for field in (
        "status",
        "objective",
        "bound",
        "gap",
        "covered_before",
        "covered_after",
        "total_population",
        "chosen",
        "seconds",
    ):
        assert field in body
    assert body["status"] == "optimal"
    assert len(body["chosen"]) == 113
    assert set(body["chosen"][0]) >= {"index", "name", "newly_covered"}
    assert (tmp_path / "instance" / "coverage.csv").exists()
    layer = json.loads((tmp_path / "plan.geojson").read_text(encoding="utf-8"))
    with session_scope_on(seeded_engine) as session:
        connected = _ozon_offices(session, REGION)
    assert len(layer["features"]) == connected + 113
    curve = runner.invoke(cli_app, ["plan", "curve", "--k-max", "20", "--json"])
    curve_body = json.loads(curve.stdout)
    assert (curve_body["region"], curve_body["demand_localities"]) == (
        REGION,
        body["demand_localities"],
    )
    covered = [p["covered"] for p in curve_body["points"]]
    assert covered == sorted(covered)
    assert len(covered) == 21


def session_scope_on(engine: Engine) -> contextlib.AbstractContextManager[Session]:
    """A short transaction of its own on ``engine`` (outside the test's rolled-back one)."""
    return session_scope(sessionmaker(bind=engine, expire_on_commit=False))


def test_plan_connect_json_is_all_stdout_carries(seeded_engine: Engine) -> None:
    """The real command in its own process: stdout parses as JSON from its first byte (no
    solver banner before it), with the region's figures consistent with its localities."""
    radius_km = 10.0
    command = [
        str(Path(sys.executable).with_name("selpo")),
        "plan",
        "connect",
        "--add",
        "113",
        "--radius-km",
        f"{radius_km:g}",
        "--json",
    ]
    env = {**os.environ, "SELPO_DATABASE_URL": _url(seeded_engine), "NO_COLOR": "1"}
    done = subprocess.run(command, capture_output=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr.decode()
    body = json.loads(done.stdout.decode("utf-8"))
    assert {"region", "demand_localities", "total_population", "share_before", "share_after"} <= (
        set(body)
    )
    assert body["region"] == REGION
    assert 0.0 <= body["share_before"] <= body["share_after"] <= 1.0
    assert body["covered_after"] >= body["covered_before"]
    assert body["status"] == "optimal"
    assert body["gap"] == 0.0
    with session_scope_on(seeded_engine) as session:
        people = region_people(session, REGION)
        instance = service.load_instance(session, region=REGION)
    assert body["demand_localities"] == len(instance.demand)
    assert body["total_population"] + body["extra"]["population_without_location"] == people
    for place in body["uncovered"]:
        assert place["distance_km"] is None or place["distance_km"] > radius_km


def test_cli_needs_the_region_when_the_database_holds_several(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    with session_scope_on(engine) as session:
        for code in ("33", "54"):
            session.add(Region(code=code, name=f"Регион {code}", timezone="Europe/Moscow"))
    engine.dispose()
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    refused = CliRunner().invoke(cli_app, ["plan", "connect", "--json"])
    assert refused.exit_code == 2
    assert "--region" in refused.stderr
    assert refused.stdout == ""
    named = CliRunner().invoke(cli_app, ["plan", "connect", "--region", "54"])
    assert named.exit_code == 2  # the region is accepted; it has nothing to plan yet
    assert "--region" not in named.stderr


def test_scenarios_are_stored_and_listed_side_by_side(client: TestClient, session: Session) -> None:
    admin = admin_headers(session, now=TEST_NOW)
    first = client.post("/v1/plans", json={"name": "113 at 10 km"}, headers=admin)
    assert first.status_code == 201, first.text
    second = client.post(
        "/v1/plans", json={"name": "20 at 5 km", "add": 20, "radius_km": 5}, headers=admin
    )
    assert second.status_code == 201
    plans = client.get("/v1/plans", headers=admin).json()
    assert [p["name"] for p in plans] == ["20 at 5 km", "113 at 10 km"]
    assert all(p["status"] == "optimal" for p in plans)
    assert client.post("/v1/plans", json={"name": "x"}).status_code == 401
    bad = client.post("/v1/plans", json={"name": "x", "radius_km": -1}, headers=admin)
    assert bad.status_code == 422
    assert all(p["region"] == REGION for p in plans)


def test_a_plan_belongs_to_its_region(client: TestClient, session: Session) -> None:
    admin = admin_headers(session, now=TEST_NOW)
    add_region(session, now=TEST_NOW, at=(56.0, 40.4))
    unnamed = client.post("/v1/plans", json={"name": "which?", "add": 3}, headers=admin)
    assert unnamed.status_code == 422
    assert unnamed.json()["errors"][0]["field"] == "region"
    ours = client.post(
        "/v1/plans", json={"name": "ours", "add": 3, "region": REGION}, headers=admin
    )
    assert ours.status_code == 201, ours.text
    assert ours.json()["region"] == REGION
    theirs = client.post(
        "/v1/plans", json={"name": "theirs", "add": 0, "region": "33"}, headers=admin
    )
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["total_population"] == 1_000_000
    only = client.get("/v1/plans", params={"region": "33"}, headers=admin).json()
    assert [p["name"] for p in only] == ["theirs"]
    stored = session.scalars(select(Plan).where(Plan.name == "ours")).one()
    assert stored.region_id == service.resolve_region(session, REGION).id
