"""Office calendars: clock parsing, weekly intervals, fixed zones, holidays, shelving in hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selpo.logistics.calendar import (
    DAY_S,
    HOUR_S,
    NEVER,
    HolidayCalendar,
    OpeningTable,
    date_of_day,
    day_number,
    holiday_calendar,
    is_open,
    parse_hhmm,
    utc_offset_s,
    weekday_of_day,
    weekly_intervals,
)
from selpo.network.rules import OfficeKind, OpeningHours, is_open_at, office_defaults

RURAL = office_defaults(OfficeKind.RURAL).opening_hours  # Tue-Sat 09-13, 14-17
TOWN = office_defaults(OfficeKind.TOWN).opening_hours
MSK = ZoneInfo("Europe/Moscow")
MSK_OFFSET = 3 * HOUR_S


def local_s(moment: datetime) -> int:
    """Moscow wall-clock seconds of an aware moment."""
    return int(moment.timestamp()) + MSK_OFFSET


def from_local(value: int) -> datetime:
    return datetime.fromtimestamp(value - MSK_OFFSET, tz=MSK)


def test_parse_hhmm() -> None:
    assert parse_hhmm("00:00") == 0
    assert parse_hhmm("09:30") == 9 * HOUR_S + 30 * 60
    assert parse_hhmm("24:00") == DAY_S
    for bad in ("9:30", "24:01", "12:60", "ab:cd", "12-30", "25:00"):
        with pytest.raises(ValueError, match="time"):
            parse_hhmm(bad)


def test_day_numbers_and_weekdays() -> None:
    assert day_number(date(1970, 1, 1)) == 0
    assert date_of_day(day_number(date(2026, 11, 4))) == date(2026, 11, 4)
    assert list(weekday_of_day([0, 4, -1])) == [3, 0, 2]  # Thu, Mon, Wed
    assert int(weekday_of_day(day_number(date(2026, 11, 20)))) == 4  # a Friday


def test_weekly_intervals_merge_back_to_back_and_keep_days_apart() -> None:
    hours: OpeningHours = [
        [["08:00", "13:00"], ["13:00", "20:00"]],
        [["20:00", "24:00"]],
        [["00:00", "02:00"]],
        [],
        [],
        [],
        [["10:00", "11:00"], ["12:00", "13:00"]],
    ]
    week = weekly_intervals(hours)
    assert week == [
        (8 * HOUR_S, 20 * HOUR_S),
        (DAY_S + 20 * HOUR_S, 2 * DAY_S),
        (2 * DAY_S, 2 * DAY_S + 2 * HOUR_S),  # not merged across midnight
        (6 * DAY_S + 10 * HOUR_S, 6 * DAY_S + 11 * HOUR_S),
        (6 * DAY_S + 12 * HOUR_S, 6 * DAY_S + 13 * HOUR_S),
    ]


def test_weekly_intervals_refuse_bad_hours() -> None:
    with pytest.raises(ValueError, match="7 days"):
        weekly_intervals([[]] * 6)
    with pytest.raises(ValueError, match="overlap"):
        weekly_intervals([[["08:00", "12:00"], ["11:00", "13:00"]]] + [[]] * 6)
    with pytest.raises(ValueError, match="opening hours #1"):
        OpeningTable([TOWN, [[["12:00", "08:00"]]] + [[]] * 6])


def test_fixed_offsets() -> None:
    assert utc_offset_s("Europe/Moscow") == 3 * HOUR_S
    assert utc_offset_s("Asia/Kamchatka") == 12 * HOUR_S
    assert utc_offset_s("Europe/Volgograd") == 3 * HOUR_S  # changed in 2020, fixed since
    with pytest.raises(ValueError, match="daylight saving"):
        utc_offset_s("Europe/Berlin")
    with pytest.raises(ValueError, match="unknown time zone"):
        utc_offset_s("Mars/Olympus_Mons")


def test_russian_holidays() -> None:
    calendar = HolidayCalendar()
    assert calendar.is_closed(date(2026, 11, 4))  # Unity Day
    assert all(calendar.is_closed(date(2027, 1, d)) for d in range(1, 9))  # New Year
    assert calendar.is_closed(date(2026, 1, 9))  # a day off moved by decree
    assert calendar.is_closed(date(2025, 11, 3))  # the bridge day of 2025
    assert not calendar.is_closed(date(2026, 11, 5))
    assert not calendar.is_closed(date(2026, 11, 3))
    days = np.array([day_number(date(2026, 5, d)) for d in (1, 2, 9, 11, 12)])
    assert list(calendar.closed(days)) == [True, False, True, True, False]
    assert calendar.closed(np.zeros(0, dtype=np.int64)).shape == (0,)


def test_extra_closed_dates_and_shared_calendars() -> None:
    extra = frozenset({date(2026, 8, 12)})
    calendar = holiday_calendar("RU", extra)
    assert calendar.is_closed(date(2026, 8, 12))
    assert not holiday_calendar().is_closed(date(2026, 8, 12))
    assert holiday_calendar("RU", extra) is calendar
    with pytest.raises(ValueError, match="outside"):
        calendar.closed(np.array([day_number(date(2300, 1, 1))]))


def test_is_open_adds_holidays_to_the_weekly_hours() -> None:
    calendar = HolidayCalendar()
    wednesday_noon = datetime(2026, 11, 25, 12, 0, tzinfo=MSK)
    assert is_open(TOWN, "Europe/Moscow", wednesday_noon, calendar)
    unity_day = datetime(2026, 11, 4, 12, 0, tzinfo=MSK)
    assert is_open_at(TOWN, "Europe/Moscow", unity_day)  # weekly hours say open
    assert not is_open(TOWN, "Europe/Moscow", unity_day, calendar)


def ready(hours: OpeningHours, arrival: datetime, shelving_h: float) -> datetime | None:
    table = OpeningTable([hours])
    result = table.ready_local(
        table.pattern_of,
        np.array([local_s(arrival)]),
        int(shelving_h * HOUR_S),
        HolidayCalendar(),
    )
    value = int(result[0])
    return None if value == NEVER else from_local(value)


def msk(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=MSK)


def test_arrival_in_lunch_break_is_shelved_after_lunch() -> None:
    assert ready(RURAL, msk(11, 25, 13, 20), 1) == msk(11, 25, 15, 0)


def test_shelving_is_split_around_lunch() -> None:
    assert ready(RURAL, msk(11, 25, 12, 30), 1) == msk(11, 25, 14, 30)


def test_shelving_ending_at_closing_time_is_ready_at_the_next_opening() -> None:
    # 16:00 + 1 h = 17:00 = closing: ready when the office next opens, Thursday 09:00.
    assert ready(RURAL, msk(11, 25, 16, 0), 1) == msk(11, 26, 9, 0)
    assert ready(RURAL, msk(11, 25, 15, 59), 1) == msk(11, 25, 16, 59)


def test_no_shelving_means_the_next_open_moment() -> None:
    assert ready(RURAL, msk(11, 25, 10, 0), 0) == msk(11, 25, 10, 0)
    assert ready(RURAL, msk(11, 25, 17, 0), 0) == msk(11, 26, 9, 0)
    # Saturday evening -> Sunday and Monday closed -> Tuesday.
    assert ready(RURAL, msk(11, 28, 18, 0), 0) == msk(12, 1, 9, 0)


def test_holidays_are_skipped_whole() -> None:
    # Arrival Tue 3 Nov 16:30: 30 min that day, Wednesday 4 Nov is Unity Day, 30 min Thursday.
    assert ready(RURAL, msk(11, 3, 16, 30), 1) == msk(11, 5, 9, 30)
    # New Year: arrival Wed 30 Dec 2026 17:00 -> 31 Dec to 8 Jan off -> Sat 9 Jan 2027 10:00.
    arrival = datetime(2026, 12, 30, 17, 0, tzinfo=MSK)
    assert ready(RURAL, arrival, 1) == datetime(2027, 1, 9, 10, 0, tzinfo=MSK)


def test_long_shelving_spans_days() -> None:
    # 9 h of shelving at a Tue-Sat 7 h/day office from Friday 09:00: Fri 7 h, Sat 2 h.
    assert ready(RURAL, msk(11, 27, 9, 0), 9) == msk(11, 28, 11, 0)


def test_an_office_that_never_opens_is_never_ready() -> None:
    assert ready([[]] * 7, msk(11, 25, 9, 0), 1) is None


def test_never_passes_through_and_patterns_are_shared() -> None:
    table = OpeningTable([RURAL, TOWN, [list(map(list, d)) for d in RURAL], TOWN])
    assert list(table.pattern_of) == [0, 1, 0, 1]
    assert len(table) == 4
    result = table.ready_local(
        table.pattern_of, np.array([NEVER, local_s(msk(11, 25, 9, 0))] * 2), 0, HolidayCalendar()
    )
    assert list(result == NEVER) == [True, False, True, False]
    with pytest.raises(ValueError, match="negative"):
        table.ready_local(table.pattern_of, np.zeros(4, dtype=np.int64), -1, HolidayCalendar())


@settings(max_examples=200, deadline=None)
@given(
    arrival=st.datetimes(datetime(2025, 1, 1), datetime(2028, 1, 1)),
    shelving_min=st.integers(0, 600),
    kind=st.sampled_from(list(OfficeKind)),
)
def test_ready_is_open_not_a_holiday_and_after_enough_open_time(
    arrival: datetime, shelving_min: int, kind: OfficeKind
) -> None:
    hours = office_defaults(kind).opening_hours
    moment = ready(hours, arrival.replace(microsecond=0, tzinfo=UTC), shelving_min / 60)
    assert moment is not None
    assert moment >= arrival.replace(microsecond=0, tzinfo=UTC)
    assert is_open(hours, "Europe/Moscow", moment, HolidayCalendar())
    # Open minutes between arrival and ready add up to the shelving time (minute steps).
    start = arrival.replace(second=0, microsecond=0, tzinfo=UTC)
    exact = start == arrival.replace(microsecond=0, tzinfo=UTC)
    if exact and shelving_min <= 240 and moment - start <= timedelta(days=4):
        calendar = holiday_calendar()
        open_minutes = 0
        t = start
        while t < moment:
            open_minutes += is_open(hours, "Europe/Moscow", t, calendar)
            t += timedelta(minutes=1)
        assert open_minutes == shelving_min
