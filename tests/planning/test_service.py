"""Planning on the live network: the region's plan, its export, the CLI and the API."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from selpo.cli import app as cli_app
from selpo.errors import InvalidInput
from selpo.planning import service
from selpo.planning.problem import covering_problem
from selpo.planning.solver import covered_places
from tests.conftest import TEST_NOW
from tests.fixtures.builders import admin_headers


@pytest.fixture
def instance(session: Session) -> service.RegionInstance:
    return service.load_instance(session, marketplace="OZON")


class TestLoadInstance:
    def test_connected_offices_are_fixed_and_the_rest_candidates(
        self, instance: service.RegionInstance
    ) -> None:
        facilities = instance.facilities
        assert int(facilities.fixed.sum()) == 19
        assert not (facilities.fixed & facilities.candidate).any()
        assert int(facilities.candidate.sum()) == 301 - 19
        located = float(instance.demand.weight.sum())
        assert located + instance.unlocated_population == 927_828

    def test_unknown_marketplace_is_refused(self, session: Session) -> None:
        with pytest.raises(InvalidInput):
            service.load_instance(session, marketplace="NOPE")


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
        self, instance: service.RegionInstance, tmp_path: Path
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
        assert len(facilities) == 301
        assert sum(int(f["fixed"]) for f in facilities) == 19
        assert len(coverage) == problem.coverage.nnz
        rebuilt = covering_problem(instance.demand, instance.facilities, radius_m=10_000)
        assert rebuilt.coverage.nnz == len(coverage)


def test_p_median_shortens_the_mean_distance(instance: service.RegionInstance) -> None:
    result = service.plan_median(instance, add=10)
    assert result.objective <= result.extra["objective_before"]
    assert result.bound <= result.objective + 1e-6
    assert len(result.chosen) == 10


def test_cli_prints_the_plan_as_json(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(cli_app, ["import-region"]).exit_code == 0
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
    assert len(layer["features"]) == 19 + 113
    curve = runner.invoke(cli_app, ["plan", "curve", "--k-max", "20", "--json"])
    points = json.loads(curve.stdout)["points"]
    covered = [p["covered"] for p in points]
    assert covered == sorted(covered)
    assert len(points) == 21


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
