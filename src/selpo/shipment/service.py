"""Shipment use cases: creation, tracking, the lifecycle, pickup codes, cash on delivery.

Every status change goes through ``_decide`` and ``_record``: the transition table judges
each event (late events never move the status back), a tracking event is appended and the
marketplace's webhook is written into the outbox in the same transaction. Both work on many
shipments at once, so every use case has a bulk form (``record_scans``,
``make_ready_for_pickup_many``, ``issue_to_recipients``, ``refuse_many``,
``start_returns``, ``complete_returns``) and the one-parcel form is a batch of one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from pydantic import ValidationError
from sqlalchemy import insert, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from selpo.errors import DomainError, InvalidInput
from selpo.kit.display import local_day
from selpo.kit.lockout import Lockout
from selpo.kit.phone import mask_phone
from selpo.logistics.calendar import holiday_calendar, next_open_day
from selpo.models import (
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    Shipment,
    ShipmentItem,
    ShipmentPlace,
    TrackingEvent,
)
from selpo.network.rules import OfficeCapacity, ParcelSize, parcel_refusal
from selpo.notify import service as notify_service
from selpo.notify import sms_text
from selpo.shipment import handover_scans, repository
from selpo.shipment.errors import (
    ChangeRefused,
    CreationRaced,
    DuplicateOrder,
    PickupCodeLocked,
    SerialsExhausted,
    ShipmentNotFound,
    TransitionRefused,
    UnknownLabels,
    WrongPickupCode,
)
from selpo.shipment.label import Label, LabelFormat, render_labels, render_order_labels
from selpo.shipment.lifecycle import (
    AT_OFFICE as RECALL_AT_OFFICE,
)
from selpo.shipment.lifecycle import (
    EVENT_CODES,
    FINAL,
    RECALLABLE,
    Decision,
    IllegalTransition,
    Status,
    arrival_target,
    changeable,
    decide,
)
from selpo.shipment.places import (
    HERE,
    RETURNING,
    TRAVELLING,
    advanced,
    arrival_event,
    holds,
    shown_status,
)
from selpo.shipment.rules import (
    PICKUP_CODE_LOCKOUT,
    cod_due,
    hash_pickup_code,
    mask_name,
    new_pickup_code,
    pickup_code_matches,
    pickup_qr,
    storage_deadline,
)
from selpo.shipment.schemas import (
    BatchItemResult,
    BatchResult,
    CodReport,
    ItemRead,
    Parcel,
    PlaceRead,
    ShipmentCreate,
    ShipmentPage,
    ShipmentPatch,
    ShipmentRead,
    ShipmentSummary,
    TrackingEventBatchItem,
    TrackingEventBatchItemResult,
    TrackingEventBatchResult,
    TrackingEventRead,
)
from selpo.shipment.tracking import (
    MAX_SERIAL,
    InvalidTrackingNumber,
    is_valid_tracking_number,
    make_tracking_number,
    month_code,
    parse_tracking_number,
)

S = Status
UPDATED = "updated"  # the tracking event of a marketplace's change (PATCH)


@dataclass(frozen=True)
class PickupPolicy:
    """How pickup codes are kept and locked (from the settings; the lock's defaults are
    ``rules.PICKUP_CODE_LOCKOUT``)."""

    pepper: str
    max_failures: int = PICKUP_CODE_LOCKOUT.max_failures
    lock_minutes: int = PICKUP_CODE_LOCKOUT.period // timedelta(minutes=1)
    # The recipient's page (Settings.public_base_url): the SMS link <url>/t/<number>.
    base_url: str | None = None

    @property
    def lockout(self) -> Lockout:
        """The lockout rule of these settings."""
        return Lockout(self.max_failures, timedelta(minutes=self.lock_minutes))


Promise = Callable[[str], date | None]
"""Office index -> the promised local day of delivery (``None``: no promise)."""


class PromiseProvider(Protocol):
    """Who promises delivery dates: for parcels handed over ``now``, a :data:`Promise`.

    Shipment creation needs a promise, but the delivery model (timetable, routes) sits above
    shipments and uses them; so the promise comes in through this port. The logistics
    service implements it (``logistics.promises.promised_dates``) and the entry points wire
    it in (``app.py`` keeps it as ``app.state.promises``; the simulation passes its own).
    """

    def __call__(self, session: Session, *, now: datetime) -> Promise: ...


def no_promise(session: Session, *, now: datetime) -> Promise:
    """A provider that promises nothing (a network without a timetable)."""
    return lambda _index: None


@dataclass(frozen=True)
class CreateOutcome:
    """One shipment of a request: created (with its read model) or refused (with the error)."""

    position: int
    shipment: ShipmentRead | None = None
    error: DomainError | None = None


# ---------------------------------------------------------------------------- reading


def _places_read(shipment: Shipment, places: Sequence[ShipmentPlace]) -> list[PlaceRead]:
    """The places of a shipment as the marketplace sees them (one made before places
    existed is its one place)."""
    if not places:
        return [
            PlaceRead(
                number=1,
                tracking_number=shipment.tracking_number,
                weight_g=shipment.weight_g,
                length_mm=shipment.length_mm,
                width_mm=shipment.width_mm,
                height_mm=shipment.height_mm,
                external_place_id=None,
                status=shipment.status,
                arrived_at=None,
            )
        ]
    return [
        PlaceRead(
            number=p.number,
            tracking_number=p.tracking_number,
            weight_g=p.weight_g,
            length_mm=p.length_mm,
            width_mm=p.width_mm,
            height_mm=p.height_mm,
            external_place_id=p.external_place_id,
            status=shown_status(shipment.status, p.status, places=len(places)),
            arrived_at=p.arrived_at,
        )
        for p in places
    ]


def places_of(session: Session, shipment: Shipment) -> list[PlaceRead]:
    """A shipment's places with the status each shows."""
    return _places_read(shipment, repository.places_of(session, shipment.id))


def _read(session: Session, shipment: Shipment, destination_index: str) -> ShipmentRead:
    items = repository.items_of(session, shipment.id)
    events = repository.events_of(session, shipment.id)
    places = repository.places_of(session, shipment.id)
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
                changed=_changed_of(e),
            )
            for e in events
        ],
        places=_places_read(shipment, places),
    )


def _changed_of(event: TrackingEvent) -> list[str] | None:
    """The fields an ``updated`` event changed (``None`` for any other event)."""
    if event.code != UPDATED or not event.source:
        return None
    return [str(f) for f in event.source.get("changed", [])]


def _destination_index(session: Session, shipment: Shipment) -> str:
    office = session.get(PostOffice, shipment.destination_office_id)
    return office.index if office else ""


def read_shipment(session: Session, shipment: Shipment) -> ShipmentRead:
    """The marketplace's view of a shipment."""
    return _read(session, shipment, _destination_index(session, shipment))


def caller(session: Session, marketplace_id: int | None) -> Marketplace:
    """The marketplace a marketplace key speaks for (its existence is the key's)."""
    marketplace = session.get(Marketplace, marketplace_id) if marketplace_id else None
    assert marketplace is not None, "a marketplace key always names its marketplace"
    return marketplace


def get_shipment(session: Session, *, marketplace_id: int | None, tracking_number: str) -> Shipment:
    """A shipment by number; another marketplace's shipment is 'not found'."""
    shipment = repository.get_by_tracking_number(
        session, tracking_number, marketplace_id=marketplace_id
    )
    if shipment is None:
        raise ShipmentNotFound(tracking_number)
    return shipment


def get_shipments(session: Session, tracking_numbers: Iterable[str]) -> dict[str, Shipment]:
    """Shipments by number, in one read; numbers no shipment has are left out."""
    return repository.by_tracking_numbers(session, set(tracking_numbers))


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
    places = repository.places_of_many(session, [s.id for s, _ in rows])
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
            places=_places_read(s, places[s.id]),
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
    _check_office(destination, shipment_in.destination_index, shipment_in.parcel)


