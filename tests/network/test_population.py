"""Spreading census totals over known places keeps every district's total."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from selpo.network.population import (
    CENSUS_2021,
    SPREAD,
    CensusUnit,
    KnownPlace,
    apportion,
    poselenie_stem,
    spread_census_population,
)


def test_stem_of_a_poselenie_names_its_village() -> None:
    assert poselenie_stem("Кромское сельское поселение") == "кром"
    assert poselenie_stem("Симаковское сельское поселение") == "симаков"


def test_poselenie_total_goes_to_its_village_and_the_rest_to_the_others() -> None:
    places = [
        KnownPlace(1, "Район", "Лух", None, None),
        KnownPlace(2, "Район", "Кромы", None, None),
        KnownPlace(3, "Район", "Дальнее", None, None),
    ]
    result = spread_census_population(
        places,
        {"Район": 5000},
        {("Район", "лух"): 2500},
        [CensusUnit("Район", "Кромское сельское поселение", 431, True)],
    )
    assert result.places[1].population == 2500
    assert result.places[1].basis == CENSUS_2021
    assert result.places[2].population == 431
    assert result.places[2].basis == SPREAD
    assert result.places[3].population == 5000 - 2500 - 431
    assert result.places[3].is_estimate


def test_old_figures_are_scaled_down_when_people_left() -> None:
    places = [
        KnownPlace(1, "Район", "Старое", 900, "census_2010"),
        KnownPlace(2, "Район", "Новое", 300, "census_2010"),
    ]
    result = spread_census_population(places, {"Район": 600}, {}, [])
    assert result.places[1].population + result.places[2].population == 600
    assert result.places[1].basis == "census_2010_scaled_to_census2021"


@given(st.integers(0, 10**6), st.lists(st.floats(0, 1000), min_size=1, max_size=30))
def test_apportion_is_exact(total: int, weights: list[float]) -> None:
    shares = apportion(total, weights)
    assert sum(shares) == total
    assert all(s >= 0 for s in shares)


@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B"]), st.one_of(st.none(), st.integers(0, 5000))),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 200_000),
    st.integers(0, 200_000),
)
def test_district_totals_always_hold(
    rows: list[tuple[str, int | None]], total_a: int, total_b: int
) -> None:
    places = [
        KnownPlace(i, district, f"Place{i}", figure, "census_2010" if figure else None)
        for i, (district, figure) in enumerate(rows)
    ]
    totals = {"A": total_a, "B": total_b}
    result = spread_census_population(places, totals, {}, [])
    for district, total in totals.items():
        members = [p.key for p in places if p.district == district]
        if members:
            assert sum(result.places[k].population for k in members) == total
            assert district not in result.unplaced
        else:
            assert result.unplaced.get(district, 0) == total
