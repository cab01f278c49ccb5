"""The office's pure rules: cells, scanner input, typed money."""

from __future__ import annotations

from datetime import timedelta

import pytest

from selpo.office.rules import (
    ACCOUNT_LOCKOUT,
    SIGN_IN_LOCKOUT,
    Cell,
    clean_barcode,
    free_cells,
    office_cells,
    parse_cell_code,
    parse_roubles,
    propose_cells,
    room_by_class,
)
from selpo.shipment.rules import cod_due


def test_cells_are_named_by_class_and_number() -> None:
    cells = office_cells({"S": 2, "M": 1, "L": 0})
    assert [c.code for c in cells] == ["S-01", "S-02", "M-01"]
    assert cells[1] == Cell("S-02", "S")


@pytest.mark.parametrize(
    ("typed", "cell"),
    [
        ("S-03", "S-03"),
        ("s3", "S-03"),
        ("Ы-03", "S-03"),  # the scanner typed through the Russian layout
        ("ь12", "M-12"),
        (" L-1 ", "L-01"),
        ("X-01", None),
        ("", None),
        ("S-", None),
    ],
)
def test_cell_labels_are_read_whatever_the_keyboard_layout(typed: str, cell: str | None) -> None:
    assert parse_cell_code(typed) == cell


def test_barcodes_lose_spaces_and_dashes() -> None:
    assert clean_barcode(" 153950 11 00001-4 ") == "15395011000014"


def test_each_parcel_gets_the_smallest_free_cell_that_holds_it() -> None:
    cells = office_cells({"S": 2, "M": 1, "L": 1})
    proposals = propose_cells(
        [("a", "S"), ("b", "S"), ("c", "S"), ("d", "M"), ("e", "L"), ("f", None)],
        cells,
        occupied={"S-01"},
    )
    assert proposals == {"a": "S-02", "b": "M-01", "c": "L-01", "d": None, "e": None, "f": None}


@pytest.mark.parametrize(
    ("typed", "kopecks"),
    [("1500", 150000), ("1500,5", 150050), ("1 500.05", 150005), ("0", 0), ("12,345", None)],
)
def test_roubles_are_parsed_to_kopecks(typed: str, kopecks: int | None) -> None:
    assert parse_roubles(typed) == kopecks


def test_cod_is_due_in_proportion_to_what_is_taken() -> None:
    lines = [(10000, 1, 0), (25000, 2, 1)]  # a mug, and one of two plates back
    assert cod_due(60000, 60000, lines) == 35000
    assert cod_due(60000, 60000, [(10000, 1, 0), (25000, 2, 0)]) == 60000
    assert cod_due(0, 60000, lines) == 0


def test_room_counts_free_and_total_cells_per_class() -> None:
    cells = office_cells({"S": 3, "M": 1, "L": 0})
    free, total = room_by_class(cells, {"S-02", "M-01"})
    assert free == {"S": 2, "M": 0, "L": 0}
    assert total == {"S": 3, "M": 1, "L": 0}
    assert [c.code for c in free_cells(cells, {"S-02", "M-01"})] == ["S-01", "S-03"]


def test_a_clerk_gets_five_tries_from_one_address_and_fifty_in_all() -> None:
    assert (SIGN_IN_LOCKOUT.max_failures, SIGN_IN_LOCKOUT.period) == (5, timedelta(minutes=15))
    assert (ACCOUNT_LOCKOUT.max_failures, ACCOUNT_LOCKOUT.period) == (50, timedelta(minutes=15))
