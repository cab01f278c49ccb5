"""Clerk accounts, passwords, server-side sessions and CSRF tokens of the office workstation.

* Passwords: argon2id (``argon2-cffi``), rehashed on login when the parameters change.
* Sessions: a 256-bit random token in an HttpOnly cookie; the table keeps its SHA-256 (a fast
  digest is as strong as a password hash for a random 256-bit secret), an absolute expiry of
  one working day, and the session's CSRF token.
* Lock-out by account and address (``office.rules.SIGN_IN_LOCKOUT``, ``ACCOUNT_LOCKOUT``):
  five wrong passwords in a row from one address lock that address out of the account for
  fifteen minutes; fifty in a row from anywhere lock it for every address the clerk never
  signed in from. Counts move atomically; they are returned, not raised, so the caller's
  transaction keeps them.
* Roles: a clerk works in one office, a supervisor in any office of a district and sees the
  regional dashboard for that district; a manager sees the dashboards of their regions and a
  dispatcher the district hubs of their regions (``staff_region``); neither does counter work.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from selpo.errors import DomainError, Forbidden, NotFound
from selpo.kit.lockout import Lockout
from selpo.models import Clerk, ClerkSession, District, Hub, PostOffice, Region, StaffRegion
from selpo.office import repository
from selpo.office.errors import (
    ClerkInvalid,
    CsrfRefused,
    LoginFailed,
    LoginLocked,
    OfficeForbidden,
    OfficeNotFound,
)
from selpo.office.rules import ACCOUNT_LOCKOUT, SIGN_IN_LOCKOUT

SESSION_LIFETIME = timedelta(hours=12)
KNOWN_ADDRESS_FOR = timedelta(days=90)  # how long a signed-in address stays the clerk's own
MIN_PASSWORD_LENGTH = 8
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

_hasher = PasswordHasher()
# Verified against when the login is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("selpo-no-such-clerk")


@dataclass(frozen=True)
class Workstation:
    """Who is signed in on this request: the clerk and their session row."""

    clerk: Clerk
    session: ClerkSession

    @property
    def actor(self) -> str:
        """How tracking events and cash records name this clerk."""
        return f"clerk:{self.clerk.login}"

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


@dataclass(frozen=True)
class SignIn:
    """The answer to a login: a new session token, or the refusal (the failure is recorded)."""

    token: str | None = None
    clerk: Clerk | None = None
    refusal: DomainError | None = None


def digest(token: str) -> str:
    """SHA-256 of a session token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def generate_password(length: int = 12) -> str:
    """A random password without look-alike characters (no 0/O, 1/l/I)."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def hash_password(password: str) -> str:
    """The argon2id hash of a password."""
    return _hasher.hash(password)


def _check_new_account(session: Session, login: str, password: str) -> str:
    login = login.strip().lower()
    if not LOGIN_RE.match(login):
        raise ClerkInvalid(
            "Логин — от 3 до 64 латинских строчных букв, цифр, точек, дефисов и подчёркиваний.",
            field="login",
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ClerkInvalid(
            f"Пароль должен быть не короче {MIN_PASSWORD_LENGTH} символов.", field="password"
        )
    if session.scalars(select(Clerk.id).where(Clerk.login == login)).first() is not None:
        raise ClerkInvalid(f"Логин {login} уже занят.", field="login")
    return login


def _new_account(
    session: Session,
    *,
    login: str,
    password: str,
    role: str,
    now: datetime,
    full_name: str | None,
    post_office_id: int | None = None,
    district_id: int | None = None,
) -> Clerk:
    """Check the login and password, then store the account with an argon2 hash."""
    clerk = Clerk(
        login=_check_new_account(session, login, password),
        full_name=full_name,
        role=role,
        post_office_id=post_office_id,
        district_id=district_id,
        password_hash=hash_password(password),
        active=True,
        failed_logins=0,
        created_at=now,
    )
    session.add(clerk)
    session.flush()
    return clerk


def add_clerk(
    session: Session,
    *,
    office_index: str,
    login: str,
    password: str,
    now: datetime,
    full_name: str | None = None,
) -> Clerk:
    """Create a clerk of one office."""
    office = session.scalars(select(PostOffice).where(PostOffice.index == office_index)).first()
    if office is None:
        raise OfficeNotFound(office_index)
    return _new_account(
        session,
        login=login,
        password=password,
        role="clerk",
        now=now,
        full_name=full_name,
        post_office_id=office.id,
    )


def add_supervisor(
    session: Session,
    *,
    district_name: str,
    login: str,
    password: str,
    now: datetime,
    full_name: str | None = None,
) -> Clerk:
    """Create a supervisor of a district (may act in any of its offices)."""
    district = session.scalars(select(District).where(District.name == district_name)).first()
    if district is None:
        raise ClerkInvalid(f"Района «{district_name}» нет.", field="district")
    return _new_account(
        session,
        login=login,
        password=password,
        role="supervisor",
        now=now,
        full_name=full_name,
        district_id=district.id,
    )


REGIONAL_ROLES = ("manager", "dispatcher")


def _regions_by_code(session: Session, codes: Sequence[str] | None) -> list[Region]:
    """The regions given by code (every region when ``None``); an unknown code is refused."""
    if codes is None:
        return list(session.scalars(select(Region).order_by(Region.code)))
    wanted = list(dict.fromkeys(code.strip() for code in codes))
    if not wanted:
        raise ClerkInvalid("Укажите хотя бы один регион (--region КОД).", field="region")
    found = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(wanted)))}
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise ClerkInvalid(
            f"Региона с кодом {', '.join(unknown)} нет (selpo region list).", field="region"
        )
    return [found[code] for code in wanted]


def _regional_account(
    session: Session,
    *,
    role: str,
    login: str,
    password: str,
    now: datetime,
    full_name: str | None,
    region_codes: Sequence[str] | None,
) -> Clerk:
    regions = _regions_by_code(session, region_codes)
    clerk = _new_account(
        session, login=login, password=password, role=role, now=now, full_name=full_name
    )
    session.add_all(StaffRegion(clerk_id=clerk.id, region_id=region.id) for region in regions)
    session.flush()
    return clerk


def add_manager(
    session: Session,
    *,
    login: str,
    password: str,
    now: datetime,
    full_name: str | None = None,
    region_codes: Sequence[str] | None = None,
) -> Clerk:
    """Create a manager of regions (by code; ``None``: every region there is): their
    dashboards, no office, no counter work."""
    return _regional_account(
        session,
        role="manager",
        login=login,
        password=password,
        now=now,
        full_name=full_name,
        region_codes=region_codes,
    )


def add_dispatcher(
    session: Session,
    *,
    login: str,
    password: str,
    now: datetime,
    region_codes: Sequence[str],
    full_name: str | None = None,
) -> Clerk:
    """Create a dispatcher of regions (by code): the route runs and manifests of their
    regions' district hubs."""
    return _regional_account(
        session,
        role="dispatcher",
        login=login,
        password=password,
        now=now,
        full_name=full_name,
        region_codes=region_codes,
    )


