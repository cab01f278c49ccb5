"""The office workstation's use cases: acceptance, shelving, issue, returns, the day's report.

Every status change goes through ``selpo.shipment.service`` (the lifecycle, the tracking
events, the webhooks and SMS). Services flush, never commit. Refusals are ``DomainError``
subclasses with a Russian sentence for the clerk, raised *before* anything changes; the two
refusals that must be remembered (a wrong pickup code, a wrong code at the code search) are
returned as outcomes instead, so the request's transaction keeps the count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from selpo.config import Settings
from selpo.kit.display import (
    format_local_date,
    format_local_datetime,
    format_local_time,
    format_roubles,
    local_day,
    plural,
)
from selpo.kit.lockout import Lockout
from selpo.kit.phone import mask_phone
from selpo.logistics import way_back
from selpo.models import (
    Acceptance,
    AcceptanceScan,
    IssueReceipt,
    Marketplace,
    PostOffice,
    ShelvingScan,
    Shipment,
    ShipmentItem,
)
from selpo.network.rules import OfficeCapacity, ParcelSize, smallest_cell_class
from selpo.office import repository
from selpo.office.auth import Workstation
from selpo.office.errors import (
    BadBarcode,
    CellRefused,
    CodeRefused,
    IssueRefused,
    NoFreeCell,
    ParcelNotFound,
    ParcelNotHere,
    RunRefused,
    ScanTimeRefused,
)
from selpo.office.rules import (
    DOCUMENT_TYPES,
    SEARCH_LIMIT,
    Cell,
    SearchQuery,
    classes_from,
    clean_barcode,
    document_tail,
    document_text,
    fold_name,
    next_step,
    office_cells,
    parse_cell_code,
    propose_cells,
    read_search,
    receipt_number,
    room_by_class,
    status_ru,
    surname_and_initial,
    surname_matches,
    surname_of,
)
from selpo.office.schemas import (
    AcceptanceReport,
    AcceptanceSummary,
    AcceptanceView,
    ArrivingRun,
    CashLine,
    CellState,
    DayReport,
    FoundParcel,
    HomeView,
    IssueItem,
    IssueOutcome,
    IssueView,
    NextStep,
    OfficeRef,
    ParcelLine,
    PaymentView,
    ReceiptView,
    ReturnsView,
    ScanRow,
    SearchView,
    ShelfParcel,
    Shelved,
    ShelvingView,
)
from selpo.returns import recall
from selpo.shipment import service as shipment_service
from selpo.shipment.errors import PickupCodeLocked, WrongPickupCode
from selpo.shipment.places import TRAVELLING
from selpo.shipment.rules import cod_due, mask_name, pickup_code_matches, read_pickup_qr
from selpo.shipment.schemas import PlaceRead
from selpo.shipment.service import PickupPolicy
from selpo.shipment.tracking import TRACKING_RE, check_digit

# How far a scan time sent by the counter's queue may run ahead of the server's clock (or
# before the acceptance began, the parcel arrived): the counter's clock is not the server's.
SCAN_TIME_SKEW = timedelta(minutes=5)
# A checked pickup code opens the issue of its parcel for this long on this workstation.
VERIFIED_FOR = timedelta(minutes=30)
UNEXPECTED = ("other_office", "wrong_status", "unknown")
# A parcel of this office that came on a run whose manifest did not carry it: accepted.
EXTRA = "extra"
NO_RUN = "none"
"""``start_acceptance``'s ``run`` for a delivery outside any run: it expects nothing."""
UNREADABLE = ("bad_check_digit", "not_a_tracking_number")
_AT_OFFICE = ("arrived_at_office", "ready_for_pickup")
RECALLED = "recalled"
_TONES = {
    "accepted": "ok",
    EXTRA: "warn",
    "duplicate": "warn",
    "already_here": "warn",
}


def pickup_policy(settings: Settings) -> PickupPolicy:
    """The pickup-code policy of these settings; a lockout figure left unset is the rule's
    (``shipment.rules.PICKUP_CODE_LOCKOUT``, through ``PickupPolicy``'s defaults)."""
    policy = PickupPolicy(pepper=settings.pickup_code_pepper, base_url=settings.public_base_url)
    if settings.pickup_code_max_failures is not None:
        policy = replace(policy, max_failures=settings.pickup_code_max_failures)
    if settings.pickup_code_lock_minutes is not None:
        policy = replace(policy, lock_minutes=settings.pickup_code_lock_minutes)
    return policy


def office_ref(office: PostOffice) -> OfficeRef:
    """An office as screens name it."""
    return OfficeRef(
        index=office.index,
        name=office.name,
        timezone=office.timezone,
        accepts_cash=office.accepts_cash,
        accepts_card=office.accepts_card,
        address=office.address,
    )


def _size_class(shipment: Shipment, office: PostOffice) -> str | None:
    cell = smallest_cell_class(ParcelSize.of(shipment), OfficeCapacity.of(office))
    return cell.code if cell else None


def _cells(office: PostOffice) -> list[Cell]:
    return office_cells(OfficeCapacity.of(office).cell_counts)


def _line(
    shipment: Shipment,
    *,
    marketplace: str,
    office: PostOffice | None = None,
    damaged: bool = False,
    places: int = 1,
) -> ParcelLine:
    return ParcelLine(
        tracking_number=shipment.tracking_number,
        marketplace=marketplace,
        order_id=shipment.external_order_id,
        recipient=mask_name(shipment.recipient_name),
        phone=mask_phone(shipment.recipient_phone),
        status=shipment.status,
        status_text=status_ru(shipment.status),
        size_class=_size_class(shipment, office) if office is not None else None,
        cell=shipment.cell_code,
        weight_g=shipment.weight_g,
        cod_kop=shipment.cod_kop,
        storage_deadline=shipment.storage_deadline,
        damaged=damaged,
        places=places,
    )


def _lines(
    session: Session, shipments: Iterable[Shipment], office: PostOffice | None = None
) -> list[ParcelLine]:
    rows = list(shipments)
    names = {i: m.name for i, m in repository.marketplaces(session).items()}
    damaged = repository.damaged_shipment_ids(session, [s.id for s in rows])
    places = shipment_service.place_numbers(session, [s.id for s in rows])
    return [
        _line(
            s,
            marketplace=names.get(s.marketplace_id, ""),
            office=office,
            damaged=s.id in damaged,
            places=max(len(places.get(s.id, {})), 1),
        )
        for s in rows
    ]


# ---------------------------------------------------------------------------- barcodes


def _tracking_or_refuse(raw: str) -> str:
    """A tracking number from a scan, or a Russian refusal saying what is wrong with it."""
    barcode = clean_barcode(raw)
    if not barcode:
        raise BadBarcode("Отсканируйте штрихкод или введите трек-номер.", field="barcode")
    if not TRACKING_RE.match(barcode):
        raise BadBarcode(
            f"Неизвестный штрихкод «{barcode[:40]}»: это не трек-номер (14 цифр).",
            field="barcode",
        )
    if check_digit(barcode[:13]) != int(barcode[13]):
        raise BadBarcode(
            f"Неверная контрольная цифра в номере {barcode}: отсканируйте ещё раз "
            "или введите номер вручную.",
            field="barcode",
        )
    return barcode


def _other_office_message(session: Session, shipment: Shipment) -> str:
    destination = repository.office_by_id(session, shipment.destination_office_id)
    where = f"{destination.index} {destination.name}" if destination else "своё отделение"
    return f"Посылка другого отделения — отправьте в {where}."


def _own_parcel(session: Session, office: PostOffice, raw: str) -> Shipment:
    """This office's parcel by a scanned barcode; refuse another office's or an unknown one."""
    number = _tracking_or_refuse(raw)
    shipment = repository.shipment_by_number(session, number)
    if shipment is None:
        raise ParcelNotFound(f"Неизвестный штрихкод {number}: такой посылки нет.", field="barcode")
    if shipment.destination_office_id != office.id:
        raise ParcelNotHere(_other_office_message(session, shipment), field="barcode")
    return shipment


# ---------------------------------------------------------------------------- home


def home(session: Session, office: PostOffice) -> HomeView:
    """Counters of the start screen."""
    cells = _cells(office)
    occupied = repository.occupied_cells(session, office.id)
    current = repository.open_acceptance(session, office.id)
    return HomeView(
        expected=repository.count_office_shipments(session, office.id, repository.EXPECTED),
        to_shelve=repository.count_office_shipments(session, office.id, ("arrived_at_office",)),
        ready=repository.count_office_shipments(session, office.id, ("ready_for_pickup",)),
        to_return=repository.count_office_shipments(session, office.id, repository.TO_RETURN),
        free_cells=sum(1 for c in cells if c.code not in occupied),
        total_cells=len(cells),
        open_acceptance_id=current.id if current else None,
    )


# ---------------------------------------------------------------------------- acceptance


def run_key(route_code: str, departure: datetime) -> str:
    """A route run's id as logistics names it: ``<route_code>@<departure, UTC ISO 8601>``."""
    return f"{route_code}@{departure.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"


def _office_day(office: PostOffice, now: datetime) -> tuple[datetime, datetime]:
    zone = ZoneInfo(office.timezone)
    day = local_day(now, office.timezone)
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)


