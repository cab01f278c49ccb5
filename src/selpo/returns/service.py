"""Customer returns: registered by the marketplace, taken at the counter, sent back.

The marketplace registers a return of an issued order (``register_return``: the order, the
lines and units, the reason, its own return id) and gets a return code to show the buyer,
given this once (only its keyed hash is kept). Within the marketplace's return period the
buyer brings the items to any office connected to the marketplace; the clerk finds the return
by its code, or by the order's tracking number and the phone's last four digits (wrong
attempts of either count against the office's search, ``repository.count_failure``), checks
the units, and accepts it (``accept_at_counter``): the return gets a 14-digit tracking number
from the accepting office's serials (the shipments' mechanism, so numbers never clash), its
label is printed, a cash on delivery order's money is paid back in cash where the marketplace
asks (a receipt), ``return.accepted`` is sent, and the parcel waits for the next run's way
back (``logistics.way_back.send_back``, kind ``customer_return``). The way back then moves it
(``returns.way_back.return_moved``): ``return.in_transit``, ``return.delivered``.

Services flush, never commit. Counter refusals are Russian (``CounterRefusal``), raised
before anything changes; a wrong code or wrong digits is returned as an outcome, so the
request's transaction keeps the count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.kit.display import (
    format_local_date,
    format_local_datetime,
    format_local_time,
    format_roubles,
)
from selpo.kit.lockout import Lockout
from selpo.logistics import way_back
from selpo.marketplace import service as marketplace_service
from selpo.models import CustomerReturn, CustomerReturnItem, Marketplace, PostOffice, Shipment
from selpo.notify import service as notify_service
from selpo.returns import repository
from selpo.returns.errors import CounterRefusal, DuplicateReturn, ReturnNotFound, ReturnRefused
from selpo.returns.rules import (
    ACCEPTED,
    REGISTERED,
    STATUSES,
    clean_return_code,
    hash_return_code,
    new_return_code,
    refund_due,
    return_deadline,
)
from selpo.returns.schemas import (
    ReturnCreate,
    ReturnItemRead,
    ReturnPage,
    ReturnRead,
    ReturnRegistered,
)
from selpo.shipment import repository as shipment_repository
from selpo.shipment.errors import ShipmentNotFound
from selpo.shipment.label import Label, render_labels
from selpo.shipment.tracking import (
    MAX_SERIAL,
    is_valid_tracking_number,
    make_tracking_number,
    month_code,
)

ISSUED = ("delivered", "partially_delivered")
CODE_ATTEMPTS = 5  # collisions of a fresh code's hash before giving up (never seen)


@dataclass(frozen=True)
class CodePolicy:
    """How return codes are kept (the pepper) and how wrong attempts lock the office's search."""

    pepper: str
    lockout: Lockout


# ---------------------------------------------------------------------------- reading


def read_return(session: Session, ret: CustomerReturn) -> ReturnRead:
    """The marketplace's view of a return."""
    return _reads(session, [ret])[0]


