"""Pure rules of the office workstation: cells, barcodes typed by a scanner, typed money,
words (money is shown by ``selpo.kit.display.format_roubles``).

Nothing here does I/O; the service loads the state and asks these functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from selpo.kit.lockout import Lockout

# Wrong passwords (``office.auth``): five in a row from one address lock that (login,
# address) pair for a quarter of an hour; fifty in a row from anywhere lock the account for
# every address new to it, a ceiling on guessing from many addresses.
SIGN_IN_LOCKOUT = Lockout(max_failures=5, period=timedelta(minutes=15))
ACCOUNT_LOCKOUT = Lockout(max_failures=50, period=timedelta(minutes=15))

CELL_CLASS_ORDER = ("S", "M", "L")
CELL_RE = re.compile(r"^([SML])-?(\d{1,3})$")

# A scanner types like a keyboard: with the Russian layout on, "S-03" arrives as "Ы-03".
# Each Cyrillic key is mapped back to the Latin letter on the same key (ЙЦУКЕН → QWERTY).
_RU_KEYS = "йцукенгшщзфывапролдячсмитьЙЦУКЕНГШЩЗФЫВАПРОЛДЯЧСМИТЬ"
_EN_KEYS = "qwertyuiopasdfghjklzxcvbnmQWERTYUIOPASDFGHJKLZXCVBNM"
_LAYOUT = str.maketrans(_RU_KEYS, _EN_KEYS)

STATUS_RU: dict[str, str] = {
    "created": "создана, не передана в доставку",
    "handed_over": "передана в доставку",
    "in_transit": "в пути",
    "arrived_at_office": "прибыла в отделение",
    "ready_for_pickup": "ждёт получателя",
    "delivered": "выдана",
    "partially_delivered": "выдана частично",
    "refused": "отказ получателя",
    "storage_expired": "срок хранения истёк",
    "returning": "возвращается отправителю",
    "returned": "возвращена отправителю",
    "recalled": "отозвана отправителем",
    "cancelled": "отменена",
    "lost": "утрачена",
}


def status_ru(status: str) -> str:
    """The Russian words for a shipment status."""
    return STATUS_RU.get(status, status)


def fix_layout(text: str) -> str:
    """Undo the Russian keyboard layout a scanner may have typed a Latin label through."""
    return text.translate(_LAYOUT)


def clean_barcode(raw: str) -> str:
    """A scanned or typed barcode without spaces, dashes or the layout's Cyrillic letters."""
    return fix_layout(raw).strip().replace(" ", "").replace("-", "").upper()


# ---------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell:
    """A storage cell of an office: its label and size class."""

    code: str
    size_class: str

    @property
    def number(self) -> int:
        return int(self.code.split("-")[1])


def cell_code(size_class: str, number: int) -> str:
    """``("S", 3)`` → ``"S-03"``."""
    return f"{size_class}-{number:02d}"


def office_cells(counts: Mapping[str, int]) -> list[Cell]:
    """Every cell of an office with ``counts`` cells per class: S-01.., M-01.., L-01.."""
    return [
        Cell(cell_code(size_class, n), size_class)
        for size_class in CELL_CLASS_ORDER
        for n in range(1, counts.get(size_class, 0) + 1)
    ]


def parse_cell_code(raw: str) -> str | None:
    """A cell label as scanned or typed (``s3``, ``Ы-03``, ``M-12``) in its canonical form."""
    match = CELL_RE.match(fix_layout(raw).strip().upper().replace(" ", ""))
    if match is None:
        return None
    return cell_code(match.group(1), int(match.group(2)))


def classes_from(smallest: str) -> tuple[str, ...]:
    """The cell classes that hold a parcel whose smallest fitting class is ``smallest``."""
    return CELL_CLASS_ORDER[CELL_CLASS_ORDER.index(smallest) :]


def free_cells(cells: Sequence[Cell], occupied: Iterable[str]) -> list[Cell]:
    """The office's cells that hold no parcel, in the office's order."""
    taken = set(occupied)
    return [cell for cell in cells if cell.code not in taken]