def arriving_runs(session: Session, *, office: PostOffice, now: datetime) -> list[ArrivingRun]:
    """The route runs whose van reaches the office on its local day of ``now`` with parcels
    for it on their manifest, by arrival; each with the acceptance already made of it."""
    start, end = _office_day(office, now)
    rows = repository.arriving_runs(session, office.index, start, end)
    made = repository.run_acceptances(
        session, office.id, [(r.route_code, r.departure) for r in rows]
    )
    return [
        ArrivingRun(
            id=run_key(r.route_code, r.departure),
            route_code=r.route_code,
            departure=r.departure,
            arrival_at=r.arrival_at,
            parcels=r.parcels,
            departed=r.departed,
            acceptance_id=made.get((r.route_code, r.departure)),
        )
        for r in rows
    ]


def _chosen_run(
    session: Session, office: PostOffice, now: datetime, run: str | None
) -> ArrivingRun | None:
    """The run an acceptance starting now takes (``start_acceptance``'s ``run``)."""
    if run == NO_RUN:
        return None
    runs = arriving_runs(session, office=office, now=now)
    if run is None:
        waiting = [r for r in runs if r.acceptance_id is None]
        if len(waiting) > 1:
            count = len(waiting)
            raise RunRefused(
                f"Сегодня приходят {count} {plural(count, 'рейс', 'рейса', 'рейсов')}: "
                "выберите, какой принимаете.",
                field="run",
            )
        return waiting[0] if waiting else None
    for candidate in runs:
        if candidate.id == run.strip():
            return candidate
    raise RunRefused(
        f"Рейс «{run[:80]}» сегодня в отделение не приходит: выберите рейс из списка "
        "или примите без рейса.",
        field="run",
    )


def start_acceptance(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    now: datetime,
    run: str | None = None,
) -> Acceptance:
    """Open an acceptance for the office (or return the one already being scanned).

    ``run`` names the route run whose van is being unloaded (its id, ``run_key``; one of
    ``arriving_runs``): what its manifest carries for the office is what is expected.
    ``NO_RUN``: a delivery outside any run, which expects nothing. ``None``: the only run
    arriving today not accepted yet, or outside any run when there is none; refused when
    several wait (the clerk chooses).
    """
    repository.lock_office(session, office.id)
    current = repository.open_acceptance(session, office.id)
    if current is not None:
        return current
    chosen = _chosen_run(session, office, now, run)
    acceptance = Acceptance(
        post_office_id=office.id,
        opened_by_id=workstation.clerk.id,
        status="open",
        opened_at=now,
        route_code=chosen.route_code if chosen else None,
        run_departure=chosen.departure if chosen else None,
    )
    session.add(acceptance)
    session.flush()
    return acceptance


def get_acceptance(session: Session, *, office: PostOffice, acceptance_id: int) -> Acceptance:
    """An acceptance of this office."""
    acceptance = session.get(Acceptance, acceptance_id)
    if acceptance is None or acceptance.post_office_id != office.id:
        raise ParcelNotFound(f"Приёмки №{acceptance_id} в этом отделении нет.", field="id")
    return acceptance


def _require_open(acceptance: Acceptance) -> None:
    if acceptance.status != "open":
        raise ParcelNotHere(
            f"Приёмка №{acceptance.id} уже закрыта: начните новую.", field="acceptance"
        )


def _scan_time(
    scanned_at: datetime | None, *, now: datetime, not_before: datetime | None, office: PostOffice
) -> datetime:
    """The moment a scan happened: ``now``, or the time the counter's queue says it was
    scanned (sent later, when the line came back). A time more than ``SCAN_TIME_SKEW`` ahead of
    ``now`` or before ``not_before`` is refused; one within the skew is brought inside."""
    if scanned_at is None:
        return now
    if scanned_at.tzinfo is None:
        raise ScanTimeRefused("Время сканирования без часового пояса.", field="scanned_at")
    shown = format_local_datetime(scanned_at, office.timezone)
    if scanned_at > now + SCAN_TIME_SKEW:
        raise ScanTimeRefused(
            f"Время сканирования {shown} ещё не наступило: проверьте часы компьютера.",
            field="scanned_at",
        )
    moment = min(scanned_at, now)
    if not_before is not None:
        if moment < not_before - SCAN_TIME_SKEW:
            began = format_local_datetime(not_before, office.timezone)
            raise ScanTimeRefused(
                f"Время сканирования {shown} раньше начала ({began}): скан не записан.",
                field="scanned_at",
            )
        moment = max(moment, not_before)
    return moment


def find_acceptance_scan(session: Session, *, client_scan_id: str) -> AcceptanceScan | None:
    """The acceptance scan already recorded under this id from the counter's queue."""
    return repository.acceptance_scan_by_client_id(session, client_scan_id)


def _classify_scan(
    session: Session, acceptance: Acceptance, office: PostOffice, barcode: str
) -> tuple[str, Shipment | None]:
    if not TRACKING_RE.match(barcode):
        return "not_a_tracking_number", None
    if check_digit(barcode[:13]) != int(barcode[13]):
        return "bad_check_digit", None
    shipment = repository.shipment_by_number(session, barcode)
    if shipment is None:
        return "unknown", None
    places = shipment_service.places_of(session, shipment)
    if len(places) > 1:
        return _classify_place(session, acceptance, office, shipment, places, barcode), shipment
    if repository.first_scan_of(session, acceptance.id, shipment.id) is not None:
        return "duplicate", shipment
    if shipment.destination_office_id != office.id:
        return "other_office", shipment
    if shipment.status in repository.EXPECTED:
        return "accepted", shipment  # a recalled one too: its acceptance starts its return
    if shipment.status in ("arrived_at_office", "ready_for_pickup"):
        return "already_here", shipment
    return "wrong_status", shipment


def _classify_place(
    session: Session,
    acceptance: Acceptance,
    office: PostOffice,
    shipment: Shipment,
    places: list[PlaceRead],
    barcode: str,
) -> str:
    """A scan of one place of an order of several: each place is accepted on its own (also
    when the order is already here: with ``ready_on_first_place`` the rest come later)."""
    scans = repository.scans_of(session, acceptance.id)
    if any(s.shipment_id == shipment.id and s.barcode == barcode for s in scans):
        return "duplicate"
    if shipment.destination_office_id != office.id:
        return "other_office"
    place = next(p for p in places if p.tracking_number == barcode)
    if place.status in TRAVELLING and shipment.status in (*repository.EXPECTED, *_AT_OFFICE):
        return "accepted"
    if place.status in _AT_OFFICE:
        return "already_here"
    return "wrong_status"


@dataclass(frozen=True)
class ExpectedItem:
    """A parcel (a place of an order of several) a run's manifest carries for the office."""

    barcode: str  # what the clerk scans: the parcel's number, or the place's
    shipment_id: int
    place: int
    places: int


def _run_places(
    session: Session, acceptance: Acceptance, shipment_ids: list[int]
) -> dict[int, list[tuple[str, int, int]]]:
    """(barcode, place, places) the run carries of each shipment: a parcel, or each place of
    an order of several that had not reached the office before the run left."""
    departure = acceptance.run_departure
    assert departure is not None
    places = repository.places_by_shipment(session, shipment_ids)
    # Every shipment has its place 1 (the shipment's own number); read the rest only if not.
    shipments = repository.shipments_by_ids(session, set(shipment_ids) - set(places))
    carried: dict[int, list[tuple[str, int, int]]] = {}
    for shipment_id in shipment_ids:
        rows = places.get(shipment_id, [])
        if len(rows) <= 1:
            number = rows[0].tracking_number if rows else shipments[shipment_id].tracking_number
            carried[shipment_id] = [(number, 1, 1)]
            continue
        carried[shipment_id] = [
            (p.tracking_number, p.number, len(rows))
            for p in rows
            if p.arrived_at is None or p.arrived_at >= departure
        ]
    return carried


def expected_items(
    session: Session, *, acceptance: Acceptance, office: PostOffice
) -> list[ExpectedItem]:
    """What the acceptance's run carries for the office, per parcel and place, less what an
    earlier acceptance of the same run accepted; nothing for a delivery outside a run."""
    if acceptance.route_code is None or acceptance.run_departure is None:
        return []
    ids = repository.run_shipment_ids(
        session, acceptance.route_code, acceptance.run_departure, office.index
    )
    done = repository.run_accepted_barcodes(
        session, office.id, acceptance.route_code, acceptance.run_departure, besides=acceptance.id
    )
    carried = _run_places(session, acceptance, ids)
    return [
        ExpectedItem(barcode, shipment_id, place, places)
        for shipment_id in ids
        for barcode, place, places in carried[shipment_id]
        if barcode not in done
    ]


def _on_manifest(
    session: Session, acceptance: Acceptance, office: PostOffice, shipment: Shipment, barcode: str
) -> bool:
    """Whether the acceptance's run carries this parcel (this place) for the office, not
    accepted by an earlier acceptance of the run."""
    assert acceptance.route_code is not None
    assert acceptance.run_departure is not None
    if not repository.on_run(
        session, acceptance.route_code, acceptance.run_departure, office.index, shipment.id
    ):
        return False
    carried = {
        b for b, _place, _places in _run_places(session, acceptance, [shipment.id])[shipment.id]
    }
    if barcode not in carried:
        return False
    return not repository.run_accepted_barcodes(
        session,
        office.id,
        acceptance.route_code,
        acceptance.run_departure,
        besides=acceptance.id,
        barcodes=[barcode],
    )


