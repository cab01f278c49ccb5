"""Phone numbers (``phonenumbers``, Google's libphonenumber metadata, no network): a Russian
mobile number parsed to E.164, and any number masked for screens and logs."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

REMOVED = "[удалено]"
_MOBILE = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def parse_russian_mobile(raw: str) -> str:
    """``8 (916) 123-45-67``, ``+7 916 1234567``, ``9161234567`` → ``+79161234567``.

    Raises ValueError for anything but a valid Russian mobile number (a Kazakh ``+7 7…``,
    a landline, a short or long number, letters).
    """
    if any(ch.isalpha() for ch in raw):
        raise ValueError("a Russian mobile number is +7 9XX XXX-XX-XX")
    try:
        number = phonenumbers.parse(raw, "RU")
    except NumberParseException:
        raise ValueError("a Russian mobile number is +7 9XX XXX-XX-XX") from None
    if (
        not phonenumbers.is_valid_number_for_region(number, "RU")
        or phonenumbers.number_type(number) not in _MOBILE
    ):
        raise ValueError("a Russian mobile number is +7 9XX XXX-XX-XX")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def mask_phone(phone: str | None) -> str:
    """``+79161234567`` → ``+7******4567``: the country code and the last four digits.

    ``[удалено]`` once the number is purged; a string that is no phone number keeps only
    its last four digits.
    """
    if not phone:
        return REMOVED
    try:
        number = phonenumbers.parse(phone, "RU")
    except NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        national = phonenumbers.national_significant_number(number)
        return f"+{number.country_code}{_hide(national)}"
    return _hide(phone)


def _hide(text: str) -> str:
    """Every digit of ``text`` but the last four as ``*``; other characters stay."""
    digits = sum(ch.isdigit() for ch in text)
    seen = 0
    masked = []
    for ch in text:
        if ch.isdigit():
            seen += 1
            masked.append(ch if seen > digits - 4 else "*")
        else:
            masked.append(ch)
    return "".join(masked)