def _check_office(
    destination: _Destination | None, index: str, parcel: Parcel | Shipment
) -> PostOffice:
    """The office of ``index`` if it may receive ``parcel`` for the marketplace: open,
    connected to it, and the parcel fits (``network.rules.parcel_refusal``); else 422."""
    if destination is None:
        raise InvalidInput(f"no post office has index {index}", field="destination_index")
    office = destination.office
    if office.status != "open":
        raise InvalidInput(f"office {index} is {office.status}", field="destination_index")
    if not destination.serves:
        raise InvalidInput(
            f"office {index} does not serve this marketplace", field="destination_index"
        )
    refusal = parcel_refusal(ParcelSize.of(parcel), OfficeCapacity.of(office))
    if refusal is not None:
        raise InvalidInput(refusal.reason(index, parcel.weight_g), field=f"parcel.{refusal.field}")
    return office


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
    date, e.g. ``logistics.promises.promised_dates``) fills ``promised_date``; without it the
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
        sizes = [s.place_sizes() for _, s, _ in accepted]
        serials = iter(
            _tracking_numbers(
                session,
                accepting_index=marketplace.accepting_index,
                now=now,
                count=sum(len(places) for places in sizes),
            )
        )
        # Each order takes consecutive numbers: its own (place 1's), then its other places'.
        place_numbers = [[next(serials) for _ in places] for places in sizes]
        numbers = [n[0] for n in place_numbers]
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
        while True:
            try:
                with session.begin_nested():
                    # A plain executemany, then the ids by number: a RETURNING of 1,000 rows
                    # is one statement with some 20,000 parameters, which the driver parses
                    # in Python every time (far dearer than the one SELECT).
                    session.execute(insert(Shipment), rows)
                    by_number = repository.ids_by_tracking_numbers(session, numbers)
                ids = [by_number[number] for number in numbers]
                break
            except IntegrityError:
                # A concurrent request created some of these orders since they were checked:
                # those get their own 409, the rest are inserted again without them.
                taken = repository.existing_orders(
                    session, marketplace.id, [s.external_order_id for _, s, _ in accepted]
                )
                if not taken:  # pragma: no cover - no order clash explains it; nothing kept
                    raise CreationRaced() from None
                keep = [
                    i for i, (_, s, _) in enumerate(accepted) if s.external_order_id not in taken
                ]
                for position, s, _ in accepted:
                    if s.external_order_id in taken:
                        refusal = DuplicateOrder(s.external_order_id, taken[s.external_order_id])
                        outcomes[position] = CreateOutcome(position, error=refusal)
                accepted = [accepted[i] for i in keep]
                rows = [rows[i] for i in keep]
                numbers = [numbers[i] for i in keep]
                sizes = [sizes[i] for i in keep]
                place_numbers = [place_numbers[i] for i in keep]
                promised = [promised[i] for i in keep]
                if not accepted:
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
        place_rows = [
            {
                "shipment_id": shipment_id,
                "number": n,
                "tracking_number": number,
                "weight_g": place.weight_g,
                "length_mm": place.length_mm,
                "width_mm": place.width_mm,
                "height_mm": place.height_mm,
                "external_place_id": place.external_place_id,
                "status": S.CREATED.value,
                "arrived_at": None,
            }
            for shipment_id, places, order_numbers in zip(ids, sizes, place_numbers, strict=True)
            for n, (place, number) in enumerate(zip(places, order_numbers, strict=True), start=1)
        ]
        session.execute(insert(ShipmentPlace), place_rows)
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
        for number, shipment_id, promised_date, places, order_numbers, (position, s, office) in zip(
            numbers, ids, promised, sizes, place_numbers, accepted, strict=True
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
                places=[
                    PlaceRead(
                        number=n,
                        tracking_number=place_number,
                        weight_g=place.weight_g,
                        length_mm=place.length_mm,
                        width_mm=place.width_mm,
                        height_mm=place.height_mm,
                        external_place_id=place.external_place_id,
                        status=S.CREATED.value,
                        arrived_at=None,
                    )
                    for n, (place, place_number) in enumerate(
                        zip(places, order_numbers, strict=True), start=1
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


def _validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "reason": e["msg"]}
        for e in exc.errors()
    ]


def create_one(
    session: Session,
    *,
    marketplace: Marketplace,
    shipment_in: ShipmentCreate,
    now: datetime,
    promises: PromiseProvider,
) -> ShipmentRead:
    """Create one shipment with its promised date; a refusal is raised."""
    outcome = create_shipments(
        session,
        marketplace=marketplace,
        shipments_in=[shipment_in],
        now=now,
        promise=promises(session, now=now),
    )[0]
    if outcome.error is not None:
        raise outcome.error
    assert outcome.shipment is not None
    return outcome.shipment


def create_batch(
    session: Session,
    *,
    marketplace: Marketplace,
    payload: Sequence[Any],
    now: datetime,
    promises: PromiseProvider,
) -> BatchResult:
    """Create a batch of raw shipment bodies: each is validated and checked on its own, and
    gets its own result (201 with the shipment, or the status and problem of its refusal)."""
    results: dict[int, BatchItemResult] = {}
    valid: list[tuple[int, ShipmentCreate]] = []
    for position, raw in enumerate(payload):
        try:
            valid.append((position, ShipmentCreate.model_validate(raw)))
        except ValidationError as exc:
            results[position] = BatchItemResult(
                position=position,
                status_code=422,
                error={"title": "Invalid input", "errors": _validation_errors(exc)},
            )
    outcomes = create_shipments(
        session,
        marketplace=marketplace,
        shipments_in=[s for _, s in valid],
        now=now,
        promise=promises(session, now=now),
    )
    for (position, _), outcome in zip(valid, outcomes, strict=True):
        if outcome.error is not None:
            results[position] = BatchItemResult(
                position=position,
                status_code=outcome.error.status_code,
                error=outcome.error.problem(),
            )
        else:
            results[position] = BatchItemResult(
                position=position, status_code=201, shipment=outcome.shipment
            )
    ordered = [results[i] for i in sorted(results)]
    created = sum(1 for r in ordered if r.status_code == 201)
    return BatchResult(created=created, failed=len(ordered) - created, results=ordered)


def _labels(
    shipment: Shipment,
    places: Sequence[ShipmentPlace],
    office: PostOffice,
    marketplace: Marketplace,
) -> list[Label]:
    """A label for each place of the order (``место 2 из 3`` when there are several)."""
    shown = _places_read(shipment, places)
    return [
        Label(
            tracking_number=place.tracking_number,
            office_index=office.index,
            office_name=office.name,
            office_address=office.address,
            recipient_masked=mask_name(shipment.recipient_name),
            marketplace_name=marketplace.name,
            external_order_id=shipment.external_order_id,
            weight_g=place.weight_g,
            cod_kop=shipment.cod_kop,
            place=place.number,
            places=len(shown),
        )
        for place in shown
    ]


def label_pdf(session: Session, shipment: Shipment) -> bytes:
    """The shipping labels of a shipment (PDF), one per place: its office, masked recipient,
    weight, COD (an order of one place: one A6 page, as always)."""
    office = session.get(PostOffice, shipment.destination_office_id)
    marketplace = session.get(Marketplace, shipment.marketplace_id)
    assert office is not None
    assert marketplace is not None
    places = repository.places_of(session, shipment.id)
    return render_order_labels(_labels(shipment, places, office, marketplace))


def labels_pdf(
    session: Session,
    *,
    marketplace: Marketplace,
    tracking_numbers: Sequence[str],
    label_format: LabelFormat,
) -> bytes:
    """The labels of many of the marketplace's shipments in one PDF, in the order asked,
    every place of each (an order asked twice, or by two of its places' numbers, is
    printed once).

    All or nothing: numbers that are malformed, unknown or another marketplace's are refused
    together (``UnknownLabels``, one list, so another's number looks like an unknown one).
    """
    numbers = list(dict.fromkeys(n.replace(" ", "") for n in tracking_numbers))
    wellformed = [n for n in numbers if is_valid_tracking_number(n)]
    found = repository.by_tracking_numbers(session, wellformed)
    if len(found) < len(wellformed):
        found.update(repository.by_place_numbers(session, set(wellformed) - found.keys()))
    unknown = [n for n in numbers if n not in found or found[n].marketplace_id != marketplace.id]
    if unknown:
        raise UnknownLabels(unknown)
    shipments = list({found[n].id: found[n] for n in numbers}.values())
    offices = repository.offices_by_id(session, [s.destination_office_id for s in shipments])
    places = repository.places_of_many(session, [s.id for s in shipments])
    labels = [
        label
        for s in shipments
        for label in _labels(s, places[s.id], offices[s.destination_office_id], marketplace)
    ]
    return render_labels(labels, label_format)


# ---------------------------------------------------------------------------- lifecycle


@dataclass(frozen=True)
class _Move:
    """An event asked of one shipment: record it and, when the table allows, move the status."""

    shipment: Shipment
    target: Status
    code: str
    occurred_at: datetime
    actor: str
    office_index: str | None = None
    source: dict[str, Any] | None = None
    places: int = 1  # of the order: a scan of one of several places may just be recorded


def _refusal(exc: IllegalTransition) -> TransitionRefused:
    return TransitionRefused(
        str(exc), current=str(exc.current), allowed=[str(a) for a in exc.allowed]
    )


def _decide(session: Session, moves: Sequence[_Move]) -> list[Decision | TransitionRefused]:
    """Judge every move in order exactly as one by one: one read of the shipments' latest
    event times, then each shipment's status and latest time carried along in memory (a
    batch may hold several events of one shipment). Changes nothing."""
    if not moves:
        return []
    latest = repository.latest_event_times(session, {m.shipment.id for m in moves})
    status: dict[int, Status] = {}
    decisions: list[Decision | TransitionRefused] = []
    for move in moves:
        key = move.shipment.id
        current = status[key] if key in status else Status(move.shipment.status)
        last = latest.get(key)
        late = last is not None and move.occurred_at < last
        try:
            if holds(current, move.target, places=move.places):
                # Another place of the order took it this far already: recorded only.
                decision = Decision(applies=False, status_after=current)
            else:
                decision = decide(current, move.target, late=late)
        except IllegalTransition as exc:
            decisions.append(_refusal(exc))
            continue
        decisions.append(decision)
        status[key] = decision.status_after
        if last is None or move.occurred_at > last:
            latest[key] = move.occurred_at
    return decisions


def _all_allowed(decisions: Sequence[Decision | TransitionRefused]) -> list[Decision]:
    """The decisions, or the first refusal raised (before anything was changed)."""
    allowed: list[Decision] = []
    for decision in decisions:
        if isinstance(decision, TransitionRefused):
            raise decision
        allowed.append(decision)
    return allowed


def _status_data(shipment: Shipment, move: _Move) -> dict[str, Any]:
    return {
        "tracking_number": shipment.tracking_number,
        "external_order_id": shipment.external_order_id,
        "status": shipment.status,
        "event_code": move.code,
        "occurred_at": move.occurred_at.isoformat(),
        "office_index": move.office_index,
        "storage_deadline": (
            shipment.storage_deadline.isoformat() if shipment.storage_deadline else None
        ),
    }


def _record(
    session: Session,
    moves: Sequence[_Move],
    decisions: Sequence[Decision | None],
    *,
    now: datetime,
) -> None:
    """Carry out decided moves (``None``: refused, skipped): one insert of tracking events,
    the moved shipments' new status, and one insert of their marketplaces' webhooks."""
    events: list[dict[str, Any]] = []
    webhooks: list[notify_service.MarketplaceEvent] = []
    moved: dict[int, tuple[Shipment, dict[str, Any]]] = {}
    for move, decision in zip(moves, decisions, strict=True):
        if decision is None:
            continue
        shipment = move.shipment
        events.append(
            {
                "shipment_id": shipment.id,
                "code": move.code,
                "status_after": decision.status_after.value,
                "applied": decision.applies,
                "occurred_at": move.occurred_at,
                "recorded_at": now,
                "office_index": move.office_index,
                "actor": move.actor,
                "source": move.source,
            }
        )
        if not decision.applies:
            continue
        if shipment.id in moved or not inspect(shipment).modified:
            values = moved[shipment.id][1] if shipment.id in moved else {}
            values["status"] = decision.status_after.value
            values["updated_at"] = now
            if decision.status_after in FINAL:
                values["finished_at"] = now
            moved[shipment.id] = (shipment, values)
            for key, value in values.items():
                set_committed_value(shipment, key, value)
        else:  # other changes of it wait for the flush: all in its one UPDATE there
            shipment.status = decision.status_after.value
            shipment.updated_at = now
            if decision.status_after in FINAL:
                shipment.finished_at = now
        webhooks.append(
            notify_service.MarketplaceEvent(
                shipment.marketplace_id, "shipment.status_changed", _status_data(shipment, move)
            )
        )
    if moved:
        # The shipments with no other change pending: one bulk UPDATE by id per set of
        # columns (the objects already hold the values as committed), no unit-of-work pass
        # over a thousand objects.
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for shipment, values in moved.values():
            shapes.setdefault(tuple(values), []).append({"id": shipment.id, **values})
        for rows in shapes.values():
            session.execute(update(Shipment), rows)
    if events:
        session.execute(insert(TrackingEvent), events)
    notify_service.publish_many(session, events=webhooks, now=now)
    session.flush()


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
) -> None:
    """Record an event and, when the table allows, move the shipment to ``target``."""
    move = _Move(shipment, target, code, occurred_at or now, actor, office_index, source)
    _record(session, [move], _all_allowed(_decide(session, [move])), now=now)


