"""Pure rules of customer returns: the return code, the return period, the cash refund.

**The return code** is 10 digits the marketplace shows its buyer (as text or a barcode). It
is stored as an HMAC keyed by the server's pepper (never in the database), so the counter
finds the return by the hash alone and a copy of the database cannot be searched offline.
Wrong codes count against the office's search (``kit.lockout``).

**The refund** for a cash on delivery order is the share of what was collected that the
returned units stand for (by their price among the units taken), never more than what is
left of the collection after earlier refunds: money refunded never exceeds money collected.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CODE_DIGITS = 10

REGISTERED = "registered"
ACCEPTED = "accepted"
IN_TRANSIT = "in_transit"
DELIVERED = "delivered"
STATUSES: tuple[str, ...] = (REGISTERED, ACCEPTED, IN_TRANSIT, DELIVERED)
# A return moves only forward, one step at a time.
NEXT: dict[str, str] = {REGISTERED: ACCEPTED, ACCEPTED: IN_TRANSIT, IN_TRANSIT: DELIVERED}


def new_return_code() -> str:
    """A fresh 10-digit return code."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_return_code(code: str, *, pepper: str) -> str:
    """The code's HMAC keyed by the pepper (a purpose prefix keeps it apart from the
    pickup codes' hashes)."""
    return hmac.new(pepper.encode(), f"return:{code}".encode(), hashlib.sha256).hexdigest()


def clean_return_code(text: str) -> str | None:
    """The code typed or scanned (spaces and dashes dropped), or ``None`` if it is not one."""
    cleaned = text.strip().replace(" ", "").replace("-", "")
    if len(cleaned) != CODE_DIGITS or not (cleaned.isascii() and cleaned.isdigit()):
        return None
    return cleaned


def spaced_code(code: str) -> str:
    """``1234567890`` -> ``123 456 7890`` (as printed for the buyer)."""
    return f"{code[:3]} {code[3:6]} {code[6:]}"


def return_deadline(received_at: datetime, days: int, timezone: str) -> datetime:
    """The end of the local day ``days`` days after the buyer received the order."""
    local = received_at.astimezone(ZoneInfo(timezone))
    last: date = local.date() + timedelta(days=days)
    return datetime.combine(last, time(23, 59, 59), tzinfo=ZoneInfo(timezone))


def refund_due(
    collected_kop: int,
    taken: Iterable[tuple[int, int]],
    returned: Iterable[tuple[int, int]],
    refunded_before_kop: int,
) -> int:
    """The cash to pay back for ``returned`` units: ``taken`` and ``returned`` are (price,
    units). The returned units' share of the collection by value, capped by what is left of
    the collection after ``refunded_before_kop``; never negative."""
    taken_value = sum(price * units for price, units in taken)
    returned_value = sum(price * units for price, units in returned)
    left = max(0, collected_kop - refunded_before_kop)
    if taken_value <= 0 or returned_value <= 0 or left == 0:
        return 0
    share = collected_kop * min(returned_value, taken_value) // taken_value
    return min(share, left)
