"""Managers and dispatchers: accounts of regions (``staff_region``), no office, no counter work;
the migration that gave every existing manager every existing region."""

from __future__ import annotations

import pytest
import typer
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from selpo.db import create_db_engine, session_scope
from selpo.errors import Forbidden, NotFound
from selpo.kit.clock import FrozenClock
from selpo.migrate import alembic_config, upgrade_to_head
from selpo.models import Clerk, Region, StaffRegion
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
    # Without a list of regions (the first start's manager): every region there is.
    assert [r.code for r in auth.regions_of(session, manager)] == ["37"]
    assert ("boss", "regions 37") in [(c.login, where) for c, where in auth.list_clerks(session)]


def test_a_dispatcher_has_the_regions_given_and_an_unknown_code_is_refused(
    session: Session, clock: FrozenClock
) -> None:
    dispatcher = auth.add_dispatcher(
        session, login="disp", password=PASSWORD, now=TEST_NOW, region_codes=["37", "37"]
    )
    assert dispatcher.role == "dispatcher"
    assert [r.code for r in auth.regions_of(session, dispatcher)] == ["37"]
    with pytest.raises(ClerkInvalid, match="Региона с кодом 99 нет"):
        auth.add_dispatcher(
            session, login="disp2", password=PASSWORD, now=TEST_NOW, region_codes=["99"]
        )
    with pytest.raises(ClerkInvalid, match="хотя бы один регион"):
        auth.add_manager(session, login="boss", password=PASSWORD, now=TEST_NOW, region_codes=[])


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
    scope = auth.dashboard_scope(session, boss)
    assert (scope.region.code, scope.district_id) == ("37", None)
    with pytest.raises(NotFound):
        auth.dashboard_scope(session, boss, region_code="54")  # no such region here
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
    scope = auth.dashboard_scope(session, supervisor)
    assert (scope.region.code, scope.district_id) == ("37", world.pestyaki.district_id)
    with pytest.raises(Forbidden):
        auth.dashboard_scope(session, world.clerk)
    with pytest.raises(OfficeForbidden):
        auth.office_for(session, world.clerk, "155654")


def test_selpo_clerk_add_manager_and_dispatcher(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with session_scope(factory) as session:
        session.add_all(
            [
                Region(code="37", name="Ивановская область", timezone="Europe/Moscow"),
                Region(code="33", name="Владимирская область", timezone="Europe/Moscow"),
            ]
        )
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    added = runner.invoke(
        cli, ["clerk", "add-manager", "Boss", "--region", "37", "--name", "Смирнова Е. А."]
    )
    assert added.exit_code == 0, added.output
    password = added.stdout.strip().splitlines()[-1]
    assert len(password) == 12  # generated, printed once, alone on the last line
    given = runner.invoke(
        cli,
        ["clerk", "add-manager", "deputy", "--region", "37", "--region", "33"]
        + ["--password", "long enough"],
    )
    assert given.exit_code == 0, given.output
    assert "long enough" not in given.output
    assert "manager of region 37, 33" in given.output
    dispatcher = runner.invoke(
        cli, ["clerk", "add-dispatcher", "disp", "--region", "33", "--password", "long enough"]
    )
    assert dispatcher.exit_code == 0, dispatcher.output
    unknown = runner.invoke(
        cli, ["clerk", "add-dispatcher", "disp2", "--region", "99", "--password", "long enough"]
    )
    assert unknown.exit_code == 2
    assert "Региона с кодом 99 нет" in unknown.output
    bare = runner.invoke(cli, ["clerk", "add-manager", "nobody", "--password", "long enough"])
    assert bare.exit_code == 2  # --region is required
    taken = runner.invoke(
        cli, ["clerk", "add-manager", "boss", "--region", "37", "--password", "long enough"]
    )
    assert taken.exit_code == 2
    assert "уже занят" in taken.output
    granted = runner.invoke(cli, ["clerk", "add-region", "boss", "--region", "33"])
    assert granted.exit_code == 0, granted.output
    again = runner.invoke(cli, ["clerk", "add-region", "boss", "--region", "33"])
    assert again.exit_code == 0, again.output  # held already: nothing changes
    unknown_login = runner.invoke(cli, ["clerk", "add-region", "nobody", "--region", "33"])
    assert unknown_login.exit_code == 2
    listed = runner.invoke(cli, ["clerk", "list"])
    assert listed.exit_code == 0, listed.output
    assert "dispatcher" in listed.output
    with session_scope(factory) as session:
        rows = session.execute(select(Clerk.login, Clerk.role, Clerk.full_name)).all()
        scopes = session.execute(
            select(Clerk.login, Region.code)
            .join(StaffRegion, StaffRegion.clerk_id == Clerk.id)
            .join(Region, StaffRegion.region_id == Region.id)
        ).all()
    engine.dispose()
    assert sorted(rows) == [
        ("boss", "manager", "Смирнова Е. А."),
        ("deputy", "manager", None),
        ("disp", "dispatcher", None),
    ]
    assert sorted(scopes) == [
        ("boss", "33"),
        ("boss", "37"),
        ("deputy", "33"),
        ("deputy", "37"),
        ("disp", "33"),
    ]


def test_the_migration_gives_every_existing_manager_every_existing_region(
    scratch_url: str,
) -> None:
    engine = create_db_engine(scratch_url)
    config = alembic_config(scratch_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "5c1e7a9d2b40")  # the head before staff regions
        connection.execute(
            text(
                "INSERT INTO region (code, name, timezone) VALUES"
                " ('37', 'Ивановская область', 'Europe/Moscow'),"
                " ('33', 'Владимирская область', 'Europe/Moscow')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO clerk (login, role, password_hash, active, failed_logins,"
                " created_at) VALUES ('boss', 'manager', 'x', :yes, 0, :now)"
            ),
            {"yes": True, "now": TEST_NOW},
        )
    upgrade_to_head(engine)
    with engine.connect() as connection:
        codes = connection.execute(
            text(
                "SELECT region.code FROM staff_region"
                " JOIN region ON region.id = staff_region.region_id ORDER BY region.code"
            )
        ).scalars()
        assert list(codes) == ["33", "37"]
    engine.dispose()