def _transitions(
    session: Session,
    shipments: Sequence[Shipment],
    target: Status,
    *,
    code: str,
    now: datetime,
    actor: str,
    office_index: Callable[[Shipment], str | None] | None = None,
) -> None:
    """The same event for many shipments; one that may not move refuses them all."""
    moves = [
        _Move(s, target, code, now, actor, office_index(s) if office_index else None)
        for s in shipments
    ]
    _record(session, moves, _all_allowed(_decide(session, moves)), now=now)


@dataclass(frozen=True)
class Scan:
    """A hub's or an office system's scan of one parcel (``code`` from ``EVENT_CODES``)."""

    tracking_number: str
    code: str
    occurred_at: datetime
    office_index: str | None = None
    actor: str = "hub-scan"
    raw: dict[str, Any] | None = None
    scan_id: str | None = None  # the scanner's own id: a scan sent again is not recorded twice


@dataclass(frozen=True)
class ScanOutcome:
    """One scan of a batch: recorded (``applied``: it moved the status), recorded before
    (``repeated``: its ``scan_id`` is already among the parcel's events) or refused."""

    position: int
    shipment: Shipment | None = None
    applied: bool = False
    error: DomainError | None = None
    repeated: bool = False


SCAN_CLOCK_SKEW = timedelta(minutes=5)  # the default of SELPO_SCAN_CLOCK_SKEW_MINUTES


def _check_scan(scan: Scan, now: datetime, max_skew: timedelta) -> None:
    if scan.code not in EVENT_CODES:
        raise InvalidInput(
            f"unknown event code {scan.code!r}; known: {', '.join(sorted(EVENT_CODES))}",
            field="code",
        )
    if scan.occurred_at.tzinfo is None:
        raise InvalidInput("occurred_at needs a UTC offset", field="occurred_at")
    if scan.occurred_at > now + max_skew:
        raise InvalidInput(
            f"occurred_at {scan.occurred_at.isoformat()} is in the future (now is "
            f"{now.isoformat()}, clock skew allowed {max_skew})",
            field="occurred_at",
        )


