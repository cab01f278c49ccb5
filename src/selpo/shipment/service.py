"""Shipment use cases: creation, tracking, the lifecycle, pickup codes, cash on delivery.

Every status change goes through ``_transition``: it checks the transition table, appends a
tracking event and writes the marketplace's webhook into the outbox in the same transaction.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selpo.errors import DomainError, InvalidInput
from selpo.models import (
    IdempotencyRecord,
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    Shipment,
    ShipmentItem,
    TrackingEvent,
)
from selpo.network.rules import OfficeCapacity, ParcelSize, parcel_fits
from selpo.notify import service as notify_service
from selpo.shipment import repository
from selpo.shipment.errors import (
    DuplicateOrder,
    IdempotencyKeyReused,
    PickupCodeLocked,
    SerialsExhausted,
    ShipmentNotFound,
    TransitionRefused,
    WrongPickupCode,
)
from selpo.shipment.lifecycle import (
    EVENT_CODES,
    FINAL,
    IllegalTransition,
    Status,
    decide,
)
from selpo.shipment.rules import (
    cod_due,
    hash_pickup_code,
    mask_name,
    mask_phone,
    new_pickup_code,
    pickup_code_matches,
    storage_deadline,
)
from selpo.shipment.schemas import (
    CodReport,
    ItemRead,
    Parcel,
    ShipmentCreate,
    ShipmentPage,
    ShipmentRead,
    ShipmentSummary,
    TrackingEventRead,
)
from selpo.shipment.tracking import MAX_SERIAL, make_tracking_number, month_code

S = Status


@dataclass(frozen=True)
class PickupPolicy:
    """How pickup codes are kept and locked (from the settings)."""

    pepper: str
    max_failures: int = 5
    lock_minutes: int = 15


@dataclass(frozen=True)
class CreateOutcome:
    """One shipment of a request: created (with its read model) or refused (with the error)."""

    position: int
    shipment: ShipmentRead | None = None
    error: DomainError | None = None


# ---------------------------------------------------------------------------- reading


def _read(session: Session, shipment: Shipment, destination_index: str) -> ShipmentRead:
    items = repository.items_of(session, shipment.id)
    events = repository.events_of(session, shipment.id)
    return ShipmentRead(
        tracking_number=shipment.tracking_number,
        external_order_id=shipment.external_order_id,
        status=shipment.status,
        destination_index=destination_index,
        recipient={
            "name": mask_name(shipment.recipient_name),
            "phone": mask_phone(shipment.recipient_phone),
        },
        parcel=Parcel(
            weight_g=shipment.weight_g,
            length_mm=shipment.length_mm,
            width_mm=shipment.width_mm,
            height_mm=shipment.height_mm,
            declared_value_kop=shipment.declared_value_kop,
            cod_kop=shipment.cod_kop,
        ),
        items=[
            ItemRead(
                sku=i.sku,
                name=i.name,
                quantity=i.quantity,
                price_kop=i.price_kop,
                refused_quantity=i.refused_quantity,
            )
            for i in items
        ],
        options=shipment.options,
        promised_date=shipment.promised_date,
        ready_at=shipment.ready_at,
        storage_deadline=shipment.storage_deadline,
        storage_extended=shipment.storage_extended,
        cod_collected_kop=shipment.cod_collected_kop,
        cod_method=shipment.cod_method,
        created_at=shipment.created_at,
        updated_at=shipment.updated_at,
        events=[
            TrackingEventRead(
                code=e.code,
                status=e.status_after,
                applied=e.applied,
                occurred_at=e.occurred_at,
                office_index=e.office_index,
                actor=e.actor,
            )
            for e in events
        ],
    )


def _destination_index(session: Session, shipment: Shipment) -> str:
    office = session.get(PostOffice, shipment.destination_office_id)
    return office.index if office else ""


def read_shipment(session: Session, shipment: Shipment) -> ShipmentRead:
    """The marketplace's view of a shipment."""
    return _read(session, shipment, _destination_index(session, shipment))


