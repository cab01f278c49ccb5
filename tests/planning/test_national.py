"""Planning over several regions and over the country, on two real regions of the reference.

A database with Ivanovo (37) and Vladimir (33) imported from the bundled data: ``selpo plan
connect --regions 37,33`` plans both at once, and ``--national`` (every region imported) takes
the same path and, with these two imported, gives the same plan. Importing all 86 regions is a
benchmark's job (bench/planning.py), not a test's.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from selpo.cli import app as cli_app
from selpo.db import create_db_engine, session_scope
from selpo.errors import InvalidInput
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import District, Plan, PlanRegion, PostOffice, Region, Settlement
from selpo.network import regions
from selpo.planning import service
from selpo.planning.schemas import PlanCreate
from selpo.reporting import plans as reporting
from selpo.simulation import scenarios
from tests.conftest import TEST_NOW, create_scratch_database, drop_scratch_database
from tests.fixtures.regions import import_source

CODES = ("33", "37")


@pytest.fixture(scope="module")
def two_regions(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database at head with Ivanovo and Vladimir imported, shared by the module."""
    url = create_scratch_database(backend, tmp_path_factory.mktemp(f"two-{backend}"))
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    with session_scope(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        for code in CODES:
            import_source(session, regions.load_source(code), FrozenClock(TEST_NOW))
    yield engine
    engine.dispose()
    drop_scratch_database(url)


def _session(engine: Engine) -> contextlib.AbstractContextManager[Session]:
    return session_scope(sessionmaker(bind=engine, expire_on_commit=False))


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _connect(engine: Engine, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("SELPO_DATABASE_URL", _url(engine))
    done = CliRunner().invoke(
        cli_app, ["plan", "connect", "--add", "40", "--radius-km", "10", "--json", *args]
    )
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def _people(session: Session, code: str) -> float:
    query = (
        select(func.coalesce(func.sum(Settlement.population), 0))
        .join(District, Settlement.district_id == District.id)
        .join(Region, District.region_id == Region.id)
        .where(Region.code == code, Settlement.population > 0, Settlement.lat.is_not(None))
    )
    return float(session.scalar(query) or 0)


def _region_of_offices(session: Session, indexes: list[str]) -> dict[str, str]:
    rows = session.execute(
        select(PostOffice.index, Region.code)
        .join(District, PostOffice.district_id == District.id)
        .join(Region, District.region_id == Region.id)
        .where(PostOffice.index.in_(indexes))
    )
    return {str(row[0]): str(row[1]) for row in rows}


class TestSeveralRegions:
    def test_the_plan_covers_both_regions_and_tells_each_ones_part(
        self, two_regions: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        body = _connect(two_regions, monkeypatch, "--regions", "37,33")
        assert (body["region"], body["regions"], body["national"]) == (None, list(CODES), False)
        chosen = [c["index"] for c in body["chosen"]]
        assert len(chosen) == len(set(chosen)) == 40
        assert body["objective"] <= body["bound"]
        assert body["covered_before"] <= body["covered_after"] == body["objective"]
        parts = {p["code"]: p for p in body["by_region"]}
        assert list(parts) == list(CODES)
        with _session(two_regions) as session:
            where = _region_of_offices(session, chosen)
            for code in CODES:
                assert parts[code]["total_population"] == _people(session, code)
        # Only the two regions' offices, and each region's part adds up to the whole.
        assert set(where.values()) <= set(CODES)
        assert len(where) == 40
        for code in CODES:
            assert parts[code]["added"] == sum(1 for c in chosen if where[c] == code)
        for key in ("demand_localities", "total_population", "covered_before", "covered_after"):
            assert sum(p[key] for p in parts.values()) == pytest.approx(body[key])
        for part in parts.values():
            assert part["covered_before"] <= part["covered_after"] <= part["total_population"]
        assert all(u["region"] in CODES for u in body["uncovered"])

    def test_national_takes_every_region_imported_through_the_same_path(
        self, two_regions: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        listed = _connect(two_regions, monkeypatch, "--regions", "33,37")
        national = _connect(two_regions, monkeypatch, "--national")
        assert national["national"] is True
        assert national["regions"] == listed["regions"] == list(CODES)
        for key in ("objective", "covered_before", "covered_after", "total_population"):
            assert national[key] == pytest.approx(listed[key])
        assert national["by_region"] == listed["by_region"]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--regions", "37,99"], "99"),
            (["--regions", " , "], "--regions"),
            (["--national", "--regions", "37"], "not both"),
            (["--national", "--region", "37"], "not several"),
        ],
    )
    def test_a_bad_scope_is_refused_and_prints_no_plan(
        self, two_regions: Engine, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
    ) -> None:
        monkeypatch.setenv("SELPO_DATABASE_URL", _url(two_regions))
        refused = CliRunner().invoke(cli_app, ["plan", "connect", "--json", *args])
        assert refused.exit_code == 2
        assert message in refused.stderr
        assert refused.stdout == ""

    def test_a_national_plan_is_stored_listed_and_on_each_regions_dashboard(
        self, two_regions: Engine
    ) -> None:
        with _session(two_regions) as session:
            stored = service.run_scenario(
                session,
                plan_in=PlanCreate(name="вся страна +30", national=True, add=30),
                now=TEST_NOW,
            )
            own = service.run_scenario(
                session, plan_in=PlanCreate(name="Владимир +5", region="33", add=5), now=TEST_NOW
            )
        try:
            assert stored.national
            assert stored.regions == list(CODES)
            assert stored.region is None
            with _session(two_regions) as session:
                rows = session.scalars(
                    select(PlanRegion.region_id).where(PlanRegion.plan_id == stored.id)
                ).all()
                assert len(rows) == 2
                for code in CODES:
                    listed = [p.id for p in service.list_plans(session, region=code)]
                    assert stored.id in listed
                assert own.id in [p.id for p in service.list_plans(session, region="33")]
                assert own.id not in [p.id for p in service.list_plans(session, region="37")]
                assert service.get_plan(session, stored.id).by_region == stored.by_region

                vladimir = service.resolve_region(session, "33")
                lines = {
                    line.id: line for line in reporting.plan_lines(session, region_id=vladimir.id)
                }
                line = lines[stored.id]
                part = next(p for p in stored.by_region if p.code == "33")
                assert line.scope is not None
                assert "Россия" in line.scope
                assert (line.added, line.covered_before, line.covered_after) == (
                    part.added,
                    part.covered_before,
                    part.covered_after,
                )
                assert line.total_population == part.total_population
                assert lines[own.id].scope is None
                options = [o.id for o in reporting.plan_options(session, region_id=vladimir.id)]
                assert stored.id in options
                shown = reporting.plan_on_map(session, stored.id, region_id=vladimir.id)
                assert shown is not None
                assert len(shown.indexes) == 30
                # A simulation runs one region: a plan over several is refused, clearly.
                with pytest.raises(InvalidInput) as refused:
                    scenarios.plan_scenario(session, stored.id)
                assert refused.value.field == "plan"
                assert scenarios.plan_scenario(session, own.id).region == "33"
                # The latest connect plan covering Vladimir is its own; the national one before.
                latest = reporting.next_offices(session, region_id=vladimir.id)
                assert latest is not None
                assert latest.plan_id == own.id
        finally:
            with _session(two_regions) as session:
                for plan_id in (stored.id, own.id):
                    session.execute(delete(PlanRegion).where(PlanRegion.plan_id == plan_id))
                session.flush()

                for plan_id in (stored.id, own.id):
                    session.delete(session.get(Plan, plan_id))

    def test_the_next_offices_of_a_national_plan_are_the_regions_own(
        self, two_regions: Engine
    ) -> None:
        with _session(two_regions) as session:
            stored = service.run_scenario(
                session,
                plan_in=PlanCreate(name="вся страна +25", national=True, add=25),
                now=TEST_NOW,
            )
        try:
            with _session(two_regions) as session:
                for code in CODES:
                    region = service.resolve_region(session, code)
                    listed = reporting.next_offices(session, region_id=region.id)
                    assert listed is not None
                    assert listed.plan_id == stored.id
                    part = next(p for p in stored.by_region if p.code == code)
                    assert len(listed.offices) == part.added
                    where = _region_of_offices(session, [o.index for o in listed.offices])
                    assert set(where.values()) <= {code}
                    assert [o.rank for o in listed.offices] == list(
                        range(1, len(listed.offices) + 1)
                    )
        finally:
            with _session(two_regions) as session:
                session.execute(delete(PlanRegion).where(PlanRegion.plan_id == stored.id))

                session.delete(session.get(Plan, stored.id))


def test_scope_is_checked_before_anything_is_read(session: Session) -> None:
    with pytest.raises(InvalidInput) as both:
        service.resolve_regions(session, regions=["37"], national=True)
    assert both.value.field == "regions"
    with pytest.raises(InvalidInput) as unknown:
        service.resolve_regions(session, regions=["37", "98"])
    assert "98" in unknown.value.message
    assert [r.code for r in service.resolve_regions(session, regions=["37", "37"])] == ["37"]
    assert [r.code for r in service.resolve_regions(session, national=True)] == ["37"]


def test_the_text_output_tells_each_regions_part(
    two_regions: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELPO_DATABASE_URL", _url(two_regions))
    monkeypatch.setenv("COLUMNS", "200")
    done = CliRunner().invoke(
        cli_app, ["plan", "connect", "--regions", "33,37", "--add", "10", "--uncovered", "3"]
    )
    assert done.exit_code == 0, done.output
    assert "by region" in done.stdout
    assert "regions 33, 37:" in done.stdout
    with _session(two_regions) as session:
        for region in session.scalars(select(Region).where(Region.code.in_(CODES))):
            assert region.name in done.stdout