def record_scans(
    session: Session,
    *,
    scans: Sequence[Scan],
    now: datetime,
    max_skew: timedelta = SCAN_CLOCK_SKEW,
    locked: Mapping[str, Shipment] | None = None,
) -> list[ScanOutcome]:
    """Record many scans at once, each judged as ``record_scan`` would judge it, in this
    order (late scans never move the status back); a refused scan does not stop the others.

    A scan is refused (422, nothing recorded) for an unknown code or office index, a time
    more than ``max_skew`` ahead of ``now`` or before the shipment was created. An arrival
    scanned at an office that is not the parcel's destination is recorded as ``missorted``
    and the parcel goes back to its hub, still in transit.

    One locked read of the shipments, one of their latest events, one insert of tracking
    events and one of webhooks, however many scans: how the warehouse's hand-overs and the
    timetable's departures and arrivals are recorded by the thousand.

    ``locked``: shipments by number the caller has already locked in this transaction
    (``repository.by_tracking_numbers(..., lock=True)``); they are not read again.
    """
    outcomes: dict[int, ScanOutcome] = {}
    checked: list[tuple[int, Scan]] = []
    for position, scan in enumerate(scans):
        try:
            _check_scan(scan, now, max_skew)
        except DomainError as error:
            outcomes[position] = ScanOutcome(position, error=error)
            continue
        checked.append((position, scan))
    known = repository.known_indexes(
        session, {scan.office_index for _, scan in checked if scan.office_index}
    )
    indexed: list[tuple[int, Scan]] = []
    for position, scan in checked:
        if scan.office_index is not None and scan.office_index not in known:
            outcomes[position] = ScanOutcome(
                position,
                error=InvalidInput(
                    f"no post office or hub has index {scan.office_index}", field="office_index"
                ),
            )
        else:
            indexed.append((position, scan))
    wanted = {scan.tracking_number for _, scan in indexed}
    held = {n: locked[n] for n in wanted if n in locked} if locked else {}
    shipments = repository.by_tracking_numbers(session, wanted - held.keys(), lock=True)
    shipments.update(held)
    if len(shipments) < len(wanted):
        shipments.update(repository.by_place_numbers(session, wanted - shipments.keys(), lock=True))
    destinations = repository.offices_by_id(
        session, {s.destination_office_id for s in shipments.values()}
    )
    ways = _PlaceWays(session, shipments.values())
    seen = repository.recorded_scan_ids(
        session,
        {
            shipments[scan.tracking_number].id
            for _, scan in indexed
            if scan.scan_id is not None and scan.tracking_number in shipments
        },
    )
    positions: list[int] = []
    moves: list[_Move] = []
    steps: list[_PlaceStep | None] = []
    for position, scan in indexed:
        shipment = shipments.get(scan.tracking_number)
        if shipment is None:
            outcomes[position] = ScanOutcome(position, error=ShipmentNotFound(scan.tracking_number))
            continue
        if scan.scan_id is not None:
            if (shipment.id, scan.scan_id) in seen:
                outcomes[position] = ScanOutcome(position, shipment=shipment, repeated=True)
                continue
            seen.add((shipment.id, scan.scan_id))
        if scan.occurred_at < shipment.created_at:
            outcomes[position] = ScanOutcome(
                position,
                error=InvalidInput(
                    f"occurred_at {scan.occurred_at.isoformat()} is before the shipment was "
                    f"created ({shipment.created_at.isoformat()})",
                    field="occurred_at",
                ),
            )
            continue
        destination = destinations[shipment.destination_office_id].index
        code = arrival_target(scan.code, scanned_at=scan.office_index, destination=destination)
        source = scan.raw
        if code != scan.code:
            source = {**(scan.raw or {}), "scanned_as": scan.code, "destination_index": destination}
        target = EVENT_CODES[code]
        step = ways.step(shipment, scan.tracking_number, target, scan.occurred_at)
        if step is not None and step.places > 1:
            code, target = step.code or code, step.target or target
            source = {**(source or {}), "place": step.place.number, "places": step.places}
        if scan.scan_id is not None:
            source = {**(source or {}), "scan_id": scan.scan_id}
        positions.append(position)
        steps.append(step)
        moves.append(
            _Move(
                shipment,
                target,
                code,
                scan.occurred_at,
                scan.actor,
                scan.office_index,
                source,
                step.places if step is not None else 1,
            )
        )
    decisions = _decide(session, moves)
    _record(
        session,
        moves,
        [None if isinstance(d, TransitionRefused) else d for d in decisions],
        now=now,
    )
    done = [not isinstance(d, TransitionRefused) for d in decisions]
    handover_scans.mark_scanned(
        session,
        ((m.shipment.id, m.code, m.occurred_at) for m, ok in zip(moves, done, strict=True) if ok),
    )
    ways.save([st for st, ok in zip(steps, done, strict=True) if ok])
    ways.announce(
        [m for m, ok in zip(moves, done, strict=True) if ok],
        [st for st, ok in zip(steps, done, strict=True) if ok],
        now,
    )

    for position, move, decision in zip(positions, moves, decisions, strict=True):
        outcomes[position] = (
            ScanOutcome(position, shipment=move.shipment, error=decision)
            if isinstance(decision, TransitionRefused)
            else ScanOutcome(position, shipment=move.shipment, applied=decision.applies)
        )
    return [outcomes[i] for i in range(len(scans))]


def travelling_places(session: Session, shipment_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each order of several places among these, the numbers of its places still on
    their way (not yet at the office), in place order; orders of one place are left out
    (their own number stands for them)."""
    found = repository.places_of_many(session, set(shipment_ids))
    return {
        i: [p.tracking_number for p in places if p.status in TRAVELLING]
        for i, places in found.items()
        if len(places) > 1
    }


def place_numbers(session: Session, shipment_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """For each of these shipments, its places' numbers by tracking number (``{}`` for one
    made before places existed)."""
    found = repository.places_of_many(session, set(shipment_ids))
    return {i: {p.tracking_number: p.number for p in places} for i, places in found.items()}


@dataclass(frozen=True)
class ReturnScan:
    """A place of an order scanned into the return: its number, how many the order has, and
    the places still to scan (at the office, not yet scanned) before the order goes back."""

    place: int
    places: int
    left: list[str]


def scan_place_for_return(session: Session, *, shipment: Shipment, number: str) -> ReturnScan:
    """Mark the place of ``number`` scanned into the return (an order goes back whole: the
    office scans every place of it that is there; places still on their way are not waited
    for). Changes the place only; the caller starts the return once nothing is ``left``."""
    places = repository.places_of(session, shipment.id)
    place = next((p for p in places if p.tracking_number == number), None)
    if place is None:
        return ReturnScan(1, max(len(places), 1), [])
    if place.status == HERE:
        place.status = RETURNING
        session.flush()
    left = [p.tracking_number for p in places if p.status == HERE]
    return ReturnScan(place.number, len(places), left)


@dataclass(frozen=True)
class _PlaceStep:
    """What one scan does to the place scanned: its new own status (and arrival time), and,
    for an order of several places, the event and status it asks of the order (``None``:
    the scan's own)."""

    place: repository.PlaceState
    places: int
    status: str
    arrived_at: datetime | None
    code: str | None = None
    target: Status | None = None
    arrived: int | None = None  # a place first here: how many of the order's places are


class _PlaceWays:
    """The places of the shipments a batch of scans touches, with their own statuses carried
    along in memory (a batch may hold every place of an order: the worker's van arrival)."""

    def __init__(self, session: Session, shipments: Iterable[Shipment]) -> None:
        self.session = session
        by_id = {s.id: s for s in shipments}
        self.places = repository.place_states_of_many(session, by_id)
        multi = {i for i, places in self.places.items() if len(places) > 1}
        markets = repository.marketplaces_by_id(session, {by_id[i].marketplace_id for i in multi})
        self.ready_on_first = {
            i: bool(markets[by_id[i].marketplace_id].ready_on_first_place) for i in multi
        }
        self.own = {p.id: p.status for places in self.places.values() for p in places}

    def step(
        self, shipment: Shipment, number: str, target: Status, at: datetime
    ) -> _PlaceStep | None:
        """The scan of ``number`` (the order's own number is place 1's) asking ``target``."""
        places = self.places.get(shipment.id) or []
        place = next((p for p in places if p.tracking_number == number), None)
        if place is None:
            return None  # a shipment made before places existed: the order alone
        own = self.own[place.id]
        arrived_at = place.arrived_at
        code: str | None = None
        order_target: Status | None = None
        arrived: int | None = None
        if target == S.ARRIVED_AT_OFFICE:
            arrived_at = arrived_at or at
            if len(places) > 1:
                before = [self.own[p.id] == HERE for p in places]
                after = [self.own[p.id] == HERE or p.id == place.id for p in places]
                code, order_target = arrival_event(
                    before, after, ready_on_first=self.ready_on_first[shipment.id]
                )
                if own != HERE:
                    arrived = sum(after)
        new = advanced(own, target)
        self.own[place.id] = new
        return _PlaceStep(place, len(places), new, arrived_at, code, order_target, arrived)

    def announce(
        self, moves: Sequence[_Move], steps: Sequence[_PlaceStep | None], now: datetime
    ) -> None:
        """``shipment.place_arrived`` for each place of an order of several that reached
        the office in this batch (the rest of the order announced as it comes)."""
        events = [
            notify_service.MarketplaceEvent(
                move.shipment.marketplace_id,
                "shipment.place_arrived",
                {
                    "tracking_number": move.shipment.tracking_number,
                    "external_order_id": move.shipment.external_order_id,
                    "status": move.shipment.status,
                    "place": step.place.number,
                    "places": step.places,
                    "place_tracking_number": step.place.tracking_number,
                    "arrived": step.arrived,
                    "occurred_at": move.occurred_at.isoformat(),
                    "office_index": move.office_index,
                },
            )
            for move, step in zip(moves, steps, strict=True)
            if step is not None and step.arrived is not None
        ]
        notify_service.publish_many(self.session, events=events, now=now)

    def save(self, steps: Iterable[_PlaceStep | None]) -> None:
        """Write the places' new own statuses of the scans recorded (one bulk update)."""
        rows: dict[int, dict[str, Any]] = {}
        for step in steps:
            if step is None:
                continue
            place = step.place
            if step.status != place.status or step.arrived_at != place.arrived_at:
                rows[place.id] = {
                    "id": place.id,
                    "status": step.status,
                    "arrived_at": step.arrived_at,
                }
        if rows:
            self.session.execute(update(ShipmentPlace), list(rows.values()))
            # Places the session holds as objects (loaded earlier in the request) show it too.
            held = self.session.identity_map
            for place_id, row in rows.items():
                held_place = held.get(identity_key(ShipmentPlace, place_id))
                if held_place is not None:
                    set_committed_value(held_place, "status", row["status"])
                    set_committed_value(held_place, "arrived_at", row["arrived_at"])


def _echoed_scan_id(raw: Any) -> str | None:
    """The ``scan_id`` of an item that failed validation, when it is one to echo."""
    scan_id = raw.get("scan_id") if isinstance(raw, dict) else None
    return scan_id if isinstance(scan_id, str) and 0 < len(scan_id) <= 100 else None


def record_scan_batch(
    session: Session,
    *,
    payload: Sequence[Any],
    now: datetime,
    max_skew: timedelta = SCAN_CLOCK_SKEW,
) -> TrackingEventBatchResult:
    """Record a batch of raw scan bodies (``POST /v1/tracking-events/batch``): each is
    validated and judged on its own as ``record_scans`` judges it; the good ones are recorded
    even when others are refused, and each gets its own result. A scan whose ``scan_id`` is
    already among its parcel's events (a retried batch) is answered 200 and not recorded
    again."""
    results: dict[int, TrackingEventBatchItemResult] = {}
    valid: list[tuple[int, TrackingEventBatchItem]] = []
    for position, raw in enumerate(payload):
        try:
            valid.append((position, TrackingEventBatchItem.model_validate(raw)))
        except ValidationError as exc:
            results[position] = TrackingEventBatchItemResult(
                position=position,
                status_code=422,
                scan_id=_echoed_scan_id(raw),
                error={
                    "type": "about:blank",
                    "title": "Invalid input",
                    "status": 422,
                    "errors": _validation_errors(exc),
                },
            )
    scans: list[Scan] = []
    for position, item in valid:
        try:
            number = parse_tracking_number(item.tracking_number)
        except InvalidTrackingNumber as exc:
            number = item.tracking_number
            error = InvalidInput(str(exc), field="tracking_number")
            results[position] = TrackingEventBatchItemResult(
                position=position,
                status_code=error.status_code,
                scan_id=item.scan_id,
                tracking_number=item.tracking_number,
                error=error.problem(),
            )
            continue
        scans.append(
            Scan(
                number,
                item.code,
                item.occurred_at,
                item.office_index,
                item.actor,
                item.raw,
                item.scan_id,
            )
        )
    parsed = [(p, i) for p, i in valid if p not in results]
    outcomes = record_scans(session, scans=scans, now=now, max_skew=max_skew)
    for (position, item), scan, outcome in zip(parsed, scans, outcomes, strict=True):
        shipment = outcome.shipment
        if outcome.error is not None:
            results[position] = TrackingEventBatchItemResult(
                position=position,
                status_code=outcome.error.status_code,
                scan_id=item.scan_id,
                tracking_number=scan.tracking_number,
                status=shipment.status if shipment is not None else None,
                error=outcome.error.problem(),
            )
        else:
            assert shipment is not None
            results[position] = TrackingEventBatchItemResult(
                position=position,
                status_code=200 if outcome.repeated else 201,
                scan_id=item.scan_id,
                tracking_number=scan.tracking_number,
                applied=outcome.applied,
                status=shipment.status,
            )
    ordered = [results[i] for i in sorted(results)]
    return TrackingEventBatchResult(
        recorded=sum(1 for r in ordered if r.status_code == 201),
        repeated=sum(1 for r in ordered if r.status_code == 200),
        failed=sum(1 for r in ordered if r.status_code >= 400),
        results=ordered,
    )


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
    max_skew: timedelta = SCAN_CLOCK_SKEW,
) -> Shipment:
    """Record a hub's or an office system's scan (late scans never move the status back;
    refusals as in ``record_scans``)."""
    scan = Scan(tracking_number, code, occurred_at, office_index, actor, raw)
    outcome = record_scans(session, scans=[scan], now=now, max_skew=max_skew)[0]
    if outcome.error is not None:
        raise outcome.error
    assert outcome.shipment is not None
    return outcome.shipment


