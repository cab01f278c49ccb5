"""What the office screens show: read models built by the service, rendered by the pages.

Recipient names and phones arrive here masked, except ``IssueView.recipient_full`` which the
service fills only once the pickup code was checked (the clerk compares it with an ID).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class OfficeRef(_View):
    """An office as named on screens."""

    index: str
    name: str
    timezone: str
    accepts_cash: bool
    accepts_card: bool
    address: str = ""


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


class ArrivingRun(_View):
    """A route run whose van reaches the office today, as the acceptance offers it."""

    id: str  # <route_code>@<departure, UTC ISO 8601>: the run as logistics names it
    route_code: str
    departure: datetime
    arrival_at: datetime  # the van at this office, by the timetable
    parcels: int  # on its manifest for this office
    departed: bool  # the van has left the hub (the manifest is final)
    acceptance_id: int | None = None  # an acceptance of this run already made here


class AcceptanceReport(_View):
    """The discrepancy report of a closed acceptance, per parcel (per place of an order of
    several): what the run's manifest carried and what was scanned."""

    accepted: list[ScanRow]  # on the manifest and scanned (outside a run: every own parcel)
    missing: list[ScanRow]  # on the manifest, not scanned
    extra: list[ScanRow]  # this office's, not on the manifest: accepted all the same
    missorted: list[ScanRow]  # another office's: back to delivery (recorded as mis-sorted)
    unexpected: list[ScanRow]  # unknown numbers, parcels in a status that cannot arrive
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
    run: ArrivingRun | None  # the route run accepted; None: a delivery outside any run
    scans: list[ScanRow]  # newest first
    expected: list[ParcelLine]  # on the manifest, still to scan (open acceptances only)
    accepted_count: int
    extra_count: int
    missorted_count: int
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
    # The marketplace allows the issue on an identity document when there is no code.
    document_allowed: bool = False
    document_types: dict[str, str] = Field(default_factory=dict)
    identified_by_document: str | None = None  # «паспорт РФ …1234» once checked


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
    number: str | None = None  # None: issued before receipts had numbers
    identification: str | None = None  # «паспорт РФ …1234» when issued on a document


class NextStep(_View):
    """Where a parcel scanned anywhere (the start screen, «Поиск») goes next: ``step`` is
    ``acceptance`` (scanned into the open acceptance), ``acceptance_start`` (none open: start
    one), ``shelving``, ``issue`` (ask for the phone digits or the code), ``returns``, or
    ``parcel`` (nothing to do at the counter: shown in «Поиск»)."""

    step: str
    tracking_number: str
    message: str | None = None
    tone: str = "ok"
    acceptance_id: int | None = None


class FoundParcel(_View):
    """A parcel found by «Поиск»: the recipient as «Иванова А.», the phone masked, and what
    the counter does with it next (``step`` as in ``NextStep``; ``None``: nothing)."""

    tracking_number: str
    marketplace: str
    order_id: str
    recipient: str
    phone: str
    status: str
    status_text: str
    cell: str | None
    storage_deadline: datetime | None
    cod_kop: int
    step: str | None
    step_text: str


class SearchView(_View):
    """«Поиск»: what was typed, how it was read, and the office's parcels it found."""

    query: str
    kind: str | None  # tracking | phone | surname | order; None: nothing to search
    results: list[FoundParcel]
    message: str | None = None
    limited: bool = False  # more than shown: the clerk narrows the search


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
    # Buyers' returns taken that day, and the cash paid back for them (out of the drawer).
    customer_returns: int = 0
    refunded_kop: int = 0
    free_by_class: dict[str, int]
    total_by_class: dict[str, int]
    acceptances: list[AcceptanceSummary]
    generated_at: datetime
