"""The bulk forms of the lifecycle on the real database: a batch gives what one call per parcel
gives (events, statuses, webhooks, SMS), and a refused parcel refuses its batch untouched.

Every comparison runs on *twins*: parcels created together from the same payloads, one set
driven by the bulk call, the other by the one-parcel calls in the same order.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import DomainError
from selpo.models import Marketplace, OutboxMessage, Shipment, ShipmentItem, TrackingEvent
from selpo.notify import service as notify_service
from selpo.shipment import service
from selpo.shipment.errors import ShipmentNotFound, TransitionRefused
from selpo.shipment.lifecycle import EVENT_CODES
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import PESTYAKI_INDEX, marketplace_key, two_item_payload

POLICY = service.PickupPolicy(pepper="bulk-pepper")
_orders = itertools.count()


@pytest.fixture
def ozon(session: Session) -> Marketplace:
    marketplace = marketplace_key(session, "OZON", now=TEST_NOW).marketplace
    notify_service.create_subscription(
        session,
        marketplace_id=marketplace.id,
        url="https://hooks.example/ozon",
        events=["*"],
        now=TEST_NOW,
    )
    return marketplace


def _twins(
    session: Session, marketplace: Marketplace, count: int, *, cod: bool = False
) -> tuple[list[Shipment], list[Shipment]]:
    """``count`` pairs of identical parcels, created in one request at ``TEST_NOW``."""
    batch = next(_orders)
    payloads = [
        ShipmentCreate.model_validate(two_item_payload(f"TW-{batch}-{twin}-{n}", cod=cod))
        for twin in ("a", "b")
        for n in range(count)
    ]
    outcomes = service.create_shipments(
        session, marketplace=marketplace, shipments_in=payloads, now=TEST_NOW
    )
    numbers = [o.shipment.tracking_number for o in outcomes if o.shipment is not None]
    found = service.get_shipments(session, numbers)
    shipments = [found[n] for n in numbers]
    return shipments[:count], shipments[count:]


def _history(session: Session, shipment: Shipment) -> list[tuple[Any, ...]]:
    query = (
        select(TrackingEvent)
        .where(TrackingEvent.shipment_id == shipment.id)
        .order_by(TrackingEvent.occurred_at, TrackingEvent.id)
    )
    return [
        (e.code, e.status_after, e.applied, e.occurred_at, e.recorded_at, e.office_index, e.actor)
        + (e.source,)
        for e in session.scalars(query)
    ]


def _state(shipment: Shipment) -> tuple[Any, ...]:
    return (
        shipment.status,
        shipment.updated_at,
        shipment.finished_at,
        shipment.ready_at,
        shipment.storage_deadline,
        shipment.cell_code,
        shipment.cod_collected_kop,
        shipment.cod_method,
        shipment.cod_collected_by,
        shipment.pickup_code_hash is None,
    )


def _webhooks(session: Session, shipment: Shipment) -> list[dict[str, Any]]:
    """The status webhooks written for a parcel, without what differs between twins."""
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook"))
    found = []
    for row in sorted(rows, key=lambda r: r.id):
        data = dict(row.payload["data"])
        if data.get("tracking_number") != shipment.tracking_number:
            continue
        for differs in ("tracking_number", "external_order_id", "shipment_id"):
            data.pop(differs, None)
        found.append({"type": row.payload["type"], **data})
    return found


def _sms(session: Session, shipment: Shipment, code: str | None = None) -> list[str]:
    query = select(OutboxMessage).where(
        OutboxMessage.kind == "sms", OutboxMessage.reference == shipment.tracking_number
    )
    texts = [str(r.payload["text"]) for r in sorted(session.scalars(query), key=lambda r: r.id)]
    return [
        t.replace(shipment.external_order_id, "<order>")
        .replace(shipment.tracking_number, "<number>")
        .replace(code or "<none>", "<code>")
        for t in texts
    ]


def _assert_twins_alike(session: Session, bulk: list[Shipment], single: list[Shipment]) -> None:
    session.flush()
    for a, b in zip(bulk, single, strict=True):
        assert _history(session, a) == _history(session, b)
        assert _state(a) == _state(b)
        assert _webhooks(session, a) == _webhooks(session, b)


def _scan_all(session: Session, shipments: list[Shipment], code: str, at: datetime) -> None:
    service.record_scans(
        session,
        scans=[
            service.Scan(s.tracking_number, code, at, office_index=PESTYAKI_INDEX)
            for s in shipments
        ],
        now=at,
    )


def _arrived(session: Session, shipments: list[Shipment]) -> datetime:
    at = TEST_NOW
    for code in ("handed_over", "departed_hub", "arrived_at_office"):
        at += timedelta(hours=2)
        _scan_all(session, shipments, code, at)
    return at


# ---------------------------------------------------------------------------- scans


class TestRecordScans:
    def test_a_batch_walks_parcels_like_one_scan_at_a_time(
        self, session: Session, ozon: Marketplace
    ) -> None:
        bulk, single = _twins(session, ozon, 3)
        at = TEST_NOW + timedelta(hours=1)
        plan = [
            (0, "handed_over", at),
            (1, "handed_over", at),
            (0, "departed_hub", at + timedelta(hours=2)),
            (0, "arrived_at_office", at + timedelta(hours=5)),
            # late: scanned after the arrival above, happened before it
            (0, "arrived_at_hub", at + timedelta(hours=3)),
            (2, "arrived_at_office", at),  # created -> arrived is not allowed
            (1, "returned_to_sender", at),  # nor handed_over -> returned
        ]
        now = at + timedelta(hours=6)
        outcomes = service.record_scans(
            session,
            scans=[service.Scan(bulk[k].tracking_number, c, o, "155650") for k, c, o in plan],
            now=now,
        )
        for k, code, occurred in plan:
            try:
                service.record_scan(
                    session,
                    tracking_number=single[k].tracking_number,
                    code=code,
                    occurred_at=occurred,
                    now=now,
                    office_index="155650",
                )
            except TransitionRefused:
                pass
        _assert_twins_alike(session, bulk, single)
        assert [o.applied for o in outcomes] == [True, True, True, True, False, False, False]
        assert [type(o.error) for o in outcomes][-2:] == [TransitionRefused, TransitionRefused]
        assert [s.status for s in bulk] == ["arrived_at_office", "handed_over", "created"]

    def test_a_bad_scan_is_refused_alone(self, session: Session, ozon: Marketplace) -> None:
        (parcel,), _ = _twins(session, ozon, 1)
        now = TEST_NOW + timedelta(hours=1)
        outcomes = service.record_scans(
            session,
            scans=[
                service.Scan("RA000000000RU", "handed_over", now),
                service.Scan(parcel.tracking_number, "teleported", now),
                service.Scan(parcel.tracking_number, "handed_over", now + timedelta(hours=1)),
                service.Scan(parcel.tracking_number, "handed_over", now),
            ],
            now=now,
        )
        errors = [o.error for o in outcomes]
        assert isinstance(errors[0], ShipmentNotFound)
        # an unknown event code; an event in the future; the good one
        assert [e.field if e else None for e in errors[1:]] == ["code", "occurred_at", None]
        assert parcel.status == "handed_over"
        assert [e[0] for e in _history(session, parcel)] == ["created", "handed_over"]

    def test_any_batch_of_scans_equals_one_scan_at_a_time(
        self, session: Session, ozon: Marketplace
    ) -> None:
        codes = sorted(EVENT_CODES)
        scans = st.lists(
            st.tuples(
                st.integers(0, 2),
                st.sampled_from(codes),
                st.integers(-120, 600),  # minutes after creation; now is +360
            ),
            max_size=14,
        )

        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(scans)
        def check(plan: list[tuple[int, str, int]]) -> None:
            bulk, single = _twins(session, ozon, 3)
            now = TEST_NOW + timedelta(hours=6)
            outcomes = service.record_scans(
                session,
                scans=[
                    service.Scan(
                        bulk[k].tracking_number, code, TEST_NOW + timedelta(minutes=m), "155650"
                    )
                    for k, code, m in plan
                ],
                now=now,
            )
            refused: list[type[DomainError] | None] = []
            for k, code, m in plan:
                try:
                    service.record_scan(
                        session,
                        tracking_number=single[k].tracking_number,
                        code=code,
                        occurred_at=TEST_NOW + timedelta(minutes=m),
                        now=now,
                        office_index="155650",
                    )
                    refused.append(None)
                except DomainError as error:
                    refused.append(type(error))
            _assert_twins_alike(session, bulk, single)
            assert [None if o.error is None else type(o.error) for o in outcomes] == refused

        check()


# ---------------------------------------------------------------------------- at the office


class TestShelving:
    def test_a_batch_shelves_like_one_parcel_at_a_time(
        self, session: Session, ozon: Marketplace
    ) -> None:
        bulk, single = _twins(session, ozon, 3)
        at = _arrived(session, bulk + single)
        cells = ["S-01", None, "M-02"]
        codes = service.make_ready_for_pickup_many(
            session,
            shelvings=[service.Shelving(s, c) for s, c in zip(bulk, cells, strict=True)],
            now=at,
            policy=POLICY,
            actor="clerk-1",
        )
        one_by_one = [
            service.make_ready_for_pickup(
                session, shipment=s, now=at, policy=POLICY, cell_code=c, actor="clerk-1"
            )
            for s, c in zip(single, cells, strict=True)
        ]
        _assert_twins_alike(session, bulk, single)
        for a, b, code_a, code_b in zip(bulk, single, codes, one_by_one, strict=True):
            assert len(_sms(session, a)) == 1
            assert _sms(session, a, code_a) == _sms(session, b, code_b)
            service.verify_pickup_code(session, shipment=a, code=code_a, now=at, policy=POLICY)

    def test_one_parcel_not_arrived_refuses_the_batch_untouched(
        self, session: Session, ozon: Marketplace
    ) -> None:
        (arrived, early), _ = _twins(session, ozon, 2)
        at = _arrived(session, [arrived])
        with pytest.raises(TransitionRefused):
            service.make_ready_for_pickup_many(
                session,
                shelvings=[service.Shelving(arrived, "S-01"), service.Shelving(early, "S-02")],
                now=at,
                policy=POLICY,
            )
        assert (arrived.status, arrived.ready_at, arrived.cell_code) == (
            "arrived_at_office",
            None,
            None,
        )
        assert _sms(session, arrived) == []


class TestIssue:
    def test_a_batch_issues_like_one_parcel_at_a_time(
        self, session: Session, ozon: Marketplace
    ) -> None:
        bulk, single = _twins(session, ozon, 3, cod=True)
        at = _arrived(session, bulk + single)
        service.make_ready_for_pickup_many(
            session, shelvings=[service.Shelving(s) for s in bulk + single], now=at, policy=POLICY
        )
        # In full (cash), one plate back (card), both plates back (cash).
        asked: list[dict[str, Any]] = [
            {"cod_method": "cash"},
            {"refused_items": {1: 1}, "cod_method": "card", "cod_paid_kop": 35000},
            {"refused_items": {1: 2}, "cod_method": "cash"},
        ]
        service.issue_to_recipients(
            session,
            issues=[service.Issue(s, **asking) for s, asking in zip(bulk, asked, strict=True)],
            now=at,
            clerk="clerk-2",
        )
        for shipment, asking in zip(single, asked, strict=True):
            service.issue_to_recipient(
                session, shipment=shipment, now=at, clerk="clerk-2", **asking
            )
        _assert_twins_alike(session, bulk, single)
        assert [s.status for s in bulk] == [
            "delivered",
            "partially_delivered",
            "partially_delivered",
        ]
        assert [s.cod_collected_kop for s in bulk] == [60000, 35000, 10000]
        for twin_a, twin_b in zip(bulk, single, strict=True):
            assert _refused(session, twin_a) == _refused(session, twin_b)

    def test_a_wrong_amount_refuses_the_batch_untouched(
        self, session: Session, ozon: Marketplace
    ) -> None:
        (first, second), _ = _twins(session, ozon, 2, cod=True)
        at = _arrived(session, [first, second])
        service.make_ready_for_pickup_many(
            session,
            shelvings=[service.Shelving(first), service.Shelving(second)],
            now=at,
            policy=POLICY,
        )
        with pytest.raises(DomainError, match="60000 kopecks are due"):
            service.issue_to_recipients(
                session,
                issues=[
                    service.Issue(first, cod_method="cash"),
                    service.Issue(second, cod_method="card", cod_paid_kop=500),
                ],
                now=at,
            )
        assert [s.status for s in (first, second)] == ["ready_for_pickup"] * 2
        assert [s.cod_collected_kop for s in (first, second)] == [0, 0]


def _refused(session: Session, shipment: Shipment) -> list[tuple[int, int]]:
    query = (
        select(ShipmentItem)
        .where(ShipmentItem.shipment_id == shipment.id)
        .order_by(ShipmentItem.position)
    )
    return [(i.position, i.refused_quantity) for i in session.scalars(query)]


class TestReturnsAndTimedJobs:
    def test_refusals_and_returns_in_bulk_are_the_single_ones(
        self, session: Session, ozon: Marketplace
    ) -> None:
        bulk, single = _twins(session, ozon, 2)
        at = _arrived(session, bulk + single)
        service.make_ready_for_pickup_many(
            session, shelvings=[service.Shelving(s) for s in bulk + single], now=at, policy=POLICY
        )
        service.refuse_many(session, shipments=bulk, now=at, clerk="clerk-3")
        for shipment in single:
            service.refuse(session, shipment=shipment, now=at, clerk="clerk-3")
        service.start_returns(session, shipments=bulk, now=at, actor="clerk-3")
        for shipment in single:
            service.start_return(session, shipment=shipment, now=at, actor="clerk-3")
        back = at + timedelta(days=3)
        service.complete_returns(session, shipments=bulk, now=back)
        for shipment in single:
            service.complete_return(session, shipment=shipment, now=back)
        _assert_twins_alike(session, bulk, single)
        assert [s.status for s in bulk] == ["returned", "returned"]
        assert all(s.finished_at == back for s in bulk)

    def test_a_parcel_that_may_not_go_back_refuses_the_batch(
        self, session: Session, ozon: Marketplace
    ) -> None:
        (waiting, refused), _ = _twins(session, ozon, 2)
        at = _arrived(session, [waiting, refused])
        service.make_ready_for_pickup_many(
            session,
            shelvings=[service.Shelving(waiting), service.Shelving(refused)],
            now=at,
            policy=POLICY,
        )
        service.refuse(session, shipment=refused, now=at)
        with pytest.raises(TransitionRefused):
            service.start_returns(session, shipments=[refused, waiting], now=at)
        assert [refused.status, waiting.status] == ["refused", "ready_for_pickup"]

    def test_expiry_and_reminders_go_out_for_every_parcel_due(
        self, session: Session, ozon: Marketplace
    ) -> None:
        parcels, _ = _twins(session, ozon, 3)
        at = _arrived(session, parcels)
        service.make_ready_for_pickup_many(
            session, shelvings=[service.Shelving(s) for s in parcels], now=at, policy=POLICY
        )
        deadline = parcels[0].storage_deadline
        assert deadline is not None
        assert service.send_storage_reminders(session, deadline - timedelta(days=1)) >= 3
        for shipment in parcels:
            assert shipment.reminder_sent
            assert len(_sms(session, shipment)) == 2
        assert service.expire_storage(session, deadline + timedelta(seconds=1)) >= 3
        for shipment in parcels:
            assert shipment.status == "storage_expired"
            assert shipment.pickup_code_hash is None
            statuses = [
                w["status"]
                for w in _webhooks(session, shipment)
                if w["type"] == "shipment.status_changed"
            ]
            assert statuses[-1] == "storage_expired"
            assert "shipment.storage_expiring" in {w["type"] for w in _webhooks(session, shipment)}
