"""Marketplaces, their API keys and their offices."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.marketplace.errors import MarketplaceNotFound, MissingApiKey
from selpo.models import ApiKey, Marketplace, MarketplaceConnection, PostOffice
from selpo.network import repository as network_repository
from selpo.network.errors import PostOfficeNotFound

KEY_PREFIX = "selpo"
# Test keys: ``sk_test_<prefix>_<secret>``. What they make is sandbox data (``db.enter_sandbox``).
TEST_KEY_PREFIX = "sk_test"
KEY_USE_PRECISION = timedelta(minutes=1)  # last_used_at is written at most this often per key


@dataclass(frozen=True)
class Principal:
    """Who is calling: a marketplace (its id and code) or the operator (admin)."""

    role: str
    key_id: int
    marketplace_id: int | None
    marketplace_code: str | None
    last_used_at: datetime | None = None  # as stored when the request began
    sandbox: bool = False  # a test key: it sees and makes sandbox data only

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the secret is shown once and never stored."""

    id: int
    prefix: str
    secret: str
    sandbox: bool = False


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def get_by_code(session: Session, code: str) -> Marketplace:
    """The marketplace with this code."""
    marketplace = session.scalars(select(Marketplace).where(Marketplace.code == code)).first()
    if marketplace is None:
        raise MarketplaceNotFound(code)
    return marketplace


def add_marketplace(
    session: Session, *, code: str, name: str, storage_days: int = 7, extension_days: int = 7
) -> Marketplace:
    """Create a marketplace, or return the existing one with this code."""
    code = code.strip().upper()
    if not code or not code.replace("_", "").isalnum():
        raise InvalidInput("a marketplace code is letters, digits and _", field="code")
    existing = session.scalars(select(Marketplace).where(Marketplace.code == code)).first()
    if existing is not None:
        return existing
    marketplace = Marketplace(
        code=code, name=name, storage_days=storage_days, storage_extension_days=extension_days
    )
    session.add(marketplace)
    session.flush()
    return marketplace


def set_ready_on_first_place(session: Session, *, code: str, ready_on_first: bool) -> Marketplace:
    """Whether the marketplace's orders of several places are ready for pickup when their
    first place is at the office (``True``) or only once every place is (``False``)."""
    marketplace = get_by_code(session, code)
    marketplace.ready_on_first_place = ready_on_first
    session.flush()
    return marketplace


def issue_key(
    session: Session,
    *,
    now: datetime,
    marketplace: Marketplace | None,
    label: str | None = None,
    sandbox: bool = False,
) -> IssuedKey:
    """Make a new API key for a marketplace (or an admin key when ``marketplace`` is None);
    ``sandbox``: a test key (``sk_test_...``), whose shipments are the sandbox's."""
    if sandbox and marketplace is None:
        raise InvalidInput(
            "test keys are a marketplace's; the operator's key is live", field="sandbox"
        )
    prefix = secrets.token_hex(6)
    form = TEST_KEY_PREFIX if sandbox else KEY_PREFIX
    secret = f"{form}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        marketplace_id=marketplace.id if marketplace else None,
        role="marketplace" if marketplace else "admin",
        prefix=prefix,
        secret_sha256=_digest(secret),
        label=label,
        created_at=now,
        sandbox=sandbox,
    )
    session.add(key)
    session.flush()
    return IssuedKey(id=key.id, prefix=prefix, secret=secret, sandbox=sandbox)


def _key_prefix(secret: str) -> tuple[str, bool] | None:
    """The prefix of a well-formed secret and whether it is a test key (None: malformed)."""
    parts = secret.split("_")
    if len(parts) >= 4 and f"{parts[0]}_{parts[1]}" == TEST_KEY_PREFIX:
        return parts[2], True
    if len(parts) >= 3 and parts[0] == KEY_PREFIX:
        return parts[1], False
    return None


def authenticate(session: Session, *, secret: str | None, now: datetime) -> Principal:
    """Resolve a bearer secret to its principal; refuse unknown, malformed and revoked keys.

    Reads only: the use of the key is recorded apart (``KeyUsage``, ``record_key_use``), so
    no request writes the key's row inside its own transaction.
    """
    if not secret:
        raise MissingApiKey()
    form = _key_prefix(secret)
    if form is None:
        raise MissingApiKey("the API key is malformed")
    prefix, sandbox = form
    # One query for the key and its marketplace (which then sits in the session for the
    # endpoint: every API request pays this).
    row = session.execute(
        select(ApiKey, Marketplace)
        .outerjoin(Marketplace, ApiKey.marketplace_id == Marketplace.id)
        .where(ApiKey.prefix == prefix)
    ).first()
    if (
        row is None
        or not hmac.compare_digest(row[0].secret_sha256, _digest(secret))
        or row[0].sandbox != sandbox
    ):
        raise MissingApiKey("the API key is not valid")
    key, marketplace = row
    if key.revoked_at is not None:
        raise MissingApiKey("the API key was revoked")
    code = marketplace.code if marketplace is not None else None
    return Principal(key.role, key.id, key.marketplace_id, code, key.last_used_at, key.sandbox)


