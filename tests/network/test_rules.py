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
    smallest_cell_class,
    validate_opening_hours,
)

RURAL = office_defaults(OfficeKind.RURAL)
RURAL_CAPACITY = OfficeCapacity(
    max_weight_g=RURAL.max_weight_g,
    max_length_mm=RURAL.max_length_mm,
    max_width_mm=RURAL.max_width_mm,
    max_height_mm=RURAL.max_height_mm,
    cells_s=RURAL.cells_s,
    cells_m=RURAL.cells_m,
    cells_l=RURAL.cells_l,
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