def _classify_by_run(
    session: Session, acceptance: Acceptance, office: PostOffice, barcode: str
) -> tuple[str, Shipment | None, bool]:
    """(result, parcel, whether the scan records its arrival) of a scan in an acceptance of
    a run: on the manifest -> ``accepted`` (also when the timetable already recorded the
    van's arrival); this office's but not on the manifest -> ``extra`` (accepted all the
    same); another office's -> ``other_office`` (mis-sorted while it is on its way)."""
    if not TRACKING_RE.match(barcode):
        return "not_a_tracking_number", None, False
    if check_digit(barcode[:13]) != int(barcode[13]):
        return "bad_check_digit", None, False
    shipment = repository.shipment_by_number(session, barcode)
    if shipment is None:
        return "unknown", None, False
    places = shipment_service.places_of(session, shipment)
    if len(places) > 1:
        scans = repository.scans_of(session, acceptance.id)
        seen = any(s.shipment_id == shipment.id and s.barcode == barcode for s in scans)
        place = next(p for p in places if p.tracking_number == barcode)
        travelling = place.status in TRAVELLING and shipment.status in (
            *repository.EXPECTED,
            *_AT_OFFICE,
        )
        here = place.status in _AT_OFFICE
    else:
        seen = repository.first_scan_of(session, acceptance.id, shipment.id) is not None
        travelling = shipment.status in repository.EXPECTED
        here = shipment.status in _AT_OFFICE
    if seen:
        return "duplicate", shipment, False
    if shipment.destination_office_id != office.id:
        return "other_office", shipment, shipment.status in repository.EXPECTED
    if _on_manifest(session, acceptance, office, shipment, barcode):
        if travelling:
            return "accepted", shipment, True
        if here and shipment.status != "ready_for_pickup":
            return "accepted", shipment, False  # the timetable recorded the van's arrival
        return ("already_here" if here else "wrong_status"), shipment, False
    if travelling:
        return EXTRA, shipment, True
    return ("already_here" if here else "wrong_status"), shipment, False


def scan_for_acceptance(
    session: Session,
    *,
    acceptance: Acceptance,
    office: PostOffice,
    workstation: Workstation,
    barcode: str,
    damaged: bool,
    now: datetime,
    scanned_at: datetime | None = None,
    client_scan_id: str | None = None,
) -> AcceptanceScan:
    """Record one scan; a parcel of this office on its way moves to ``arrived_at_office``,
    another office's is recorded as ``missorted`` (the marketplace hears of it).

    Every scan is kept (also unknown and unreadable ones: the report lists them). Scanning a
    parcel again with the damage mark marks its first scan damaged.

    From the counter's queue a scan comes with ``scanned_at`` (when it was scanned, checked by
    ``_scan_time``) and ``client_scan_id``: a scan already recorded under that id is
    returned as it is, nothing new recorded (the column is unique, too).
    """
    if client_scan_id is not None:
        repository.lock_office(session, office.id)  # one replay of an id at a time
        earlier = repository.acceptance_scan_by_client_id(session, client_scan_id)
        if earlier is not None and earlier.acceptance_id == acceptance.id:
            return earlier
        if earlier is not None:
            raise BadBarcode("Этот скан уже записан в другой приёмке.", field="scan_id")
    _require_open(acceptance)
    now = _scan_time(scanned_at, now=now, not_before=acceptance.opened_at, office=office)
    cleaned = clean_barcode(barcode)
    if not cleaned:
        raise BadBarcode("Отсканируйте штрихкод или введите трек-номер.", field="barcode")
    if acceptance.route_code is not None:
        result, shipment, arrives = _classify_by_run(session, acceptance, office, cleaned)
    else:
        result, shipment = _classify_scan(session, acceptance, office, cleaned)
        arrives = result == "accepted" or (
            result == "other_office"
            and shipment is not None
            and shipment.status in repository.EXPECTED
        )
    if arrives and shipment is not None:
        # Another office's parcel on its way is recorded as mis-sorted (back to its hub).
        shipment_service.record_scan(
            session,
            tracking_number=cleaned,  # the order's or one of its places'
            code="arrived_at_office",
            occurred_at=now,
            now=now,
            office_index=office.index,
            actor=workstation.actor,
            raw={"acceptance_id": acceptance.id, "damaged": damaged},
        )
        if result == "accepted" and shipment.status == RECALLED:
            # Recalled on its way: the acceptance starts its return, not its shelving.
            recall.recalled_arrived(
                session,
                shipment=repository.lock_shipment(session, shipment.id),
                office=office,
                now=now,
                actor=workstation.actor,
            )
    if result == "duplicate" and shipment is not None and damaged:
        first = repository.first_scan_of(session, acceptance.id, shipment.id)
        if first is not None:
            first.damaged = True
    scan = AcceptanceScan(
        acceptance_id=acceptance.id,
        barcode=cleaned[:64],
        shipment_id=shipment.id if shipment else None,
        result=result,
        damaged=damaged and shipment is not None,
        clerk_id=workstation.clerk.id,
        scanned_at=now,
        client_scan_id=client_scan_id,
    )
    session.add(scan)
    session.flush()
    return scan


def mark_damaged(
    session: Session, *, acceptance: Acceptance, scan_id: int, damaged: bool
) -> AcceptanceScan:
    """Set or clear the damage mark of a scanned parcel (while the acceptance is open)."""
    _require_open(acceptance)
    scan = session.get(AcceptanceScan, scan_id)
    if scan is None or scan.acceptance_id != acceptance.id or scan.shipment_id is None:
        raise ParcelNotFound("В этой приёмке нет такой посылки.", field="scan")
    scan.damaged = damaged
    session.flush()
    return scan


def close_acceptance(
    session: Session,
    *,
    acceptance: Acceptance,
    office: PostOffice,
    workstation: Workstation,
    now: datetime,
) -> Acceptance:
    """Close the acceptance: every parcel (place) the run's manifest carries for the office
    and nobody scanned is recorded as missing (outside a run nothing was expected)."""
    _require_open(acceptance)
    scanned = {s.barcode for s in repository.scans_of(session, acceptance.id)}
    for item in expected_items(session, acceptance=acceptance, office=office):
        if item.barcode in scanned:
            continue
        session.add(
            AcceptanceScan(
                acceptance_id=acceptance.id,
                barcode=item.barcode,
                shipment_id=item.shipment_id,
                result="missing",
                damaged=False,
                clerk_id=None,
                scanned_at=now,
            )
        )
    acceptance.status = "closed"
    acceptance.closed_at = now
    acceptance.closed_by_id = workstation.clerk.id
    session.flush()
    return acceptance


def _scan_message(
    scan: AcceptanceScan,
    shipment: Shipment | None,
    line: ParcelLine | None,
    offices: Mapping[int, PostOffice],
) -> str:
    result = scan.result
    if result == "accepted" and line is not None:
        size = f", ячейка размера {line.size_class}" if line.size_class else ""
        place = f", {line.note}" if line.note else ""
        return f"Принята: {line.marketplace}, заказ {line.order_id}{place}{size}."
    if result == EXTRA and line is not None:
        size = f", ячейка размера {line.size_class}" if line.size_class else ""
        place = f", {line.note}" if line.note else ""
        return (
            f"Принята, но её нет в манифесте рейса: {line.marketplace}, "
            f"заказ {line.order_id}{place}{size}."
        )
    if result == "duplicate":
        return "Уже отсканирована в этой приёмке."
    if result == "already_here" and line is not None:
        return f"Уже в отделении ({line.status_text}): принимать повторно не нужно."
    if result == "other_office" and shipment is not None:
        destination = offices.get(shipment.destination_office_id)
        where = f"{destination.index} {destination.name}" if destination else "не указано"
        return f"Чужая посылка — вернуть в доставку. Её отделение: {where}."
    if result == "wrong_status" and line is not None:
        return f"Посылка в статусе «{line.status_text}» — не принимайте, сообщите руководителю."
    if result == "unknown":
        return f"Неизвестный штрихкод {scan.barcode}: такой посылки нет."
    if result == "bad_check_digit":
        return f"Неверная контрольная цифра в номере {scan.barcode}: отсканируйте ещё раз."
    if result == "not_a_tracking_number":
        return f"Неизвестный штрихкод «{scan.barcode}»: это не трек-номер (14 цифр)."
    if result == "missing":
        place = f" ({line.note})" if line is not None and line.note else ""
        return f"Есть в манифесте, но не пришла{place}."
    return result