def cancel_shipment(session: Session, *, shipment: Shipment, now: datetime) -> Shipment:
    """Cancel a shipment not yet handed over; the marketplace gets ``shipment.cancelled``
    (beside the ``shipment.status_changed`` every change sends)."""
    _transition(session, shipment, S.CANCELLED, code="cancelled", now=now, actor="marketplace-api")
    notify_service.publish_event(
        session,
        marketplace_id=shipment.marketplace_id,
        event_type="shipment.cancelled",
        data={
            "tracking_number": shipment.tracking_number,
            "external_order_id": shipment.external_order_id,
            "status": shipment.status,
            "cancelled_at": now.isoformat(),
        },
        now=now,
    )
    return shipment


def recall_shipment(
    session: Session, *, shipment: Shipment, now: datetime, base_url: str | None = None
) -> Shipment:
    """The marketplace recalls a parcel before it is issued (the caller holds its row lock).

    A created parcel is cancelled (``cancel_shipment``). One handed over, on its way, at the
    office or waiting there becomes ``recalled``: it stops being offered (its pickup code
    stops working), the recipient is told by SMS, the marketplace gets ``shipment.recalled``
    (beside ``shipment.status_changed``). One at the office starts its return at once
    (``returning``); one on its way keeps travelling and starts it at the office's acceptance.
    An issued parcel, or one already going back, is refused (409) before anything changes.
    """
    status = Status(shipment.status)
    if status == S.CREATED:
        return cancel_shipment(session, shipment=shipment, now=now)
    if status not in RECALLABLE:
        issued = status in (S.DELIVERED, S.PARTIALLY_DELIVERED)
        why = "it was issued" if issued else f"it is {status.value}"
        raise TransitionRefused(
            f"a {status.value} shipment cannot be recalled: {why}",
            current=status.value,
            allowed=[],
        )
    office = _office(session, shipment)
    here = office.index if status in RECALL_AT_OFFICE else None
    _transition(
        session,
        shipment,
        S.RECALLED,
        code="recalled",
        now=now,
        actor="marketplace-api",
        office_index=here,
    )
    shipment.pickup_code_hash = None
    notify_service.publish_event(
        session,
        marketplace_id=shipment.marketplace_id,
        event_type="shipment.recalled",
        data={
            "tracking_number": shipment.tracking_number,
            "external_order_id": shipment.external_order_id,
            "status": shipment.status,
            "status_before": status.value,
            "at_office": status in RECALL_AT_OFFICE,
            "office_index": office.index,
            "recalled_at": now.isoformat(),
        },
        now=now,
    )
    if shipment.recipient_phone:
        text = sms_text.recalled_text(shipment.tracking_number, base_url)
        message = notify_service.Sms(shipment.recipient_phone, text, shipment.tracking_number)
        notify_service.queue_sms_many(session, messages=[message], now=now)
    if status in RECALL_AT_OFFICE:
        for place in repository.places_of(session, shipment.id):
            if place.status == HERE:
                place.status = RETURNING
        start_return(session, shipment=shipment, now=now, actor="marketplace-api")
    session.flush()
    return shipment


# ---------------------------------------------------------------------------- changes


def _current_values(shipment: Shipment, office: PostOffice) -> dict[str, Any]:
    """The changeable fields of a shipment by dotted name (``lifecycle.CHANGEABLE_FIELDS``)."""
    options = shipment.options or {}
    return {
        "recipient.name": shipment.recipient_name,
        "recipient.phone": shipment.recipient_phone,
        "parcel.cod_kop": shipment.cod_kop,
        "destination_index": office.index,
        "options.fitting": bool(options.get("fitting", False)),
        "options.contents_check": bool(options.get("contents_check", False)),
        "options.partial_redemption": bool(options.get("partial_redemption", False)),
    }


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    """Changed values as a webhook may carry them: the name and the phone masked."""
    shown = dict(values)
    if "recipient.name" in shown:
        shown["recipient.name"] = mask_name(shown["recipient.name"])
    if "recipient.phone" in shown:
        shown["recipient.phone"] = mask_phone(shown["recipient.phone"])
    return shown


