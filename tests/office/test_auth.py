"""Clerk accounts, passwords, sessions and who may work where, on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.models import Clerk
from selpo.office import auth
from selpo.office.errors import (
    ClerkInvalid,
    CsrfRefused,
    LoginFailed,
    LoginLocked,
    OfficeForbidden,
    OfficeNotFound,
)
from tests.conftest import TEST_NOW
from tests.office.world import ALEKHINO, PASSWORD, PESTYAKI, OfficeWorld, sign_in


def _try(
    session: Session, clock: FrozenClock, password: str, login: str = "pestyaki1"
) -> auth.SignIn:
    return auth.sign_in(
        session, login=login, password=password, now=clock.now(), timezone="Europe/Moscow"
    )


class TestAccounts:
    def test_the_password_is_stored_as_an_argon2_hash(self, world: OfficeWorld) -> None:
        clerk = world.session.scalars(select(Clerk).where(Clerk.login == "pestyaki1")).one()
        assert clerk.password_hash.startswith("$argon2id$")
        assert PASSWORD not in clerk.password_hash
        assert clerk.role == "clerk"
        assert clerk.post_office_id == world.pestyaki.id

    @pytest.mark.parametrize(
        ("login", "password", "field"),
        [
            ("ab", PASSWORD, "login"),
            ("Иван", PASSWORD, "login"),
            ("pestyaki1", PASSWORD, "login"),
            ("new.clerk", "short", "password"),
        ],
    )
    def test_bad_accounts_are_refused(
        self, world: OfficeWorld, login: str, password: str, field: str
    ) -> None:
        with pytest.raises(ClerkInvalid) as refused:
            auth.add_clerk(
                world.session, office_index=PESTYAKI, login=login, password=password, now=TEST_NOW
            )
        assert refused.value.field == field

    def test_an_unknown_office_is_refused(self, session: Session) -> None:
        with pytest.raises(OfficeNotFound):
            auth.add_clerk(
                session, office_index="999999", login="x-clerk", password=PASSWORD, now=TEST_NOW
            )

    def test_generated_passwords_are_long_and_unambiguous(self) -> None:
        password = auth.generate_password()
        assert len(password) == 12
        assert not set(password) & set("0O1lI")


class TestSignIn:
    def test_a_right_password_opens_a_session_with_a_csrf_token(self, world: OfficeWorld) -> None:
        result = _try(world.session, world.clock, PASSWORD)
        assert result.token is not None
        workstation = auth.resolve(world.session, result.token, now=world.clock.now())
        assert workstation is not None
        assert workstation.clerk.login == "pestyaki1"
        assert workstation.session.token_sha256 == auth.digest(result.token)
        assert result.token not in workstation.session.token_sha256
        auth.check_csrf(workstation, workstation.csrf_token)
        with pytest.raises(CsrfRefused):
            auth.check_csrf(workstation, "forged")
        with pytest.raises(CsrfRefused):
            auth.check_csrf(workstation, None)

    def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(
        self, world: OfficeWorld
    ) -> None:
        for _ in range(4):
            assert isinstance(_try(world.session, world.clock, "wrong").refusal, LoginFailed)
        locked = _try(world.session, world.clock, "wrong").refusal
        assert isinstance(locked, LoginLocked)
        assert "заблокирован до 12:" in locked.message  # Moscow time, not UTC
        refused = _try(world.session, world.clock, PASSWORD)  # even the right one waits
        assert refused.token is None
        assert isinstance(refused.refusal, LoginLocked)
        world.clock.advance(timedelta(minutes=15, seconds=1))
        assert _try(world.session, world.clock, PASSWORD).token is not None

    def test_an_unknown_login_gets_the_same_answer_as_a_wrong_password(
        self, world: OfficeWorld
    ) -> None:
        unknown = _try(world.session, world.clock, PASSWORD, login="nobody")
        wrong = _try(world.session, world.clock, "wrong")
        assert unknown.refusal is not None
        assert wrong.refusal is not None
        assert unknown.refusal.message == wrong.refusal.message == "Неверный логин или пароль."

    def test_sessions_end_on_sign_out_and_after_a_working_day(self, world: OfficeWorld) -> None:
        result = _try(world.session, world.clock, PASSWORD)
        assert result.token is not None
        world.clock.advance(timedelta(hours=11))
        workstation = auth.resolve(world.session, result.token, now=world.clock.now())
        assert workstation is not None
        world.clock.advance(timedelta(hours=1))
        assert auth.resolve(world.session, result.token, now=world.clock.now()) is None
        other = sign_in(world.session, "pestyaki1", world.clock)
        auth.sign_out(other, now=world.clock.now())
        assert auth.resolve(world.session, "not-a-token", now=world.clock.now()) is None

    def test_a_new_password_ends_the_open_sessions(self, world: OfficeWorld) -> None:
        result = _try(world.session, world.clock, PASSWORD)
        assert result.token is not None
        auth.set_password(
            world.session, login="pestyaki1", password="another long one", now=world.clock.now()
        )
        assert auth.resolve(world.session, result.token, now=world.clock.now()) is None


class TestWhoWorksWhere:
    def test_a_clerk_works_in_their_own_office_only(self, world: OfficeWorld) -> None:
        assert auth.office_for(world.session, world.clerk, PESTYAKI).index == PESTYAKI
        with pytest.raises(OfficeForbidden) as refused:
            auth.office_for(world.session, world.clerk, ALEKHINO)
        assert refused.value.status_code == 403
        assert "не ваше" in refused.value.message
        with pytest.raises(OfficeNotFound):
            auth.office_for(world.session, world.clerk, "000000")

    def test_a_supervisor_works_in_the_offices_of_their_district(self, world: OfficeWorld) -> None:
        auth.add_supervisor(
            world.session,
            district_name="Пестяковский район",
            login="boss",
            password=PASSWORD,
            now=TEST_NOW,
        )
        boss = sign_in(world.session, "boss", world.clock)
        indexes = [o.index for o in auth.offices_of(world.session, boss)]
        assert PESTYAKI in indexes
        assert ALEKHINO in indexes
        assert auth.office_for(world.session, boss, ALEKHINO).index == ALEKHINO
        with pytest.raises(OfficeForbidden):
            auth.office_for(world.session, boss, "153000")  # Ivanovo: another district
