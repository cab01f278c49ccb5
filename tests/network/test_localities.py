"""Scaling source populations to census totals: the pure kernel behind every region's demand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selpo.network.localities import apportion, normalised_name, scale_to_total

Group = tuple[int, list[int], list[int | None]]

figures = st.lists(st.integers(min_value=0, max_value=2_000_000), min_size=1, max_size=40)


@st.composite
def groups(draw: st.DrawFn) -> tuple[int, list[int], list[int | None]]:
    """A municipality: source figures, some places named by the census, a census total."""
    raw = draw(figures)
    fixed = [draw(st.one_of(st.none(), st.integers(0, 500_000))) for _ in raw]
    total = draw(st.integers(min_value=0, max_value=5_000_000))
    return total, raw, fixed


@given(groups())
def test_the_figures_sum_exactly_to_the_census_total(group: Group) -> None:
    total, raw, fixed = group
    scaled = scale_to_total(total, raw, fixed)
    assert sum(scaled.figures) == total
    assert scaled.unplaced == 0


@given(groups())
def test_no_place_gets_a_negative_figure(group: Group) -> None:
    total, raw, fixed = group
    assert all(f >= 0 for f in scale_to_total(total, raw, fixed).figures)


@given(groups())
def test_places_the_census_names_keep_their_figure_when_the_total_allows(group: Group) -> None:
    total, raw, fixed = group
    if sum(f or 0 for f in fixed) > total:
        return
    scaled = scale_to_total(total, raw, fixed).figures
    free_weight = sum(r for r, f in zip(raw, fixed, strict=True) if f is None)
    for figure, census in zip(scaled, fixed, strict=True):
        if census is not None and free_weight > 0:
            assert figure == census


@given(groups())
def test_an_empty_village_stays_empty_while_someone_else_can_take_the_people(group: Group) -> None:
    total, raw, fixed = group
    free_weight = sum(r for r, f in zip(raw, fixed, strict=True) if f is None)
    if free_weight == 0 or sum(f or 0 for f in fixed) > total:
        return
    scaled = scale_to_total(total, raw, fixed).figures
    for figure, source, census in zip(scaled, raw, fixed, strict=True):
        if census is None and source == 0:
            assert figure == 0


@given(st.integers(0, 10_000_000), figures)
def test_the_others_share_the_rest_in_proportion_to_their_source_figures(
    total: int, raw: list[int]
) -> None:
    if sum(raw) == 0:
        return
    scaled = scale_to_total(total, raw, [None] * len(raw)).figures
    for figure, source in zip(scaled, raw, strict=True):
        exact = total * source / sum(raw)
        assert abs(figure - exact) < 1


def test_a_town_keeps_its_census_figure_and_the_villages_share_the_rest() -> None:
    # A district of 10,000: the town counted 6,000; two villages of 300 and 100 (2010) and
    # an abandoned one share the other 4,000 as 3:1.
    scaled = scale_to_total(10_000, [7_000, 300, 100, 0], [6_000, None, None, None])
    assert scaled.figures == [6_000, 3_000, 1_000, 0]


def test_when_no_other_place_has_people_the_rest_goes_to_the_census_places() -> None:
    assert scale_to_total(1_000, [0, 0], [900, None]).figures == [1_000, 0]


def test_when_the_census_places_exceed_the_total_they_are_scaled_down() -> None:
    assert scale_to_total(100, [5, 5], [150, 50]).figures == [75, 25]


def test_an_empty_group_leaves_its_total_unplaced() -> None:
    scaled = scale_to_total(500, [], [])
    assert scaled.figures == []
    assert scaled.unplaced == 500


def test_apportion_refuses_a_negative_total() -> None:
    with pytest.raises(ValueError, match="negative"):
        apportion(-1, [1])


def test_apportion_splits_evenly_when_every_weight_is_zero() -> None:
    assert apportion(5, [0, 0, 0]) == [2, 2, 1]


def test_names_compare_without_case_yo_hyphens_or_spaces() -> None:
    assert normalised_name("Ново-Талицы") == normalised_name("новоталицы")
    assert normalised_name("Орёл") == normalised_name("ОРЕЛ")