def update_shipment(
    session: Session,
    *,
    marketplace_id: int,
    tracking_number: str,
    patch: ShipmentPatch,
    now: datetime,
    promises: PromiseProvider,
    policy: PickupPolicy,
    actor: str = "marketplace-api",
) -> Shipment:
    """Change a shipment's recipient, COD, destination or options, as far as its status
    allows (``lifecycle.changeable``); a refusal changes nothing.

    The row is locked first (the other shipment writes lock it too), so racing changes and
    scans apply one after the other, each judged on what the one before left. A change to
    a value the shipment already has is no change. Each real change is an ``updated``
    tracking event naming the fields and a ``shipment.updated`` webhook with their new
    values (name and phone masked); a new destination gets a new promised date; a new phone
    while the parcel waits for pickup gets a new pickup code by SMS (the old code stops
    working: only its hash is kept).
    """
    shipment = repository.get_by_tracking_number(
        session, tracking_number, marketplace_id=marketplace_id, lock=True
    )
    if shipment is None:
        raise ShipmentNotFound(tracking_number)
    status = Status(shipment.status)
    sent = patch.sent()
    allowed = changeable(status)
    refused = [f for f in sent if f not in allowed]
    if refused:
        raise ChangeRefused(current=status.value, refused=refused, changeable=list(allowed))
    office = _office(session, shipment)
    current = _current_values(shipment, office)
    changed = {f: v for f, v in sent.items() if current[f] != v}
    cod = changed.get("parcel.cod_kop", shipment.cod_kop)
    if cod > shipment.declared_value_kop:
        raise InvalidInput(
            f"cod_kop {cod} exceeds declared_value_kop {shipment.declared_value_kop}",
            field="parcel.cod_kop",
        )
    if "destination_index" in changed:
        index = changed["destination_index"]
        destination = _destinations(session, shipment.marketplace_id, {index}).get(index)
        office = _check_office(destination, index, shipment)
    if not changed:
        return shipment

    extra: dict[str, Any] = {}
    if "recipient.name" in changed:
        shipment.recipient_name = changed["recipient.name"]
    if "recipient.phone" in changed:
        shipment.recipient_phone = changed["recipient.phone"]
        shipment.phone_last4 = changed["recipient.phone"][-4:]
    shipment.cod_kop = cod
    if "destination_index" in changed:
        shipment.destination_office_id = office.id
        shipment.promised_date = promises(session, now=now)(office.index)
        extra["promised_date"] = (
            shipment.promised_date.isoformat() if shipment.promised_date else None
        )
    options = {
        name.removeprefix("options."): value
        for name, value in changed.items()
        if name.startswith("options.")
    }
    if options:
        shipment.options = {**(shipment.options or {}), **options}
    shipment.updated_at = now
    names = sorted(changed)
    session.add(
        TrackingEvent(
            shipment_id=shipment.id,
            code=UPDATED,
            status_after=shipment.status,
            applied=False,
            occurred_at=now,
            recorded_at=now,
            office_index=None,
            actor=actor,
            source={"changed": names},
        )
    )
    notify_service.publish_event(
        session,
        marketplace_id=shipment.marketplace_id,
        event_type="shipment.updated",
        data={
            "tracking_number": shipment.tracking_number,
            "external_order_id": shipment.external_order_id,
            "status": shipment.status,
            "changed": names,
            "values": _masked(changed) | extra,
            "updated_at": now.isoformat(),
        },
        now=now,
    )
    if "recipient.phone" in changed and status == S.READY_FOR_PICKUP:
        reissue_pickup_code(session, shipment=shipment, now=now, policy=policy, actor=actor)
    session.flush()
    return shipment


def _office(session: Session, shipment: Shipment) -> PostOffice:
    office = session.get(PostOffice, shipment.destination_office_id)
    assert office is not None  # a foreign key guarantees it
    return office


@dataclass(frozen=True)
class Shelving:
    """An arrived parcel put on a shelf, in ``cell_code`` (``None``: the cell is not told)."""

    shipment: Shipment
    cell_code: str | None = None


def make_ready_for_pickup_many(
    session: Session,
    *,
    shelvings: Sequence[Shelving],
    now: datetime,
    policy: PickupPolicy,
    actor: str = "office",
) -> list[str]:
    """Shelve many arrived parcels at once, each as ``make_ready_for_pickup`` would: ready,
    a pickup code, a storage deadline, the event, the webhook and the recipient's SMS.

    A parcel that may not become ready refuses the whole batch before anything changes.
    Returns the codes in the order of ``shelvings``.
    """
    shipments = [s.shipment for s in shelvings]
    offices = repository.offices_by_id(session, {s.destination_office_id for s in shipments})
    markets = repository.marketplaces_by_id(session, {s.marketplace_id for s in shipments})
    moves = [
        _Move(
            s,
            S.READY_FOR_PICKUP,
            "ready_for_pickup",
            now,
            actor,
            offices[s.destination_office_id].index,
        )
        for s in shipments
    ]
    decisions = _all_allowed(_decide(session, moves))
    codes: list[str] = []
    messages: list[notify_service.Sms] = []
    ready: list[notify_service.MarketplaceEvent] = []
    for shelving in shelvings:
        shipment = shelving.shipment
        office = offices[shipment.destination_office_id]
        marketplace = markets[shipment.marketplace_id]
        shipment.ready_at = now
        shipment.storage_deadline = storage_deadline(
            now, marketplace.storage_days, office.timezone, _open_day_of(office)
        )
        shipment.cell_code = shelving.cell_code
        code = new_pickup_code()
        shipment.pickup_code_hash = hash_pickup_code(
            code, tracking_number=shipment.tracking_number, pepper=policy.pepper
        )
        shipment.pickup_code_failures = 0
        shipment.pickup_code_locked_until = None
        codes.append(code)
        message = _ready_sms(shipment, office, code, policy.base_url)
        if message is not None:
            messages.append(message)
        ready.append(_ready_event(shipment, office, marketplace, code))
    _record(session, moves, decisions, now=now)
    notify_service.publish_many(session, events=ready, now=now)
    notify_service.queue_sms_many(session, messages=messages, now=now)
    return codes


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
    return make_ready_for_pickup_many(
        session,
        shelvings=[Shelving(shipment, cell_code)],
        now=now,
        policy=policy,
        actor=actor,
    )[0]


def _open_day_of(office: PostOffice) -> Callable[[date], date | None]:
    """The first local day from a given one that ``office`` opens (hours, public holidays)."""
    calendar = holiday_calendar()
    return lambda day: next_open_day(office.opening_hours, day, calendar)


def _sms_facts(
    shipment: Shipment, office: PostOffice, base_url: str | None
) -> sms_text.ParcelFacts:
    """What the recipient's SMS says of a waiting parcel (``notify.sms_text`` words it)."""
    assert shipment.storage_deadline is not None
    return sms_text.ParcelFacts(
        tracking_number=shipment.tracking_number,
        office_index=office.index,
        address=office.address,
        deadline=local_day(shipment.storage_deadline, office.timezone),
        to_pay_kop=max(0, shipment.cod_kop - shipment.cod_collected_kop),
        base_url=base_url,
    )


def _ready_sms(
    shipment: Shipment, office: PostOffice, code: str, base_url: str | None
) -> notify_service.Sms | None:
    if not shipment.recipient_phone or shipment.storage_deadline is None:
        return None
    text = sms_text.ready_text(_sms_facts(shipment, office, base_url), code)
    return notify_service.Sms(shipment.recipient_phone, text, shipment.tracking_number)


def _ready_event(
    shipment: Shipment, office: PostOffice, marketplace: Marketplace, code: str
) -> notify_service.MarketplaceEvent:
    """``shipment.ready_for_pickup``: to every subscriber; the code and its QR payload only
    to an opted-in marketplace's https subscriptions (``secrets``: wiped once delivered)."""
    data = {
        "tracking_number": shipment.tracking_number,
        "external_order_id": shipment.external_order_id,
        "status": S.READY_FOR_PICKUP.value,
        "office_index": office.index,
        "storage_deadline": shipment.storage_deadline,
        "cell": shipment.cell_code,
        "pickup_code": None,
        "pickup_qr": None,
    }
    secrets = None
    if marketplace.pickup_code_in_webhook:
        secrets = {"pickup_code": code, "pickup_qr": pickup_qr(shipment.tracking_number, code)}
    return notify_service.MarketplaceEvent(
        shipment.marketplace_id, "shipment.ready_for_pickup", data, secrets
    )


