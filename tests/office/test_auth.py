"""Clerk accounts, passwords, sessions and who may work where, on the real database."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Clerk, ClerkSignInGuard
from selpo.network.importer import import_region
from selpo.office import auth
from selpo.office.errors import (
    ClerkInvalid,
    CsrfRefused,
    LoginFailed,
    LoginLocked,
    OfficeForbidden,
    OfficeNotFound,
)
from selpo.office.rules import ACCOUNT_LOCKOUT, SIGN_IN_LOCKOUT
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.world import ALEKHINO, PASSWORD, PESTYAKI, OfficeWorld, sign_in


def _try(
    session: Session,
    clock: FrozenClock,
    password: str,
    login: str = "pestyaki1",
    address: str = "unknown",
) -> auth.SignIn:
    return auth.sign_in(
        session,
        login=login,
        password=password,
        now=clock.now(),
        address=address,
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
        assert "заблокирован на 15 мин." in locked.message  # how long: no zone to guess
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


COUNTER = "10.1.5.20"  # the clerk's own workstation
STRANGER = "203.0.113.7"


class TestLockOutByAddress:
    def test_a_stranger_locks_only_their_own_address(self, world: OfficeWorld) -> None:
        assert _try(world.session, world.clock, PASSWORD, address=COUNTER).token is not None
        answers = [_try(world.session, world.clock, "wrong", address=STRANGER) for _ in range(6)]
        assert [type(a.refusal) for a in answers] == [LoginFailed] * 4 + [LoginLocked] * 2
        refused = _try(world.session, world.clock, PASSWORD, address=STRANGER)
        assert isinstance(refused.refusal, LoginLocked)  # even the right one, from there
        assert _try(world.session, world.clock, PASSWORD, address=COUNTER).token is not None
        # a counter never signed in from is not locked by the stranger either
        assert _try(world.session, world.clock, PASSWORD, address="10.1.5.21").token is not None

    def test_a_locked_address_is_refused_without_counting(self, world: OfficeWorld) -> None:
        for _ in range(5):
            _try(world.session, world.clock, "wrong", address=STRANGER)
        clerk = world.session.scalars(select(Clerk).where(Clerk.login == "pestyaki1")).one()
        counted = clerk.failed_logins
        for _ in range(10):
            assert isinstance(
                _try(world.session, world.clock, "wrong", address=STRANGER).refusal, LoginLocked
            )
        world.session.refresh(clerk)
        assert clerk.failed_logins == counted == 5

    def test_many_addresses_lock_the_account_for_new_addresses_only(
        self, world: OfficeWorld
    ) -> None:
        assert _try(world.session, world.clock, PASSWORD, address=COUNTER).token is not None
        for n in range((ACCOUNT_LOCKOUT.max_failures + 3) // 4):
            for _ in range(4):  # below each address's own limit
                _try(world.session, world.clock, "wrong", address=f"198.51.100.{n}")
        fresh = _try(world.session, world.clock, PASSWORD, address="198.51.100.250")
        assert isinstance(fresh.refusal, LoginLocked)
        assert _try(world.session, world.clock, PASSWORD, address=COUNTER).token is not None
        world.clock.advance(ACCOUNT_LOCKOUT.period + timedelta(seconds=1))
        assert _try(world.session, world.clock, PASSWORD, address="198.51.100.250").token

    def test_unknown_logins_lock_alike_and_say_nothing_of_which_exist(
        self, world: OfficeWorld
    ) -> None:
        for login in ("pestyaki1", "nobody"):
            answers = [
                _try(world.session, world.clock, "wrong", login=login, address=STRANGER)
                for _ in range(5)
            ]
            assert [type(a.refusal) for a in answers] == [LoginFailed] * 4 + [LoginLocked]

    def test_unlock_lifts_every_address_lock(self, world: OfficeWorld) -> None:
        for _ in range(5):
            _try(world.session, world.clock, "wrong", address=STRANGER)
        auth.unlock(world.session, login="pestyaki1")
        assert _try(world.session, world.clock, PASSWORD, address=STRANGER).token is not None


class TestParallelWrongPasswords:
    def test_forty_at_once_from_one_address_count_exactly_five(self, scratch_url: str) -> None:
        engine = create_db_engine(scratch_url)
        upgrade_to_head(engine)
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
            auth.add_clerk(
                session, office_index=PESTYAKI, login="pestyaki1", password=PASSWORD, now=TEST_NOW
            )
        barrier = threading.Barrier(40)

        def attempt(_: int) -> str:
            barrier.wait()
            with session_scope(factory) as session:
                result = _try(session, FrozenClock(TEST_NOW), "wrong", address=STRANGER)
            return type(result.refusal).__name__

        with ThreadPoolExecutor(40) as pool:
            answers = Counter(pool.map(attempt, range(40)))
        assert answers == Counter({"LoginFailed": 4, "LoginLocked": 36})
        with session_scope(factory) as session:
            clerk = session.scalars(select(Clerk).where(Clerk.login == "pestyaki1")).one()
            guard = session.get(ClerkSignInGuard, ("pestyaki1", STRANGER))
            assert guard is not None
            assert (guard.failures, guard.locked_until) == (0, TEST_NOW + SIGN_IN_LOCKOUT.period)
            assert clerk.failed_logins == 5
            # the clerk's own counter is not locked
            assert _try(session, FrozenClock(TEST_NOW), PASSWORD, address=COUNTER).token
        engine.dispose()


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
