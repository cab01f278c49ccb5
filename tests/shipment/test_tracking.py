"""Tracking numbers: the domestic 14-digit form and its check digit."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selpo.shipment.tracking import (
    InvalidTrackingNumber,
    check_digit,
    is_valid_tracking_number,
    make_tracking_number,
    month_code,
    parse_tracking_number,
)

indexes = st.from_regex(r"\d{6}", fullmatch=True)
codes = st.integers(1, 99).map(lambda n: f"{n:02d}")
serials = st.integers(1, 99_999)


def test_worked_example() -> None:
    # 15395001000001: odd places 1,3,5,0,0,0,0 weigh 3 → 30; even places 5,9,0,1,0,0,0 → 15;
    # 45 needs 5 to reach 50.
    body = "1539500100001"
    assert check_digit(body) == 5
    assert make_tracking_number("153950", "01", 1) == body + "5"


def test_month_codes_cycle_through_01_to_99() -> None:
    assert month_code(date(2000, 1, 15)) == "01"
    assert month_code(date(2008, 3, 1)) == "99"
    assert month_code(date(2008, 4, 1)) == "01"
    assert month_code(date(2026, 11, 25)) == f"{((26 * 12 + 10) % 99) + 1:02d}"


@given(indexes, codes, serials)
def test_made_numbers_are_valid_and_keep_their_parts(index: str, code: str, serial: int) -> None:
    number = make_tracking_number(index, code, serial)
    assert len(number) == 14
    assert is_valid_tracking_number(number)
    assert number[:6] == index
    assert number[6:8] == code
    assert int(number[8:13]) == serial


@given(indexes, codes, serials, st.integers(0, 13), st.integers(1, 9))
def test_any_single_wrong_digit_is_caught(
    index: str, code: str, serial: int, place: int, shift: int
) -> None:
    number = make_tracking_number(index, code, serial)
    wrong = number[:place] + str((int(number[place]) + shift) % 10) + number[place + 1 :]
    assert not is_valid_tracking_number(wrong)
    with pytest.raises(InvalidTrackingNumber):
        parse_tracking_number(wrong)


@given(st.text(max_size=20))
def test_parser_never_accepts_garbage(text: str) -> None:
    cleaned = text.replace(" ", "").strip()
    try:
        parsed = parse_tracking_number(text)
    except InvalidTrackingNumber:
        return
    assert parsed == cleaned
    assert is_valid_tracking_number(parsed)


def test_parts_out_of_range_are_refused() -> None:
    with pytest.raises(InvalidTrackingNumber):
        make_tracking_number("15395", "01", 1)
    with pytest.raises(InvalidTrackingNumber):
        make_tracking_number("153950", "01", 100_000)
