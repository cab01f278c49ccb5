"""The collection's pure rules: bag codes with a check digit, weights, coupons, act numbers."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from selpo.collection import rules

indexes = st.from_regex(r"[1-9][0-9]{5}", fullmatch=True)
serials = st.integers(min_value=0, max_value=999_999)


@given(indexes, serials)
def test_a_made_code_is_valid_and_keeps_its_office(index: str, serial: int) -> None:
    code = rules.make_bag_code(index, serial)
    assert rules.is_bag_code(code)
    assert len(code) == 15
    assert code.startswith("PB")
    assert code[2:8] == index
    assert rules.spaced_bag_code(code).replace(" ", "") == code


@given(indexes, serials, st.integers(min_value=2, max_value=14), st.integers(1, 9))
def test_one_wrong_digit_is_refused(index: str, serial: int, place: int, shift: int) -> None:
    code = rules.make_bag_code(index, serial)
    wrong = code[:place] + str((int(code[place]) + shift) % 10) + code[place + 1 :]
    assert not rules.is_bag_code(wrong)


@given(indexes, serials, st.integers(min_value=2, max_value=12))
def test_two_swapped_neighbours_are_refused_unless_equal(
    index: str, serial: int, place: int
) -> None:
    code = rules.make_bag_code(index, serial)
    a, b = code[place], code[place + 1]
    swapped = code[:place] + b + a + code[place + 2 :]
    # The 3-1 weights catch a swap unless the two digits differ by 5 (as the tracking numbers').
    if a != b and abs(int(a) - int(b)) != 5:
        assert not rules.is_bag_code(swapped)


def test_a_tracking_number_is_never_a_bag_code() -> None:
    assert not rules.is_bag_code("15565001000017")
    assert not rules.is_bag_code("PB155650")


def test_weights_are_whole_grams_within_the_bounds() -> None:
    assert rules.parse_grams("2 450") == 2450
    assert rules.parse_grams("2,45") is None
    assert rules.parse_grams("") is None
    assert rules.weight_refusal(None) is not None
    assert rules.weight_refusal(rules.MIN_BAG_G - 1) is not None
    assert rules.weight_refusal(rules.MIN_BAG_G) is None
    assert rules.weight_refusal(rules.MAX_BAG_G) is None
    assert rules.weight_refusal(rules.MAX_BAG_G + 1) is not None


@given(st.from_regex(r"[A-Z0-9]{1,8}", fullmatch=True))
def test_coupons_carry_the_prefix_and_no_look_alikes(prefix: str) -> None:
    code = rules.coupon_code(prefix)
    head, _, body = code.rpartition("-")
    assert head == prefix
    assert len(body) == rules.COUPON_LENGTH
    assert not set(body) & set("01OIL")


def test_coupons_from_the_partners_minimum_weight() -> None:
    assert rules.earns_coupon("ECO", 1000, 1000)
    assert not rules.earns_coupon("ECO", 1000, 999)
    assert not rules.earns_coupon(None, 0, 5000)


def test_act_numbers_and_ranges() -> None:
    assert rules.act_number(2026, 42) == "CA-2026-000042"
    assert rules.range_refusal(date(2026, 1, 2), date(2026, 1, 1)) is not None
    assert rules.range_refusal(date(2026, 1, 1), date(2026, 4, 2)) is None  # 92 days
    assert rules.range_refusal(date(2026, 1, 1), date(2026, 4, 3)) is not None


@given(st.lists(st.sampled_from([*rules.BAG_STATUSES, "lost"]), max_size=12))
def test_a_bag_only_moves_forward_whatever_the_steps(steps: list[str]) -> None:
    status = rules.AT_OFFICE
    furthest = 0
    for step in steps:
        status = rules.next_status(status, step)
        if step in rules.BAG_STATUSES:
            furthest = max(furthest, rules.BAG_STATUSES.index(step))
        assert rules.BAG_STATUSES.index(status) == furthest
    if rules.DELIVERED in steps:
        assert status == rules.DELIVERED