def reissue_pickup_code(
    session: Session,
    *,
    shipment: Shipment,
    now: datetime,
    policy: PickupPolicy,
    actor: str = "office",
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
            actor=actor,
        )
    )
    message = _ready_sms(shipment, office, code, policy.base_url)
    if message is not None:
        notify_service.queue_sms_many(session, messages=[message], now=now)
    if marketplace.pickup_code_in_webhook:
        # The app's copy of the old code stops working with it: it gets the new one.
        event = _ready_event(shipment, office, marketplace, code)
        notify_service.publish_many(session, events=[event], now=now)
    return code


def verify_pickup_code(
    session: Session, *, shipment: Shipment, code: str, now: datetime, policy: PickupPolicy
) -> None:
    """Check a code typed at the counter; wrong ones count towards a temporary lock.

    The lock is checked and the count moved in one atomic statement each (see
    ``repository.count_code_failure``), so parallel attempts from many counters cannot
    get past the limit and a locked code is refused without counting. The failure count
    is part of the caller's transaction: the caller commits it even when it answers with
    the refusal.
    """
    if shipment.status != S.READY_FOR_PICKUP or shipment.pickup_code_hash is None:
        raise TransitionRefused(
            f"the parcel is {shipment.status}, not waiting for pickup",
            current=shipment.status,
            allowed=[],
        )
    lockout = policy.lockout
    if (held := lockout.in_force(shipment.pickup_code_locked_until, now)) is not None:
        raise PickupCodeLocked(held.isoformat())
    right = pickup_code_matches(
        code,
        shipment.pickup_code_hash,
        tracking_number=shipment.tracking_number,
        pepper=policy.pepper,
    )
    if right and repository.clear_code_failures(session, shipment.id, now=now):
        set_committed_value(shipment, "pickup_code_failures", 0)
        set_committed_value(shipment, "pickup_code_locked_until", None)
        return
    counted = (
        None
        if right
        else repository.count_code_failure(
            session,
            shipment.id,
            now=now,
            max_failures=lockout.max_failures,
            lock_until=lockout.lock_until(now),
        )
    )
    if counted is None:  # locked by a concurrent attempt since this session read the parcel
        until = repository.code_locked_until(session, shipment.id)
        set_committed_value(shipment, "pickup_code_locked_until", until)
        raise PickupCodeLocked(until.isoformat() if until else "")
    failures, locked_until = counted
    set_committed_value(shipment, "pickup_code_failures", failures)
    set_committed_value(shipment, "pickup_code_locked_until", locked_until)
    if (held := lockout.in_force(locked_until, now)) is not None:
        raise PickupCodeLocked(held.isoformat())
    raise WrongPickupCode(lockout.attempts_left(failures))


@dataclass(frozen=True)
class Issue:
    """A parcel handed over at the counter: fully, or partly with ``refused_items``
    {position: quantity}; ``cod_method`` (and ``cod_paid_kop``) when cash is due."""

    shipment: Shipment
    refused_items: dict[int, int] | None = None
    cod_method: str | None = None
    cod_paid_kop: int | None = None
    # How the recipient was identified: ``code`` (the pickup code) or ``document`` (an
    # identity document of ``document_type``, where the marketplace allows it).
    identified_by: str = "code"
    document_type: str | None = None

    @property
    def identification(self) -> dict[str, Any]:
        """How the recipient was identified, as the tracking event and the webhook say it."""
        shown: dict[str, Any] = {"identified_by": self.identified_by}
        if self.document_type is not None:
            shown["document_type"] = self.document_type
        return shown


def _issue_target(issue: Issue, items: list[ShipmentItem]) -> tuple[Status, int]:
    """Check an issue against the parcel and its lines: (the status it leads to, COD due)."""
    shipment = issue.shipment
    if shipment.status != S.READY_FOR_PICKUP:
        raise TransitionRefused(
            f"the parcel is {shipment.status}, not waiting for pickup",
            current=shipment.status,
            allowed=[],
        )
    refused = issue.refused_items or {}
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
        if issue.cod_method not in {"cash", "card"}:
            raise InvalidInput("cash on delivery needs cod_method cash or card", field="cod_method")
        paid = due if issue.cod_paid_kop is None else issue.cod_paid_kop
        if paid != due:
            raise InvalidInput(f"{due} kopecks are due, {paid} were entered", field="cod_paid_kop")
    return (S.PARTIALLY_DELIVERED if refused_count else S.DELIVERED), due


def issue_to_recipients(
    session: Session, *, issues: Sequence[Issue], now: datetime, clerk: str = "office"
) -> None:
    """Hand many parcels over at once, each as ``issue_to_recipient`` would (one read of
    their lines, one insert of events and of webhooks). The first issue that is refused
    raises before anything changes."""
    lines = repository.items_of_many(session, {i.shipment.id for i in issues})
    targets = [_issue_target(issue, lines[issue.shipment.id]) for issue in issues]
    offices = repository.offices_by_id(session, {i.shipment.destination_office_id for i in issues})
    moves = [
        _Move(
            issue.shipment,
            target,
            target.value,
            now,
            clerk,
            offices[issue.shipment.destination_office_id].index,
            issue.identification,
        )
        for issue, (target, _) in zip(issues, targets, strict=True)
    ]
    decisions = _all_allowed(_decide(session, moves))
    for issue, (_, due) in zip(issues, targets, strict=True):
        shipment = issue.shipment
        if due > 0:
            shipment.cod_collected_kop = due
            shipment.cod_method = issue.cod_method
            shipment.cod_collected_by = clerk
            shipment.cod_collected_at = now
        by_position = {i.position: i for i in lines[shipment.id]}
        for position, quantity in (issue.refused_items or {}).items():
            by_position[position].refused_quantity = quantity
        shipment.pickup_code_hash = None
    _record(session, moves, decisions, now=now)
    notify_service.publish_many(
        session,
        events=[
            event
            for issue, (target, due) in zip(issues, targets, strict=True)
            for event in _issue_events(
                issue.shipment,
                target,
                due,
                lines[issue.shipment.id],
                offices[issue.shipment.destination_office_id].index,
                now,
                issue.identification,
            )
        ],
        now=now,
    )


def _issue_events(
    shipment: Shipment,
    target: Status,
    due: int,
    items: list[ShipmentItem],
    office_index: str,
    now: datetime,
    identification: dict[str, Any] | None = None,
) -> list[notify_service.MarketplaceEvent]:
    """The webhooks of a parcel handed over: ``shipment.cod_collected`` when cash on delivery
    was taken, then ``shipment.delivered`` or ``shipment.partially_delivered`` (its lines,
    and how the recipient was identified: ``identified_by`` code or document)."""
    head = {
        "tracking_number": shipment.tracking_number,
        "external_order_id": shipment.external_order_id,
    }
    method = shipment.cod_method if due > 0 else None
    events: list[notify_service.MarketplaceEvent] = []
    if due > 0:
        events.append(
            notify_service.MarketplaceEvent(
                shipment.marketplace_id,
                "shipment.cod_collected",
                {
                    **head,
                    "amount_kop": due,
                    "method": method,
                    "office_index": office_index,
                    "collected_at": now,
                },
            )
        )
    delivered: dict[str, Any] = {
        **head,
        "delivered_at": now,
        "office_index": office_index,
        "cod_collected_kop": due,
        "method": method,
        **(identification or {"identified_by": "code"}),
    }
    if target == S.PARTIALLY_DELIVERED:
        delivered["items"] = [
            {
                "position": item.position,
                "sku": item.sku,
                "name": item.name,
                "quantity_delivered": item.quantity - item.refused_quantity,
                "quantity_refused": item.refused_quantity,
            }
            for item in sorted(items, key=lambda i: i.position)
        ]
        event_type = "shipment.partially_delivered"
    else:
        event_type = "shipment.delivered"
    events.append(notify_service.MarketplaceEvent(shipment.marketplace_id, event_type, delivered))
    return events


def issue_to_recipient(
    session: Session,
    *,
    shipment: Shipment,
    now: datetime,
    refused_items: dict[int, int] | None = None,
    cod_method: str | None = None,
    cod_paid_kop: int | None = None,
    clerk: str = "office",
    identified_by: str = "code",
    document_type: str | None = None,
) -> Shipment:
    """Hand the parcel over (fully, or partly with ``refused_items`` {position: quantity}),
    collecting cash on delivery for what is taken; ``identified_by`` ``document`` (with its
    ``document_type``) when the recipient showed an identity document instead of the code."""
    issue = Issue(shipment, refused_items, cod_method, cod_paid_kop, identified_by, document_type)
    issue_to_recipients(session, issues=[issue], now=now, clerk=clerk)
    return shipment


