"""Phone numbers: every way a Russian mobile is written comes to one E.164 form; masks show
the country code and the last four digits only."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from selpo.kit.phone import mask_phone, parse_russian_mobile

# Ten-digit national numbers of Russian mobiles, as the numbering plan allocates them.
mobiles = st.from_regex(r"9[0-9]{9}", fullmatch=True).filter(
    lambda n: phonenumbers.is_valid_number_for_region(phonenumbers.parse("+7" + n), "RU")
)


def _written(national: str, style: int) -> str:
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    return [
        f"+7{national}",
        f"8{national}",
        f"7{national}",
        national,
        f"+7 ({a}) {b}-{c}-{d}",
        f"8 {a} {b} {c} {d}",
        f" +7-{a}-{b}{c}{d} ",
    ][style]


@given(mobiles, st.integers(0, 6))
def test_every_spelling_of_a_mobile_comes_to_e164(national: str, style: int) -> None:
    assert parse_russian_mobile(_written(national, style)) == f"+7{national}"


@given(mobiles)
def test_a_parsed_number_parses_to_itself(national: str) -> None:
    e164 = parse_russian_mobile(national)
    assert parse_russian_mobile(e164) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "+7 701 123 45 67",  # Kazakhstan shares +7
        "+7 495 123-45-67",  # a Moscow landline
        "8 916 123 45 6",  # a digit short
        "8 916 123 45 678",  # a digit long
        "+44 7911 123456",  # not Russian
        "+7 916 ABC-45-67",  # letters
        "",
    ],
)
def test_anything_but_a_russian_mobile_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="Russian mobile"):
        parse_russian_mobile(raw)


@given(st.text(max_size=30))
def test_any_text_is_parsed_or_refused_never_crashes(raw: str) -> None:
    try:
        parsed = parse_russian_mobile(raw)
    except ValueError:
        return
    assert parsed.startswith("+79")
    assert len(parsed) == 12


@given(mobiles, st.integers(0, 6))
def test_a_mask_shows_the_country_code_and_the_last_four_digits(national: str, style: int) -> None:
    masked = mask_phone(_written(national, style))
    assert masked == "+7" + "*" * 6 + national[-4:]


@given(st.text(max_size=30))
def test_a_mask_never_shows_more_than_four_digits_of_what_it_is_given(raw: str) -> None:
    assume(raw)
    masked = mask_phone(raw)
    digits = [ch for ch in masked if ch.isdigit()]
    # At most the last four, plus a country code when the text was a phone number.
    assert len(digits) <= 4 + 3


def test_a_purged_number_shows_as_removed() -> None:
    assert mask_phone(None) == "[удалено]"
    assert mask_phone("") == "[удалено]"
