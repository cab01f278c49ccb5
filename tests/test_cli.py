"""The command line, as an operator runs it, on a database of its own."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from selpo.cli import app
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import SystemClock
from selpo.office import auth as office_auth
from selpo.planning import service as planning_service

runner = CliRunner()


@pytest.fixture
def database(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    return scratch_url


def test_upgrade_import_and_list_offices(database: str) -> None:
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    imported = runner.invoke(app, ["import-region"])
    assert imported.exit_code == 0, imported.output
    assert "301 added" in imported.output
    assert "301 offices loaded" in imported.output

    listed = runner.invoke(app, ["offices", "--json"])
    assert listed.exit_code == 0, listed.output
    offices = json.loads(listed.stdout)
    assert len(offices) == 301
    pestyaki = next(o for o in offices if o["index"] == "155650")
    assert pestyaki["name"] == "Пестяки"
    assert pestyaki["rural"] is False

    rural = json.loads(runner.invoke(app, ["offices", "--json", "--rural"]).stdout)
    assert len(rural) == 189
    assert all(o["rural"] for o in rural)

    district = json.loads(
        runner.invoke(app, ["offices", "--json", "--district", "Пестяковский район"]).stdout
    )
    assert {o["district"] for o in district} == {"Пестяковский район"}
    assert len(district) == 5

    again = runner.invoke(app, ["import-region"])
    assert "0 added, 0 changed, 301 unchanged" in again.output


def test_an_unknown_default_region_fails_clearly(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner.invoke(app, ["db", "upgrade"])
    monkeypatch.setenv("SELPO_DEFAULT_REGION", "nowhere")
    result = runner.invoke(app, ["import-region"])
    assert result.exit_code == 2
    assert "unknown region 'nowhere'" in result.output


def test_first_start_prints_whole_keys_once(database: str) -> None:
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["import-region"])
    first = runner.invoke(app, ["first-start-keys"])
    assert first.exit_code == 0, first.output
    lines = [
        line.split() for line in first.stdout.splitlines() if line.startswith(("OZON", "ADMIN"))
    ]
    keys = {parts[0]: parts[1] for parts in lines}
    assert set(keys) == {"OZON", "ADMIN"}
    assert all(len(key) > 50 and "…" not in key for key in keys.values())
    account = dict(
        line.split() for line in first.stdout.splitlines() if line.startswith(("login", "pass"))
    )
    assert account["login"] == "manager"
    again = runner.invoke(app, ["first-start-keys"])
    assert "selpo_" not in again.stdout
    assert "password" not in again.stdout

    engine = create_db_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        signed = office_auth.sign_in(
            session,
            login="manager",
            password=account["password"],
            now=SystemClock().now(),
        )
        assert signed.refusal is None
        assert signed.clerk is not None
        assert signed.clerk.role == "manager"
    engine.dispose()


def test_a_plan_kept_from_the_command_line_is_what_the_api_lists(database: str) -> None:
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["import-region"])
    solved = runner.invoke(app, ["plan", "connect", "--add", "4", "--save", "четыре", "--json"])
    assert solved.exit_code == 0, solved.output
    answer = json.loads(solved.stdout)
    assert "kept as plan 1" in solved.stderr

    engine = create_db_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        (kept,) = planning_service.list_plans(session)
    engine.dispose()
    assert kept.name == "четыре"
    assert [c.index for c in kept.chosen] == [c["index"] for c in answer["chosen"]]
    assert kept.covered_after == answer["covered_after"]


def test_a_marketplace_may_have_orders_ready_on_their_first_place(database: str) -> None:
    from selpo.marketplace import service as marketplace_service

    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["import-region"])
    on = runner.invoke(app, ["marketplace", "places", "OZON", "--ready-on-first"])
    assert on.exit_code == 0, on.output
    assert "its first place" in on.stdout
    engine = create_db_engine(database)
    with session_scope(make_session_factory(engine)) as session:
        assert marketplace_service.get_by_code(session, "OZON").ready_on_first_place is True
    off = runner.invoke(app, ["marketplace", "places", "OZON", "--all-places"])
    assert off.exit_code == 0, off.output
    with session_scope(make_session_factory(engine)) as session:
        assert marketplace_service.get_by_code(session, "OZON").ready_on_first_place is False
    engine.dispose()
    unknown = runner.invoke(app, ["marketplace", "places", "NOPE", "--ready-on-first"])
    assert unknown.exit_code == 2
    assert "NOPE" in unknown.output
