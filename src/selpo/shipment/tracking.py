"""Tracking numbers in Russian Post's domestic 14-digit form (pure).

``IIIIII MM SSSSS C``: the 6-digit index of the accepting point, a 2-digit month code, a
5-digit serial within that month, and a check digit. Digits in odd places (1st, 3rd, …, 13th)
weigh 3, the others 1; the check digit makes the weighted sum a multiple of 10.

The month code counts months from January 2000 and cycles through 01..99, so a number is
unique for more than eight years per accepting point (100,000 serials a month).
"""

from __future__ import annotations

import re
from datetime import date

TRACKING_RE = re.compile(r"^\d{14}$")
MAX_SERIAL = 99_999


class InvalidTrackingNumber(ValueError):
    """Not a 14-digit number with a valid check digit."""


def check_digit(first13: str) -> int:
    """The check digit for the first 13 digits."""
    if len(first13) != 13 or not first13.isdigit():
        raise InvalidTrackingNumber("a tracking number's body is 13 digits")
    # Odd places (1st, 3rd, ...: indexes 0, 2, ...) weigh 3, the others 1.
    if first13.isascii():  # summed as bytes: each ASCII digit is its value plus ord("0")
        raw = first13.encode()
        total = 3 * (sum(raw[0::2]) - 7 * 48) + sum(raw[1::2]) - 6 * 48
    else:  # other Unicode digits (``str.isdigit`` lets them in, ``int`` reads them)
        total = 3 * sum(map(int, first13[0::2])) + sum(map(int, first13[1::2]))
    return (10 - total % 10) % 10


def month_code(day: date) -> str:
    """The 2-digit month code of a date (01..99, cycling from January 2000)."""
    months = (day.year - 2000) * 12 + (day.month - 1)
    return f"{months % 99 + 1:02d}"


def make_tracking_number(accepting_index: str, code: str, serial: int) -> str:
    """Compose a tracking number from its parts."""
    if not (len(accepting_index) == 6 and accepting_index.isdigit()):
        raise InvalidTrackingNumber("the accepting index is 6 digits")
    if not (len(code) == 2 and code.isdigit()):
        raise InvalidTrackingNumber("the month code is 2 digits")
    if not 1 <= serial <= MAX_SERIAL:
        raise InvalidTrackingNumber(f"the serial is 1..{MAX_SERIAL}")
    body = f"{accepting_index}{code}{serial:05d}"
    return f"{body}{check_digit(body)}"


def is_valid_tracking_number(value: str) -> bool:
    """Whether ``value`` is 14 digits with a correct check digit."""
    return bool(TRACKING_RE.match(value)) and check_digit(value[:13]) == int(value[13])


def parse_tracking_number(value: str) -> str:
    """Return a tracking number with spaces removed, or raise naming what is wrong."""
    cleaned = value.replace(" ", "").strip()
    if not TRACKING_RE.match(cleaned):
        raise InvalidTrackingNumber("a tracking number is 14 digits")
    if check_digit(cleaned[:13]) != int(cleaned[13]):
        raise InvalidTrackingNumber("the tracking number's check digit is wrong")
    return cleaned
