"""The regional manager's account: the whole region's dashboard, no office, no counter work."""

from __future__ import annotations

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from selpo.db import create_db_engine, session_scope
from selpo.errors import Forbidden
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Clerk
from selpo.office import auth
from selpo.office.cli import clerk_app
from selpo.office.errors import ClerkInvalid, OfficeForbidden
from tests.conftest import TEST_NOW
from tests.office.world import PASSWORD, PESTYAKI, OfficeWorld, sign_in

runner = CliRunner()
cli = typer.Typer()
cli.add_typer(clerk_app, name="clerk")


def test_a_manager_belongs_to_no_office_and_no_district(
    session: Session, clock: FrozenClock
) -> None:
    manager = auth.add_manager(
        session, login="Boss", password=PASSWORD, now=TEST_NOW, full_name="Смирнова Е. А."
    )
    assert (manager.login, manager.role) == ("boss", "manager")
    assert manager.post_office_id is None
    assert manager.district_id is None
    assert manager.password_hash.startswith("$argon2id$")
    with pytest.raises(ClerkInvalid):
        auth.add_manager(session, login="boss", password=PASSWORD, now=TEST_NOW)
    with pytest.raises(ClerkInvalid):
        auth.add_manager(session, login="boss2", password="short", now=TEST_NOW)
    assert ("boss", "the whole region") in [
        (c.login, where) for c, where in auth.list_clerks(session)
    ]


def test_the_table_refuses_a_manager_tied_to_an_office(
    session: Session, world: OfficeWorld
) -> None:
    half = Clerk(
        login="halfboss",
        role="manager",
        post_office_id=world.pestyaki.id,
        password_hash="x",
        active=True,
        failed_logins=0,
        created_at=TEST_NOW,
    )
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(half)


def test_a_manager_sees_the_region_and_works_in_no_office(
    session: Session, world: OfficeWorld, clock: FrozenClock
) -> None:
    auth.add_manager(session, login="boss", password=PASSWORD, now=TEST_NOW)
    boss = sign_in(session, "boss", clock)
    assert auth.dashboard_district(boss) is None
    assert auth.offices_of(session, boss) == []
    with pytest.raises(Forbidden) as refused:
        auth.office_for(session, boss, PESTYAKI)
    assert "не работает за стойкой" in refused.value.message
    # A supervisor sees their district; a clerk nothing of the dashboard.
    auth.add_supervisor(
        session,
        district_name="Пестяковский район",
        login="district1",
        password=PASSWORD,
        now=TEST_NOW,
    )
    supervisor = sign_in(session, "district1", clock)
    assert auth.dashboard_district(supervisor) == world.pestyaki.district_id
    with pytest.raises(Forbidden):
        auth.dashboard_district(world.clerk)
    with pytest.raises(OfficeForbidden):
        auth.office_for(session, world.clerk, "155654")


def test_selpo_clerk_add_manager(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    added = runner.invoke(cli, ["clerk", "add-manager", "Boss", "--name", "Смирнова Е. А."])
    assert added.exit_code == 0, added.output
    password = added.stdout.strip().splitlines()[-1]
    assert len(password) == 12  # generated, printed once, alone on the last line
    given = runner.invoke(cli, ["clerk", "add-manager", "deputy", "--password", "long enough"])
    assert given.exit_code == 0, given.output
    assert "long enough" not in given.output
    assert "manager of the region" in given.output
    taken = runner.invoke(cli, ["clerk", "add-manager", "boss", "--password", "long enough"])
    assert taken.exit_code == 2
    assert "уже занят" in taken.output
    listed = runner.invoke(cli, ["clerk", "list"])
    assert listed.exit_code == 0, listed.output
    assert "manager" in listed.output
    with session_scope(sessionmaker(bind=engine, expire_on_commit=False)) as session:
        rows = session.execute(select(Clerk.login, Clerk.role, Clerk.full_name)).all()
    engine.dispose()
    assert sorted(rows) == [("boss", "manager", "Смирнова Е. А."), ("deputy", "manager", None)]