def grant_regions(session: Session, *, login: str, region_codes: Sequence[str]) -> Clerk:
    """Add regions (by code) to a manager or dispatcher (those held already stay)."""
    clerk = session.scalars(select(Clerk).where(Clerk.login == login.strip().lower())).first()
    if clerk is None:
        raise ClerkInvalid(f"Сотрудника с логином {login} нет.", field="login")
    if clerk.role not in REGIONAL_ROLES:
        raise ClerkInvalid(
            f"{clerk.login} — не руководитель и не диспетчер: регионы даются только им.",
            field="login",
        )
    held = set(
        session.scalars(select(StaffRegion.region_id).where(StaffRegion.clerk_id == clerk.id))
    )
    for region in _regions_by_code(session, region_codes):
        if region.id not in held:
            session.add(StaffRegion(clerk_id=clerk.id, region_id=region.id))
    session.flush()
    return clerk


def regions_of(session: Session, clerk: Clerk) -> list[Region]:
    """The regions an account works in, by code: a manager's or dispatcher's own list; a
    supervisor's district's region; a clerk's office's region."""
    if clerk.role in REGIONAL_ROLES:
        query = (
            select(Region)
            .join(StaffRegion, StaffRegion.region_id == Region.id)
            .where(StaffRegion.clerk_id == clerk.id)
        )
    elif clerk.role == "supervisor":
        query = (
            select(Region)
            .join(District, District.region_id == Region.id)
            .where(District.id == clerk.district_id)
        )
    else:
        query = (
            select(Region)
            .join(District, District.region_id == Region.id)
            .join(PostOffice, PostOffice.district_id == District.id)
            .where(PostOffice.id == clerk.post_office_id)
        )
    return list(session.scalars(query.order_by(Region.code)))


