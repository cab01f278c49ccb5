"""The payout arithmetic and the day's closing, as properties: the shipments' fees add up to
the day's fee, each within a kopeck of its exact share and never above what it collected, and
what is transferred is what was collected less the fee."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selpo.notify.events import CATALOGUE
from selpo.payout import rules
from selpo.payout.schemas import PayoutReport

RATES = st.integers(min_value=0, max_value=rules.MAX_FEE_BP)
AMOUNTS = st.integers(min_value=1, max_value=10_000_000_00)  # up to 10 million roubles
DAYS = st.lists(
    st.tuples(st.text("0123456789", min_size=14, max_size=14), AMOUNTS),
    max_size=60,
    unique_by=lambda row: row[0],
)
ZONES = st.lists(
    st.sampled_from(
        [
            "Europe/Kaliningrad",
            "Europe/Moscow",
            "Europe/Samara",
            "Asia/Yekaterinburg",
            "Asia/Novosibirsk",
            "Asia/Vladivostok",
            "Asia/Kamchatka",
            "UTC",
        ]
    ),
    min_size=1,
    max_size=4,
)


@given(DAYS, RATES)
def test_the_shipments_fees_add_up_to_the_days_fee(day: list[tuple[str, int]], bp: int) -> None:
    fees = rules.split_fee(day, bp)
    collected = sum(kop for _, kop in day)
    assert sum(fees) == rules.day_fee(collected, bp)
    # The day's fee is the rate on the day's total, rounded half up.
    exact_day = Fraction(collected * bp, rules.BASIS)
    assert abs(rules.day_fee(collected, bp) - exact_day) <= Fraction(1, 2)
    for (_, kop), fee in zip(day, fees, strict=True):
        exact = Fraction(kop * bp, rules.BASIS)
        assert abs(fee - exact) < 1
        assert 0 <= fee <= kop
        assert kop - fee >= 0  # what is transferred for it


@given(DAYS, RATES, st.randoms(use_true_random=False))
def test_a_shipments_fee_does_not_depend_on_the_order_it_is_listed_in(
    day: list[tuple[str, int]], bp: int, rnd: object
) -> None:
    shuffled = list(day)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    fees = dict(zip((n for n, _ in day), rules.split_fee(day, bp), strict=True))
    again = dict(zip((n for n, _ in shuffled), rules.split_fee(shuffled, bp), strict=True))
    assert fees == again


def test_the_leftover_kopecks_go_to_the_largest_remainders() -> None:
    # 1.5 % of 3 × 1 rouble 1 kopeck: exact 1.515 each, 4.545 in all -> 5 kopecks for the day.
    fees = rules.split_fee([("B", 101), ("A", 101), ("C", 101)], 150)
    assert sum(fees) == 5
    assert fees == [2, 2, 1]  # ties by tracking number: A and B get the extra kopecks


@given(RATES)
def test_a_rate_reads_back_as_it_is_shown(bp: int) -> None:
    assert rules.parse_fee_rate(rules.fee_rate_text(bp)) == bp
    assert rules.parse_fee_rate(rules.fee_rate_percent(bp)) == bp


@pytest.mark.parametrize(
    ("text", "bp"),
    [("1.5%", 150), ("0.015", 150), (" 2 % ", 200), ("0,5%", 50), ("0", 0), ("100%", 10_000)],
)
def test_rates_as_the_operator_writes_them(text: str, bp: int) -> None:
    assert rules.parse_fee_rate(text) == bp


@pytest.mark.parametrize("text", ["", "%", "abc", "1.005%", "101%", "-0.5%", "inf", "NaN"])
def test_rates_that_are_refused(text: str) -> None:
    with pytest.raises(rules.BadFeeRate):
        rules.parse_fee_rate(text)


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
    ),
    ZONES,
)
def test_the_last_closed_day_is_closed_and_the_next_is_not(now: datetime, zones: list[str]) -> None:
    day = rules.last_closed_day(now, zones)
    assert rules.closes_at(day, zones) <= now
    assert rules.closes_at(day + timedelta(days=1), zones) > now


def test_a_day_closes_after_the_westernmost_midnight_and_the_grace() -> None:
    closes = rules.closes_at(date(2026, 11, 25), ["Asia/Vladivostok", "Europe/Kaliningrad"])
    # Kaliningrad (UTC+2) is the last to reach midnight: 22:00 UTC, then two hours' grace.
    assert closes == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)


def test_ranges() -> None:
    first = date(2026, 11, 1)
    assert rules.check_range(first, first) is None
    assert rules.check_range(first, first + timedelta(days=91)) is None
    assert rules.check_range(first, first + timedelta(days=92)) is not None
    assert rules.check_range(first, first - timedelta(days=1)) is not None


def test_the_openapi_example_is_real_arithmetic() -> None:
    example = PayoutReport.model_json_schema(mode="serialization")["examples"][0]
    report = PayoutReport.model_validate(example)
    for day in report.days:
        bp = rules.parse_fee_rate(day.fee_rate)
        shipments = [(s.tracking_number, s.collected_kop) for s in day.shipments]
        assert [s.fee_kop for s in day.shipments] == rules.split_fee(shipments, bp)
        assert day.fee_kop == rules.day_fee(day.collected_kop, bp)
        assert day.collected_kop == day.cash_kop + day.card_kop
        assert day.to_transfer_kop == day.collected_kop - day.fee_kop - day.refunded_kop
    assert report.totals.to_transfer_kop == sum(d.to_transfer_kop for d in report.days)
    event = CATALOGUE["payout.ready"].example
    assert event["fee_kop"] == rules.day_fee(event["collected_kop"], 150)
    assert event["to_transfer_kop"] == (
        event["collected_kop"] - event["fee_kop"] - event["refunded_kop"]
    )
