"""The collection's pure rules: bag codes, weights, materials, coupons, acts (no I/O).

**The bag code** (what the bag label's Code 128 barcode carries, and what the driver and the
hub scan): ``PB`` + the taking office's 6-digit index + 6 random digits + a check digit, 15
characters (``PB155650 482913 5``). The letters keep it apart from the 14-digit tracking
numbers at every scanner; the check digit is the tracking numbers' (the 12 digits weighted 3,
1, 3, 1 ... from the left; the digit makes the sum a multiple of 10), so one mistyped digit
or two swapped neighbours are refused. Random rather than counted: no counter row for every
bag; a clash (one in a million per office) is drawn again.

**The weight** is what the clerk reads off the scale, in whole grams, from ``MIN_BAG_G`` to
``MAX_BAG_G`` (a bag one resident carries to the counter).

**The bag's volume** on the way back is ``DEFAULT_BAG_LITRES``: the usual 60-litre sack the
offices hand out (the return leg's capacity counts litres).

**A coupon** (when the partner issues them, for a bag of at least its minimum weight): the
partner's prefix, a dash and 8 characters of an alphabet without look-alikes (no 0/O, 1/I/L).

**A collection act's number**: ``CA-<year>-<serial:06d>``, gap-free per partner and year.
"""

from __future__ import annotations

import re
import secrets
from datetime import date

BAG_PREFIX = "PB"
BAG_CODE_RE = re.compile(r"^PB\d{13}$")
MIN_BAG_G = 100
MAX_BAG_G = 30_000
DEFAULT_BAG_LITRES = 60.0
COUPON_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
COUPON_LENGTH = 8
MAX_RANGE_DAYS = 92
CODE_RE = re.compile(r"^[A-Z0-9_]{2,32}$")
MATERIAL_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
COUPON_PREFIX_RE = re.compile(r"^[A-Z0-9]{1,8}$")

# The names the counter and the receipt show; a partner may take a material not named here
# (its code is shown as it is).
MATERIALS_RU: dict[str, str] = {
    "textile": "текстиль",
    "knitwear": "трикотаж",
    "clothes": "одежда",
    "shoes": "обувь",
    "paper": "макулатура",
    "plastic": "пластик",
    "glass": "стекло",
    "metal": "металл",
    "batteries": "батарейки",
}

# The bag's status follows its row on the way back.
AT_OFFICE, LOADED, AT_HUB, DELIVERED = "at_office", "loaded", "at_hub", "delivered"
BAG_STATUSES: tuple[str, ...] = (AT_OFFICE, LOADED, AT_HUB, DELIVERED)
STATUS_RU = {
    AT_OFFICE: "в отделении",
    LOADED: "в пути на узел",
    AT_HUB: "на узле",
    DELIVERED: "передан партнёру",
}


def next_status(current: str, step: str) -> str:
    """A bag's status after a step on the way back: it only moves forward (a step it is
    already past, or an unknown one, leaves it as it is)."""
    if step not in BAG_STATUSES or current not in BAG_STATUSES:
        return current
    return step if BAG_STATUSES.index(step) > BAG_STATUSES.index(current) else current


def material_ru(code: str) -> str:
    """A material's Russian name (its code when it has none)."""
    return MATERIALS_RU.get(code, code)


def check_digit(body: str) -> int:
    """The check digit of the code's 12 digits (weights 3, 1, 3, 1 ... from the left)."""
    if len(body) != 12 or not body.isdigit():
        raise ValueError("a bag code's body is 12 digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10


def make_bag_code(office_index: str, serial: int) -> str:
    """``PB`` + index + 6 digits of ``serial`` + the check digit."""
    if len(office_index) != 6 or not office_index.isdigit():
        raise ValueError("an office index is 6 digits")
    if not 0 <= serial <= 999_999:
        raise ValueError("a bag serial is 0..999999")
    body = f"{office_index}{serial:06d}"
    return f"{BAG_PREFIX}{body}{check_digit(body)}"


def random_bag_code(office_index: str) -> str:
    """A new bag code of this office, its serial drawn at random."""
    return make_bag_code(office_index, secrets.randbelow(1_000_000))


def is_bag_code(value: str) -> bool:
    """Whether ``value`` is a well-formed bag code with a correct check digit."""
    return bool(BAG_CODE_RE.match(value)) and check_digit(value[2:14]) == int(value[14])


def spaced_bag_code(code: str) -> str:
    """How the code is printed under the barcode: ``PB155650 482913 5``."""
    return f"{code[:8]} {code[8:14]} {code[14:]}"


def parse_grams(raw: str) -> int | None:
    """The clerk's entry in grams (spaces allowed), or None if it is not a whole number."""
    text = raw.replace(" ", "").replace("\u00a0", "").strip()
    if not text.isdigit() or len(text) > 9:
        return None
    return int(text)


def weight_refusal(grams: int | None) -> str | None:
    """Why a bag's weight cannot be taken (None: it can)."""
    if grams is None:
        return "Вес — целое число граммов, как показывают весы."
    if grams < MIN_BAG_G:
        return f"Мешок легче {MIN_BAG_G} г не принимается: проверьте весы."
    if grams > MAX_BAG_G:
        return f"Мешок тяжелее {MAX_BAG_G // 1000} кг не принимается: разделите его."
    return None


def coupon_code(prefix: str) -> str:
    """A new coupon code: ``ECO-7K3M9Q2X``."""
    body = "".join(secrets.choice(COUPON_ALPHABET) for _ in range(COUPON_LENGTH))
    return f"{prefix}-{body}"


def earns_coupon(prefix: str | None, min_g: int, weight_g: int) -> bool:
    """Whether a bag of this weight earns the resident the partner's coupon."""
    return prefix is not None and weight_g >= min_g


def act_number(year: int, serial: int) -> str:
    """How a collection act's number reads: ``CA-2026-000042``."""
    return f"CA-{year}-{serial:06d}"


def range_refusal(first: date, last: date) -> str | None:
    """Why a report's range of days is refused (None: it is fine)."""
    if last < first:
        return "`to` is before `from`"
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        return f"a range is at most {MAX_RANGE_DAYS} days"
    return None


def kilograms(grams: int) -> float:
    """Grams as kilograms to the gram (``2500`` -> ``2.5``)."""
    return round(grams / 1000, 3)