def _scan_rows(session: Session, office: PostOffice, scans: list[AcceptanceScan]) -> list[ScanRow]:
    shipments = repository.shipments_by_ids(
        session, {s.shipment_id for s in scans if s.shipment_id is not None}
    )
    names = {i: m.name for i, m in repository.marketplaces(session).items()}
    numbers = shipment_service.place_numbers(session, shipments)
    offices = {
        s.destination_office_id: o
        for s in shipments.values()
        if (o := repository.office_by_id(session, s.destination_office_id)) is not None
    }
    logins = repository.clerk_logins(session, {s.clerk_id for s in scans if s.clerk_id})
    rows = []
    for scan in scans:
        shipment = shipments.get(scan.shipment_id) if scan.shipment_id else None
        line = (
            _line(
                shipment,
                marketplace=names.get(shipment.marketplace_id, ""),
                office=office,
                damaged=scan.damaged,
                places=max(len(numbers.get(shipment.id, {})), 1),
            )
            if shipment is not None
            else None
        )
        if shipment is not None and line is not None and scan.barcode in numbers[shipment.id]:
            if line.places > 1:
                place = numbers[shipment.id][scan.barcode]
                line = line.model_copy(update={"note": f"место {place} из {line.places}"})
        rows.append(
            ScanRow(
                id=scan.id,
                barcode=scan.barcode,
                result=scan.result,
                tone=_TONES.get(scan.result, "error"),
                message=_scan_message(scan, shipment, line, offices),
                damaged=scan.damaged,
                scanned_at=scan.scanned_at,
                clerk=logins.get(scan.clerk_id, "") if scan.clerk_id else "",
                parcel=line,
            )
        )
    return rows


def describe_scan(session: Session, *, office: PostOffice, scan: AcceptanceScan) -> ScanRow:
    """One scan with its message and colour."""
    return _scan_rows(session, office, [scan])[0]


def _first_per_parcel(rows: Iterable[ScanRow], results: tuple[str, ...]) -> list[ScanRow]:
    seen: set[str] = set()
    chosen = []
    for row in rows:
        if row.result not in results:
            continue
        key = row.parcel.tracking_number if row.parcel else f"#{row.id}"
        if key in seen:
            continue
        seen.add(key)
        chosen.append(row)
    return chosen


def _per_item(rows: Iterable[ScanRow], results: tuple[str, ...]) -> list[ScanRow]:
    """The first row of each scanned barcode (a parcel, or one place of an order)."""
    seen: set[str] = set()
    chosen = []
    for row in rows:
        if row.result in results and row.barcode not in seen:
            seen.add(row.barcode)
            chosen.append(row)
    return chosen


def _report(rows: list[ScanRow]) -> AcceptanceReport:
    damaged = [r for r in rows if r.damaged and r.result != "duplicate"]
    return AcceptanceReport(
        accepted=_per_item(rows, ("accepted",)),
        missing=_per_item(rows, ("missing",)),
        extra=_per_item(rows, (EXTRA,)),
        missorted=_first_per_parcel(rows, ("other_office",)),
        unexpected=_first_per_parcel(rows, ("wrong_status", "unknown")),
        damaged=_per_item(damaged, tuple(_TONES) + UNEXPECTED),
        unreadable=[r for r in rows if r.result in UNREADABLE],
    )


def _expected_lines(
    session: Session, acceptance: Acceptance, office: PostOffice, scanned: set[str]
) -> list[ParcelLine]:
    """The manifest's parcels (places) for the office not scanned yet, as lines."""
    items = [
        i
        for i in expected_items(session, acceptance=acceptance, office=office)
        if i.barcode not in scanned
    ]
    shipments = repository.shipments_by_ids(session, {i.shipment_id for i in items})
    lines = {
        line.tracking_number: line
        for line in _lines(session, [shipments[i] for i in sorted(shipments)], office)
    }
    expected = []
    for item in items:
        line = lines[shipments[item.shipment_id].tracking_number]
        if item.places > 1:
            line = line.model_copy(
                update={
                    "tracking_number": item.barcode,
                    "note": f"место {item.place} из {item.places}",
                }
            )
        expected.append(line)
    return expected


def _run_of(session: Session, acceptance: Acceptance, office: PostOffice) -> ArrivingRun | None:
    """The acceptance's run as the page names it (its figures from the manifest)."""
    if acceptance.route_code is None or acceptance.run_departure is None:
        return None
    row = repository.run_row(session, acceptance.route_code, acceptance.run_departure, office.index)
    return ArrivingRun(
        id=run_key(acceptance.route_code, acceptance.run_departure),
        route_code=acceptance.route_code,
        departure=acceptance.run_departure,
        arrival_at=row.arrival_at if row else acceptance.run_departure,
        parcels=row.parcels if row else 0,
        departed=row.departed if row else False,
        acceptance_id=acceptance.id,
    )


def acceptance_view(
    session: Session, *, office: PostOffice, acceptance: Acceptance
) -> AcceptanceView:
    """An acceptance with its scans (and the expected list, or the report once closed)."""
    scans = repository.scans_of(session, acceptance.id)
    rows = _scan_rows(session, office, scans)
    report = _report(rows)
    logins = repository.clerk_logins(
        session, {i for i in (acceptance.opened_by_id, acceptance.closed_by_id) if i}
    )
    expected: list[ParcelLine] = []
    if acceptance.status == "open":
        expected = _expected_lines(session, acceptance, office, {s.barcode for s in scans})
    return AcceptanceView(
        id=acceptance.id,
        status=acceptance.status,
        opened_at=acceptance.opened_at,
        opened_by=logins.get(acceptance.opened_by_id, ""),
        closed_at=acceptance.closed_at,
        closed_by=logins.get(acceptance.closed_by_id, "") if acceptance.closed_by_id else None,
        run=_run_of(session, acceptance, office),
        scans=[r for r in reversed(rows) if r.result != "missing"],
        expected=expected,
        accepted_count=len(report.accepted),
        extra_count=len(report.extra),
        missorted_count=len(report.missorted),
        unexpected_count=len(report.unexpected),
        damaged_count=len(report.damaged),
        error_count=len(report.unreadable),
        report=report if acceptance.status == "closed" else None,
    )


def acceptance_counts(
    session: Session, *, office: PostOffice, acceptance: Acceptance
) -> dict[str, int]:
    """The open acceptance's counters, as ``acceptance_view`` counts them, from the stored
    scans and the run's manifest alone (no parcel lines: what the scan queue's answer
    carries after each scan)."""
    scans = repository.scans_of(session, acceptance.id)

    def per_item(rows: Iterable[AcceptanceScan], results: tuple[str, ...]) -> int:
        return len({s.barcode for s in rows if s.result in results})

    def per_parcel(results: tuple[str, ...]) -> int:
        return len({s.shipment_id or f"#{s.id}" for s in scans if s.result in results})

    seen = {s.barcode for s in scans}
    expected = [
        i
        for i in expected_items(session, acceptance=acceptance, office=office)
        if i.barcode not in seen
    ]
    damaged = [s for s in scans if s.damaged and s.result != "duplicate"]
    return {
        "accepted": per_item(scans, ("accepted",)),
        "expected": len(expected),
        "extra": per_item(scans, (EXTRA,)),
        "missorted": per_parcel(("other_office",)),
        "unexpected": per_parcel(("wrong_status", "unknown")),
        "damaged": per_item(damaged, tuple(_TONES) + UNEXPECTED),
        "errors": sum(1 for s in scans if s.result in UNREADABLE),
    }


def acceptance_summaries(
    session: Session, office: PostOffice, acceptances: Iterable[Acceptance]
) -> list[AcceptanceSummary]:
    """Counts of each acceptance for lists."""
    summaries = []
    for acceptance in acceptances:
        report = _report(_scan_rows(session, office, repository.scans_of(session, acceptance.id)))
        summaries.append(
            AcceptanceSummary(
                id=acceptance.id,
                status=acceptance.status,
                opened_at=acceptance.opened_at,
                closed_at=acceptance.closed_at,
                accepted=len(report.accepted),
                missing=len(report.missing),
                unexpected=len(report.extra) + len(report.missorted) + len(report.unexpected),
                damaged=len(report.damaged),
            )
        )
    return summaries


def recent_acceptances(session: Session, office: PostOffice) -> list[AcceptanceSummary]:
    """The office's latest acceptances."""
    return acceptance_summaries(session, office, repository.recent_acceptances(session, office.id))


# ---------------------------------------------------------------------------- shelving


def _cell_map(office: PostOffice, occupied: Mapping[str, Shipment]) -> list[CellState]:
    states = []
    for cell in _cells(office):
        shipment = occupied.get(cell.code)
        if shipment is None:
            states.append(CellState(code=cell.code, size_class=cell.size_class, state="free"))
        else:
            states.append(
                CellState(
                    code=cell.code,
                    size_class=cell.size_class,
                    state="ready" if shipment.status == "ready_for_pickup" else "expired",
                    parcel=shipment.tracking_number[-4:],
                )
            )
    return states


def _no_cell_reason(size_class: str | None) -> str:
    if size_class is None:
        return "Посылка не помещается ни в одну ячейку отделения: сообщите руководителю."
    larger = " и больше" if size_class != "L" else ""
    return (
        f"Нет свободных ячеек размера {size_class}{larger}: освободите ячейки (выдача, возвраты)."
    )


def shelving_view(session: Session, *, office: PostOffice) -> ShelvingView:
    """Arrived parcels with a proposed cell each, and the cell map."""
    occupied = repository.occupied_cells(session, office.id)
    pending = repository.office_shipments(session, office.id, ("arrived_at_office",))
    lines = _lines(session, pending, office)
    proposals = propose_cells(
        [(line.tracking_number, line.size_class) for line in lines], _cells(office), occupied
    )
    states = _cell_map(office, occupied)
    free, total = room_by_class(_cells(office), occupied)
    return ShelvingView(
        pending=[
            ShelfParcel(
                parcel=line,
                proposed_cell=proposals[line.tracking_number],
                problem=(
                    None if proposals[line.tracking_number] else _no_cell_reason(line.size_class)
                ),
            )
            for line in lines
        ],
        cells=states,
        free_by_class=free,
        total_by_class=total,
    )