FIRST_MANAGER_LOGIN = "manager"


def first_manager(session: Session, *, now: datetime) -> tuple[str, str] | None:
    """On a first start (no manager yet): the first manager account, of every region imported
    so far, login and a generated password to print once; None when a manager exists."""
    if session.scalars(select(Clerk.id).where(Clerk.role == "manager")).first() is not None:
        return None
    password = generate_password()
    clerk = add_manager(
        session,
        login=FIRST_MANAGER_LOGIN,
        password=password,
        now=now,
        full_name="Руководитель региона",
    )
    return clerk.login, password


def _locked(until: datetime, now: datetime, lockout: Lockout) -> SignIn:
    return SignIn(refusal=LoginLocked(until - now, lockout.max_failures))


def _count_failure(
    session: Session,
    *,
    clerk: Clerk | None,
    login: str,
    address: str,
    known: bool,
    now: datetime,
) -> SignIn:
    """Count a wrong password against the (login, address) pair and the account."""
    counted = repository.count_sign_in_failure(
        session, login, address, now=now, lockout=SIGN_IN_LOCKOUT
    )
    if counted is None:  # a parallel attempt from this address locked it meanwhile
        guard = repository.sign_in_guard(session, login, address)
        locked = guard.locked_until if guard and guard.locked_until else now
        return _locked(locked, now, SIGN_IN_LOCKOUT)
    lock = SIGN_IN_LOCKOUT
    until = lock.in_force(counted[1], now)
    if clerk is not None:
        account = repository.count_account_failure(
            session, clerk.id, now=now, lockout=ACCOUNT_LOCKOUT
        )
        if account is not None:
            set_committed_value(clerk, "failed_logins", account[0])
            set_committed_value(clerk, "locked_until", account[1])
            if not known and until is None:
                lock, until = ACCOUNT_LOCKOUT, ACCOUNT_LOCKOUT.in_force(account[1], now)
    return _locked(until, now, lock) if until else SignIn(refusal=LoginFailed())


