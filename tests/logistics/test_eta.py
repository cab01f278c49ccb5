"""The delivery-date kernel: worked cases, rolling over to the next run, and its guarantees.

The worked cases use one small region (``region()``): a warehouse near Moscow with a daily
20:00 truck (10 h) to the Ivanovo sorting centre (4 h sorting), a daily 04:00 truck (2 h) to
the Shuya hub (1 h cross-dock), and routes from the hub at 08:00. Shelving takes 1 h of
opening time. All local times are Moscow time (UTC+3) unless the region is moved (``zone=``).

The properties are checked on random small networks against an independent reference that
walks calendar days with ``datetime`` and ``holidays`` directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selpo.logistics.calendar import NEVER, parse_hhmm
from selpo.logistics.eta import (
    DEFAULT_QUOTE_BUFFER,
    compile_network,
    earliest_ready,
    next_run,
    quote_window,
    ready_from_run,
)
from selpo.logistics.timetable import (
    EVERY_DAY,
    MON_SAT,
    Facility,
    FacilityKind,
    LineHaul,
    Network,
    Office,
    Route,
    RouteRun,
    Stop,
)
from selpo.network.rules import OfficeKind, OpeningHours, is_open_at, office_defaults

MOSCOW = "Europe/Moscow"
NOVOSIBIRSK = "Asia/Novosibirsk"  # UTC+7, four hours ahead of Moscow
MSK = ZoneInfo(MOSCOW)
NSK = ZoneInfo(NOVOSIBIRSK)
RURAL = office_defaults(OfficeKind.RURAL).opening_hours  # Tue-Sat 09-13, 14-17
TOWN = office_defaults(OfficeKind.TOWN).opening_hours  # Mon-Fri 08-20, Sat 09-18
WEEKDAYS_9_17: OpeningHours = [[["09:00", "13:00"], ["14:00", "17:00"]]] * 5 + [[], []]
RU_HOLIDAYS = holidays.country_holidays("RU", years=range(2024, 2031))


def msk(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=MSK)


def region(
    *, town_runs_on_holidays: bool = False, zone: str = MOSCOW, office_zone: str | None = None
) -> Network:
    """The worked region, every facility in ``zone`` and every office in ``office_zone``
    (default: ``zone``)."""
    hub = "HUB-SHUYA"
    office_zone = office_zone or zone
    return Network(
        warehouses=(
            Facility("W-MSK", FacilityKind.WAREHOUSE, "near Moscow", timezone=zone),
            Facility(
                "W-IVA",
                FacilityKind.WAREHOUSE,
                "Ivanovo",
                handling=timedelta(minutes=30),
                timezone=zone,
            ),
        ),
        sorting_centres=(
            Facility(
                "SC-IVA", FacilityKind.SORTING_CENTRE, handling=timedelta(hours=4), timezone=zone
            ),
        ),
        hubs=(Facility(hub, FacilityKind.HUB, handling=timedelta(hours=1), timezone=zone),),
        line_hauls=(
            LineHaul("W-MSK", "SC-IVA", EVERY_DAY, time(20, 0), timedelta(hours=10)),
            LineHaul("W-IVA", "SC-IVA", EVERY_DAY, time(12, 0), timedelta(hours=1)),
            LineHaul("W-IVA", "SC-IVA", EVERY_DAY, time(22, 0), timedelta(hours=1)),
            LineHaul("SC-IVA", hub, EVERY_DAY, time(4, 0), timedelta(hours=2)),
        ),
        routes=(
            Route(
                "V-MON-THU",
                hub,
                (
                    Stop("155901", timedelta(minutes=60)),
                    Stop("155902", timedelta(minutes=120)),
                    Stop("155905", timedelta(minutes=150)),
                ),
                (0, 3),
                time(8, 0),
                150,
                2_000,
                timedelta(hours=4),
            ),
            Route(
                "V-TUE-FRI",
                hub,
                (Stop("155903", timedelta(minutes=70)),),
                (1, 4),
                time(8, 0),
                150,
                2_000,
                timedelta(hours=3),
            ),
            Route(
                "V-WED-LUNCH",
                hub,
                (Stop("155904", timedelta(minutes=320)), Stop("155906", timedelta(minutes=330))),
                (2,),
                time(8, 0),
                150,
                2_000,
                timedelta(hours=7),
            ),
            Route(
                "T-DAILY",
                hub,
                (Stop("155900", timedelta(minutes=30)),),
                MON_SAT,
                time(8, 0),
                500,
                7_000,
                timedelta(hours=2),
                runs_on_holidays=town_runs_on_holidays,
            ),
        ),
        offices=(
            Office("155900", TOWN, office_zone),
            Office("155901", WEEKDAYS_9_17, office_zone, rural=True),
            Office("155902", WEEKDAYS_9_17, office_zone, rural=True),
            Office("155903", RURAL, office_zone, rural=True),
            Office("155904", RURAL, office_zone, rural=True),
            # On the Mon/Thu route, but closed on Mondays.
            Office("155905", RURAL, office_zone, rural=True),
            Office("155906", [[["12:00", "14:00"]]] * 7, office_zone, rural=True),
            Office("155999", RURAL, office_zone, rural=True),  # on no route
        ),
    )


def ready_local(network: Network, handover: datetime, office: str, **kw: int) -> datetime | None:
    result = earliest_ready(network, "W-MSK", handover, [office], **kw)
    moment = result.ready_at(0)
    return None if moment is None else moment.astimezone(MSK)


# --------------------------------------------------------------------------------------------
# Worked cases
# --------------------------------------------------------------------------------------------


def test_friday_evening_to_a_village_served_monday_and_thursday() -> None:
    # Fri 20 Nov 18:00 -> truck 20:00 -> SC Sat 06:00, sorted 10:00 -> hub truck Sun 04:00,
    # at the hub 06:00, ready 07:00 -> Monday's 08:00 run -> 09:00 at the office (opens 09:00)
    # -> an hour of shelving -> Monday 10:00.
    network = region()
    result = earliest_ready(network, "W-MSK", msk(2026, 11, 20, 18, 0), ["155901"])
    assert result.ready_at(0) == msk(2026, 11, 23, 10, 0)
    assert result.run(0) == RouteRun("V-MON-THU", msk(2026, 11, 23, 8, 0).astimezone(UTC))
    assert int(result.arrival_s[0]) == int(msk(2026, 11, 23, 9, 0).timestamp())


def test_the_second_stop_is_reached_later() -> None:
    assert ready_local(region(), msk(2026, 11, 20, 18, 0), "155902") == msk(2026, 11, 23, 11, 0)


def test_arrival_on_the_offices_day_off_waits_for_it_to_open() -> None:
    # Same Monday run, but this office is closed on Mondays: ready Tuesday 09:00 + 1 h.
    assert ready_local(region(), msk(2026, 11, 20, 18, 0), "155905") == msk(2026, 11, 24, 10, 0)


def test_the_documented_example_tuesday_friday_village() -> None:
    # docs/logistics.md: handed over Friday 18:00, ready Tuesday 10:10.
    assert ready_local(region(), msk(2026, 11, 20, 18, 0), "155903") == msk(2026, 11, 24, 10, 10)


def test_a_handover_after_the_truck_left_waits_a_day() -> None:
    # Fri 20:00:01 misses the truck: Sat truck -> SC Sun, hub Mon 07:00 -> Mon run.
    assert ready_local(region(), msk(2026, 11, 20, 20, 0, 1), "155901") == msk(2026, 11, 23, 10, 0)
    # ... but Sat 20:00:01 misses Monday's run, so Thursday.
    assert ready_local(region(), msk(2026, 11, 21, 20, 0, 1), "155901") == msk(2026, 11, 26, 10, 0)


def test_unity_day_stops_the_route_and_closes_the_office() -> None:
    # Mon 2 Nov 2026 18:00 -> hub ready Wed 4 Nov 07:00, a public holiday (Unity Day):
    # the town route does not run, Thursday's does: 08:30 arrival, ready 09:30.
    assert ready_local(region(), msk(2026, 11, 2, 18, 0), "155900") == msk(2026, 11, 5, 9, 30)


def test_a_route_running_on_a_holiday_still_finds_the_office_closed() -> None:
    network = region(town_runs_on_holidays=True)
    result = earliest_ready(network, "W-MSK", msk(2026, 11, 2, 18, 0), ["155900"])
    assert result.run(0) == RouteRun("T-DAILY", msk(2026, 11, 4, 8, 0).astimezone(UTC))
    # Delivered on 4 November, shelved when the office opens on the 5th: 08:00 + 1 h.
    assert result.ready_at(0) == msk(2026, 11, 5, 9, 0)


def test_new_year_holidays_push_a_village_into_january() -> None:
    # Mon 28 Dec 2026 18:00 -> hub ready Wed 30 Dec. Tue/Fri runs: Fri 1 Jan, Tue 5 Jan and
    # Fri 8 Jan are holidays -> Tue 12 Jan 08:00, at the office 09:10, ready 10:10.
    network = region()
    result = earliest_ready(network, "W-MSK", msk(2026, 12, 28, 18, 0), ["155903"])
    assert result.run(0) == RouteRun("V-TUE-FRI", msk(2027, 1, 12, 8, 0).astimezone(UTC))
    assert result.ready_at(0) == msk(2027, 1, 12, 10, 10)


def test_arrival_during_lunch_is_ready_an_hour_after_lunch() -> None:
    # Wednesday run, at the office 13:20 (lunch 13-14): ready 15:00.
    assert ready_local(region(), msk(2026, 11, 23, 12, 0), "155904") == msk(2026, 11, 25, 15, 0)


def test_shelving_pauses_over_lunch_and_over_the_night() -> None:
    # 155906 is open 12:00-14:00 only; the van comes at 13:30: 30 min today, 30 min tomorrow.
    assert ready_local(region(), msk(2026, 11, 23, 12, 0), "155906") == msk(2026, 11, 26, 12, 30)


def test_a_warehouse_with_two_departures_takes_the_first_it_can() -> None:
    network = region()

    def ready(handover: datetime) -> datetime | None:
        return earliest_ready(network, "W-IVA", handover, ["155900"]).ready_at(0)

    # W-IVA: 30 min loading cut-off, trucks at 12:00 and 22:00 (1 h), then SC sorting 4 h and
    # the 04:00 hub truck: both of Monday's trucks make Tuesday's 08:00 town run.
    assert ready(msk(2026, 11, 23, 11, 29)) == msk(2026, 11, 24, 9, 30)
    assert ready(msk(2026, 11, 23, 21, 30)) == msk(2026, 11, 24, 9, 30)
    # A minute later misses the 22:00 truck: Tuesday 12:00 -> Wednesday's run.
    assert ready(msk(2026, 11, 23, 21, 31)) == msk(2026, 11, 25, 9, 30)


def test_an_office_on_no_route_is_never_reached() -> None:
    result = earliest_ready(region(), "W-MSK", msk(2026, 11, 20, 18, 0), ["155999", "155900"])
    assert result.ready_s[0] == NEVER
    assert np.isnat(result.ready[0])
    assert result.ready_at(0) is None
    assert result.run(0) is None
    assert result.route[0] == -1
    assert list(result.reachable) == [False, True]


# --------------------------------------------------------------------------------------------
# Rolling over to the next run
# --------------------------------------------------------------------------------------------


def test_next_run_after_a_given_run() -> None:
    network = region()
    monday = msk(2026, 11, 23, 8, 0)
    after = next_run(network, "V-MON-THU", monday)
    assert after == RouteRun("V-MON-THU", msk(2026, 11, 26, 8, 0).astimezone(UTC))
    assert next_run(network, "V-MON-THU", after.departure).departure == msk(2026, 11, 30, 8, 0)
    # Not strict: a run leaving exactly then is that run.
    assert next_run(network, "V-MON-THU", monday, strict=False).departure == monday


def test_next_run_skips_holidays_unless_the_route_runs_on_them() -> None:
    tuesday_3_nov = msk(2026, 11, 3, 8, 0)
    assert next_run(region(), "T-DAILY", tuesday_3_nov).departure == msk(2026, 11, 5, 8, 0)
    on_holidays = region(town_runs_on_holidays=True)
    assert next_run(on_holidays, "T-DAILY", tuesday_3_nov).departure == msk(2026, 11, 4, 8, 0)


def test_a_parcel_rolling_over_gets_the_next_runs_date() -> None:
    network = region()
    handover = msk(2026, 11, 20, 18, 0)
    first = earliest_ready(network, "W-MSK", handover, ["155901", "155902"])
    run = first.run(0)
    assert run is not None
    rolled = ready_from_run(network, next_run(network, run.route_id, run.departure))
    # The whole route's offices, in route order; Thursday instead of Monday.
    assert [network.offices[i].index for i in rolled.offices] == ["155901", "155902", "155905"]
    assert rolled.ready_at(0) == msk(2026, 11, 26, 10, 0)
    assert rolled.ready_at(1) == msk(2026, 11, 26, 11, 0)
    # skip_runs=1 answers the same for every office at once.
    skipped = earliest_ready(network, "W-MSK", handover, ["155901", "155902"], skip_runs=1)
    assert list(skipped.ready_s) == list(rolled.ready_s[:2])
    assert skipped.run(0) == rolled.run(0)


def test_ready_from_run_for_offices_off_the_route() -> None:
    network = region()
    run = RouteRun("V-TUE-FRI", msk(2026, 11, 24, 8, 0))
    result = ready_from_run(network, run, ["155903", "155901"])
    assert result.ready_at(0) == msk(2026, 11, 24, 10, 10)
    assert result.ready_at(1) is None


# --------------------------------------------------------------------------------------------
# API details
# --------------------------------------------------------------------------------------------


def test_every_office_by_default_in_network_order() -> None:
    network = region()
    result = earliest_ready(network, "W-MSK", msk(2026, 11, 20, 18, 0))
    assert list(result.offices) == list(range(len(network.offices)))
    by_index = earliest_ready(network, "W-MSK", msk(2026, 11, 20, 18, 0), ["155903"])
    by_position = earliest_ready(network, "W-MSK", msk(2026, 11, 20, 18, 0), np.array([3]))
    assert by_index.ready_s[0] == by_position.ready_s[0] == result.ready_s[3]


def test_handover_may_be_epoch_seconds_or_datetime64() -> None:
    network = region()
    moment = msk(2026, 11, 20, 18, 0)
    expected = earliest_ready(network, "W-MSK", moment).ready_s
    seconds = int(moment.timestamp())
    assert list(earliest_ready(network, "W-MSK", seconds).ready_s) == list(expected)
    as_dt64 = np.datetime64(seconds, "s")
    assert list(earliest_ready(network, "W-MSK", as_dt64).ready_s) == list(expected)


def test_bad_arguments_are_refused() -> None:
    network = region()
    moment = msk(2026, 11, 20, 18, 0)
    with pytest.raises(ValueError, match="unknown warehouse"):
        earliest_ready(network, "W-NOPE", moment)
    with pytest.raises(ValueError, match="unknown office"):
        earliest_ready(network, "W-MSK", moment, ["000000"])
    with pytest.raises(ValueError, match="out of range"):
        earliest_ready(network, "W-MSK", moment, np.array([99]))
    with pytest.raises(ValueError, match="timezone-aware"):
        earliest_ready(network, "W-MSK", datetime(2026, 11, 20, 18, 0))
    with pytest.raises(ValueError, match="skip_runs"):
        earliest_ready(network, "W-MSK", moment, skip_runs=-1)
    with pytest.raises(ValueError, match="unknown route"):
        next_run(network, "R-NOPE", moment)
    with pytest.raises(ValueError, match="NaT"):
        earliest_ready(network, "W-MSK", np.datetime64("NaT"))


def test_an_office_on_two_routes_gets_the_earlier() -> None:
    base = region()
    extra = Route(
        "V-SAT",
        "HUB-SHUYA",
        (Stop("155901", timedelta(minutes=90)),),
        (5,),
        time(8, 0),
        100,
        1_000,
        timedelta(hours=3),
    )
    network = Network(
        base.warehouses,
        base.sorting_centres,
        base.hubs,
        base.line_hauls,
        (*base.routes, extra),
        base.offices,
    )
    # Handed over Thu 19 Nov: hub ready Sat 07:00. The Saturday run reaches 155901 at 09:30,
    # but it is closed on Saturdays: ready Mon 10:00, a tie with Monday's run -> listed first.
    result = earliest_ready(network, "W-MSK", msk(2026, 11, 19, 18, 0), ["155901"])
    assert result.ready_at(0) == msk(2026, 11, 23, 10, 0)
    assert result.run(0) == RouteRun("V-MON-THU", msk(2026, 11, 23, 8, 0).astimezone(UTC))
    # Handed over Tue: hub ready Thu 07:00 -> Thursday's run, ready Thursday 10:00.
    tuesday = earliest_ready(network, "W-MSK", msk(2026, 11, 17, 18, 0), ["155901"])
    assert tuesday.ready_at(0) == msk(2026, 11, 19, 10, 0)


def test_offices_in_another_zone_use_their_own_clock() -> None:
    base = region()
    offices = tuple(
        Office(o.index, o.opening_hours, "Europe/Kaliningrad") if o.index == "155900" else o
        for o in base.offices
    )
    network = Network(
        base.warehouses, base.sorting_centres, base.hubs, base.line_hauls, base.routes, offices
    )
    # The van comes Thu 08:30 Moscow time = 07:30 in Kaliningrad, before the office opens at
    # 08:00 local: ready 09:00 local = 10:00 Moscow (not 09:30 as in Moscow's zone).
    result = earliest_ready(network, "W-MSK", msk(2026, 11, 2, 18, 0), ["155900"])
    assert result.ready_at(0) == msk(2026, 11, 5, 10, 0)


def nsk(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NSK)


def test_the_same_region_in_novosibirsk_runs_four_hours_earlier_in_utc() -> None:
    # Every facility and office on Novosibirsk's clock (UTC+7): the same local hand-over
    # (Fri 18:00) gives the same local ready times, four hours earlier as moments.
    moscow, novosibirsk = region(), region(zone=NOVOSIBIRSK)
    in_moscow = earliest_ready(moscow, "W-MSK", msk(2026, 11, 20, 18, 0))
    in_novosibirsk = earliest_ready(novosibirsk, "W-MSK", nsk(2026, 11, 20, 18, 0))
    assert in_novosibirsk.ready_at(3) == nsk(2026, 11, 24, 10, 10)  # 155903, Tue 10:10 local
    assert in_novosibirsk.ready_at(3) == msk(2026, 11, 24, 6, 10)
    reached = in_moscow.reachable
    assert list(in_novosibirsk.reachable) == list(reached)
    shift = in_moscow.ready_s[reached] - in_novosibirsk.ready_s[reached]
    assert set(shift.tolist()) == {4 * 3_600}
    run = in_novosibirsk.run(3)
    assert run is not None
    assert run.departure == nsk(2026, 11, 24, 8, 0)
    # The quoted windows move with them.
    moscow_window = quote_window(in_moscow.ready_s[reached])
    novosibirsk_window = quote_window(in_novosibirsk.ready_s[reached])
    for here, there in zip(moscow_window, novosibirsk_window, strict=True):
        assert set((here - there).tolist()) == {4 * 3_600}


def test_offices_in_novosibirsk_keep_their_hours_on_their_own_clock() -> None:
    # The hub and its vans on Moscow time, the offices on Novosibirsk's: the Wednesday van
    # reaches 155904 at 13:20 Moscow time, in Moscow its lunch break (ready 15:00 Moscow);
    # in Novosibirsk it is 17:20, after closing at 17:00: shelved Thursday 09:00-10:00 local.
    handover = msk(2026, 11, 23, 12, 0)
    moscow = earliest_ready(region(), "W-MSK", handover, ["155904"])
    mixed = earliest_ready(region(office_zone=NOVOSIBIRSK), "W-MSK", handover, ["155904"])
    assert moscow.ready_at(0) == msk(2026, 11, 25, 15, 0)
    assert mixed.ready_at(0) == nsk(2026, 11, 26, 10, 0)
    assert mixed.run(0) == moscow.run(0)
    ready = mixed.ready_at(0)
    assert ready is not None
    assert is_open_at(RURAL, NOVOSIBIRSK, ready)
    assert not is_open_at(RURAL, MOSCOW, ready)  # 06:00 in Moscow


def test_compiled_arrays_are_cached_per_network() -> None:
    network = region()
    assert compile_network(network) is compile_network(network)
    assert compile_network(region()) is not compile_network(network)


def test_quote_window() -> None:
    result = earliest_ready(region(), "W-MSK", msk(2026, 11, 20, 18, 0))
    earliest, latest = quote_window(result.ready_s)
    assert list(earliest) == list(result.ready_s)
    reached = earliest != NEVER
    assert np.all(latest[reached] - earliest[reached] == DEFAULT_QUOTE_BUFFER.total_seconds())
    assert np.all(latest[~reached] == NEVER)
    moment = msk(2026, 11, 23, 10, 0)
    assert quote_window(moment, timedelta(days=3)) == (moment, msk(2026, 11, 26, 10, 0))
    with pytest.raises(ValueError, match="negative"):
        quote_window(moment, timedelta(days=-1))


# --------------------------------------------------------------------------------------------
# Properties on random networks, against an independent reference
# --------------------------------------------------------------------------------------------

ZONES = ("Europe/Moscow", "Asia/Yekaterinburg", "Europe/Kaliningrad")


def _local(day: date, seconds: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone) + timedelta(seconds=seconds)


def _reference_departure(
    ready: datetime, zone: str, weekdays: tuple[int, ...], clock: time, skip_holidays: bool
) -> datetime:
    tz = ZoneInfo(zone)
    first = ready.astimezone(tz).date() - timedelta(days=1)
    for k in range(120):
        day = first + timedelta(days=k)
        if day.weekday() not in weekdays or (skip_holidays and day in RU_HOLIDAYS):
            continue
        candidate = datetime.combine(day, clock, tzinfo=tz)
        if candidate >= ready:
            return candidate
    raise AssertionError("no departure in 120 days")


def _reference_shelved(
    arrival: datetime, hours: OpeningHours, zone: str, shelving: timedelta
) -> datetime | None:
    tz = ZoneInfo(zone)
    remaining = shelving
    first = arrival.astimezone(tz).date() - timedelta(days=1)
    for k in range(400):
        day = first + timedelta(days=k)
        if day in RU_HOLIDAYS:
            continue
        for start_text, end_text in hours[day.weekday()]:
            start = _local(day, parse_hhmm(start_text), tz)
            end = _local(day, parse_hhmm(end_text), tz)
            begin = max(start, arrival)
            if begin >= end:
                continue
            if remaining < end - begin:
                return begin + remaining
            remaining -= end - begin
    return None


def reference_ready(network: Network, warehouse: str, handover: datetime) -> list[int]:
    """Ready moments (epoch s, NEVER) per office, computed naively with datetimes."""
    facilities = {f.id: f for f in network.facilities}
    ready: dict[str, datetime] = {warehouse: handover + facilities[warehouse].handling}
    changed = True
    while changed:
        changed = False
        for haul in network.line_hauls:
            if haul.origin not in ready:
                continue
            origin = facilities[haul.origin]
            leave = _reference_departure(
                ready[haul.origin], origin.timezone, haul.weekdays, haul.departure, False
            )
            arrive = leave + haul.duration + facilities[haul.destination].handling
            if haul.destination not in ready or arrive < ready[haul.destination]:
                ready[haul.destination] = arrive
                changed = True
    best: dict[str, datetime] = {}
    offices = {o.index: o for o in network.offices}
    for route in network.routes:
        if route.hub not in ready:
            continue
        leave = _reference_departure(
            ready[route.hub],
            facilities[route.hub].timezone,
            route.weekdays,
            route.departure,
            not route.runs_on_holidays,
        )
        for stop in route.stops:
            office = offices[stop.office]
            moment = _reference_shelved(
                leave + stop.arrival, office.opening_hours, office.timezone, network.shelving
            )
            if moment is not None and (stop.office not in best or moment < best[stop.office]):
                best[stop.office] = moment
    return [int(best[o.index].timestamp()) if o.index in best else NEVER for o in network.offices]


@st.composite
def opening_hours(draw: st.DrawFn) -> OpeningHours:
    days: OpeningHours = []
    for _ in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=4)))
        if len(cuts) % 2:
            cuts = cuts[:-1]
        texts = [f"{m // 4:02d}:{m % 4 * 15:02d}" if m < 96 else "24:00" for m in cuts]
        days.append([[a, b] for a, b in zip(texts[::2], texts[1::2], strict=True)])
    return days


def weekday_sets() -> st.SearchStrategy[tuple[int, ...]]:
    return st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s)))


def clocks() -> st.SearchStrategy[time]:
    return st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60))


@st.composite
def networks(draw: st.DrawFn) -> Network:
    zone = st.sampled_from(ZONES)
    durations = st.integers(0, 36 * 60).map(lambda m: timedelta(minutes=m))
    facilities = [
        Facility("W", FacilityKind.WAREHOUSE, handling=draw(durations), timezone=draw(zone)),
        Facility("SC", FacilityKind.SORTING_CENTRE, handling=draw(durations), timezone=draw(zone)),
        Facility("H1", FacilityKind.HUB, handling=draw(durations), timezone=draw(zone)),
        Facility("H2", FacilityKind.HUB, handling=draw(durations), timezone=draw(zone)),
    ]
    hauls = [
        LineHaul(origin, destination, draw(weekday_sets()), draw(clocks()), draw(durations))
        for origin, destination in draw(
            st.lists(
                st.sampled_from([("W", "SC"), ("SC", "H1"), ("SC", "H2"), ("W", "H2")]),
                min_size=1,
                max_size=6,
            )
        )
    ]
    n_offices = draw(st.integers(1, 5))
    offices = [Office(f"1000{i:02d}", draw(opening_hours()), draw(zone)) for i in range(n_offices)]
    routes = []
    for r in range(draw(st.integers(1, 4))):
        served = draw(st.lists(st.integers(0, n_offices - 1), min_size=1, max_size=3, unique=True))
        gaps = draw(st.lists(st.integers(1, 300), min_size=len(served), max_size=len(served)))
        arrivals = np.cumsum(gaps).tolist()
        routes.append(
            Route(
                f"R{r}",
                draw(st.sampled_from(["H1", "H2"])),
                tuple(
                    Stop(offices[o].index, timedelta(minutes=a))
                    for o, a in zip(served, arrivals, strict=True)
                ),
                draw(weekday_sets()),
                draw(clocks()),
                100,
                1_000,
                timedelta(minutes=arrivals[-1] + 30),
                runs_on_holidays=draw(st.booleans()),
            )
        )
    return Network(
        warehouses=tuple(facilities[:1]),
        sorting_centres=tuple(facilities[1:2]),
        hubs=tuple(facilities[2:]),
        line_hauls=tuple(hauls),
        routes=tuple(routes),
        offices=tuple(offices),
        shelving=draw(st.integers(0, 180).map(lambda m: timedelta(minutes=m))),
    )


# Hand-over moments in whole minutes, often around the New Year and May holidays.
HANDOVERS = st.one_of(
    st.datetimes(datetime(2025, 1, 1), datetime(2028, 6, 30)),
    st.datetimes(datetime(2025, 12, 20), datetime(2026, 1, 12)),
    st.datetimes(datetime(2027, 4, 25), datetime(2027, 5, 12)),
    st.datetimes(datetime(2026, 10, 28), datetime(2026, 11, 6)),
).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC))

# Each example draws one network (the costly part) and checks it at a few hand-over moments.
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SOME_HANDOVERS = st.lists(HANDOVERS, min_size=1, max_size=4)


@PROPERTY_SETTINGS
@given(network=networks(), handovers=SOME_HANDOVERS)
def test_kernel_matches_the_naive_reference(network: Network, handovers: list[datetime]) -> None:
    for handover in handovers:
        result = earliest_ready(network, "W", handover)
        assert list(result.ready_s) == reference_ready(network, "W", handover)


@PROPERTY_SETTINGS
@given(network=networks(), handovers=SOME_HANDOVERS)
def test_ready_is_after_handover_and_inside_opening_hours(
    network: Network, handovers: list[datetime]
) -> None:
    for handover in handovers:
        result = earliest_ready(network, "W", handover)
        for i, office in enumerate(network.offices):
            moment = result.ready_at(i)
            if moment is None:
                continue
            assert moment >= handover
            assert is_open_at(office.opening_hours, office.timezone, moment)
            assert moment.astimezone(ZoneInfo(office.timezone)).date() not in RU_HOLIDAYS
            run = result.run(i)
            assert run is not None
            assert handover <= run.departure <= moment


@PROPERTY_SETTINGS
@given(
    network=networks(),
    handover=HANDOVERS,
    steps=st.lists(st.integers(0, 5 * 24 * 60), min_size=1, max_size=4),
)
def test_a_later_handover_is_never_ready_earlier(
    network: Network, handover: datetime, steps: list[int]
) -> None:
    big = np.iinfo(np.int64).max
    previous = earliest_ready(network, "W", handover).ready_s
    for minutes in steps:
        handover += timedelta(minutes=minutes)
        current = earliest_ready(network, "W", handover).ready_s
        as_late = np.where(current == NEVER, big, current)
        assert np.all(np.where(previous == NEVER, big, previous) <= as_late)
        # Whether an office is reached at all does not depend on the moment.
        assert list(previous == NEVER) == list(current == NEVER)
        previous = current


@PROPERTY_SETTINGS
@given(network=networks(), handovers=SOME_HANDOVERS)
def test_skipping_a_run_equals_loading_the_next_run(
    network: Network, handovers: list[datetime]
) -> None:
    for handover in handovers:
        first = earliest_ready(network, "W", handover)
        skipped = earliest_ready(network, "W", handover, skip_runs=1)
        for i in range(len(network.offices)):
            run = first.run(i)
            if run is None:
                continue
            assert int(skipped.ready_s[i]) >= int(first.ready_s[i])
            # The parcel's route one run later is one of the skipped case's offers.
            later = ready_from_run(network, next_run(network, run.route_id, run.departure))
            at = list(later.offices).index(i)
            assert int(skipped.ready_s[i]) <= int(later.ready_s[at])