def _check_shelvable(shipment: Shipment) -> None:
    if shipment.status == "arrived_at_office":
        return
    if shipment.status == "ready_for_pickup":
        raise ParcelNotHere(
            f"Посылка уже на полке: ячейка {shipment.cell_code or 'не указана'}.",
            field="barcode",
        )
    if shipment.status in repository.EXPECTED:
        raise ParcelNotHere(
            "Посылка ещё не принята: сначала отсканируйте её в приёмке.", field="barcode"
        )
    raise ParcelNotHere(
        f"Посылка в статусе «{status_ru(shipment.status)}»: раскладывать нечего.",
        field="barcode",
    )


def find_for_shelving(session: Session, *, office: PostOffice, barcode: str) -> ShelfParcel:
    """The arrived parcel of this scan with the cell proposed for it."""
    shipment = _own_parcel(session, office, barcode)
    _check_shelvable(shipment)
    line = _lines(session, [shipment], office)[0]
    occupied = repository.occupied_cells(session, office.id)
    proposed = propose_cells([(line.tracking_number, line.size_class)], _cells(office), occupied)
    cell = proposed[line.tracking_number]
    return ShelfParcel(
        parcel=line,
        proposed_cell=cell,
        problem=None if cell else _no_cell_reason(line.size_class),
    )


def shelve(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    cell_input: str,
    policy: PickupPolicy,
    now: datetime,
    scanned_at: datetime | None = None,
    client_scan_id: str | None = None,
) -> Shelved:
    """Put an arrived parcel in a cell (the one scanned, or the proposed one when left empty).

    The parcel becomes ready for pickup and the recipient's SMS with the code is queued.
    From the counter's queue: ``scanned_at`` and ``client_scan_id`` as for an acceptance scan
    (a shelving already recorded under the id is answered as it was, nothing changes).
    """
    repository.lock_office(session, office.id)  # one shelving at a time per office
    if client_scan_id is not None:
        earlier = repository.shelving_scan_by_client_id(session, client_scan_id)
        if earlier is not None:
            return _shelved_before(session, office, earlier)
    shipment = repository.lock_shipment(session, _own_parcel(session, office, tracking_number).id)
    _check_shelvable(shipment)
    if scanned_at is not None:
        arrived = repository.arrived_at(session, shipment.id)
        now_at = _scan_time(scanned_at, now=now, not_before=arrived, office=office)
    else:
        now_at = now
    size_class = _size_class(shipment, office)
    occupied = repository.occupied_cell_numbers(session, office.id)
    cells = {c.code: c for c in _cells(office)}
    if not cell_input.strip():
        proposal = propose_cells([("parcel", size_class)], list(cells.values()), occupied)
        chosen = proposal["parcel"]
        if chosen is None:
            raise NoFreeCell(_no_cell_reason(size_class), field="cell")
    else:
        parsed = parse_cell_code(cell_input)
        if parsed is None:
            raise CellRefused(
                f"«{cell_input.strip()[:20]}» — не ячейка: отсканируйте этикетку ячейки "
                "(например S-03) или нажмите Enter, чтобы взять предложенную.",
                field="cell",
            )
        if parsed not in cells:
            raise CellRefused(f"В отделении нет ячейки {parsed}.", field="cell")
        if parsed in occupied:
            raise CellRefused(
                f"Ячейка {parsed} занята посылкой …{occupied[parsed][-4:]}: выберите другую.",
                field="cell",
            )
        if size_class is None or cells[parsed].size_class not in classes_from(size_class):
            need = f"нужна {size_class} или больше" if size_class else "нет подходящих ячеек"
            raise CellRefused(f"Посылка не поместится в ячейку {parsed}: {need}.", field="cell")
        chosen = parsed
    shipment_service.make_ready_for_pickup(
        session,
        shipment=shipment,
        now=now_at,
        policy=policy,
        cell_code=chosen,
        actor=workstation.actor,
    )
    if client_scan_id is not None:
        session.add(
            ShelvingScan(
                client_scan_id=client_scan_id,
                post_office_id=office.id,
                shipment_id=shipment.id,
                cell_code=chosen,
                clerk_id=workstation.clerk.id,
                scanned_at=now_at,
                recorded_at=now,
            )
        )
        session.flush()
    return Shelved(
        tracking_number=shipment.tracking_number,
        cell=chosen,
        sms_queued=bool(shipment.recipient_phone),
    )


def _shelved_before(session: Session, office: PostOffice, earlier: ShelvingScan) -> Shelved:
    if earlier.post_office_id != office.id:
        raise BadBarcode("Этот скан уже записан в другом отделении.", field="scan_id")
    shipment = session.get(Shipment, earlier.shipment_id)
    assert shipment is not None  # a foreign key guarantees it
    return Shelved(
        tracking_number=shipment.tracking_number, cell=earlier.cell_code, sms_queued=False
    )


def find_shelving_scan(session: Session, *, client_scan_id: str) -> ShelvingScan | None:
    """The shelving already recorded under this id from the counter's queue."""
    return repository.shelving_scan_by_client_id(session, client_scan_id)


# ---------------------------------------------------------------------------- issue


def _set_issue(
    workstation: Workstation, shipment: Shipment | None, verified_at: datetime | None
) -> None:
    workstation.session.issue_shipment_id = shipment.id if shipment else None
    workstation.session.issue_verified_at = verified_at
    workstation.session.issue_document = None  # set again by ``verify_document`` only


def _wrong_in_a_row(lockout: Lockout) -> str:
    """``5 неверных кодов подряд``: what locked a code."""
    n = lockout.max_failures
    return f"{n} {plural(n, 'неверный код', 'неверных кода', 'неверных кодов')} подряд"


def _locked_message(until: datetime, office: PostOffice, lockout: Lockout) -> str:
    return (
        f"Код заблокирован до {format_local_time(until, office.timezone)}: "
        f"{_wrong_in_a_row(lockout)}. Подождите или вышлите новый код."
    )


def find_by_code(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    code: str,
    policy: PickupPolicy,
    now: datetime,
) -> IssueOutcome:
    """Find the office's parcel whose pickup code this is, and open its issue.

    The code is checked against every parcel of the office waiting for pickup (two parcels
    sharing a code open neither: the clerk asks for the tracking number). A wrong code
    names no parcel, so it counts against the office's code search, not against a parcel:
    after ``policy.max_failures`` wrong codes in a row, search by code closes for
    ``policy.lock_minutes`` (search by tracking number and phone digits still works, and there
    the code counts against that parcel's own lock). The count is returned, not raised, so it
    is kept.

    The QR code in the marketplace's app (``rules.pickup_qr``: the tracking number and the
    code) names its parcel: that code counts against the parcel's own lock, as on its page.
    """
    if (scanned := read_pickup_qr(code)) is not None:
        tracking_number, pickup_code = scanned
        shipment = _own_parcel(session, office, tracking_number)
        _ensure_issuable(shipment, office)
        _set_issue(workstation, shipment, None)
        return verify_code(
            session,
            office=office,
            workstation=workstation,
            tracking_number=tracking_number,
            code=pickup_code,
            policy=policy,
            now=now,
        )
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        raise CodeRefused("Код получения — 6 цифр из SMS.", field="code")
    lockout = policy.lockout
    guard = repository.lock_code_guard(session, office.id)
    if (held := lockout.in_force(guard.locked_until, now)) is not None:
        return IssueOutcome(
            tone="error",
            message=(
                f"Поиск по коду закрыт до {format_local_time(held, office.timezone)}: "
                f"{_wrong_in_a_row(lockout)}. Найдите посылку по трек-номеру и телефону."
            ),
        )
    matches = [
        shipment
        for shipment in repository.office_shipments(session, office.id, ("ready_for_pickup",))
        if shipment.pickup_code_hash
        and pickup_code_matches(
            code,
            shipment.pickup_code_hash,
            tracking_number=shipment.tracking_number,
            pepper=policy.pepper,
        )
    ]
    if len(matches) > 1:
        # Six digits can coincide: never guess whose parcel it is.
        return IssueOutcome(
            tone="warn",
            message=(
                "Этот код подходит к нескольким посылкам: найдите посылку по трек-номеру "
                "и последним цифрам телефона."
            ),
        )
    match = matches[0] if matches else None
    if match is None:
        # The guard row is held FOR UPDATE, so the count moves here under that lock.
        guard.failures, locked_until = lockout.after_failure(guard.failures, now)
        if locked_until is not None:
            guard.locked_until = locked_until
        session.flush()
        if locked_until is not None:
            return IssueOutcome(
                tone="error",
                message=(
                    "Неверный код. Поиск по коду закрыт до "
                    f"{format_local_time(locked_until, office.timezone)}: найдите посылку по "
                    "трек-номеру и телефону."
                ),
            )
        return IssueOutcome(
            tone="error",
            message=(
                "Посылки с таким кодом в отделении нет. "
                f"Осталось попыток: {lockout.attempts_left(guard.failures)}."
            ),
        )
    guard.failures = 0
    guard.locked_until = None
    try:
        shipment_service.verify_pickup_code(
            session, shipment=match, code=code, now=now, policy=policy
        )
    except PickupCodeLocked:
        assert match.pickup_code_locked_until is not None
        _set_issue(workstation, match, None)
        session.flush()
        return IssueOutcome(
            tracking_number=match.tracking_number,
            tone="error",
            message=_locked_message(match.pickup_code_locked_until, office, lockout),
        )
    _set_issue(workstation, match, now)
    session.flush()
    return IssueOutcome(tracking_number=match.tracking_number, message="Код верный.")