def sign_in(
    session: Session,
    *,
    login: str,
    password: str,
    now: datetime,
    address: str = "unknown",
) -> SignIn:
    """Check a login and password from a client address; open a session, or count the
    failure and say why not.

    Wrong passwords lock the (login, address) pair: ``SIGN_IN_LOCKOUT.max_failures`` in a
    row from one address close it for its period, so a stranger elsewhere cannot lock the
    clerk out at their own counter. ``ACCOUNT_LOCKOUT.max_failures`` in a row from anywhere
    lock the account for every address it never signed in from (within
    ``KNOWN_ADDRESS_FOR``), a ceiling on guessing from many addresses. A lock in force is
    refused before the password is checked and counts nothing; every count moves in one
    atomic statement.
    """
    name = login.strip().lower()[:64]
    address = address.strip()[:64] or "unknown"
    guard = repository.sign_in_guard(session, name, address)
    if guard is not None and (until := SIGN_IN_LOCKOUT.in_force(guard.locked_until, now)):
        return _locked(until, now, SIGN_IN_LOCKOUT)
    known = (
        guard is not None
        and guard.succeeded_at is not None
        and now - guard.succeeded_at <= KNOWN_ADDRESS_FOR
    )
    clerk = session.scalars(select(Clerk).where(Clerk.login == name)).first()
    if clerk is not None and not clerk.active:
        clerk = None
    if (
        clerk is not None
        and not known
        and (until := ACCOUNT_LOCKOUT.in_force(clerk.locked_until, now))
    ):
        return _locked(until, now, ACCOUNT_LOCKOUT)
    try:
        if clerk is None:
            _hasher.verify(_DUMMY_HASH, password)
            raise VerificationError("no such clerk")
        _hasher.verify(clerk.password_hash, password)
    except (VerificationError, InvalidHashError):
        return _count_failure(
            session,
            clerk=clerk,
            login=name,
            address=address,
            known=known,
            now=now,
        )
    # The right password still waits out a lock that a parallel attempt set meanwhile.
    if not repository.clear_sign_in_failures(session, name, address, now=now):
        guard = repository.sign_in_guard(session, name, address)
        locked = guard.locked_until if guard and guard.locked_until else now
        return _locked(locked, now, SIGN_IN_LOCKOUT)
    if repository.clear_account_failures(session, clerk.id, now=now):
        set_committed_value(clerk, "failed_logins", 0)
        set_committed_value(clerk, "locked_until", None)
    elif not known:
        session.refresh(clerk, ["locked_until"])
        return _locked(clerk.locked_until or now, now, ACCOUNT_LOCKOUT)
    if _hasher.check_needs_rehash(clerk.password_hash):
        clerk.password_hash = hash_password(password)
    clerk.last_login_at = now
    token = secrets.token_urlsafe(32)
    session.add(
        ClerkSession(
            token_sha256=digest(token),
            clerk_id=clerk.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    return SignIn(token=token, clerk=clerk)


def resolve(session: Session, token: str | None, *, now: datetime) -> Workstation | None:
    """The signed-in clerk of a session token; ``None`` if unknown, ended or expired."""
    if not token:
        return None
    row = session.execute(
        select(ClerkSession, Clerk)
        .join(Clerk, ClerkSession.clerk_id == Clerk.id)
        .where(ClerkSession.token_sha256 == digest(token))
    ).first()
    if row is None:
        return None
    clerk_session, clerk = row
    if clerk_session.revoked_at is not None or now >= clerk_session.expires_at:
        return None
    if not clerk.active:
        return None
    return Workstation(clerk=clerk, session=clerk_session)


def sign_out(workstation: Workstation, *, now: datetime) -> None:
    """End the session (the cookie stops working at once)."""
    workstation.session.revoked_at = now


def check_csrf(workstation: Workstation, token: str | None) -> None:
    """Refuse a form that does not carry this session's CSRF token."""
    if not token or not hmac.compare_digest(token, workstation.session.csrf_token):
        raise CsrfRefused()


def office_for(session: Session, workstation: Workstation, index: str) -> PostOffice:
    """The office at ``index`` if this clerk may work in it (their own; a supervisor's district)."""
    office = session.scalars(select(PostOffice).where(PostOffice.index == index)).first()
    if office is None:
        raise OfficeNotFound(index)
    clerk = workstation.clerk
    if clerk.role == "clerk" and clerk.post_office_id == office.id:
        return office
    if clerk.role == "supervisor" and clerk.district_id == office.district_id:
        return office
    if clerk.role == "manager":
        raise Forbidden(
            "Руководитель региона не работает за стойкой отделения: откройте панель региона "
            "(/region).",
            field="index",
        )
    if clerk.role == "dispatcher":
        raise Forbidden(
            "Диспетчер не работает за стойкой отделения: откройте рейсы узлов (/office/dispatch).",
            field="index",
        )
    raise OfficeForbidden(index)


def offices_of(session: Session, workstation: Workstation) -> list[PostOffice]:
    """The offices this clerk may work in, by index (none for a manager or dispatcher)."""
    clerk = workstation.clerk
    query = select(PostOffice).order_by(PostOffice.index)
    if clerk.role == "supervisor":
        query = query.where(PostOffice.district_id == clerk.district_id)
    elif clerk.role == "clerk":
        query = query.where(PostOffice.id == clerk.post_office_id)
    else:
        return []
    return list(session.scalars(query))


@dataclass(frozen=True)
class DashboardScope:
    """What of the regional dashboard an account sees: one region (of those it may choose
    from) and, for a supervisor, one district of it."""

    region: Region
    regions: list[Region]  # every region the account may choose (a manager's selector)
    district_id: int | None  # None: the whole region


def dashboard_scope(
    session: Session, workstation: Workstation, *, region_code: str | None = None
) -> DashboardScope:
    """The region (and district) of the dashboard this account sees: a manager the region
    asked for among theirs (by default the first by code), a supervisor their district's;
    another region is refused, a clerk or dispatcher sees none."""
    clerk = workstation.clerk
    if clerk.role not in ("manager", "supervisor") or (
        clerk.role == "supervisor" and clerk.district_id is None
    ):
        raise Forbidden(
            "Нет доступа: панель региона — для руководителя и начальников районов. "
            "Оператор работает на странице своего отделения, диспетчер — на странице рейсов.",
        )
    regions = regions_of(session, clerk)
    if not regions:
        raise Forbidden("Нет доступа: вам не назначен ни один регион.", field="region")
    region = regions[0]
    if region_code:
        chosen = next((r for r in regions if r.code == region_code), None)
        if chosen is None:
            if session.scalars(select(Region.id).where(Region.code == region_code)).first():
                raise Forbidden("Нет доступа: этот регион вам не назначен.", field="region")
            raise NotFound(f"Региона с кодом {region_code} нет.", field="region")
        region = chosen
    district_id = clerk.district_id if clerk.role == "supervisor" else None
    return DashboardScope(region=region, regions=regions, district_id=district_id)


def dispatch_hubs(session: Session, workstation: Workstation) -> list[Hub]:
    """The district hubs an account dispatches, by code: a dispatcher those of their regions,
    a supervisor their district's, a clerk the hub that is their office; a manager none."""
    clerk = workstation.clerk
    query = select(Hub).where(Hub.kind == "district_hub").order_by(Hub.code)
    if clerk.role == "dispatcher":
        mine = select(StaffRegion.region_id).where(StaffRegion.clerk_id == clerk.id)
        query = query.where(Hub.region_id.in_(mine))
    elif clerk.role == "supervisor":
        query = query.where(Hub.district_id == clerk.district_id)
    elif clerk.role == "clerk":
        query = query.where(Hub.post_office_id == clerk.post_office_id)
    else:
        return []
    return list(session.scalars(query))


def unlock(session: Session, *, login: str) -> Clerk:
    """Lift a login lock-out (the operator's command)."""
    clerk = session.scalars(select(Clerk).where(Clerk.login == login.strip().lower())).first()
    if clerk is None:
        raise ClerkInvalid(f"Сотрудника с логином {login} нет.", field="login")
    clerk.failed_logins = 0
    clerk.locked_until = None
    repository.forget_sign_in_failures(session, clerk.login)
    session.flush()
    return clerk


def set_password(session: Session, *, login: str, password: str, now: datetime) -> Clerk:
    """Give a clerk a new password and end their open sessions."""
    clerk = session.scalars(select(Clerk).where(Clerk.login == login.strip().lower())).first()
    if clerk is None:
        raise ClerkInvalid(f"Сотрудника с логином {login} нет.", field="login")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ClerkInvalid(
            f"Пароль должен быть не короче {MIN_PASSWORD_LENGTH} символов.", field="password"
        )
    clerk.password_hash = hash_password(password)
    clerk.failed_logins = 0
    clerk.locked_until = None
    repository.forget_sign_in_failures(session, clerk.login)
    for open_session in session.scalars(
        select(ClerkSession).where(
            ClerkSession.clerk_id == clerk.id, ClerkSession.revoked_at.is_(None)
        )
    ):
        open_session.revoked_at = now
    session.flush()
    return clerk


def list_clerks(session: Session) -> list[tuple[Clerk, str]]:
    """Every account with where it works (office index and name, district, or regions)."""
    rows: list[tuple[Clerk, str]] = []
    staff_regions: dict[int, list[str]] = {}
    for clerk_id, code in session.execute(
        select(StaffRegion.clerk_id, Region.code)
        .join(Region, StaffRegion.region_id == Region.id)
        .order_by(Region.code)
    ):
        staff_regions.setdefault(clerk_id, []).append(code)
    offices = {o.id: o for o in session.scalars(select(PostOffice))}
    districts = {d.id: d for d in session.scalars(select(District))}
    for clerk in session.scalars(select(Clerk).order_by(Clerk.login)):
        if clerk.post_office_id is not None and clerk.post_office_id in offices:
            office = offices[clerk.post_office_id]
            rows.append((clerk, f"{office.index} {office.name}"))
        elif clerk.district_id is not None and clerk.district_id in districts:
            rows.append((clerk, districts[clerk.district_id].name))
        elif clerk.role in REGIONAL_ROLES:
            codes = staff_regions.get(clerk.id, [])
            rows.append((clerk, "regions " + ", ".join(codes) if codes else "no region"))
        else:
            rows.append((clerk, ""))
    return rows
