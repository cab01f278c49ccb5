"""``selpo partner add`` and ``selpo partner key`` as the operator runs them, on a database of
their own with the bundled region; the key then opens the partner's API and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from selpo.app import create_app
from selpo.cli import app
from selpo.collection import service
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.logistics import way_back
from selpo.migrate import upgrade_to_head
from selpo.models import (
    Clerk,
    CollectionPartner,
    CollectionPartnerOffice,
    PostOffice,
    ReturnLegItem,
)
from selpo.office import auth
from tests.collection.conftest import DEPOT
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source, import_source
from tests.office.world import cheap_password_hashing

runner = CliRunner()


@pytest.fixture
def database(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    with session_scope(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        import_source(session, bundled_source(), FrozenClock(TEST_NOW))
    engine.dispose()
    return scratch_url


def test_a_partner_is_added_and_its_key_shown_once(database: str, tmp_path: Path) -> None:
    added = runner.invoke(
        app,
        [
            "partner", "add", "ecotex", "ЭкоТекс",
            "--takes", "textile,knitwear",
            "--offices", "155650,155654",
            "--depot", DEPOT,
            "--coupon-prefix", "eco",
            "--coupon-min-kg", "1.5",
            "--coupon-note", "Скидка 10 %",
        ],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "partner ECOTEX: takes текстиль, трикотаж; 2 offices; depot DH-155650" in added.output

    engine = create_db_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        partner = session.scalars(select(CollectionPartner)).one()
        assert (partner.code, partner.takes, partner.region_id) == (
            "ECOTEX",
            ["textile", "knitwear"],
            None,
        )
        assert (partner.coupon_prefix, partner.coupon_min_g) == ("ECO", 1500)
        assert len(session.scalars(select(CollectionPartnerOffice)).all()) == 2
        assert partner.key_sha256 is None

    keyed = runner.invoke(app, ["partner", "key", "ECOTEX"])
    assert keyed.exit_code == 0, keyed.output
    secret = keyed.stdout.strip().splitlines()[-1]
    assert secret.startswith("cp_")
    with session_scope(make_session_factory(engine)) as session:
        stored = session.scalars(select(CollectionPartner)).one()
        assert stored.key_sha256 is not None
        assert secret not in stored.key_sha256
        assert secret.split("_")[1] == stored.key_prefix

    # The region's every office, set anew: the key stays.
    region = runner.invoke(
        app,
        ["partner", "add", "ECOTEX", "ЭкоТекс", "--takes", "textile", "--offices", "region",
         "--depot", DEPOT],
    )  # fmt: skip
    assert region.exit_code == 0, region.output
    nothing = runner.invoke(app, ["partner", "collect", "ECOTEX"])
    assert nothing.exit_code == 2
    assert "no bag of ECOTEX waits at hub DH-155650" in nothing.output

    # A bag taken at Pestyaki, carried to the hub; the hub's operator records the pick-up.
    with session_scope(make_session_factory(engine)) as session, cheap_password_hashing():
        auth.add_clerk(
            session, office_index="155650", login="cli.clerk", password="x" * 12, now=TEST_NOW
        )
        clerk = session.scalars(select(Clerk).where(Clerk.login == "cli.clerk")).one()
        office = session.scalars(select(PostOffice).where(PostOffice.index == "155650")).one()
        code = service.take_bag(
            session,
            office=office,
            clerk=clerk,
            partner_code="ECOTEX",
            material="textile",
            weight="2450",
            now=TEST_NOW,
        ).code
        item = session.scalars(select(ReturnLegItem)).one()
        for step in ("loaded", "at_hub"):
            item.status, item.hub_code = step, DEPOT
            way_back.moved(session, item, "loaded" if step == "loaded" else "at_hub", TEST_NOW)
    act_pdf = tmp_path / "act.pdf"
    collected = runner.invoke(
        app, ["partner", "collect", "ECOTEX", "--bag", code, "--pdf", str(act_pdf)]
    )
    assert collected.exit_code == 0, collected.output
    assert re.search(r"act CA-\d{4}-000001 made: 1 bag, 2.45 kg at DH-155650", collected.output)
    assert act_pdf.read_bytes().startswith(b"%PDF")
    listed = runner.invoke(app, ["partner", "list"])
    assert listed.exit_code == 0
    assert "ECOTEX" in listed.output

    application = create_app(Settings(database_url=database, rate_limit_per_key=0))
    with TestClient(application) as client:
        bearer = {"Authorization": f"Bearer {secret}"}
        answer = client.get("/v1/collections?from=2026-11-25&to=2026-11-25", headers=bearer)
        assert answer.status_code == 200, answer.text
        assert answer.json()["partner"] == "ECOTEX"
        rows = answer.json()["rows"]
        assert [(r["office_index"], r["bags"], r["weight_g"]) for r in rows] == [
            ("155650", 1, 2450)
        ]
        assert client.get("/v1/shipments", headers=bearer).status_code == 401
    application.state.engine.dispose()
    engine.dispose()


def test_refusals_are_clear_and_change_nothing(database: str) -> None:
    for arguments, message in (
        (["--takes", "textile", "--offices", "155650", "--depot", "NOPE"], "no hub has code"),
        (["--takes", "textile", "--offices", "999999", "--depot", DEPOT], "no office has index"),
        (["--takes", "Текстиль", "--offices", "155650", "--depot", DEPOT], "a material is a code"),
        (["--takes", "textile", "--offices", "region:99", "--depot", DEPOT], "no region"),
    ):
        result = runner.invoke(app, ["partner", "add", "BAD", "Bad", *arguments])
        assert result.exit_code == 2, result.output
        assert message in result.output
    unknown = runner.invoke(app, ["partner", "key", "NOBODY"])
    assert unknown.exit_code == 2
    engine = create_db_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        assert session.scalars(select(CollectionPartner)).all() == []
    engine.dispose()