def refuse_many(
    session: Session, *, shipments: Sequence[Shipment], now: datetime, clerk: str = "office"
) -> None:
    """Many recipients refuse their whole parcels at the counter; a parcel that may not be
    refused refuses the whole batch before anything changes."""
    offices = repository.offices_by_id(session, {s.destination_office_id for s in shipments})
    moves = [
        _Move(s, S.REFUSED, "refused", now, clerk, offices[s.destination_office_id].index)
        for s in shipments
    ]
    decisions = _all_allowed(_decide(session, moves))
    for shipment in shipments:
        shipment.pickup_code_hash = None
    _record(session, moves, decisions, now=now)


def refuse(
    session: Session, *, shipment: Shipment, now: datetime, clerk: str = "office"
) -> Shipment:
    """The recipient refuses the whole parcel at the counter."""
    refuse_many(session, shipments=[shipment], now=now, clerk=clerk)
    return shipment


def extend_storage(
    session: Session, *, shipment: Shipment, now: datetime, base_url: str | None = None
) -> Shipment:
    """Extend the storage period once by the marketplace's extension length; the recipient
    is told the new last day by SMS (``base_url`` links it to the recipient's page)."""
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
    office = _office(session, shipment)
    before = shipment.storage_deadline
    shipment.storage_deadline = storage_deadline(
        shipment.storage_deadline,
        marketplace.storage_extension_days,
        office.timezone,
        _open_day_of(office),
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
    notify_service.publish_event(
        session,
        marketplace_id=shipment.marketplace_id,
        event_type="shipment.storage_extended",
        data={
            "tracking_number": shipment.tracking_number,
            "external_order_id": shipment.external_order_id,
            "status": shipment.status,
            "storage_deadline": shipment.storage_deadline,
            "previous_storage_deadline": before,
            "extended_at": now,
        },
        now=now,
    )
    if shipment.recipient_phone:
        text = sms_text.extension_text(_sms_facts(shipment, office, base_url))
        message = notify_service.Sms(shipment.recipient_phone, text, shipment.tracking_number)
        notify_service.queue_sms_many(session, messages=[message], now=now)
    session.flush()
    return shipment


def start_returns(
    session: Session, *, shipments: Sequence[Shipment], now: datetime, actor: str = "office"
) -> None:
    """Send many refused, expired, partly taken or recalled parcels back at once; one that
    may not go back refuses them all."""
    offices = repository.offices_by_id(session, {s.destination_office_id for s in shipments})
    _transitions(
        session,
        shipments,
        S.RETURNING,
        code="returning",
        now=now,
        actor=actor,
        office_index=lambda s: offices[s.destination_office_id].index,
    )


def start_return(
    session: Session, *, shipment: Shipment, now: datetime, actor: str = "office"
) -> Shipment:
    """Send a refused, expired or partly taken parcel back."""
    start_returns(session, shipments=[shipment], now=now, actor=actor)
    return shipment


def complete_returns(
    session: Session, *, shipments: Sequence[Shipment], now: datetime, actor: str = "hub-scan"
) -> None:
    """Many parcels are back with their marketplaces."""
    _transitions(session, shipments, S.RETURNED, code="returned_to_sender", now=now, actor=actor)


def complete_return(
    session: Session, *, shipment: Shipment, now: datetime, actor: str = "hub-scan"
) -> Shipment:
    """The parcel is back with the marketplace."""
    complete_returns(session, shipments=[shipment], now=now, actor=actor)
    return shipment


# ---------------------------------------------------------------------------- timed jobs


def expire_storage(session: Session, now: datetime, *, limit: int = 1000) -> int:
    """Mark parcels whose storage deadline passed as expired, at most ``limit`` (a worker job
    and ``selpo jobs run storage-expiry``; call again while it returns ``limit``)."""
    query = (
        select(Shipment)
        .where(Shipment.status == S.READY_FOR_PICKUP, Shipment.storage_deadline < now)
        .order_by(Shipment.id)
        .with_for_update(skip_locked=True)
        .limit(limit)
    )
    shipments = list(session.scalars(query))
    expire_storage_of(session, shipments=shipments, now=now)
    return len(shipments)


def expire_storage_of(
    session: Session, *, shipments: Sequence[Shipment], now: datetime, actor: str = "worker"
) -> None:
    """These parcels' storage is over (their codes stop working); one that is not waiting
    for pickup refuses them all before anything changes."""
    moves = [_Move(s, S.STORAGE_EXPIRED, "storage_expired", now, actor) for s in shipments]
    decisions = _all_allowed(_decide(session, moves))
    for shipment in shipments:
        shipment.pickup_code_hash = None
    _record(session, moves, decisions, now=now)


def send_storage_reminders(
    session: Session,
    now: datetime,
    *,
    days_before: int = 2,
    limit: int = 1000,
    base_url: str | None = None,
) -> int:
    """Remind recipients whose storage ends within ``days_before`` days, and tell their
    marketplaces (``shipment.storage_expiring``), at most ``limit`` (a worker job; call again
    while it returns ``limit``); ``base_url`` links the SMS to the recipient's page."""
    horizon = now + timedelta(days=days_before)
    query = (
        select(Shipment)
        .where(
            Shipment.status == S.READY_FOR_PICKUP,
            Shipment.reminder_sent.is_(False),
            Shipment.storage_deadline <= horizon,
            Shipment.storage_deadline > now,
        )
        .order_by(Shipment.id)
        .with_for_update(skip_locked=True)
        .limit(limit)
    )
    shipments = list(session.scalars(query))
    offices = repository.offices_by_id(session, {s.destination_office_id for s in shipments})
    messages: list[notify_service.Sms] = []
    expiring: list[notify_service.MarketplaceEvent] = []
    for shipment in shipments:
        office = offices[shipment.destination_office_id]
        expiring.append(
            notify_service.MarketplaceEvent(
                shipment.marketplace_id,
                "shipment.storage_expiring",
                {
                    "tracking_number": shipment.tracking_number,
                    "external_order_id": shipment.external_order_id,
                    "office_index": office.index,
                    "storage_deadline": shipment.storage_deadline,
                    "reminded_at": now,
                },
            )
        )
        if shipment.recipient_phone and shipment.storage_deadline:
            text = sms_text.reminder_text(_sms_facts(shipment, office, base_url))
            messages.append(
                notify_service.Sms(shipment.recipient_phone, text, shipment.tracking_number)
            )
        shipment.reminder_sent = True
    notify_service.queue_sms_many(session, messages=messages, now=now)
    notify_service.publish_many(session, events=expiring, now=now)
    session.flush()
    return len(shipments)


def purge_personal_data(
    session: Session, now: datetime, *, retention_days: int = 90, limit: int = 1000
) -> int:
    """Erase the recipient's name and phone of shipments ended long enough ago, at most
    ``limit`` (a worker job; call again while it returns ``limit``)."""
    cutoff = now - timedelta(days=retention_days)
    query = (
        select(Shipment)
        .where(
            Shipment.finished_at.is_not(None),
            Shipment.finished_at < cutoff,
            Shipment.personal_data_purged_at.is_(None),
        )
        .limit(limit)
    )
    count = 0
    for shipment in session.scalars(query):
        shipment.recipient_name = None
        shipment.recipient_phone = None
        shipment.personal_data_purged_at = now
        count += 1
    return count


# ---------------------------------------------------------------------------- reports


# Every zone's day ``d`` lies within these bounds of UTC (Russia spans UTC+2 to UTC+12; the
# world, UTC-12 to UTC+14).
_EARLIEST_OFFSET, _LATEST_OFFSET = timedelta(hours=14), timedelta(hours=12)


def cod_report(session: Session, *, marketplace: Marketplace, day: date) -> CodReport:
    """Reconcile cash on delivery for one marketplace and day: what each office collected
    on that day of its own calendar (its local zone)."""
    start = datetime.combine(day, time(0, 0), tzinfo=UTC) - _EARLIEST_OFFSET
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=UTC) + _LATEST_OFFSET
    query = (
        select(Shipment, PostOffice.timezone)
        .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
        .where(
            Shipment.marketplace_id == marketplace.id,
            Shipment.cod_collected_at >= start,
            Shipment.cod_collected_at < end,
        )
        .order_by(Shipment.tracking_number)
    )
    rows = [
        shipment
        for shipment, zone in session.execute(query)
        if shipment.cod_collected_at is not None
        and local_day(shipment.cod_collected_at, zone) == day
    ]
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