class KeyUsage:
    """When this process last recorded each key's use, so most requests record nothing.

    ``due`` answers True at most once per ``KEY_USE_PRECISION`` per key (and never while the
    stored time is that recent); the caller then records the use in a transaction of its own.
    Each process keeps its own memory, so N processes write a key's row at most N times a
    minute (and ``record_key_use`` skips the write when another process was just there).
    """

    def __init__(self, precision: timedelta = KEY_USE_PRECISION) -> None:
        self.precision = precision
        self._lock = threading.Lock()
        self._recorded: dict[int, datetime] = {}

    def due(self, principal: Principal, now: datetime) -> bool:
        """Whether this request should record the key's use (and claim it if so)."""
        with self._lock:
            last = self._recorded.get(principal.key_id)
            stored = principal.last_used_at
            if stored is not None and (last is None or stored > last):
                last = stored
            if last is not None and now - last < self.precision:
                return False
            self._recorded[principal.key_id] = now
            return True


def record_key_use(session: Session, *, key_id: int, now: datetime) -> bool:
    """Write ``last_used_at`` unless it is already within a minute of ``now``; return whether
    it was written. Run it in a short transaction of its own, never inside a request's."""
    statement = (
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - KEY_USE_PRECISION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return result.rowcount == 1


def list_keys(session: Session, *, marketplace: Marketplace) -> list[ApiKey]:
    """A marketplace's keys (never their secrets)."""
    query = select(ApiKey).where(ApiKey.marketplace_id == marketplace.id).order_by(ApiKey.id)
    return list(session.scalars(query))


def set_pickup_code_in_webhook(marketplace: Marketplace, *, enabled: bool) -> Marketplace:
    """Opt the marketplace in to (or out of) the pickup code and its QR payload in
    ``shipment.ready_for_pickup``, for its own app: sent over https only, wiped from the
    outbox once delivered."""
    marketplace.pickup_code_in_webhook = enabled
    return marketplace


MAX_RETURN_DAYS = 365


def set_returns(
    marketplace: Marketplace, *, return_days: int | None = None, refund_cash: bool | None = None
) -> Marketplace:
    """Set the marketplace's return period (1..365 days after the buyer received the order)
    and whether the counter refunds cash on delivery in cash (only the values given)."""
    if return_days is not None:
        if not 1 <= return_days <= MAX_RETURN_DAYS:
            raise InvalidInput(
                f"the return period is 1 to {MAX_RETURN_DAYS} days", field="return_days"
            )
        marketplace.return_days = return_days
    if refund_cash is not None:
        marketplace.refund_cash_at_counter = refund_cash
    return marketplace


def revoke_key(session: Session, *, prefix: str, now: datetime) -> ApiKey:
    """Revoke a key by its prefix; it stops working at once."""
    key = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if key is None:
        raise InvalidInput(f"no API key has prefix {prefix!r}", field="prefix")
    if key.revoked_at is None:
        key.revoked_at = now
    return key


def connect_offices(
    session: Session,
    *,
    marketplace: Marketplace,
    indexes: list[str] | None,
    today: date,
    now: datetime,
) -> int:
    """Connect offices (all open ones when ``indexes`` is None) to a marketplace; return how
    many connections were added or reactivated."""
    offices = network_repository.offices_by_index(session)
    if indexes is None:
        targets = [o for o in offices.values() if o.status == "open"]
    else:
        targets = []
        for index in indexes:
            office = offices.get(index)
            if office is None:
                raise PostOfficeNotFound(index)
            targets.append(office)
    existing = {
        c.post_office_id: c
        for c in session.scalars(
            select(MarketplaceConnection).where(
                MarketplaceConnection.marketplace_id == marketplace.id
            )
        )
    }
    changed = 0
    for office in targets:
        connection = existing.get(office.id)
        if connection is None:
            session.add(
                MarketplaceConnection(
                    post_office_id=office.id,
                    marketplace_id=marketplace.id,
                    status="active",
                    since_date=today,
                    basis="operator",
                )
            )
            changed += 1
        elif connection.status != "active":
            connection.status = "active"
            connection.since_date = today
            connection.basis = "operator"
            changed += 1
    if changed:
        network_repository.bump_network_version(session, now)
    session.flush()
    return changed


def serves(session: Session, *, office: PostOffice, marketplace_id: int) -> bool:
    """Whether the office actively serves this marketplace."""
    query = select(MarketplaceConnection.status).where(
        MarketplaceConnection.post_office_id == office.id,
        MarketplaceConnection.marketplace_id == marketplace_id,
    )
    return session.scalars(query).first() == "active"


def issue_first_keys(session: Session, *, now: datetime) -> dict[str, str]:
    """Give every marketplace without a key, and the operator if it has no admin key, a first
    key; return them by code ("ADMIN" for the operator). Nothing is issued twice."""
    issued: dict[str, str] = {}
    keyed = set(session.scalars(select(ApiKey.marketplace_id).where(ApiKey.revoked_at.is_(None))))
    for marketplace in session.scalars(select(Marketplace).order_by(Marketplace.code)):
        if marketplace.id not in keyed:
            issued[marketplace.code] = issue_key(
                session, now=now, marketplace=marketplace, label="first start"
            ).secret
    has_admin = session.scalars(
        select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
    ).first()
    if has_admin is None:
        issued["ADMIN"] = issue_key(session, now=now, marketplace=None, label="first start").secret
    return issued


def set_issue_by_document(marketplace: Marketplace, *, allowed: bool) -> Marketplace:
    """Allow (or forbid) the counter to hand this marketplace's parcels over on an identity
    document when the recipient has no pickup code (``selpo.office.service.verify_document``)."""
    marketplace.issue_by_document = allowed
    return marketplace