def find_by_tracking(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    phone_last4: str,
) -> IssueOutcome:
    """Find a parcel by its number and the last four digits of the recipient's phone."""
    shipment = _own_parcel(session, office, tracking_number)
    digits = phone_last4.strip()
    if len(digits) != 4 or not digits.isdigit():
        raise ParcelNotFound("Введите последние 4 цифры телефона получателя.", field="phone_last4")
    if shipment.phone_last4 != digits:
        raise ParcelNotFound(
            "Посылка с таким номером и телефоном не найдена: проверьте цифры.",
            field="phone_last4",
        )
    _ensure_issuable(shipment, office)
    _set_issue(workstation, shipment, None)
    session.flush()
    return IssueOutcome(tracking_number=shipment.tracking_number)


def _ensure_issuable(shipment: Shipment, office: PostOffice) -> None:
    if shipment.status == "ready_for_pickup":
        return
    if shipment.status in ("delivered", "partially_delivered"):
        raise ParcelNotHere("Уже выдано.", field="tracking_number")
    if shipment.status == "arrived_at_office":
        raise ParcelNotHere(
            "Посылка ещё не разложена: сначала положите её в ячейку (раздел «Полка»).",
            field="tracking_number",
        )
    if shipment.status in repository.EXPECTED:
        raise ParcelNotHere("Посылка ещё не прибыла в отделение.", field="tracking_number")
    if shipment.status == "storage_expired":
        raise ParcelNotHere(
            "Срок хранения истёк: посылка ждёт возврата, выдать её нельзя.",
            field="tracking_number",
        )
    raise ParcelNotHere(
        f"Посылка в статусе «{status_ru(shipment.status)}»: выдать нельзя.",
        field="tracking_number",
    )


def _issue_parcel(
    session: Session, office: PostOffice, workstation: Workstation, tracking_number: str
) -> Shipment:
    """The parcel being issued on this workstation (found by code or by number and phone)."""
    shipment = _own_parcel(session, office, tracking_number)
    if workstation.session.issue_shipment_id != shipment.id:
        raise ParcelNotFound(
            "Сначала найдите посылку: по коду из SMS или по трек-номеру и телефону.",
            field="tracking_number",
        )
    return shipment


def _is_verified(workstation: Workstation, now: datetime) -> bool:
    verified_at = workstation.session.issue_verified_at
    return verified_at is not None and now - verified_at <= VERIFIED_FOR


def verify_code(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    code: str,
    policy: PickupPolicy,
    now: datetime,
) -> IssueOutcome:
    """Check the code of the parcel found by number and phone; a wrong one counts against
    this parcel's lock (and the count is kept: the refusal is returned, not raised)."""
    shipment = _issue_parcel(session, office, workstation, tracking_number)
    _ensure_issuable(shipment, office)
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        raise CodeRefused("Код получения — 6 цифр из SMS.", field="code")
    try:
        shipment_service.verify_pickup_code(
            session, shipment=shipment, code=code, now=now, policy=policy
        )
    except WrongPickupCode as wrong:
        return IssueOutcome(
            tracking_number=shipment.tracking_number,
            tone="error",
            message=f"Неверный код. Осталось попыток: {wrong.extra['attempts_left']}.",
        )
    except PickupCodeLocked:
        assert shipment.pickup_code_locked_until is not None
        return IssueOutcome(
            tracking_number=shipment.tracking_number,
            tone="error",
            message=_locked_message(shipment.pickup_code_locked_until, office, policy.lockout),
        )
    _set_issue(workstation, shipment, now)
    session.flush()
    return IssueOutcome(tracking_number=shipment.tracking_number, message="Код верный.")


def reissue_code(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    policy: PickupPolicy,
    now: datetime,
) -> IssueOutcome:
    """Send the recipient a new code (the old one stops working); not while it is locked."""
    shipment = _issue_parcel(session, office, workstation, tracking_number)
    _ensure_issuable(shipment, office)
    locked = policy.lockout.in_force(shipment.pickup_code_locked_until, now)
    if locked is not None:
        raise CodeRefused(
            f"Код заблокирован до {format_local_time(locked, office.timezone)}: "
            "новый код можно выслать после.",
            field="code",
        )
    shipment_service.reissue_pickup_code(session, shipment=shipment, now=now, policy=policy)
    _set_issue(workstation, shipment, None)
    session.flush()
    return IssueOutcome(
        tracking_number=shipment.tracking_number,
        message=f"Новый код отправлен по SMS на {mask_phone(shipment.recipient_phone)}.",
    )


def _items(session: Session, shipment: Shipment) -> list[ShipmentItem]:
    return repository.items_of(session, shipment.id)


def _issue_items(items: Iterable[ShipmentItem], refused: Mapping[int, int]) -> list[IssueItem]:
    return [
        IssueItem(
            position=i.position,
            sku=i.sku,
            name=i.name,
            quantity=i.quantity,
            price_kop=i.price_kop,
            refused_quantity=refused.get(i.position, i.refused_quantity),
        )
        for i in items
    ]


def issue_view(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    policy: PickupPolicy,
    now: datetime,
) -> IssueView:
    """The parcel at the counter: its items; the full name only once the code was checked;
    while its code is locked, until when and why (the lockout of ``policy``)."""
    shipment = _issue_parcel(session, office, workstation, tracking_number)
    verified = shipment.status == "ready_for_pickup" and _is_verified(workstation, now)
    locked = policy.lockout.in_force(shipment.pickup_code_locked_until, now)
    document = _checked_document(workstation) if verified else None
    return IssueView(
        parcel=_lines(session, [shipment], office)[0],
        items=_issue_items(_items(session, shipment), {}),
        verified=verified,
        recipient_full=shipment.recipient_name if verified else None,
        partial_allowed=bool(shipment.options.get("partial_redemption", False)),
        code_locked_until=locked,
        code_lock_message=None
        if locked is None
        else _locked_message(locked, office, policy.lockout),
        ready_at=shipment.ready_at,
        document_allowed=_document_allowed(session, shipment),
        document_types=DOCUMENT_TYPES,
        identified_by_document=document_text(*document) if document else None,
    )


def _document_allowed(session: Session, shipment: Shipment) -> bool:
    marketplace = session.get(Marketplace, shipment.marketplace_id)
    return bool(marketplace and marketplace.issue_by_document)


def _checked_document(workstation: Workstation) -> tuple[str, str] | None:
    """The document the recipient of the parcel being issued showed: (type, last four)."""
    stored = workstation.session.issue_document
    if not stored:
        return None
    document_type, _, last4 = stored.partition(":")
    return document_type, last4


def verify_document(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    document_type: str,
    document_last4: str,
    surname: str,
    now: datetime,
) -> IssueOutcome:
    """Identify the recipient by an identity document instead of the pickup code, where the
    parcel's marketplace allows it (``marketplace.issue_by_document``).

    The parcel must have been found by its number and the phone digits. The clerk picks the
    document's type, types the last four characters of its number (recorded on the issue's
    receipt; the whole number is never stored) and the surname as the document shows it,
    which must be the recipient's. Cash on delivery is taken as with a code.
    """
    shipment = _issue_parcel(session, office, workstation, tracking_number)
    _ensure_issuable(shipment, office)
    if not _document_allowed(session, shipment):
        raise IssueRefused(
            "Этот маркетплейс не разрешает выдачу по документу: нужен код из SMS "
            "(можно выслать новый).",
            field="document_type",
        )
    if document_type not in DOCUMENT_TYPES:
        raise IssueRefused("Выберите вид документа.", field="document_type")
    last4 = document_tail(document_last4)
    if last4 is None:
        raise IssueRefused(
            "Введите последние 4 цифры (знака) номера документа.", field="document_last4"
        )
    if not surname.strip():
        raise IssueRefused("Введите фамилию, как она написана в документе.", field="surname")
    if fold_name(surname) != surname_of(shipment.recipient_name):
        raise IssueRefused(
            "Фамилия в документе не совпадает с фамилией получателя: выдать нельзя.",
            field="surname",
        )
    _set_issue(workstation, shipment, now)
    workstation.session.issue_document = f"{document_type}:{last4}"
    session.flush()
    return IssueOutcome(
        tracking_number=shipment.tracking_number,
        message=f"Документ проверен: {document_text(document_type, last4)}.",
    )


def _verified_parcel(
    session: Session,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    now: datetime,
) -> Shipment:
    shipment = _issue_parcel(session, office, workstation, tracking_number)
    _ensure_issuable(shipment, office)
    if not _is_verified(workstation, now):
        raise CodeRefused(
            "Сначала проверьте код получения (или проверка устарела: введите код снова).",
            field="code",
        )
    return shipment