def get_shipment(session: Session, *, marketplace_id: int | None, tracking_number: str) -> Shipment:
    """A shipment by number; another marketplace's shipment is 'not found'."""
    shipment = repository.get_by_tracking_number(
        session, tracking_number, marketplace_id=marketplace_id
    )
    if shipment is None:
        raise ShipmentNotFound(tracking_number)
    return shipment


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        after = int(value["after"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("the cursor is not one this API gave", field="cursor") from None
    return after


def list_shipments(
    session: Session,
    *,
    marketplace_id: int,
    status: str | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> ShipmentPage:
    """A page of the marketplace's shipments in creation order; stable under new inserts."""
    if status is not None and status not in set(Status):
        raise InvalidInput(f"unknown status {status!r}", field="status")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000", field="limit")
    rows = repository.page(
        session,
        marketplace_id=marketplace_id,
        status=status,
        updated_since=updated_since,
        after_id=_decode_cursor(cursor),
        limit=limit,
    )
    items = [
        ShipmentSummary(
            tracking_number=s.tracking_number,
            external_order_id=s.external_order_id,
            status=s.status,
            destination_index=index,
            recipient={"name": mask_name(s.recipient_name), "phone": mask_phone(s.recipient_phone)},
            promised_date=s.promised_date,
            storage_deadline=s.storage_deadline,
            updated_at=s.updated_at,
        )
        for s, index in rows
    ]
    next_cursor = _encode_cursor(rows[-1][0].id) if len(rows) == limit else None
    return ShipmentPage(items=items, next_cursor=next_cursor)


# ---------------------------------------------------------------------------- creation


def _tracking_numbers(
    session: Session, *, accepting_index: str, now: datetime, count: int
) -> list[str]:
    code = month_code(now.astimezone(UTC).date())
    last = repository.allocate_serials(session, accepting_index + code, count)
    if last > MAX_SERIAL:
        raise SerialsExhausted(
            f"the serials of {accepting_index}/{code} are used up for this month"
        )
    return [
        make_tracking_number(accepting_index, code, s) for s in range(last - count + 1, last + 1)
    ]


@dataclass
class _Destination:
    office: PostOffice
    serves: bool


def _destinations(
    session: Session, marketplace_id: int, indexes: set[str]
) -> dict[str, _Destination]:
    offices = session.scalars(select(PostOffice).where(PostOffice.index.in_(sorted(indexes))))
    found = {o.index: _Destination(o, False) for o in offices}
    if found:
        active = session.scalars(
            select(MarketplaceConnection.post_office_id).where(
                MarketplaceConnection.marketplace_id == marketplace_id,
                MarketplaceConnection.status == "active",
                MarketplaceConnection.post_office_id.in_([d.office.id for d in found.values()]),
            )
        )
        ids = set(active)
        for destination in found.values():
            destination.serves = destination.office.id in ids
    return found


def _check_contents(shipment_in: ShipmentCreate) -> None:
    parcel = shipment_in.parcel
    if parcel.cod_kop > parcel.declared_value_kop:
        raise InvalidInput(
            f"cod_kop {parcel.cod_kop} exceeds declared_value_kop {parcel.declared_value_kop}",
            field="parcel.cod_kop",
        )
    total = sum(i.price_kop * i.quantity for i in shipment_in.items)
    if total != parcel.declared_value_kop:
        raise InvalidInput(
            f"items add up to {total} kopecks but declared_value_kop is "
            f"{parcel.declared_value_kop}",
            field="items",
        )


def _check_destination(destination: _Destination | None, shipment_in: ShipmentCreate) -> None:
    index = shipment_in.destination_index
    if destination is None:
        raise InvalidInput(f"no post office has index {index}", field="destination_index")
    office = destination.office
    if office.status != "open":
        raise InvalidInput(f"office {index} is {office.status}", field="destination_index")
    if not destination.serves:
        raise InvalidInput(
            f"office {index} does not serve this marketplace", field="destination_index"
        )
    parcel = shipment_in.parcel
    size = ParcelSize(parcel.weight_g, parcel.length_mm, parcel.width_mm, parcel.height_mm)
    capacity = OfficeCapacity(
        office.max_weight_g,
        office.max_length_mm,
        office.max_width_mm,
        office.max_height_mm,
        office.cells_s,
        office.cells_m,
        office.cells_l,
    )
    if parcel.weight_g > office.max_weight_g:
        raise InvalidInput(
            f"{parcel.weight_g} g exceeds office {index}'s limit of {office.max_weight_g} g",
            field="parcel.weight_g",
        )
    if not parcel_fits(size, capacity):
        raise InvalidInput(
            f"the parcel does not fit office {index}'s largest cell", field="parcel.length_mm"
        )


def create_shipments(
    session: Session,
    *,
    marketplace: Marketplace,
    shipments_in: list[ShipmentCreate],
    now: datetime,
    actor: str = "marketplace-api",
    promise: Callable[[str], date | None] | None = None,
) -> list[CreateOutcome]:
    """Create shipments; each is checked on its own, a refused one does not stop the others.

    The accepted ones are written in bulk (one insert per table), which keeps a batch of
    1,000 close to the database's raw insert rate. ``promise`` (office index -> promised
    date, e.g. ``logistics.service.promised_dates``) fills ``promised_date``; without it the
    date stays empty.
    """
    outcomes: dict[int, CreateOutcome] = {}
    destinations = _destinations(
        session, marketplace.id, {s.destination_index for s in shipments_in}
    )
    used = repository.existing_orders(
        session, marketplace.id, [s.external_order_id for s in shipments_in]
    )
    accepted: list[tuple[int, ShipmentCreate, PostOffice]] = []
    in_request: set[str] = set()
    for position, shipment_in in enumerate(shipments_in):
        try:
            if shipment_in.external_order_id in used:
                raise DuplicateOrder(
                    shipment_in.external_order_id, used[shipment_in.external_order_id]
                )
            if shipment_in.external_order_id in in_request:
                raise InvalidInput(
                    f"order {shipment_in.external_order_id!r} appears twice in this request",
                    field="external_order_id",
                )
            _check_contents(shipment_in)
            destination = destinations.get(shipment_in.destination_index)
            _check_destination(destination, shipment_in)
            assert destination is not None
        except DomainError as error:
            outcomes[position] = CreateOutcome(position, error=error)
            continue
        in_request.add(shipment_in.external_order_id)
        accepted.append((position, shipment_in, destination.office))

    if accepted:
        numbers = _tracking_numbers(
            session, accepting_index=marketplace.accepting_index, now=now, count=len(accepted)
        )
        promised = [promise(office.index) if promise else None for _, _, office in accepted]
        rows = [
            {
                "tracking_number": number,
                "marketplace_id": marketplace.id,
                "external_order_id": s.external_order_id,
                "destination_office_id": office.id,
                "status": S.CREATED.value,
                "recipient_name": s.recipient.name,
                "recipient_phone": s.recipient.phone,
                "phone_last4": s.recipient.phone[-4:],
                "weight_g": s.parcel.weight_g,
                "length_mm": s.parcel.length_mm,
                "width_mm": s.parcel.width_mm,
                "height_mm": s.parcel.height_mm,
                "declared_value_kop": s.parcel.declared_value_kop,
                "cod_kop": s.parcel.cod_kop,
                "options": s.options.model_dump(),
                "promised_date": promised_date,
                "storage_extended": False,
                "reminder_sent": False,
                "pickup_code_failures": 0,
                "cod_collected_kop": 0,
                "created_at": now,
                "updated_at": now,
            }
            for number, promised_date, (_, s, office) in zip(
                numbers, promised, accepted, strict=True
            )
        ]
        try:
            with session.begin_nested():
                ids = list(
                    session.scalars(
                        insert(Shipment).returning(Shipment.id, sort_by_parameter_order=True), rows
                    )
                )
        except IntegrityError:
            # A concurrent request created one of these orders first: tell which.
            taken = repository.existing_orders(
                session, marketplace.id, [s.external_order_id for _, s, _ in accepted]
            )
            for position, s, _ in accepted:
                refusal = (
                    DuplicateOrder(s.external_order_id, taken[s.external_order_id])
                    if s.external_order_id in taken
                    else DomainError("created concurrently; retry", field="external_order_id")
                )
                outcomes[position] = CreateOutcome(position, error=refusal)
            return [outcomes[i] for i in sorted(outcomes)]
        item_rows = [
            {
                "shipment_id": shipment_id,
                "position": n,
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "price_kop": item.price_kop,
                "refused_quantity": 0,
            }
            for shipment_id, (_, s, _) in zip(ids, accepted, strict=True)
            for n, item in enumerate(s.items)
        ]
        session.execute(insert(ShipmentItem), item_rows)
        event_rows = [
            {
                "shipment_id": shipment_id,
                "code": "created",
                "status_after": S.CREATED.value,
                "applied": True,
                "occurred_at": now,
                "recorded_at": now,
                "office_index": None,
                "actor": actor,
                "source": None,
            }
            for shipment_id in ids
        ]
        session.execute(insert(TrackingEvent), event_rows)
        created_events: list[tuple[str, dict[str, Any]]] = []
        for number, shipment_id, promised_date, (position, s, office) in zip(
            numbers, ids, promised, accepted, strict=True
        ):
            read = ShipmentRead(
                tracking_number=number,
                external_order_id=s.external_order_id,
                status=S.CREATED.value,
                destination_index=office.index,
                recipient={
                    "name": mask_name(s.recipient.name),
                    "phone": mask_phone(s.recipient.phone),
                },
                parcel=s.parcel,
                items=[ItemRead(**i.model_dump(), refused_quantity=0) for i in s.items],
                options=s.options.model_dump(),
                promised_date=promised_date,
                ready_at=None,
                storage_deadline=None,
                storage_extended=False,
                cod_collected_kop=0,
                cod_method=None,
                created_at=now,
                updated_at=now,
                events=[
                    TrackingEventRead(
                        code="created",
                        status=S.CREATED.value,
                        applied=True,
                        occurred_at=now,
                        office_index=None,
                        actor=actor,
                    )
                ],
            )
            created_events.append(
                (
                    "shipment.created",
                    {
                        "tracking_number": number,
                        "external_order_id": s.external_order_id,
                        "status": S.CREATED.value,
                        "destination_index": office.index,
                        "shipment_id": shipment_id,
                    },
                )
            )
            outcomes[position] = CreateOutcome(position, shipment=read)
        notify_service.publish_events(
            session, marketplace_id=marketplace.id, events=created_events, now=now
        )
    return [outcomes[i] for i in sorted(outcomes)]


def request_fingerprint(body: Any) -> str:
    """A stable hash of a request body (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim_idempotency_key(
    session: Session, *, marketplace_id: int, key: str, fingerprint: str, now: datetime
) -> IdempotencyRecord | None:
    """Claim a key for this request; return the earlier record if the key was used before.

    The claim is an insert under a unique constraint: of two concurrent identical requests,
    the second waits for the first to commit and then finds its answer.
    """
    if not key or len(key) > 255:
        raise InvalidInput("Idempotency-Key must be 1 to 255 characters", field="Idempotency-Key")
    existing = repository.get_idempotency_record(session, marketplace_id, key)
    if existing is None:
        try:
            with session.begin_nested():
                session.add(
                    IdempotencyRecord(
                        marketplace_id=marketplace_id,
                        key=key,
                        request_sha256=fingerprint,
                        created_at=now,
                    )
                )
            return None
        except IntegrityError:
            existing = repository.get_idempotency_record(session, marketplace_id, key)
            if existing is None:  # pragma: no cover - the winner rolled back; let the client retry
                raise DomainError("a concurrent request with this key failed; retry") from None
    if existing.request_sha256 != fingerprint:
        raise IdempotencyKeyReused()
    return existing


def store_idempotent_response(
    session: Session, *, marketplace_id: int, key: str, status_code: int, response: Any
) -> None:
    """Remember the answer given under a key, in the same transaction as the change."""
    record = repository.get_idempotency_record(session, marketplace_id, key)
    if record is not None:
        record.status_code = status_code
        record.response = response


# ---------------------------------------------------------------------------- lifecycle


def _publish_status(
    session: Session, shipment: Shipment, event: TrackingEvent, now: datetime
) -> None:
    notify_service.publish_event(
        session,
        marketplace_id=shipment.marketplace_id,
        event_type="shipment.status_changed",
        data={
            "tracking_number": shipment.tracking_number,
            "external_order_id": shipment.external_order_id,
            "status": shipment.status,
            "event_code": event.code,
            "occurred_at": event.occurred_at.isoformat(),
            "office_index": event.office_index,
            "storage_deadline": (
                shipment.storage_deadline.isoformat() if shipment.storage_deadline else None
            ),
        },
        now=now,
    )


def _transition(
    session: Session,
    shipment: Shipment,
    target: Status,
    *,
    code: str,
    now: datetime,
    occurred_at: datetime | None = None,
    office_index: str | None = None,
    actor: str,
    source: dict[str, Any] | None = None,
) -> TrackingEvent:
    """Record an event and, when the table allows, move the shipment to ``target``."""
    occurred = occurred_at or now
    latest = repository.latest_event_time(session, shipment.id)
    late = latest is not None and occurred < latest
    try:
        decision = decide(Status(shipment.status), target, late=late)
    except IllegalTransition as exc:
        raise TransitionRefused(
            str(exc), current=str(exc.current), allowed=[str(a) for a in exc.allowed]
        ) from None
    event = TrackingEvent(
        shipment_id=shipment.id,
        code=code,
        status_after=decision.status_after.value,
        applied=decision.applies,
        occurred_at=occurred,
        recorded_at=now,
        office_index=office_index,
        actor=actor,
        source=source,
    )
    session.add(event)
    if decision.applies:
        shipment.status = decision.status_after.value
        shipment.updated_at = now
        if decision.status_after in FINAL:
            shipment.finished_at = now
        session.flush()
        _publish_status(session, shipment, event, now)
    else:
        session.flush()
    return event


def record_scan(
    session: Session,
    *,
    tracking_number: str,
    code: str,
    occurred_at: datetime,
    now: datetime,
    office_index: str | None = None,
    actor: str = "hub-scan",
    raw: dict[str, Any] | None = None,
) -> Shipment:
    """Record a hub's or an office system's scan (late scans never move the status back)."""
    if code not in EVENT_CODES:
        raise InvalidInput(
            f"unknown event code {code!r}; known: {', '.join(sorted(EVENT_CODES))}", field="code"
        )
    if occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at needs a UTC offset", field="occurred_at")
    if occurred_at > now + timedelta(minutes=5):
        raise InvalidInput("occurred_at is in the future", field="occurred_at")
    shipment = repository.lock_by_tracking_number(session, tracking_number)
    if shipment is None:
        raise ShipmentNotFound(tracking_number)
    _transition(
        session,
        shipment,
        EVENT_CODES[code],
        code=code,
        now=now,
        occurred_at=occurred_at,
        office_index=office_index,
        actor=actor,
        source=raw,
    )
    return shipment


def cancel_shipment(session: Session, *, shipment: Shipment, now: datetime) -> Shipment:
    """Cancel a shipment not yet handed over."""
    _transition(session, shipment, S.CANCELLED, code="cancelled", now=now, actor="marketplace-api")
    return shipment


def _office(session: Session, shipment: Shipment) -> PostOffice:
    office = session.get(PostOffice, shipment.destination_office_id)
    assert office is not None  # a foreign key guarantees it
    return office


def make_ready_for_pickup(
    session: Session,
    *,
    shipment: Shipment,
    now: datetime,
    policy: PickupPolicy,
    cell_code: str | None = None,
    actor: str = "office",
) -> str:
    """Shelve an arrived parcel: it becomes ready, gets a pickup code and a storage deadline,
    and the recipient's SMS is queued. Returns the code (shown to nobody but the SMS)."""
    office = _office(session, shipment)
    marketplace = session.get(Marketplace, shipment.marketplace_id)
    assert marketplace is not None
    shipment.ready_at = now
    shipment.storage_deadline = storage_deadline(now, marketplace.storage_days, office.timezone)
    shipment.cell_code = cell_code
    code = new_pickup_code()
    shipment.pickup_code_hash = hash_pickup_code(
        code, tracking_number=shipment.tracking_number, pepper=policy.pepper
    )
    shipment.pickup_code_failures = 0
    shipment.pickup_code_locked_until = None
    _transition(
        session,
        shipment,
        S.READY_FOR_PICKUP,
        code="ready_for_pickup",
        now=now,
        office_index=office.index,
        actor=actor,
    )
    _queue_ready_sms(session, shipment, office, marketplace, code, now)
    return code


def _format_hours(hours: list[list[list[str]]]) -> str:
    names = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
    parts = []
    for name, day in zip(names, hours, strict=True):
        if day:
            parts.append(f"{name} " + ", ".join(f"{a}-{b}" for a, b in day))
    return "; ".join(parts) or "по согласованию"


def _local_date(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y")


def _queue_ready_sms(
    session: Session,
    shipment: Shipment,
    office: PostOffice,
    marketplace: Marketplace,
    code: str,
    now: datetime,
) -> None:
    if not shipment.recipient_phone or shipment.storage_deadline is None:
        return
    text = (
        f"Заказ {marketplace.name} {shipment.external_order_id} ждёт вас в отделении "
        f"{office.index}: {office.address}. Часы: {_format_hours(office.opening_hours)}. "
        f"Код получения: {code}. "
        f"Хранение до {_local_date(shipment.storage_deadline, office.timezone)}."
    )
    notify_service.queue_sms(
        session,
        phone=shipment.recipient_phone,
        text=text,
        now=now,
        reference=shipment.tracking_number,
    )


def reissue_pickup_code(
    session: Session, *, shipment: Shipment, now: datetime, policy: PickupPolicy
) -> str:
    """Make a new pickup code (the old one stops working) and send it again."""
    if shipment.status != S.READY_FOR_PICKUP:
        raise TransitionRefused(
            "a pickup code exists only while the parcel waits for pickup",
            current=shipment.status,
            allowed=[],
        )
    office = _office(session, shipment)
    marketplace = session.get(Marketplace, shipment.marketplace_id)
    assert marketplace is not None
    code = new_pickup_code()
    shipment.pickup_code_hash = hash_pickup_code(
        code, tracking_number=shipment.tracking_number, pepper=policy.pepper
    )
    shipment.pickup_code_failures = 0
    shipment.pickup_code_locked_until = None
    shipment.updated_at = now
    session.add(
        TrackingEvent(
            shipment_id=shipment.id,
            code="pickup_code_reissued",
            status_after=shipment.status,
            applied=False,
            occurred_at=now,
            recorded_at=now,
            office_index=office.index,
            actor="office",
        )
    )
    _queue_ready_sms(session, shipment, office, marketplace, code, now)
    return code


def verify_pickup_code(
    session: Session, *, shipment: Shipment, code: str, now: datetime, policy: PickupPolicy
) -> None:
    """Check a code typed at the counter; wrong ones count towards a temporary lock.

    The failure count is part of the caller's transaction: the endpoint commits it even
    when it answers with the refusal.
    """
    if shipment.status != S.READY_FOR_PICKUP or shipment.pickup_code_hash is None:
        raise TransitionRefused(
            f"the parcel is {shipment.status}, not waiting for pickup",
            current=shipment.status,
            allowed=[],
        )
    if shipment.pickup_code_locked_until is not None and now < shipment.pickup_code_locked_until:
        raise PickupCodeLocked(shipment.pickup_code_locked_until.isoformat())
    if pickup_code_matches(
        code,
        shipment.pickup_code_hash,
        tracking_number=shipment.tracking_number,
        pepper=policy.pepper,
    ):
        shipment.pickup_code_failures = 0
        shipment.pickup_code_locked_until = None
        return
    shipment.pickup_code_failures += 1
    if shipment.pickup_code_failures >= policy.max_failures:
        shipment.pickup_code_failures = 0
        shipment.pickup_code_locked_until = now + timedelta(minutes=policy.lock_minutes)
        session.flush()
        raise PickupCodeLocked(shipment.pickup_code_locked_until.isoformat())
    session.flush()
    raise WrongPickupCode(policy.max_failures - shipment.pickup_code_failures)


def issue_to_recipient(
    session: Session,
    *,
    shipment: Shipment,
    now: datetime,
    refused_items: dict[int, int] | None = None,
    cod_method: str | None = None,
    cod_paid_kop: int | None = None,
    clerk: str = "office",
) -> Shipment:
    """Hand the parcel over (fully, or partly with ``refused_items`` {position: quantity}),
    collecting cash on delivery for what is taken."""
    if shipment.status != S.READY_FOR_PICKUP:
        raise TransitionRefused(
            f"the parcel is {shipment.status}, not waiting for pickup",
            current=shipment.status,
            allowed=[],
        )
    items = repository.items_of(session, shipment.id)
    refused = refused_items or {}
    if refused and not shipment.options.get("partial_redemption", False):
        raise InvalidInput("this order does not allow partial redemption", field="refused_items")
    by_position = {i.position: i for i in items}
    for position, quantity in refused.items():
        item = by_position.get(position)
        if item is None:
            raise InvalidInput(f"no item at position {position}", field="refused_items")
        if not 0 <= quantity <= item.quantity:
            raise InvalidInput(
                f"item {position}: refused quantity must be 0..{item.quantity}",
                field="refused_items",
            )
    total_items = sum(i.quantity for i in items)
    refused_count = sum(refused.values())
    if refused_count == total_items:
        raise InvalidInput("every item refused: that is a refusal", field="refused_items")
    due = cod_due(
        shipment.cod_kop,
        shipment.declared_value_kop,
        [(i.price_kop, i.quantity, refused.get(i.position, 0)) for i in items],
    )
    if due > 0:
        if cod_method not in {"cash", "card"}:
            raise InvalidInput("cash on delivery needs cod_method cash or card", field="cod_method")
        paid = due if cod_paid_kop is None else cod_paid_kop
        if paid != due:
            raise InvalidInput(f"{due} kopecks are due, {paid} were entered", field="cod_paid_kop")
        shipment.cod_collected_kop = due
        shipment.cod_method = cod_method
        shipment.cod_collected_by = clerk
        shipment.cod_collected_at = now
    for position, quantity in refused.items():
        by_position[position].refused_quantity = quantity
    office = _office(session, shipment)
    target = S.PARTIALLY_DELIVERED if refused_count else S.DELIVERED
    shipment.pickup_code_hash = None
    _transition(
        session,
        shipment,
        target,
        code=target.value,
        now=now,
        office_index=office.index,
        actor=clerk,
    )
    return shipment


def refuse(
    session: Session, *, shipment: Shipment, now: datetime, clerk: str = "office"
) -> Shipment:
    """The recipient refuses the whole parcel at the counter."""
    office = _office(session, shipment)
    shipment.pickup_code_hash = None
    _transition(
        session,
        shipment,
        S.REFUSED,
        code="refused",
        now=now,
        office_index=office.index,
        actor=clerk,
    )
    return shipment


def extend_storage(session: Session, *, shipment: Shipment, now: datetime) -> Shipment:
    """Extend the storage period once by the marketplace's extension length."""
    if shipment.status != S.READY_FOR_PICKUP or shipment.storage_deadline is None:
        raise TransitionRefused(
            "only a parcel waiting for pickup can have its storage extended",
            current=shipment.status,
            allowed=[],
        )
    if shipment.storage_extended:
        raise TransitionRefused(
            "storage was already extended once", current=shipment.status, allowed=[]
        )
    marketplace = session.get(Marketplace, shipment.marketplace_id)
    assert marketplace is not None
    shipment.storage_deadline = shipment.storage_deadline + timedelta(
        days=marketplace.storage_extension_days
    )
    shipment.storage_extended = True
    shipment.reminder_sent = False
    shipment.updated_at = now
    session.add(
        TrackingEvent(
            shipment_id=shipment.id,
            code="storage_extended",
            status_after=shipment.status,
            applied=False,
            occurred_at=now,
            recorded_at=now,
            office_index=None,
            actor="marketplace-api",
        )
    )
    session.flush()
    return shipment


def start_return(
    session: Session, *, shipment: Shipment, now: datetime, actor: str = "office"
) -> Shipment:
    """Send a refused, expired or partly taken parcel back."""
    office = _office(session, shipment)
    _transition(
        session,
        shipment,
        S.RETURNING,
        code="returning",
        now=now,
        office_index=office.index,
        actor=actor,
    )
    return shipment


def complete_return(
    session: Session, *, shipment: Shipment, now: datetime, actor: str = "hub-scan"
) -> Shipment:
    """The parcel is back with the marketplace."""
    _transition(session, shipment, S.RETURNED, code="returned_to_sender", now=now, actor=actor)
    return shipment


# ---------------------------------------------------------------------------- timed jobs


def expire_storage(session: Session, now: datetime) -> int:
    """Mark every parcel whose storage deadline passed as expired (a worker job)."""
    query = (
        select(Shipment)
        .where(Shipment.status == S.READY_FOR_PICKUP, Shipment.storage_deadline < now)
        .with_for_update(skip_locked=True)
        .limit(1000)
    )
    count = 0
    for shipment in session.scalars(query):
        shipment.pickup_code_hash = None
        _transition(
            session, shipment, S.STORAGE_EXPIRED, code="storage_expired", now=now, actor="worker"
        )
        count += 1
    return count


def send_storage_reminders(session: Session, now: datetime, *, days_before: int = 2) -> int:
    """Remind recipients whose storage ends within ``days_before`` days (a worker job)."""
    horizon = now + timedelta(days=days_before)
    query = (
        select(Shipment)
        .where(
            Shipment.status == S.READY_FOR_PICKUP,
            Shipment.reminder_sent.is_(False),
            Shipment.storage_deadline <= horizon,
            Shipment.storage_deadline > now,
        )
        .with_for_update(skip_locked=True)
        .limit(1000)
    )
    count = 0
    for shipment in session.scalars(query):
        office = _office(session, shipment)
        marketplace = session.get(Marketplace, shipment.marketplace_id)
        if shipment.recipient_phone and shipment.storage_deadline and marketplace:
            text = (
                f"Напоминаем: заказ {marketplace.name} {shipment.external_order_id} ждёт вас в "
                f"отделении {office.index} до "
                f"{_local_date(shipment.storage_deadline, office.timezone)}. "
                f"Код получения — в первом сообщении."
            )
            notify_service.queue_sms(
                session,
                phone=shipment.recipient_phone,
                text=text,
                now=now,
                reference=shipment.tracking_number,
            )
        shipment.reminder_sent = True
        count += 1
    return count


def purge_personal_data(session: Session, now: datetime, *, retention_days: int = 90) -> int:
    """Erase the recipient's name and phone of shipments ended long enough ago (a worker job)."""
    cutoff = now - timedelta(days=retention_days)
    query = (
        select(Shipment)
        .where(
            Shipment.finished_at.is_not(None),
            Shipment.finished_at < cutoff,
            Shipment.personal_data_purged_at.is_(None),
        )
        .limit(1000)
    )
    count = 0
    for shipment in session.scalars(query):
        shipment.recipient_name = None
        shipment.recipient_phone = None
        shipment.personal_data_purged_at = now
        count += 1
    return count


# ---------------------------------------------------------------------------- reports


def cod_report(
    session: Session, *, marketplace: Marketplace, day: date, timezone: str
) -> CodReport:
    """Reconcile cash on delivery for one marketplace and local day."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    end = start + timedelta(days=1)
    query = (
        select(Shipment)
        .where(
            Shipment.marketplace_id == marketplace.id,
            Shipment.cod_collected_at >= start,
            Shipment.cod_collected_at < end,
        )
        .order_by(Shipment.tracking_number)
    )
    rows = list(session.scalars(query))
    collected = sum(s.cod_collected_kop for s in rows)
    due = sum(
        cod_due(
            s.cod_kop,
            s.declared_value_kop,
            [
                (i.price_kop, i.quantity, i.refused_quantity)
                for i in repository.items_of(session, s.id)
            ],
        )
        for s in rows
    )
    return CodReport(
        date=day,
        marketplace=marketplace.code,
        shipments=len(rows),
        due_kop=due,
        collected_kop=collected,
        collected_cash_kop=sum(s.cod_collected_kop for s in rows if s.cod_method == "cash"),
        collected_card_kop=sum(s.cod_collected_kop for s in rows if s.cod_method == "card"),
        difference_kop=collected - due,
        tracking_numbers=[s.tracking_number for s in rows],
    )
