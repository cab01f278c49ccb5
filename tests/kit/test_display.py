"""What people read: money, numbers and moments the Russian way, in the reader's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selpo.kit.display import (
    format_day,
    format_local_date,
    format_local_datetime,
    format_local_time,
    format_number,
    format_percent,
    format_roubles,
    local_day,
    plural,
)
from selpo.office.rules import parse_roubles

NBSP = "\u00a0"


def test_roubles_are_grouped_with_kopecks_after_a_comma() -> None:
    assert format_roubles(150050) == f"1{NBSP}500,50{NBSP}₽"
    assert format_roubles(5) == f"0,05{NBSP}₽"
    assert format_roubles(0) == f"0,00{NBSP}₽"
    assert format_roubles(123456789_00) == f"123{NBSP}456{NBSP}789,00{NBSP}₽"


@given(st.integers(0, 999_999_999_99))
def test_what_a_clerk_reads_is_what_a_clerk_can_type_back(kopecks: int) -> None:
    assert parse_roubles(format_roubles(kopecks)) == kopecks


def test_numbers_and_shares() -> None:
    assert format_number(12345) == f"12{NBSP}345"
    assert format_number(2.25, 1) == "2,2"  # half to even, as Babel rounds
    assert format_number(1.5, 3) == "1,500"
    assert format_percent(0.1234) == f"12,3{NBSP}%"


# 02:30 UTC on 1 March 2026 is still 28 February's evening nowhere, but already a different
# hour in each zone: Moscow 05:30, Novosibirsk 09:30, Kamchatka 14:30; and 21:30 UTC is the
# next day in Novosibirsk.
MOMENT = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
EVENING = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "hhmm"),
    [("Europe/Moscow", "05:30"), ("Asia/Novosibirsk", "09:30"), ("Asia/Kamchatka", "14:30")],
)
def test_a_moment_reads_in_the_zone_of_its_reader(zone: str, hhmm: str) -> None:
    assert format_local_time(MOMENT, zone) == hhmm
    assert format_local_datetime(MOMENT, zone) == f"01.03.2026 {hhmm}"


def test_the_local_day_can_be_the_next_one() -> None:
    assert format_local_date(EVENING, "Europe/Moscow") == "02.03.2026"
    assert format_local_date(EVENING, "Europe/Kaliningrad") == "01.03.2026"
    assert local_day(EVENING, "Asia/Novosibirsk") == date(2026, 3, 2)
    assert format_day(date(2026, 1, 2)) == "02.01.2026"


@pytest.mark.parametrize(
    ("n", "words"),
    [(1, "код"), (2, "кода"), (4, "кода"), (5, "кодов"), (11, "кодов"), (21, "код"), (22, "кода")],
)
def test_russian_plurals(n: int, words: str) -> None:
    assert plural(n, "код", "кода", "кодов") == words