def room_by_class(
    cells: Sequence[Cell], occupied: Iterable[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Free and total cells per class, every class named: ``({"S": 3, ...}, {"S": 5, ...})``."""
    total = dict.fromkeys(CELL_CLASS_ORDER, 0)
    free = dict.fromkeys(CELL_CLASS_ORDER, 0)
    for cell in cells:
        total[cell.size_class] += 1
    for cell in free_cells(cells, occupied):
        free[cell.size_class] += 1
    return free, total


def propose_cells(
    parcels: Sequence[tuple[str, str | None]], cells: Sequence[Cell], occupied: Iterable[str]
) -> dict[str, str | None]:
    """Give each parcel ``(key, smallest class or None)`` a free cell, in order.

    A parcel gets the lowest-numbered free cell of its smallest class, else of the next larger
    class; none when nothing fitting is free (or it fits no class). Parcels earlier in the
    list are served first, and no two parcels get the same cell.
    """
    free: dict[str, list[Cell]] = {c: [] for c in CELL_CLASS_ORDER}
    for cell in free_cells(cells, occupied):
        free[cell.size_class].append(cell)
    proposals: dict[str, str | None] = {}
    for key, smallest in parcels:
        chosen: Cell | None = None
        if smallest is not None:
            for size_class in classes_from(smallest):
                if free[size_class]:
                    chosen = free[size_class].pop(0)
                    break
        proposals[key] = chosen.code if chosen else None
    return proposals


# ---------------------------------------------------------------------------- money

_AMOUNT_RE = re.compile(r"^(\d{1,9})(?:[.,](\d{1,2}))?$")


def parse_roubles(raw: str) -> int | None:
    """``"1 500,5"`` → 150050 kopecks; ``None`` when it is not an amount in roubles."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "").replace("₽", "")
    match = _AMOUNT_RE.match(text)
    if match is None:
        return None
    roubles, kopecks = match.group(1), (match.group(2) or "0").ljust(2, "0")
    return int(roubles) * 100 + int(kopecks)


# ---------------------------------------------------------------------------- identity documents

# What a recipient without a pickup code may show, where the marketplace allows the issue
# by document: the code (the webhook's ``document_type``) and its Russian name.
DOCUMENT_TYPES: dict[str, str] = {
    "passport_ru": "паспорт РФ",
    "foreign_passport_ru": "заграничный паспорт РФ",
    "driving_licence": "водительское удостоверение",
    "military_id": "военный билет",
    "foreign_passport": "паспорт иностранного гражданина",
    "residence_permit": "вид на жительство",
}
_DOCUMENT_TAIL_RE = re.compile(r"^[0-9A-ZА-ЯЁ]{4}$")


def document_tail(raw: str) -> str | None:
    """The last four characters of a document's number as typed (``" 12 34"`` → ``"1234"``),
    upper case; ``None`` when they are not four digits or letters."""
    text = raw.strip().replace(" ", "").upper()
    return text if _DOCUMENT_TAIL_RE.match(text) else None


def document_text(document_type: str, last4: str) -> str:
    """``паспорт РФ …1234``: a document as the receipt names it."""
    return f"{DOCUMENT_TYPES.get(document_type, document_type)} …{last4}"


# ---------------------------------------------------------------------------- names and search


def fold_name(text: str) -> str:
    """A name for comparison: case folded, ``ё`` as ``е``, single spaces."""
    return " ".join(text.casefold().replace("ё", "е").split())


def surname_of(name: str | None) -> str:
    """The surname (the first word) of a stored ``Фамилия Имя Отчество``, folded."""
    words = fold_name(name or "").split()
    return words[0] if words else ""


def surname_matches(name: str | None, query: str) -> bool:
    """Whether a recipient's surname is, or begins with, the typed one (``Иванов`` finds
    ``Иванова``): at least ``MIN_SURNAME`` letters, compared folded."""
    typed = fold_name(query)
    return len(typed) >= MIN_SURNAME and surname_of(name).startswith(typed)


def surname_and_initial(name: str | None) -> str:
    """``Иванова Анна Петровна`` → ``Иванова А.``: how a search result names its recipient
    (the clerk asks "Иванова?"; the rest stays hidden)."""
    words = (name or "").split()
    if not words:
        return "—"
    return words[0] if len(words) == 1 else f"{words[0]} {words[1][0]}."


MIN_SURNAME = 3
SEARCH_LIMIT = 20
_SURNAME_RE = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё' -]*$")


@dataclass(frozen=True)
class SearchQuery:
    """What the clerk typed in «Поиск», read: ``kind`` is ``tracking`` (14 digits),
    ``phone`` (the last four digits of the recipient's phone), ``surname`` (letters) or
    ``order`` (anything else: the marketplace's order number); ``text`` is the cleaned
    query. Four digits or a word may also be an order number: the search tries both."""

    kind: str
    text: str


def read_search(raw: str) -> SearchQuery | None:
    """The kind of a search query; ``None`` when it is empty or a surname too short."""
    text = " ".join(raw.strip().split())[:100]
    if not text:
        return None
    digits = text.replace(" ", "").replace("-", "")
    if digits.isdigit() and len(digits) == 14:
        return SearchQuery("tracking", digits)
    if digits.isdigit() and len(digits) == 4:
        return SearchQuery("phone", digits)
    if _SURNAME_RE.match(text):
        if len(fold_name(text)) < MIN_SURNAME:
            return None
        return SearchQuery("surname", text)
    return SearchQuery("order", text)


def receipt_number(office_index: str, year: int, number: int) -> str:
    """How a receipt's number reads: ``155650-2026-000042`` (office, year, serial)."""
    return f"{office_index}-{year}-{number:06d}"


# What the counter does next with a parcel in each status (the step and its Russian verb).
NEXT_STEP: dict[str, tuple[str, str]] = {
    "handed_over": ("acceptance", "принять"),
    "in_transit": ("acceptance", "принять"),
    "arrived_at_office": ("shelving", "разложить"),
    "ready_for_pickup": ("issue", "выдать"),
    "storage_expired": ("returns", "вернуть"),
    "refused": ("returns", "вернуть"),
    "partially_delivered": ("returns", "вернуть"),
}


def next_step(status: str) -> tuple[str | None, str]:
    """``("shelving", "разложить")`` for an arrived parcel; ``(None, "")`` when the counter has
    nothing to do with a parcel in this status."""
    return NEXT_STEP.get(status, (None, ""))
