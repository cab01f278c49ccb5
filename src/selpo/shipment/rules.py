"""Pure shipment rules: masking names, storage deadlines, pickup codes and their lockout, COD.

Phone numbers are parsed and masked by ``selpo.kit.phone``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from selpo.kit.lockout import Lockout
from selpo.kit.phone import REMOVED
from selpo.shipment.tracking import is_valid_tracking_number

# Wrong pickup codes: five in a row lock the code (or the office's search by code) for a
# quarter of an hour. The one statement of these figures: SELPO_PICKUP_CODE_MAX_FAILURES /
# _LOCK_MINUTES, when unset, mean these.
PICKUP_CODE_LOCKOUT = Lockout(max_failures=5, period=timedelta(minutes=15))


def mask_name(name: str | None) -> str:
    """``Смирнова Мария Петровна`` → ``С******* М. П.``: initials, the surname's length."""
    if not name:
        return REMOVED
    parts = name.split()
    if len(parts) == 1:
        return parts[0][0] + "."
    return " ".join([parts[0][0] + "*" * (len(parts[0]) - 1)] + [p[0] + "." for p in parts[1:]])


def storage_deadline(
    ready_at: datetime,
    days: int,
    timezone: str,
    opens: Callable[[date], date | None] | None = None,
) -> datetime:
    """The end of the office's local day ``days`` days after the parcel became ready, or of
    the next day it opens when that one is closed: ``opens(day)`` gives the first local day
    from ``day`` on that the office opens (``None``: it never does; the day stays)."""
    local = ready_at.astimezone(ZoneInfo(timezone))
    last_day: date = local.date() + timedelta(days=days)
    if opens is not None:
        last_day = opens(last_day) or last_day
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=ZoneInfo(timezone))


def new_pickup_code() -> str:
    """A fresh 6-digit pickup code."""
    return f"{secrets.randbelow(1_000_000):06d}"


def hash_pickup_code(code: str, *, tracking_number: str, pepper: str) -> str:
    """HMAC of the code keyed by the server's pepper and salted with the tracking number.

    Six digits are a million guesses: a plain hash would fall to an offline search, a keyed
    one needs the pepper, which is never in the database.
    """
    message = f"{tracking_number}:{code}".encode()
    return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()


def pickup_code_matches(code: str, stored: str, *, tracking_number: str, pepper: str) -> bool:
    """Constant-time check of a pickup code against its stored hash."""
    candidate = hash_pickup_code(code, tracking_number=tracking_number, pepper=pepper)
    return hmac.compare_digest(candidate, stored)


def cod_due(cod_kop: int, declared_value_kop: int, lines: Iterable[tuple[int, int, int]]) -> int:
    """Cash due for what is taken: ``lines`` are (price, quantity, refused quantity).

    In full when nothing is refused; otherwise in proportion to the value taken, never more
    than the agreed COD .
    """
    items = list(lines)
    refused = sum(r for _, _, r in items)
    if not refused or not declared_value_kop:
        return cod_kop
    taken = sum(price * (quantity - r) for price, quantity, r in items)
    return min(cod_kop, cod_kop * taken // declared_value_kop)


def pickup_qr(tracking_number: str, code: str) -> str:
    """The QR payload of a pickup code for the marketplace's app: the tracking number and the
    code, 20 digits. Digits only, so a scanner that types like a keyboard gives the same text
    whatever the layout, and it fits the counter's code field."""
    return f"{tracking_number}{code}"


def read_pickup_qr(text: str) -> tuple[str, str] | None:
    """(tracking number, code) of a scanned ``pickup_qr`` payload; None for anything else
    (a 6-digit code typed from the SMS, a tracking number, a wrong check digit)."""
    cleaned = text.strip().replace(" ", "").replace("-", "")
    if len(cleaned) != 20 or not (cleaned.isascii() and cleaned.isdigit()):
        return None
    if not is_valid_tracking_number(cleaned[:14]):
        return None
    return cleaned[:14], cleaned[14:]
