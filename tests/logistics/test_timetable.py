"""Timetable dataclasses refuse nonsense; the route CSV round-trips and refuses bad rows by line."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from selpo.logistics.timetable import (
    EVERY_DAY,
    MON_SAT,
    ROUTE_CSV_COLUMNS,
    Facility,
    FacilityKind,
    LineHaul,
    Network,
    Office,
    Route,
    RouteCsvError,
    RouteRun,
    Stop,
    epoch_s,
    from_epoch_s,
    read_routes_csv,
    routes_to_csv,
    weekday_names,
)
from selpo.network.rules import OfficeKind, office_defaults

RURAL = office_defaults(OfficeKind.RURAL).opening_hours
ZONE = "Europe/Moscow"


def route(route_id: str = "R1", /, **changes: object) -> Route:
    fields: dict[str, object] = {
        "id": route_id,
        "hub": "H1",
        "stops": (Stop("155901", timedelta(minutes=40)), Stop("155902", timedelta(minutes=95))),
        "weekdays": (1, 4),
        "departure": time(8, 0),
        "capacity_parcels": 150,
        "capacity_litres": 2_000,
        "return_after": timedelta(minutes=150),
    }
    fields.update(changes)
    return Route(**fields)  # type: ignore[arg-type]


def network(**changes: object) -> Network:
    fields: dict[str, object] = {
        "warehouses": (Facility("W", FacilityKind.WAREHOUSE, timezone=ZONE),),
        "sorting_centres": (Facility("SC", FacilityKind.SORTING_CENTRE, timezone=ZONE),),
        "hubs": (Facility("H1", FacilityKind.HUB, timezone=ZONE),),
        "line_hauls": (
            LineHaul("W", "SC", EVERY_DAY, time(20, 0), timedelta(hours=10)),
            LineHaul("SC", "H1", EVERY_DAY, time(4, 0), timedelta(hours=2)),
        ),
        "routes": (route(),),
        "offices": (Office("155901", RURAL, ZONE), Office("155902", RURAL, ZONE)),
    }
    fields.update(changes)
    return Network(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Dataclasses
# --------------------------------------------------------------------------------------------


def test_a_valid_network() -> None:
    net = network()
    assert net.sorting_centre.id == "SC"
    assert net.office_position == {"155901": 0, "155902": 1}
    assert net.route_position == {"R1": 0}
    assert [f.id for f in net.facilities] == ["W", "SC", "H1"]
    assert net.facility_position["H1"] == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weekdays": ()}, "at least one weekday"),
        ({"weekdays": (4, 1)}, "sorted and unique"),
        ({"weekdays": (1, 7)}, "0 \\(Monday\\) to 6"),
        ({"stops": ()}, "at least one stop"),
        (
            {
                "stops": (
                    Stop("155901", timedelta(minutes=40)),
                    Stop("155902", timedelta(minutes=40)),
                )
            },
            "increase",
        ),
        (
            {
                "stops": (
                    Stop("155901", timedelta(minutes=40)),
                    Stop("155901", timedelta(minutes=50)),
                )
            },
            "twice",
        ),
        ({"capacity_parcels": 0}, "capacities"),
        ({"return_after": timedelta(minutes=60)}, "before the last stop"),
        ({"departure": time(8, 0, tzinfo=UTC)}, "naive local time"),
        ({"stops": (Stop("155901", timedelta(minutes=-5)),)}, "negative"),
        ({"return_after": timedelta(minutes=150, microseconds=5)}, "whole seconds"),
    ],
)
def test_routes_refuse_nonsense(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        route(**changes)


def test_line_hauls_and_facilities_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="same"):
        LineHaul("SC", "SC", EVERY_DAY, time(4, 0), timedelta(hours=1))
    with pytest.raises(ValueError, match="negative"):
        LineHaul("W", "SC", EVERY_DAY, time(4, 0), timedelta(hours=-1))
    with pytest.raises(ValueError, match="negative"):
        Facility("SC", FacilityKind.SORTING_CENTRE, handling=timedelta(hours=-4), timezone=ZONE)
    with pytest.raises(ValueError, match="needs an id"):
        Facility("", FacilityKind.HUB, timezone=ZONE)
    with pytest.raises(ValueError, match="timezone-aware"):
        RouteRun("R1", datetime(2026, 11, 23, 8, 0))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hubs": (Facility("H1", FacilityKind.SORTING_CENTRE, timezone=ZONE),)}, "not a hub"),
        ({"hubs": (Facility("W", FacilityKind.HUB, timezone=ZONE),)}, "unique"),
        (
            {"line_hauls": (LineHaul("W", "X", EVERY_DAY, time(4, 0), timedelta(hours=1)),)},
            "unknown X",
        ),
        ({"routes": (route(hub="H2"),)}, "unknown hub H2"),
        ({"routes": (route(), route())}, "route ids must be unique"),
        ({"offices": (Office("155901", RURAL, ZONE),)}, "unknown office 155902"),
        (
            {"offices": tuple(Office(i, RURAL, ZONE) for i in ("155901", "155902", "155901"))},
            "indices must be unique",
        ),
        ({"shelving": timedelta(hours=-1)}, "shelving"),
    ],
)
def test_networks_refuse_broken_references(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        network(**changes)


def test_sorting_centre_needs_exactly_one() -> None:
    two = network(
        sorting_centres=(
            Facility("SC", FacilityKind.SORTING_CENTRE, timezone=ZONE),
            Facility("SC2", FacilityKind.SORTING_CENTRE, timezone=ZONE),
        )
    )
    with pytest.raises(ValueError, match="2 sorting centres"):
        _ = two.sorting_centre


def test_epoch_helpers() -> None:
    moment = datetime(2026, 11, 23, 8, 0, 30, 999_999, tzinfo=ZoneInfo(ZONE))
    assert epoch_s(moment) == int(datetime(2026, 11, 23, 5, 0, 30, tzinfo=UTC).timestamp())
    assert from_epoch_s(epoch_s(moment)) == moment.replace(microsecond=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        epoch_s(datetime(2026, 11, 23))
    assert weekday_names(MON_SAT) == "mon|tue|wed|thu|fri|sat"


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------

HEADER = ",".join(ROUTE_CSV_COLUMNS)


def read(text: str, **known: set[str]) -> tuple[Route, ...]:
    return read_routes_csv(io.StringIO(text), **known)


def test_csv_round_trip() -> None:
    routes = (
        route(),
        route("R2", weekdays=MON_SAT, departure=time(13, 5), runs_on_holidays=True, vehicle="v2"),
        route("R3", synthetic=True, stops=(Stop("155903", timedelta(seconds=90)),)),
    )
    text = routes_to_csv(routes)
    assert text.splitlines()[0] == HEADER
    assert text.splitlines()[1] == "R1,H1,tue|fri,08:00,150,2000,150,1,155901,40,0,0,"
    assert read(text) == routes


def test_csv_reads_rows_in_any_order_and_optional_columns_may_be_absent() -> None:
    text = (
        "stop_seq,route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,"
        "return_after_min,office_index,arrival_after_min\n"
        '2,R1,H1,"Tue, Fri",08:00,150,2000,150,155902,95\n'
        "1,R9,H1,mon,09:00,10,100,60,155901,30\n"
        '1,R1,H1,"Tue, Fri",08:00,150,2000,150,155901,40\n'
    )
    routes = read(text)
    assert [r.id for r in routes] == ["R1", "R9"]
    assert routes[0] == route()
    assert routes[1].weekdays == (0,)


def test_csv_refuses_bad_rows_with_line_and_reason() -> None:
    rows = [
        HEADER,
        "R1,H1,tue|fri,08:00,150,2000,150,1,155901,40,0,0,",  # line 2: fine
        "R1,H1,tue|fri,08:00,150,2000,150,2,155902,30,0,0,",  # 3: arrives before stop 1
        "R2,H1,tue|frx,08:00,150,2000,150,1,155903,40,0,0,",  # 4: bad weekday
        "R3,H1,mon,8:00,150,2000,150,1,155903,40,0,0,",  # 5: bad time
        "R4,H1,mon,08:00,-1,2000,150,1,155903,40,0,0,",  # 6: negative capacity
        "R5,H1,mon,08:00,150,2000,150,1,15590,40,0,0,",  # 7: not a postal index
        "R6,H1,mon,08:00,150,2000,150,1,155903,40,2,0,",  # 8: bad flag
        "R1,H1,tue|fri,09:00,150,2000,150,3,155904,50,0,0,",  # 9: departure differs
        "R7,H1,mon,08:00,150,2000,150,1,155903,40,0,0,",  # 10: fine, but ...
        "R7,H1,mon,08:00,150,2000,150,3,155904,50,0,0,",  # 11: ... stop 2 is missing
        "R8,H1,mon,08:00,150,2000,30,1,155903,40,0,0,",  # 12: after the return
        "R9,H1,mon,08:00,150,2000,150,1,155903,40,0,0",  # 13: a field short
        "R10,H1,mon,08:00,150,2000,150,1,155903,abc,0,0,",  # 14: not minutes
        "R11,H1,mon,08:00,150,2000,150,1,155903,40,0,0,",  # 15: fine
        "R11,H1,mon,08:00,150,2000,150,1,155904,50,0,0,",  # 16: stop 1 again
        ",H1,mon,08:00,150,2000,150,1,155904,50,0,0,",  # 17: no route id
        "R12,H1,mon,08:00,150,2000,150,1,155904,40,0,0,",  # 18: fine ...
        "R12,H1,mon,08:00,150,2000,150,2,155904,50,0,0,",  # 19: ... same office twice
    ]
    with pytest.raises(RouteCsvError) as caught:
        read("\n".join(rows) + "\n")
    problems = {p.line: p.reason for p in caught.value.problems}
    assert "increase" in problems[3]
    assert "'frx'" in problems[4]
    assert "HH:MM" in problems[5]
    assert "capacity_parcels must be at least 1" in problems[6]
    assert "six-digit" in problems[7]
    assert "runs_on_holidays must be 0 or 1" in problems[8]
    assert "departure" in problems[9]
    assert "line 2" in problems[9]
    assert "without gaps" in problems[10]
    assert "after the return" in problems[12]
    assert "number of fields" in problems[13]
    assert "minutes" in problems[14]
    assert "stop_seq 1 already on line 15" in problems[16]
    assert "route_id is empty" in problems[17]
    assert "already on line 18" in problems[19]
    assert set(problems) == {3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 16, 17, 19}
    assert "line 3:" in str(caught.value)


def test_csv_checks_references_when_told_what_exists() -> None:
    text = routes_to_csv([route()])
    assert read(text, hubs={"H1"}, offices={"155901", "155902"}) == (route(),)
    with pytest.raises(RouteCsvError, match="unknown hub 'H1'"):
        read(text, hubs={"H2"})
    with pytest.raises(RouteCsvError, match="line 3: unknown office 155902"):
        read(text, offices={"155901"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("route_id,hub_id\nR1,H1\n", "missing columns"),
        (HEADER + ",colour\n", "unknown columns colour"),
        (HEADER + ",route_id\n", "twice"),
    ],
)
def test_csv_refuses_bad_headers(text: str, message: str) -> None:
    with pytest.raises(RouteCsvError, match=message) as caught:
        read(text)
    assert caught.value.problems[0].line == 1


def test_many_problems_are_summarised() -> None:
    rows = [HEADER] + [f"R{i},H1,mon,08:00,0,2000,150,1,155901,40,0,0," for i in range(15)]
    with pytest.raises(RouteCsvError, match="and 5 more") as caught:
        read("\n".join(rows))
    assert len(caught.value.problems) == 15