def _check_refused(
    shipment: Shipment, items: list[ShipmentItem], refused: Mapping[int, int]
) -> dict[int, int]:
    by_position = {i.position: i for i in items}
    cleaned: dict[int, int] = {}
    for position, quantity in refused.items():
        item = by_position.get(position)
        if item is None:
            raise IssueRefused(f"В заказе нет позиции {position + 1}.", field="refused")
        if not 0 <= quantity <= item.quantity:
            raise IssueRefused(
                f"«{item.name}»: вернуть можно от 0 до {item.quantity} шт.", field="refused"
            )
        if quantity:
            cleaned[position] = quantity
    if cleaned and not shipment.options.get("partial_redemption", False):
        raise IssueRefused(
            "Этот заказ нельзя выдать частично: только полностью или полный отказ.",
            field="refused",
        )
    if cleaned and sum(cleaned.values()) == sum(i.quantity for i in items):
        raise IssueRefused(
            "Отказ от всех товаров — оформите полный отказ (кнопка «Отказ от посылки»).",
            field="refused",
        )
    return cleaned


def _check_every_place_here(session: Session, shipment: Shipment) -> None:
    """An order of several places is issued whole: refuse while a place is on its way."""
    travelling = shipment_service.travelling_places(session, [shipment.id]).get(shipment.id)
    if travelling:
        numbers = ", ".join(f"…{n[-4:]}" for n in travelling)
        raise IssueRefused(
            f"Ещё в пути: {len(travelling)} "
            f"{plural(len(travelling), 'место', 'места', 'мест')} ({numbers}). "
            "Заказ выдаётся целиком, когда придут все места.",
            field="tracking_number",
        )


def prepare_issue(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    refused: Mapping[int, int],
    now: datetime,
) -> PaymentView:
    """What the recipient takes and pays, for the items ticked as refused (changes nothing)."""
    shipment, lines, due = _payment(session, office, workstation, tracking_number, refused, now)
    return PaymentView(
        parcel=_lines(session, [shipment], office)[0],
        taken=[i for i in lines if i.taken_quantity > 0],
        refused=[i for i in lines if i.refused_quantity > 0],
        due_kop=due,
        accepts_cash=office.accepts_cash,
        accepts_card=office.accepts_card,
    )


def _payment(
    session: Session,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    refused: Mapping[int, int],
    now: datetime,
) -> tuple[Shipment, list[IssueItem], int]:
    """The verified parcel being issued, its lines with the refused quantities, and the cash
    due for what is taken (the checks of ``prepare_issue``; reads only)."""
    shipment = _verified_parcel(session, office, workstation, tracking_number, now)
    _check_every_place_here(session, shipment)
    items = _items(session, shipment)
    cleaned = _check_refused(shipment, items, refused)
    due = cod_due(
        shipment.cod_kop,
        shipment.declared_value_kop,
        [(i.price_kop, i.quantity, cleaned.get(i.position, 0)) for i in items],
    )
    return shipment, _issue_items(items, cleaned), due


def complete_issue(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    refused: Mapping[int, int],
    method: str | None,
    received_kop: int | None,
    now: datetime,
) -> int | None:
    """Hand the parcel over (fully or partly), collecting the cash due.

    ``received_kop`` is the cash the recipient gave (``None``: exactly the amount due); the
    change is what is returned. Returns the cash received, for the receipt.
    """
    # The checks of ``prepare_issue`` without the parcel's screen line (nobody sees it here).
    verified, lines, due = _payment(session, office, workstation, tracking_number, refused, now)
    cod_method: str | None = None
    received: int | None = None
    if due > 0:
        if method not in ("cash", "card"):
            raise IssueRefused("Выберите способ оплаты: наличные или карта.", field="method")
        if method == "card" and not office.accepts_card:
            raise IssueRefused("В отделении нет терминала: только наличные.", field="method")
        if method == "cash" and not office.accepts_cash:
            raise IssueRefused("Отделение не принимает наличные: только карта.", field="method")
        cod_method = method
        if method == "cash":
            received = due if received_kop is None else received_kop
            if received < due:
                raise IssueRefused(
                    f"Получено {format_roubles(received)}, а к оплате {format_roubles(due)}.",
                    field="received",
                )
    # The parcel ``_payment`` found as the one being issued here (nothing changed that since).
    shipment = repository.lock_shipment(session, verified.id)
    document = _checked_document(workstation)
    shipment_service.issue_to_recipient(
        session,
        shipment=shipment,
        now=now,
        refused_items={i.position: i.refused_quantity for i in lines if i.refused_quantity > 0}
        or None,
        cod_method=cod_method,
        cod_paid_kop=due if due > 0 else None,
        clerk=workstation.actor,
        identified_by="document" if document else "code",
        document_type=document[0] if document else None,
    )
    _number_receipt(session, office, workstation, shipment, document, now)
    _set_issue(workstation, None, None)
    session.flush()
    return received


def _number_receipt(
    session: Session,
    office: PostOffice,
    workstation: Workstation,
    shipment: Shipment,
    document: tuple[str, str] | None,
    now: datetime,
) -> IssueReceipt:
    """The issue's receipt with the next number of the office's (local) year, taken in the
    issuing transaction (a refused issue gives its number back)."""
    year = local_day(now, office.timezone).year
    clerk = workstation.clerk
    receipt_row = IssueReceipt(
        shipment_id=shipment.id,
        post_office_id=office.id,
        year=year,
        number=repository.next_receipt_number(session, office.id, year),
        clerk_id=clerk.id,
        clerk_name=(clerk.full_name or clerk.login)[:200],
        issued_at=now,
        identified_by="document" if document else "code",
        document_type=document[0] if document else None,
        document_last4=document[1] if document else None,
    )
    session.add(receipt_row)
    session.flush()
    return receipt_row


def refuse_parcel(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    tracking_number: str,
    now: datetime,
) -> ParcelLine:
    """The recipient refuses the whole parcel: it goes to the returns."""
    shipment = _verified_parcel(session, office, workstation, tracking_number, now)
    shipment_service.refuse(
        session,
        shipment=repository.lock_shipment(session, shipment.id),
        now=now,
        clerk=workstation.actor,
    )
    _set_issue(workstation, None, None)
    session.flush()
    return _lines(session, [shipment], office)[0]


def receipt(
    session: Session, *, office: PostOffice, tracking_number: str, received_kop: int | None
) -> ReceiptView:
    """The receipt of an issued parcel of this office."""
    shipment = _own_parcel(session, office, tracking_number)
    if shipment.status not in ("delivered", "partially_delivered", "returning", "returned"):
        raise ParcelNotHere("Посылка не выдана: чека нет.", field="tracking_number")
    if shipment.status in ("returning", "returned") and not any(
        i.refused_quantity for i in _items(session, shipment)
    ):
        raise ParcelNotHere("Посылка не выдана: чека нет.", field="tracking_number")
    items = _issue_items(_items(session, shipment), {})
    due = shipment.cod_collected_kop
    change = None
    if received_kop is not None and shipment.cod_method == "cash" and received_kop >= due:
        change = received_kop - due
    numbered = repository.receipt_of(session, shipment.id)
    clerk = (shipment.cod_collected_by or "").removeprefix("clerk:")
    if numbered is not None:
        clerk = numbered.clerk_name
    return ReceiptView(
        office=office_ref(office),
        parcel=_lines(session, [shipment], office)[0],
        taken=[i for i in items if i.taken_quantity > 0],
        refused=[i for i in items if i.refused_quantity > 0],
        issued_at=(
            numbered.issued_at
            if numbered is not None
            else shipment.cod_collected_at or shipment.finished_at or shipment.updated_at
        ),
        clerk=clerk,
        due_kop=due,
        method=shipment.cod_method,
        received_kop=received_kop if change is not None else None,
        change_kop=change,
        number=(
            receipt_number(office.index, numbered.year, numbered.number)
            if numbered is not None
            else None
        ),
        identification=(
            document_text(numbered.document_type, numbered.document_last4 or "")
            if numbered is not None and numbered.document_type
            else None
        ),
    )


# ---------------------------------------------------------------------------- returns


def returns_view(session: Session, *, office: PostOffice) -> ReturnsView:
    """Parcels to send back (expired, refused, partly taken) and those already going back."""
    return ReturnsView(
        to_return=_lines(
            session, repository.office_shipments(session, office.id, repository.TO_RETURN), office
        ),
        returning=_lines(
            session, repository.office_shipments(session, office.id, ("returning",)), office
        ),
    )


def scan_return(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    barcode: str,
    now: datetime,
) -> ParcelLine:
    """Send a scanned parcel back: expired, refused or partly taken ones only. It goes on
    the way back (``logistics.way_back``) and keeps its cell until a return run loads it."""
    shipment = _own_parcel(session, office, barcode)
    local_deadline = (
        format_local_date(shipment.storage_deadline, office.timezone)
        if shipment.storage_deadline
        else ""
    )
    if shipment.status == "ready_for_pickup":
        raise ParcelNotHere(
            f"Посылка ждёт получателя до {local_deadline} — возвращать рано.", field="barcode"
        )
    if shipment.status == "returning":
        raise ParcelNotHere("Уже оформлена в возврат.", field="barcode")
    if shipment.status == "delivered":
        raise ParcelNotHere("Уже выдано: возвращать нечего.", field="barcode")
    if shipment.status not in repository.TO_RETURN:
        raise ParcelNotHere(
            f"Посылка в статусе «{status_ru(shipment.status)}»: в возврат не оформляется.",
            field="barcode",
        )
    line_before = _lines(session, [shipment], office)[0]
    scanned = shipment_service.scan_place_for_return(
        session, shipment=shipment, number=_tracking_or_refuse(barcode)
    )
    if scanned.left:
        # An order goes back whole: the return starts once every place here is scanned.
        rest = ", ".join(f"…{n[-4:]}" for n in scanned.left)
        return line_before.model_copy(
            update={
                "note": f"Место {scanned.place} из {scanned.places} — в возврат. "
                f"Отсканируйте остальные места: {rest}."
            }
        )
    locked = repository.lock_shipment(session, shipment.id)
    shipment_service.start_return(session, shipment=locked, now=now, actor=workstation.actor)
    # It waits in its cell for the next run's way back (oldest first, within the van's room).
    way_back.send_shipments_back(session, shipments=[locked], now=now)
    return line_before.model_copy(
        update={"status": shipment.status, "status_text": status_ru(shipment.status)}
    )