def _reads(session: Session, returns: list[CustomerReturn]) -> list[ReturnRead]:
    items = repository.items_of_many(session, {r.id for r in returns})
    shipments = repository.shipments_by_id(session, {r.shipment_id for r in returns})
    offices = repository.offices_by_id(
        session, {r.office_id for r in returns if r.office_id is not None}
    )
    return [
        ReturnRead(
            id=r.id,
            external_return_id=r.external_return_id,
            tracking_number=shipments[r.shipment_id].tracking_number,
            external_order_id=shipments[r.shipment_id].external_order_id,
            status=r.status,
            reason=r.reason,
            items=[
                ReturnItemRead(
                    position=i.position,
                    sku=i.sku,
                    name=i.name,
                    quantity=i.quantity,
                    price_kop=i.price_kop,
                    accepted_quantity=i.accepted_quantity,
                )
                for i in items[r.id]
            ],
            return_deadline=r.return_deadline,
            cash_refund=r.cash_refund,
            refund_kop=r.refund_kop,
            return_tracking_number=r.tracking_number,
            office_index=offices[r.office_id].index if r.office_id is not None else None,
            accepted_at=r.accepted_at,
            in_transit_at=r.in_transit_at,
            delivered_at=r.delivered_at,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        for r in returns
    ]


def get_return(session: Session, *, marketplace_id: int, return_id: int) -> ReturnRead:
    """One of the marketplace's returns; another marketplace's is 'not found'."""
    ret = repository.by_id(session, return_id, marketplace_id=marketplace_id)
    if ret is None:
        raise ReturnNotFound(return_id)
    return read_return(session, ret)


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("the cursor is not one this API gave", field="cursor") from None


def list_returns(
    session: Session,
    *,
    marketplace_id: int,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> ReturnPage:
    """A page of the marketplace's returns, oldest first, optionally of one status."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"unknown return status {status!r}; known: {', '.join(STATUSES)}", field="status"
        )
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", field="limit")
    rows = repository.page(
        session,
        marketplace_id=marketplace_id,
        status=status,
        after_id=_decode_cursor(cursor),
        limit=limit,
    )
    next_cursor = _encode_cursor(rows[-1].id) if len(rows) == limit else None
    return ReturnPage(items=_reads(session, rows), next_cursor=next_cursor)


# ---------------------------------------------------------------------------- registering


def _claimed_units(session: Session, shipment_id: int) -> dict[int, int]:
    """Units of each order line already in a return (registered: as asked; accepted on:
    as checked in)."""
    returns = repository.of_shipment(session, shipment_id)
    items = repository.items_of_many(session, {r.id for r in returns})
    claimed: dict[int, int] = {}
    for ret in returns:
        for item in items[ret.id]:
            units = item.quantity if ret.status == REGISTERED else item.accepted_quantity or 0
            claimed[item.position] = claimed.get(item.position, 0) + units
    return claimed


def register_return(
    session: Session,
    *,
    marketplace: Marketplace,
    return_in: ReturnCreate,
    now: datetime,
    pepper: str,
) -> ReturnRegistered:
    """Register a buyer's return of an issued order and make its code (shown this once).

    Refused before anything changes: an order that is not the marketplace's (404), not issued
    or past the return period (409), a line the order does not have or more units than were
    taken and not yet returned (422), a cash refund asked of an order without cash on
    delivery collected (422), a return id already used (409). The order's row is locked, so
    two returns of the same units cannot both pass.
    """
    shipment = shipment_repository.get_by_tracking_number(
        session, return_in.tracking_number, marketplace_id=marketplace.id, lock=True
    )
    if shipment is None:
        raise ShipmentNotFound(return_in.tracking_number)
    if shipment.status not in ISSUED:
        raise ReturnRefused(
            f"the shipment is {shipment.status}: only an issued order can be returned"
        )
    earlier = repository.by_external_id(session, marketplace.id, return_in.external_return_id)
    if earlier is not None:
        raise DuplicateReturn(return_in.external_return_id, earlier.id)
    office = session.get(PostOffice, shipment.destination_office_id)
    assert office is not None
    received = repository.received_at(session, shipment.id) or shipment.updated_at
    deadline = return_deadline(received, marketplace.return_days, office.timezone)
    if now > deadline:
        raise ReturnRefused(
            f"the return period ended on {deadline.date().isoformat()} "
            f"({marketplace.return_days} days after the order was received)"
        )
    lines = {i.position: i for i in shipment_repository.items_of(session, shipment.id)}
    claimed = _claimed_units(session, shipment.id)
    seen: set[int] = set()
    for item in return_in.items:
        line = lines.get(item.position)
        if line is None:
            raise InvalidInput(f"the order has no line at position {item.position}", field="items")
        if item.position in seen:
            raise InvalidInput(f"position {item.position} appears twice", field="items")
        seen.add(item.position)
        left = line.quantity - line.refused_quantity - claimed.get(item.position, 0)
        if item.quantity > left:
            raise InvalidInput(
                f"line {item.position}: {item.quantity} units asked, {max(left, 0)} taken and "
                "not yet returned",
                field="items",
            )
    cash_refund = (
        marketplace.refund_cash_at_counter
        if return_in.cash_refund is None
        else return_in.cash_refund
    )
    if shipment.cod_collected_kop <= 0:
        if return_in.cash_refund:
            raise InvalidInput(
                "no cash on delivery was collected for this order: nothing to refund in cash",
                field="cash_refund",
            )
        cash_refund = False
    ret, code = _insert_return(
        session,
        marketplace=marketplace,
        shipment=shipment,
        return_in=return_in,
        deadline=deadline,
        cash_refund=cash_refund,
        now=now,
        pepper=pepper,
    )
    session.execute(
        insert(CustomerReturnItem),
        [
            {
                "return_id": ret.id,
                "position": item.position,
                "sku": lines[item.position].sku,
                "name": lines[item.position].name,
                "quantity": item.quantity,
                "price_kop": lines[item.position].price_kop,
                "accepted_quantity": None,
            }
            for item in sorted(return_in.items, key=lambda i: i.position)
        ],
    )
    session.flush()
    return ReturnRegistered(**read_return(session, ret).model_dump(), return_code=code)


def _insert_return(
    session: Session,
    *,
    marketplace: Marketplace,
    shipment: Shipment,
    return_in: ReturnCreate,
    deadline: datetime,
    cash_refund: bool,
    now: datetime,
    pepper: str,
) -> tuple[CustomerReturn, str]:
    """Insert the return with a fresh code (a code whose hash is taken is drawn again; a
    return id registered concurrently is a 409)."""
    for _ in range(CODE_ATTEMPTS):
        code = new_return_code()
        ret = CustomerReturn(
            marketplace_id=marketplace.id,
            shipment_id=shipment.id,
            external_return_id=return_in.external_return_id,
            reason=return_in.reason,
            status=REGISTERED,
            code_hash=hash_return_code(code, pepper=pepper),
            return_deadline=deadline,
            cash_refund=cash_refund,
            refund_kop=0,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(ret)
            return ret, code
        except IntegrityError:
            earlier = repository.by_external_id(
                session, marketplace.id, return_in.external_return_id
            )
            if earlier is not None:
                raise DuplicateReturn(return_in.external_return_id, earlier.id) from None
    raise ReturnRefused("could not draw a free return code; retry", field="return_code")


# ---------------------------------------------------------------------------- the counter


@dataclass(frozen=True)
class Found:
    """The outcome of a search at the counter: the return found (with the ticket that opens
    it on this workstation), or a message (a wrong attempt is counted, not raised)."""

    return_id: int | None = None
    ticket: str | None = None
    message: str = ""
    tone: str = "ok"


def counter_ticket(*, return_id: int, office_id: int, seat: str, pepper: str) -> str:
    """What opens a found return on one workstation (``seat``: its session) at one office:
    the accept form carries it, so no return is accepted without being found first."""
    message = f"counter-return:{return_id}:{office_id}:{seat}".encode()
    return hmac.new(pepper.encode(), message, hashlib.sha256).hexdigest()


def _found(ret: CustomerReturn, office: PostOffice, seat: str, pepper: str) -> Found:
    ticket = counter_ticket(return_id=ret.id, office_id=office.id, seat=seat, pepper=pepper)
    return Found(return_id=ret.id, ticket=ticket, message="Возврат найден.")


def _wrong(
    session: Session, office: PostOffice, policy: CodePolicy, now: datetime, what: str
) -> Found:
    """Count a wrong attempt against the office's search; the message says what is left."""
    lockout = policy.lockout
    counted = repository.count_failure(
        session,
        office.id,
        now=now,
        max_failures=lockout.max_failures,
        lock_until=lockout.lock_until(now),
    )
    if counted is None or counted[1] is not None and lockout.in_force(counted[1], now):
        until = repository.guard(session, office.id).locked_until or lockout.lock_until(now)
        return Found(
            message=f"{what} Поиск возвратов закрыт до "
            f"{format_local_time(until, office.timezone)}: слишком много неверных попыток.",
            tone="error",
        )
    return Found(
        message=f"{what} Осталось попыток: {lockout.attempts_left(counted[0])}.", tone="error"
    )


def _locked(
    session: Session, office: PostOffice, policy: CodePolicy, now: datetime
) -> Found | None:
    held = policy.lockout.in_force(repository.guard(session, office.id).locked_until, now)
    if held is None:
        return None
    return Found(
        message="Поиск возвратов закрыт до "
        f"{format_local_time(held, office.timezone)}: слишком много неверных попыток.",
        tone="error",
    )


def find_by_code(
    session: Session,
    *,
    office: PostOffice,
    code: str,
    seat: str,
    policy: CodePolicy,
    now: datetime,
) -> Found:
    """Find a return by the code the buyer shows; a wrong code counts against the office."""
    cleaned = clean_return_code(code)
    if cleaned is None:
        raise CounterRefusal("Код возврата — 10 цифр из приложения магазина.", field="code")
    if (locked := _locked(session, office, policy, now)) is not None:
        return locked
    ret = repository.by_code_hash(session, hash_return_code(cleaned, pepper=policy.pepper))
    if ret is None:
        return _wrong(session, office, policy, now, "Возврата с таким кодом нет.")
    repository.clear_failures(session, office.id, now=now)
    return _found(ret, office, seat, policy.pepper)


def find_by_order(
    session: Session,
    *,
    office: PostOffice,
    tracking_number: str,
    phone_last4: str,
    seat: str,
    policy: CodePolicy,
    now: datetime,
) -> Found:
    """Find a registered return by its order's tracking number and the last four digits of
    the recipient's phone; wrong digits (or an unknown number) count against the office."""
    number = tracking_number.strip().replace(" ", "")
    digits = phone_last4.strip()
    if not is_valid_tracking_number(number):
        raise CounterRefusal("Трек-номер заказа — 14 цифр.", field="tracking_number")
    if len(digits) != 4 or not digits.isdigit():
        raise CounterRefusal("Введите последние 4 цифры телефона покупателя.", field="phone_last4")
    if (locked := _locked(session, office, policy, now)) is not None:
        return locked
    shipment = shipment_repository.get_by_tracking_number(session, number)
    if shipment is None or shipment.phone_last4 != digits:
        return _wrong(session, office, policy, now, "Заказ с таким номером и телефоном не найден.")
    repository.clear_failures(session, office.id, now=now)
    waiting = repository.of_shipment(session, shipment.id, statuses=(REGISTERED,))
    if not waiting:
        return Found(
            message="По этому заказу магазин не оформил возврат: покупателю нужно оформить "
            "его в приложении магазина.",
            tone="warn",
        )
    return _found(waiting[0], office, seat, policy.pepper)


@dataclass(frozen=True)
class CounterLine:
    """A line of a return as the counter checks it."""

    position: int
    sku: str
    name: str
    quantity: int
    price_kop: int
    accepted_quantity: int | None


@dataclass(frozen=True)
class CounterReturn:
    """A return on the counter's screen: the order, the lines, the refund, what may be done."""

    id: int
    status: str
    marketplace: str
    external_return_id: str
    order_number: str
    reason: str
    deadline_text: str
    lines: list[CounterLine]
    cash_refund: bool
    refund_kop: int  # paid (accepted) or due for every unit asked (registered)
    refund_text: str
    tracking_number: str | None
    refusal: str | None  # why it cannot be accepted here now (``None``: it can)


def _refund_for(
    session: Session, ret: CustomerReturn, shipment: Shipment, units: Mapping[int, int]
) -> int:
    """The cash to pay back for ``units`` {position: units} of this return."""
    if not ret.cash_refund or shipment.cod_collected_kop <= 0:
        return 0
    lines = shipment_repository.items_of(session, shipment.id)
    prices = {i.position: i.price_kop for i in lines}
    refunded = sum(
        r.refund_kop for r in repository.of_shipment(session, shipment.id) if r.id != ret.id
    )
    return refund_due(
        shipment.cod_collected_kop,
        [(i.price_kop, i.quantity - i.refused_quantity) for i in lines],
        [(prices[p], u) for p, u in units.items() if p in prices],
        refunded,
    )


def _refusal(
    session: Session, ret: CustomerReturn, office: PostOffice, now: datetime
) -> str | None:
    if ret.status != REGISTERED:
        return "Возврат уже принят."
    if now > ret.return_deadline:
        day = format_local_date(ret.return_deadline, office.timezone)
        return f"Срок возврата истёк {day}: принять нельзя."
    if not marketplace_service.serves(session, office=office, marketplace_id=ret.marketplace_id):
        return "Это отделение не принимает возвраты этого магазина."
    return None


def counter_view(
    session: Session,
    *,
    office: PostOffice,
    return_id: int,
    ticket: str | None,
    seat: str,
    pepper: str,
    now: datetime,
) -> CounterReturn:
    """A found return (its ticket), or one accepted at this office, as the counter sees it."""
    ret = _counter_return(session, office, return_id, ticket, seat, pepper)
    shipment = session.get(Shipment, ret.shipment_id)
    marketplace = session.get(Marketplace, ret.marketplace_id)
    assert shipment is not None
    assert marketplace is not None
    items = repository.items_of(session, ret.id)
    registered = ret.status == REGISTERED
    refund = (
        _refund_for(session, ret, shipment, {i.position: i.quantity for i in items})
        if registered
        else ret.refund_kop
    )
    return CounterReturn(
        id=ret.id,
        status=ret.status,
        marketplace=marketplace.name,
        external_return_id=ret.external_return_id,
        order_number=shipment.tracking_number,
        reason=ret.reason,
        deadline_text=format_local_date(ret.return_deadline, office.timezone),
        lines=[
            CounterLine(i.position, i.sku, i.name, i.quantity, i.price_kop, i.accepted_quantity)
            for i in items
        ],
        cash_refund=ret.cash_refund and shipment.cod_collected_kop > 0,
        refund_kop=refund,
        refund_text=format_roubles(refund),
        tracking_number=ret.tracking_number,
        refusal=_refusal(session, ret, office, now) if registered else None,
    )


def _counter_return(
    session: Session,
    office: PostOffice,
    return_id: int,
    ticket: str | None,
    seat: str,
    pepper: str,
    *,
    lock: bool = False,
) -> CustomerReturn:
    """The return this workstation found (the ticket proves it), or one accepted here."""
    ret = repository.by_id(session, return_id, lock=lock)
    if ret is not None and ret.office_id == office.id:
        return ret
    right = counter_ticket(return_id=return_id, office_id=office.id, seat=seat, pepper=pepper)
    if ret is None or ticket is None or not hmac.compare_digest(ticket, right):
        raise CounterRefusal(
            "Сначала найдите возврат: по коду покупателя или по трек-номеру и телефону.",
            field="return_id",
        )
    return ret


def _return_number(session: Session, office: PostOffice, now: datetime) -> str:
    """A 14-digit number from the accepting office's serials (shared with any shipment
    accepted under the same index, so numbers never clash)."""
    code = month_code(now.astimezone(UTC).date())
    last = shipment_repository.allocate_serials(session, office.index + code, 1)
    if last > MAX_SERIAL:
        raise ReturnRefused(
            f"the serials of {office.index}/{code} are used up for this month",
            field="tracking_number",
        )
    return make_tracking_number(office.index, code, last)


def accept_at_counter(
    session: Session,
    *,
    office: PostOffice,
    return_id: int,
    ticket: str | None,
    seat: str,
    pepper: str,
    accepted: Mapping[int, int],
    weight_g: int | None,
    actor: str,
    now: datetime,
) -> CustomerReturn:
    """Take the buyer's return: the units checked in (``accepted`` {position: units}, at
    most those asked, at least one in all), a tracking number and label, the cash refund
    where the marketplace asks (paid now: the receipt shows it), ``return.accepted``, and
    the parcel on the way back. Refused (Russian, nothing changed) when the return is not
    found on this workstation, already accepted, past its period or the office does not
    serve the marketplace."""
    ret = _counter_return(session, office, return_id, ticket, seat, pepper, lock=True)
    if (why := _refusal(session, ret, office, now)) is not None:
        raise CounterRefusal(why, field="return_id")
    items = repository.items_of(session, ret.id)
    units: dict[int, int] = {}
    for item in items:
        count = accepted.get(item.position, 0)
        if not 0 <= count <= item.quantity:
            raise CounterRefusal(
                f"«{item.name}»: принять можно от 0 до {item.quantity} шт.", field="accepted"
            )
        units[item.position] = count
    if sum(units.values()) == 0:
        raise CounterRefusal("Не принято ни одной единицы товара.", field="accepted")
    if weight_g is not None and not 1 <= weight_g <= 100_000:
        raise CounterRefusal("Вес посылки — от 1 г до 100 кг.", field="weight_g")
    shipment = shipment_repository.get_by_tracking_number(
        session, _order_number(session, ret), lock=True
    )
    assert shipment is not None
    refund = _refund_for(session, ret, shipment, units)
    warehouse_id = way_back.home_warehouse_id(session, shipment.id)
    for item in items:
        item.accepted_quantity = units[item.position]
    taken_units = sum(i.quantity for i in items) or 1
    share = sum(units.values()) / taken_units
    ret.tracking_number = _return_number(session, office, now)
    ret.status = ACCEPTED
    ret.office_id = office.id
    ret.warehouse_id = warehouse_id
    ret.weight_g = weight_g or max(1, round(shipment.weight_g * share))
    ret.accepted_by = actor
    ret.accepted_at = now
    ret.refund_kop = refund
    ret.updated_at = now
    session.flush()
    litres = shipment.length_mm * shipment.width_mm * shipment.height_mm / 1_000_000
    way_back.send_back(
        session,
        kind="customer_return",
        ref_id=ret.id,
        barcode=ret.tracking_number,
        office_id=office.id,
        weight_g=ret.weight_g,
        litres=round(litres * share, 3),
        ready_at=now,
        now=now,
        marketplace_id=ret.marketplace_id,
        warehouse_id=ret.warehouse_id,
    )
    notify_service.publish_event(
        session,
        marketplace_id=ret.marketplace_id,
        event_type="return.accepted",
        data={
            **event_head(ret, shipment),
            "office_index": office.index,
            "items": [
                {"position": i.position, "sku": i.sku, "quantity": units[i.position]} for i in items
            ],
            "refund_kop": refund,
            "accepted_at": now.isoformat(),
        },
        now=now,
    )
    return ret


def _order_number(session: Session, ret: CustomerReturn) -> str:
    shipment = session.get(Shipment, ret.shipment_id)
    assert shipment is not None
    return shipment.tracking_number


def event_head(ret: CustomerReturn, shipment: Shipment) -> dict[str, object]:
    """What every ``return.*`` webhook starts with."""
    return {
        "return_id": ret.id,
        "external_return_id": ret.external_return_id,
        "tracking_number": shipment.tracking_number,
        "external_order_id": shipment.external_order_id,
        "status": ret.status,
        "return_tracking_number": ret.tracking_number,
    }


def accepted_here(session: Session, *, office: PostOffice, return_id: int) -> CustomerReturn:
    """A return accepted at this office (its label, its receipt)."""
    ret = repository.by_id(session, return_id)
    if ret is None or ret.office_id != office.id or ret.tracking_number is None:
        raise CounterRefusal("Этот возврат не принят в вашем отделении.", field="return_id")
    return ret


def label_pdf(session: Session, *, office: PostOffice, return_id: int) -> bytes:
    """The return label (A6 PDF, Code 128 of the return's tracking number): back to the
    marketplace's warehouse, from this office."""
    ret = accepted_here(session, office=office, return_id=return_id)
    marketplace = session.get(Marketplace, ret.marketplace_id)
    assert marketplace is not None
    assert ret.tracking_number is not None
    warehouse = repository.warehouse_name(session, ret.warehouse_id)
    label = Label(
        tracking_number=ret.tracking_number,
        office_index=office.index,
        office_name=f"ВОЗВРАТ → {warehouse}",
        office_address=f"Принят: {office.name}",
        recipient_masked=marketplace.name,
        marketplace_name=marketplace.name,
        external_order_id=ret.external_return_id,
        weight_g=ret.weight_g or 0,
        cod_kop=0,
    )
    return render_labels([label], "a6")


@dataclass(frozen=True)
class ReturnReceipt:
    """The buyer's receipt for a return taken at the counter (and the cash paid back)."""

    office_index: str
    office_name: str
    marketplace: str
    return_tracking_number: str
    order_number: str
    external_return_id: str
    lines: list[CounterLine]
    refund_kop: int
    refund_text: str
    accepted_at_text: str
    clerk: str


def receipt(session: Session, *, office: PostOffice, return_id: int) -> ReturnReceipt:
    """The receipt of a return accepted at this office."""
    ret = accepted_here(session, office=office, return_id=return_id)
    marketplace = session.get(Marketplace, ret.marketplace_id)
    assert marketplace is not None
    assert ret.tracking_number
    assert ret.accepted_at
    items = repository.items_of(session, ret.id)
    return ReturnReceipt(
        office_index=office.index,
        office_name=office.name,
        marketplace=marketplace.name,
        return_tracking_number=ret.tracking_number,
        order_number=_order_number(session, ret),
        external_return_id=ret.external_return_id,
        lines=[
            CounterLine(i.position, i.sku, i.name, i.quantity, i.price_kop, i.accepted_quantity)
            for i in items
            if i.accepted_quantity
        ],
        refund_kop=ret.refund_kop,
        refund_text=format_roubles(ret.refund_kop),
        accepted_at_text=format_local_datetime(ret.accepted_at, office.timezone),
        clerk=(ret.accepted_by or "").removeprefix("clerk:"),
    )
