"""What the office screens show: read models built by the service, rendered by the pages.

Recipient names and phones arrive here masked, except ``IssueView.recipient_full`` which the
service fills only once the pickup code was checked (the clerk compares it with an ID).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class OfficeRef(_View):
    """An office as named on screens."""

    index: str
    name: str
    timezone: str
    accepts_cash: bool
    accepts_card: bool


class ParcelLine(_View):
    """A parcel in a list."""

    tracking_number: str
    marketplace: str
    order_id: str
    recipient: str
    phone: str
    status: str
    status_text: str
    size_class: str | None = None
    cell: str | None = None
    weight_g: int
    cod_kop: int
    storage_deadline: datetime | None = None
    damaged: bool = False
    places: int = 1  # of the order (each place has its own barcode)
    note: str | None = None  # what the clerk still has to do (the other places of an order)


class HomeView(_View):
    """The start screen's counters."""

    expected: int
    to_shelve: int
    ready: int
    to_return: int
    free_cells: int
    total_cells: int
    open_acceptance_id: int | None


# ---------------------------------------------------------------------------- acceptance


class ScanRow(_View):
    """One scan of an acceptance and what it found."""

    id: int
    barcode: str
    result: str
    tone: str  # ok | warn | error
    message: str
    damaged: bool
    scanned_at: datetime
    clerk: str
    parcel: ParcelLine | None = None


class AcceptanceReport(_View):
    """The discrepancy report of a closed acceptance."""

    accepted: list[ScanRow]
    missing: list[ScanRow]
    unexpected: list[ScanRow]
    damaged: list[ScanRow]
    unreadable: list[ScanRow]


class AcceptanceView(_View):
    """An acceptance: open (scanning) or closed (with its report)."""

    id: int
    status: str
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    scans: list[ScanRow]  # newest first
    expected: list[ParcelLine]  # still expected (open acceptances only)
    accepted_count: int
    unexpected_count: int
    damaged_count: int
    error_count: int
    report: AcceptanceReport | None = None


class AcceptanceSummary(_View):
    """An acceptance in a list."""

    id: int
    status: str
    opened_at: datetime
    closed_at: datetime | None
    accepted: int
    missing: int
    unexpected: int
    damaged: int


# ---------------------------------------------------------------------------- shelving


class CellState(_View):
    """A cell on the cell map."""

    code: str
    size_class: str
    state: str  # free | ready | expired (any parcel waiting to go back: kept until loaded)
    parcel: str | None = None  # last digits of the tracking number in it


class ShelfParcel(_View):
    """A parcel waiting to be shelved, with the cell proposed for it."""

    parcel: ParcelLine
    proposed_cell: str | None
    problem: str | None = None


class ShelvingView(_View):
    """Parcels to shelve and the cell map."""

    pending: list[ShelfParcel]
    cells: list[CellState]
    free_by_class: dict[str, int]
    total_by_class: dict[str, int]


class Shelved(_View):
    """A parcel just shelved (its pickup code went by SMS only)."""

    tracking_number: str
    cell: str
    sms_queued: bool


# ---------------------------------------------------------------------------- issue


class IssueItem(_View):
    """An order line at the counter."""

    position: int
    sku: str
    name: str
    quantity: int
    price_kop: int
    refused_quantity: int = 0

    @property
    def taken_quantity(self) -> int:
        return self.quantity - self.refused_quantity

    @property
    def total_kop(self) -> int:
        return self.price_kop * self.quantity


class IssueView(_View):
    """A parcel found at the counter."""

    parcel: ParcelLine
    items: list[IssueItem]
    verified: bool
    recipient_full: str | None
    partial_allowed: bool
    code_locked_until: datetime | None
    code_lock_message: str | None  # until when (local time) and after how many wrong codes
    ready_at: datetime | None


class PaymentView(_View):
    """What the recipient takes, refuses and pays."""

    parcel: ParcelLine
    taken: list[IssueItem]
    refused: list[IssueItem]
    due_kop: int
    accepts_cash: bool
    accepts_card: bool

    @property
    def refused_field(self) -> str:
        """The refused items as the form carries them: ``position:quantity,...``."""
        return ",".join(f"{i.position}:{i.refused_quantity}" for i in self.refused)


class IssueOutcome(_View):
    """What a search or a code check at the counter led to."""

    tracking_number: str | None = None
    message: str | None = None
    tone: str = "ok"


class ReceiptView(_View):
    """The printable receipt of an issue."""

    office: OfficeRef
    parcel: ParcelLine
    taken: list[IssueItem]
    refused: list[IssueItem]
    issued_at: datetime | None
    clerk: str
    due_kop: int
    method: str | None
    received_kop: int | None
    change_kop: int | None


# ---------------------------------------------------------------------------- returns and day


class ReturnsView(_View):
    """Parcels to send back, and those already on their way back."""

    to_return: list[ParcelLine]
    returning: list[ParcelLine]


class CashLine(_View):
    """Cash on delivery collected for one marketplace by one method."""

    marketplace: str
    method: str
    parcels: int
    total_kop: int


class DayReport(_View):
    """The end-of-day report of an office."""

    day: date
    received: int
    issued: int
    issued_partly: int
    refused: int
    expired: int
    returned: int
    waiting: int
    waiting_return: int
    cash: list[CashLine]
    cash_total_kop: int
    card_total_kop: int
    free_by_class: dict[str, int]
    total_by_class: dict[str, int]
    acceptances: list[AcceptanceSummary]
    generated_at: datetime
