"""Pure rules: what fits an office, opening hours, defaults by office kind."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selpo.network.rules import (
    CELL_CLASSES,
    OfficeCapacity,
    OfficeKind,
    ParcelSize,
    is_open_at,
    office_defaults,
    parcel_fits,
    parcel_refusal,
    smallest_cell_class,
    validate_opening_hours,
)

RURAL = office_defaults(OfficeKind.RURAL)
RURAL_CAPACITY = OfficeCapacity.of(RURAL)

parcels = st.builds(
    ParcelSize,
    weight_g=st.integers(1, 30_000),
    length_mm=st.integers(1, 800),
    width_mm=st.integers(1, 800),
    height_mm=st.integers(1, 800),
)
offices = st.builds(
    OfficeCapacity,
    max_weight_g=st.integers(1_000, 30_000),
    max_length_mm=st.integers(100, 800),
    max_width_mm=st.integers(100, 800),
    max_height_mm=st.integers(100, 800),
    cells_s=st.integers(0, 60),
    cells_m=st.integers(0, 40),
    cells_l=st.integers(0, 15),
)


class TestParcelFits:
    def test_small_parcel_takes_the_smallest_cell(self) -> None:
        parcel = ParcelSize(1200, 300, 200, 100)
        cell = smallest_cell_class(parcel, RURAL_CAPACITY)
        assert cell is not None
        assert cell.code == "S"
        assert parcel_fits(parcel, RURAL_CAPACITY)

    def test_orientation_does_not_matter(self) -> None:
        assert parcel_fits(ParcelSize(1000, 100, 580, 390), RURAL_CAPACITY)

    def test_too_heavy_for_a_village_office(self) -> None:
        assert not parcel_fits(ParcelSize(16_000, 300, 200, 100), RURAL_CAPACITY)

    def test_too_long_for_every_cell(self) -> None:
        assert not parcel_fits(ParcelSize(1000, 700, 100, 100), RURAL_CAPACITY)

    def test_office_without_large_cells_refuses_a_large_parcel(self) -> None:
        no_large = OfficeCapacity(20_000, 600, 400, 400, cells_s=5, cells_m=5, cells_l=0)
        assert not parcel_fits(ParcelSize(1000, 500, 350, 350), no_large)

    @given(
        st.integers(1, 30_000),
        st.integers(1, 800),
        st.integers(1, 800),
        st.integers(1, 800),
    )
    def test_fitting_means_a_cell_holds_it_and_weight_is_within(
        self, weight: int, a: int, b: int, c: int
    ) -> None:
        parcel = ParcelSize(weight, a, b, c)
        fits = parcel_fits(parcel, RURAL_CAPACITY)
        dims = sorted((a, b, c), reverse=True)
        some_cell = any(
            all(
                d <= s
                for d, s in zip(
                    dims, sorted((k.length_mm, k.width_mm, k.height_mm), reverse=True), strict=True
                )
            )
            for k in CELL_CLASSES
        )
        assert fits == (weight <= RURAL.max_weight_g and some_cell)


class TestTheFitRule:
    """``parcel_refusal`` is the one rule every caller asks (creation, quotes, the counter,
    the pickup-point search); these are its properties over any parcel and any office."""

    @given(parcels, offices)
    def test_fits_exactly_when_nothing_refuses_it(
        self, parcel: ParcelSize, office: OfficeCapacity
    ) -> None:
        assert parcel_fits(parcel, office) == (parcel_refusal(parcel, office) is None)

    @given(parcels, offices, st.permutations([0, 1, 2]))
    def test_turning_a_parcel_never_changes_the_answer(
        self, parcel: ParcelSize, office: OfficeCapacity, order: list[int]
    ) -> None:
        dims = (parcel.length_mm, parcel.width_mm, parcel.height_mm)
        turned = ParcelSize(parcel.weight_g, *(dims[i] for i in order))
        assert parcel_refusal(turned, office) == parcel_refusal(parcel, office)
        assert smallest_cell_class(turned, office) == smallest_cell_class(parcel, office)

    @given(parcels, offices, st.floats(0.1, 1.0))
    def test_a_smaller_lighter_parcel_fits_wherever_a_larger_one_does(
        self, parcel: ParcelSize, office: OfficeCapacity, shrink: float
    ) -> None:
        smaller = ParcelSize(
            max(1, int(parcel.weight_g * shrink)),
            max(1, int(parcel.length_mm * shrink)),
            max(1, int(parcel.width_mm * shrink)),
            max(1, int(parcel.height_mm * shrink)),
        )
        if parcel_fits(parcel, office):
            assert parcel_fits(smaller, office)

    @given(parcels, offices)
    def test_the_weight_is_judged_first_and_names_its_field(
        self, parcel: ParcelSize, office: OfficeCapacity
    ) -> None:
        refusal = parcel_refusal(parcel, office)
        if parcel.weight_g > office.max_weight_g:
            assert refusal is not None
            assert refusal.field == "weight_g"
            assert refusal.reason("155900", parcel.weight_g) == (
                f"{parcel.weight_g} g exceeds office 155900's limit of {office.max_weight_g} g"
            )
        elif refusal is not None:
            assert refusal.field == "length_mm"
            assert refusal.reason("155900", parcel.weight_g).startswith("the parcel does not fit")

    @given(parcels, offices)
    def test_the_chosen_cell_is_the_smallest_the_office_has_that_holds_it(
        self, parcel: ParcelSize, office: OfficeCapacity
    ) -> None:
        chosen = smallest_cell_class(parcel, office)
        dims = sorted((parcel.length_mm, parcel.width_mm, parcel.height_mm))
        for cell in CELL_CLASSES:
            holds = office.cell_counts[cell.code] > 0 and all(
                d <= s
                for d, s in zip(
                    dims, sorted((cell.length_mm, cell.width_mm, cell.height_mm)), strict=True
                )
            )
            if cell == chosen:
                assert holds
                break
            assert not holds  # no smaller class of this office would have done
        else:
            assert chosen is None

    def test_an_office_holds_as_many_parcels_as_it_has_cells(self) -> None:
        office = OfficeCapacity(20_000, 600, 400, 400, cells_s=60, cells_m=40, cells_l=15)
        assert office.cells == 115
        assert office.cell_counts == {"S": 60, "M": 40, "L": 15}


class TestOpeningHours:
    def test_village_office_closes_for_lunch(self) -> None:
        hours = RURAL.opening_hours
        # Tuesday 2026-11-24: 12:30 and 14:30 Moscow time are open, 13:30 is lunch.
        assert is_open_at(hours, "Europe/Moscow", datetime(2026, 11, 24, 9, 30, tzinfo=UTC))
        assert not is_open_at(hours, "Europe/Moscow", datetime(2026, 11, 24, 10, 30, tzinfo=UTC))
        assert is_open_at(hours, "Europe/Moscow", datetime(2026, 11, 24, 11, 30, tzinfo=UTC))

    def test_village_office_is_shut_on_monday(self) -> None:
        monday_noon = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        assert not is_open_at(RURAL.opening_hours, "Europe/Moscow", monday_noon)

    def test_closing_minute_is_already_closed(self) -> None:
        # 17:00 Moscow is 14:00 UTC; the interval is [09:00, 13:00) and [14:00, 17:00).
        at_close = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
        assert not is_open_at(RURAL.opening_hours, "Europe/Moscow", at_close)

    @pytest.mark.parametrize(
        ("hours", "message"),
        [
            ([[]] * 6, "7 days"),
            ([[["10:00", "09:00"]]] + [[]] * 6, "not before"),
            ([[["09:00", "13:00"], ["12:00", "17:00"]]] + [[]] * 6, "overlap"),
            ([[["9:00", "13:00"]]] + [[]] * 6, "HH:MM"),
        ],
    )
    def test_malformed_hours_are_refused(self, hours: list[list[list[str]]], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            validate_opening_hours(hours)

    def test_every_default_is_valid(self) -> None:
        for kind in OfficeKind:
            hours = office_defaults(kind).opening_hours
            assert validate_opening_hours(hours) == hours
