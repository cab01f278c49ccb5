"""``selpo clerk …`` as an operator runs it, on a database of its own."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from selpo.db import create_db_engine, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.network.importer import import_region
from selpo.office import auth
from selpo.office.cli import clerk_app
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.world import cheap_password_hashing

runner = CliRunner()
cli = typer.Typer()
cli.add_typer(clerk_app, name="clerk")  # as the lead wires it into selpo.cli


@pytest.fixture
def database(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    with session_scope(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
    engine.dispose()
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    return scratch_url


def test_clerks_are_added_listed_and_unlocked(database: str) -> None:
    added = runner.invoke(cli, ["clerk", "add", "155650", "Pestyaki1", "--name", "Мария"])
    assert added.exit_code == 0, added.output
    password = added.stdout.strip().splitlines()[-1]
    assert len(password) == 12  # generated, printed once, alone on the last line

    given = runner.invoke(cli, ["clerk", "add", "155654", "alekhino1", "--password", "long enough"])
    assert given.exit_code == 0, given.output
    assert "long enough" not in given.output

    boss = runner.invoke(cli, ["clerk", "add-supervisor", "Пестяковский район", "district1"])
    assert boss.exit_code == 0, boss.output

    taken = runner.invoke(cli, ["clerk", "add", "155650", "pestyaki1"])
    assert taken.exit_code == 2
    assert "уже занят" in taken.output
    nowhere = runner.invoke(cli, ["clerk", "add", "999999", "someone"])
    assert nowhere.exit_code == 2
    assert "999999" in nowhere.output

    listed = runner.invoke(cli, ["clerk", "list"])
    assert listed.exit_code == 0, listed.output
    assert "pestyaki1" in listed.output
    assert "155650 Пестяки" in listed.output
    assert "Пестяковский район" in listed.output

    engine = create_db_engine(database)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with cheap_password_hashing(), session_scope(factory) as session:
        ok = auth.sign_in(session, login="pestyaki1", password=password, now=TEST_NOW)
        assert ok.token is not None
        for _ in range(5):
            auth.sign_in(session, login="pestyaki1", password="x", now=TEST_NOW)
    unlocked = runner.invoke(cli, ["clerk", "unlock", "pestyaki1"])
    assert unlocked.exit_code == 0, unlocked.output
    with session_scope(factory) as session:
        again = auth.sign_in(session, login="pestyaki1", password=password, now=TEST_NOW)
        assert again.token is not None
    changed = runner.invoke(cli, ["clerk", "password", "pestyaki1", "--password", "brand new one"])
    assert changed.exit_code == 0, changed.output
    engine.dispose()