# ---------------------------------------------------------------------------- the day


def local_today(office: PostOffice, now: datetime) -> date:
    """The office's local date at ``now``."""
    return local_day(now, office.timezone)


def day_report(session: Session, *, office: PostOffice, day: date, now: datetime) -> DayReport:
    """Received, issued, waiting, returned and cash of one local day; cells as they are now."""
    zone = ZoneInfo(office.timezone)
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
    events = repository.office_event_counts(session, office.id, start, end)
    cash = [
        CashLine(marketplace=name, method=method, parcels=count, total_kop=total)
        for name, method, count, total in repository.office_cash(session, office.id, start, end)
    ]
    occupied = repository.occupied_cells(session, office.id)
    free, total = room_by_class(_cells(office), occupied)
    customer_returns, refunded = repository.office_customer_returns(session, office.id, start, end)
    return DayReport(
        day=day,
        received=events.get("arrived_at_office", 0),
        issued=events.get("delivered", 0),
        issued_partly=events.get("partially_delivered", 0),
        refused=events.get("refused", 0),
        expired=events.get("storage_expired", 0),
        returned=events.get("returning", 0),
        waiting=repository.count_office_shipments(session, office.id, ("ready_for_pickup",)),
        waiting_return=repository.count_office_shipments(session, office.id, repository.TO_RETURN),
        cash=cash,
        cash_total_kop=sum(c.total_kop for c in cash if c.method == "cash"),
        card_total_kop=sum(c.total_kop for c in cash if c.method == "card"),
        customer_returns=customer_returns,
        refunded_kop=refunded,
        free_by_class=free,
        total_by_class=total,
        acceptances=acceptance_summaries(
            session, office, repository.acceptances_between(session, office.id, start, end)
        ),
        generated_at=now,
    )


# ---------------------------------------------------------------------------- a scan anywhere


def open_scanned(
    session: Session,
    *,
    office: PostOffice,
    workstation: Workstation,
    barcode: str,
    now: datetime,
) -> NextStep:
    """A parcel scanned on the start screen or in «Поиск», opened at the step it needs next.

    On its way here: scanned into the acceptance being made (an acceptance scan like any
    other), or, with none open, the clerk is asked to start one. Arrived: its shelving.
    Waiting for its recipient: the issue, which still asks for the phone digits or the code
    (a scan of the parcel proves nothing about who stands at the counter). Expired, refused
    or partly taken: the returns, where a scan sends it back. Anything else is shown in
    «Поиск» with its status. Another office's parcel, an unknown or unreadable code: refused.
    """
    number = _tracking_or_refuse(barcode)
    shipment = _own_parcel(session, office, number)
    short = f"…{shipment.tracking_number[-4:]}"
    travelling = _travelling_place(session, shipment, number)
    if shipment.status in repository.EXPECTED or travelling:
        current = repository.open_acceptance(session, office.id)
        if current is None:
            return NextStep(
                step="acceptance_start",
                tracking_number=shipment.tracking_number,
                tone="warn",
                message=f"Посылка {short} едет в отделение: начните приёмку и отсканируйте её.",
            )
        scan = scan_for_acceptance(
            session,
            acceptance=current,
            office=office,
            workstation=workstation,
            barcode=number,
            damaged=False,
            now=now,
        )
        shown = describe_scan(session, office=office, scan=scan)
        return NextStep(
            step="acceptance",
            tracking_number=shipment.tracking_number,
            acceptance_id=current.id,
            tone=shown.tone,
            message=f"Приёмка №{current.id}, {number}: {shown.message}",
        )
    step, _ = next_step(shipment.status)
    if step == "shelving":
        return NextStep(step="shelving", tracking_number=shipment.tracking_number)
    if step == "issue":
        cell = f" в ячейке {shipment.cell_code}" if shipment.cell_code else ""
        return NextStep(
            step="issue",
            tracking_number=shipment.tracking_number,
            tone="warn",
            message=f"Посылка {short} ждёт получателя{cell}: введите последние 4 цифры "
            "телефона получателя (или код из SMS в поле кода).",
        )
    if step == "returns":
        return NextStep(
            step="returns",
            tracking_number=shipment.tracking_number,
            tone="warn",
            message=f"Посылка {short} ({status_ru(shipment.status)}) ждёт возврата: "
            "отсканируйте её здесь, чтобы оформить возврат.",
        )
    return NextStep(
        step="parcel",
        tracking_number=shipment.tracking_number,
        tone="warn",
        message=f"Посылка {short}: {status_ru(shipment.status)} — на кассе делать нечего.",
    )


def _travelling_place(session: Session, shipment: Shipment, number: str) -> bool:
    """Whether ``number`` is a place of a several-place order still on its way here (the
    order may already be at the office with its first places)."""
    if number == shipment.tracking_number:
        return False
    place = next(
        (p for p in shipment_service.places_of(session, shipment) if p.tracking_number == number),
        None,
    )
    return place is not None and place.status in TRAVELLING


# ---------------------------------------------------------------------------- «Поиск»


def search_parcels(session: Session, *, office: PostOffice, query: str) -> SearchView:
    """The office's parcels by tracking number, the marketplace's order number, the last four
    digits of the recipient's phone, or the surname (from three letters, any case, ``ё`` as
    ``е``; ``Иванов`` finds ``Иванова`` too).

    Only this office's parcels are ever found (another office's tracking number finds
    nothing, as an unknown one). At most ``SEARCH_LIMIT`` are shown, newest first; names as
    «Иванова А.», phones masked. The surname is looked for among the parcels the office has
    something to do with now (on their way, at the office, to go back): an issued parcel is
    found by its numbers. The pages limit how often a session may search (``app.py``).
    """
    read = read_search(query)
    if read is None:
        return SearchView(
            query=query.strip()[:100],
            kind=None,
            results=[],
            message="Введите трек-номер, номер заказа, последние 4 цифры телефона "
            "или фамилию (от 3 букв).",
        )
    found = _search(session, office, read)
    limited = len(found) > SEARCH_LIMIT
    shown = found[:SEARCH_LIMIT]
    message = None
    if not shown:
        message = "В отделении таких посылок нет."
    elif limited:
        message = f"Показаны первые {SEARCH_LIMIT}: уточните поиск."
    return SearchView(
        query=read.text,
        kind=read.kind,
        results=_found(session, shown),
        message=message,
        limited=limited,
    )


# The surname search reads at most this many of the office's current parcels' names (a village
# office holds a few hundred; bench/counter_search.py times 3,000).
ACTIVE_SCANNED = 20_000


def _search(session: Session, office: PostOffice, read: SearchQuery) -> list[Shipment]:
    over = SEARCH_LIMIT + 1
    if read.kind == "tracking":
        shipment = repository.shipment_by_number(session, read.text)
        if shipment is None or shipment.destination_office_id != office.id or shipment.sandbox:
            return []
        return [shipment]
    found = repository.office_parcels_by_order(session, office.id, read.text, limit=over)
    if read.kind == "phone":
        found += repository.office_parcels_by_phone(session, office.id, read.text, limit=over)
    elif read.kind == "surname":
        names = repository.office_active_names(session, office.id, limit=ACTIVE_SCANNED)
        ids = [i for i, name in names if surname_matches(name, read.text)][:over]
        by_id = repository.shipments_by_ids(session, ids)
        found += [by_id[i] for i in ids if i in by_id]
    unique: dict[int, Shipment] = {}
    for shipment in found:
        unique.setdefault(shipment.id, shipment)
    return list(unique.values())


def _found(session: Session, shipments: list[Shipment]) -> list[FoundParcel]:
    names = {i: m.name for i, m in repository.marketplaces(session).items()}
    results = []
    for shipment in shipments:
        step, step_text = next_step(shipment.status)
        results.append(
            FoundParcel(
                tracking_number=shipment.tracking_number,
                marketplace=names.get(shipment.marketplace_id, ""),
                order_id=shipment.external_order_id,
                recipient=surname_and_initial(shipment.recipient_name),
                phone=mask_phone(shipment.recipient_phone),
                status=shipment.status,
                status_text=status_ru(shipment.status),
                cell=shipment.cell_code if shipment.status in repository.IN_CELL else None,
                storage_deadline=shipment.storage_deadline,
                cod_kop=shipment.cod_kop,
                step=step,
                step_text=step_text,
            )
        )
    return results
