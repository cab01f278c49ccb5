"""A hypothesis state machine drives one parcel through random operations on the real service.

Whatever the order, the events only grow (append-only), a delivered parcel never changes again,
a refused operation changes nothing, and collected cash equals what was due on full delivery.
The way back too: a recall at any moment, the buyer's returns of what was taken (registered,
then taken at the counter with a cash refund): a returned parcel never moves again, a recalled
one is never issued, and the money refunded never exceeds the money collected.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import DomainError
from selpo.kit.clock import FrozenClock
from selpo.marketplace import service as marketplace_service
from selpo.models import CustomerReturn, Marketplace, PostOffice, TrackingEvent
from selpo.returns import service as returns
from selpo.returns.schemas import ReturnCreate, ReturnItemIn
from selpo.shipment import service
from selpo.shipment.lifecycle import EVENT_CODES, MISSORTED, Status, arrival_target
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, two_item_payload

POLICY = service.PickupPolicy(pepper="stateful", max_failures=5, lock_minutes=15)
_orders = itertools.count()


def test_lifecycle_invariants_hold_under_any_sequence(session: Session) -> None:
    marketplace = marketplace_key(session, "OZON", now=TEST_NOW).marketplace
    marketplace_service.set_returns(marketplace, refund_cash=True, return_days=30)
    office = session.scalars(select(PostOffice).where(PostOffice.index == "155650")).one()

    class ParcelMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = FrozenClock(TEST_NOW)
            self.market: Marketplace = marketplace
            payload = two_item_payload(f"SM-{next(_orders)}", cod=True)
            outcome = service.create_shipments(
                session,
                marketplace=self.market,
                shipments_in=[ShipmentCreate.model_validate(payload)],
                now=self.clock.now(),
            )[0]
            assert outcome.shipment is not None
            self.shipment = service.get_shipment(
                session, marketplace_id=None, tracking_number=outcome.shipment.tracking_number
            )
            self.code: str | None = None
            self.seen_events: list[int] = self._event_ids()
            self.delivered_snapshot: tuple[str, int] | None = None
            self.returned_seen = False
            self.recalled_seen = False
            self.returns = 0

        def _event_ids(self) -> list[int]:
            query = (
                select(TrackingEvent.id)
                .where(TrackingEvent.shipment_id == self.shipment.id)
                .order_by(TrackingEvent.id)
            )
            return list(session.scalars(query))

        def _last_code(self) -> str:
            query = (
                select(TrackingEvent.code)
                .where(TrackingEvent.shipment_id == self.shipment.id)
                .order_by(TrackingEvent.id.desc())
            )
            return str(session.scalars(query).first())

        def _attempt(self, operation: object) -> bool:
            """Run an operation; ``False`` when it was refused (and changed nothing)."""
            before = (self.shipment.status, len(self._event_ids()), self.shipment.cod_collected_kop)
            try:
                with session.begin_nested():
                    assert callable(operation)
                    operation()
                return True
            except DomainError:
                session.refresh(self.shipment)
                after = (
                    self.shipment.status,
                    len(self._event_ids()),
                    self.shipment.cod_collected_kop,
                )
                assert after == before, "a refused operation changed the parcel"
                return False

        def _scan(self, code: str) -> None:
            service.record_scan(
                session,
                tracking_number=self.shipment.tracking_number,
                code=code,
                occurred_at=self.clock.now(),
                now=self.clock.now(),
            )

        @rule(hours=st.integers(1, 48))
        def time_passes(self, hours: int) -> None:
            self.clock.advance(timedelta(hours=hours))

        @rule(code=st.sampled_from(["handed_over", "departed_hub", "arrived_at_office", "lost"]))
        def scan(self, code: str) -> None:
            self._attempt(lambda: self._scan(code))

        @rule(elsewhere=st.sampled_from(["155654", "153950"]))
        def arrival_elsewhere(self, elsewhere: str) -> None:
            """An arrival scanned at an office that is not the destination: mis-sorted."""
            before = self.shipment.status

            def run() -> None:
                service.record_scan(
                    session,
                    tracking_number=self.shipment.tracking_number,
                    code="arrived_at_office",
                    occurred_at=self.clock.now(),
                    now=self.clock.now(),
                    office_index=elsewhere,
                )

            self._attempt(run)
            if before in {"handed_over", "in_transit"}:
                assert self.shipment.status == "in_transit"
                assert self._last_code() == "missorted"
            else:
                assert self.shipment.status == before

        @rule(minutes=st.integers(6, 60 * 24), code=st.sampled_from(sorted(EVENT_CODES)))
        def scan_from_the_future(self, minutes: int, code: str) -> None:
            def run() -> None:
                service.record_scan(
                    session,
                    tracking_number=self.shipment.tracking_number,
                    code=code,
                    occurred_at=self.clock.now() + timedelta(minutes=minutes),
                    now=self.clock.now(),
                )

            assert self._attempt(run) is False, "a scan from the future was accepted"

        @rule(hours_back=st.integers(1, 24), code=st.sampled_from(["handed_over", "departed_hub"]))
        def late_scan(self, hours_back: int, code: str) -> None:
            def run() -> None:
                service.record_scan(
                    session,
                    tracking_number=self.shipment.tracking_number,
                    code=code,
                    occurred_at=self.clock.now() - timedelta(hours=hours_back),
                    now=self.clock.now(),
                )

            self._attempt(run)

        @rule()
        def shelve(self) -> None:
            def run() -> None:
                self.code = service.make_ready_for_pickup(
                    session, shipment=self.shipment, now=self.clock.now(), policy=POLICY
                )

            self._attempt(run)

        @rule(method=st.sampled_from(["cash", "card"]))
        def issue_in_full(self, method: str) -> None:
            self._attempt(
                lambda: service.issue_to_recipient(
                    session, shipment=self.shipment, now=self.clock.now(), cod_method=method
                )
            )

        @rule(quantity=st.integers(0, 2))
        def issue_partly(self, quantity: int) -> None:
            self._attempt(
                lambda: service.issue_to_recipient(
                    session,
                    shipment=self.shipment,
                    now=self.clock.now(),
                    refused_items={1: quantity},
                    cod_method="cash",
                )
            )

        @rule()
        def refuse(self) -> None:
            self._attempt(
                lambda: service.refuse(session, shipment=self.shipment, now=self.clock.now())
            )

        @rule()
        def expire(self) -> None:
            self.clock.advance(timedelta(days=9))
            self._attempt(lambda: service.expire_storage(session, self.clock.now()))

        @rule()
        def send_back(self) -> None:
            self._attempt(
                lambda: service.start_return(session, shipment=self.shipment, now=self.clock.now())
            )

        @rule()
        def back_home(self) -> None:
            self._attempt(
                lambda: service.complete_return(
                    session, shipment=self.shipment, now=self.clock.now()
                )
            )

        @rule()
        def cancel(self) -> None:
            self._attempt(
                lambda: service.cancel_shipment(
                    session, shipment=self.shipment, now=self.clock.now()
                )
            )

        @rule()
        def a_quick_road_to_the_shelf(self) -> None:
            """Every scan of the road and the shelving, each tried in turn (so the counter's
            and the way back's operations are reached often)."""
            for code in ("handed_over", "departed_hub", "arrived_at_office"):
                self._attempt(lambda code=code: self._scan(code))
            self.shelve()

        @rule()
        def recall(self) -> None:
            self._attempt(
                lambda: service.recall_shipment(
                    session, shipment=self.shipment, now=self.clock.now()
                )
            )

        @rule(mug=st.integers(0, 1), plates=st.integers(0, 2), taken=st.integers(0, 2))
        def buyer_returns(self, mug: int, plates: int, taken: int) -> None:
            """The buyer returns some units; the counter takes ``taken`` plates of them
            (and the mug) and pays the cash back."""
            self.returns += 1
            units = [ReturnItemIn(position=p, quantity=q) for p, q in ((0, mug), (1, plates)) if q]

            def run() -> None:
                registered = returns.register_return(
                    session,
                    marketplace=self.market,
                    return_in=ReturnCreate(
                        tracking_number=self.shipment.tracking_number,
                        external_return_id=f"R-{self.shipment.id}-{self.returns}",
                        reason="stateful",
                        items=units,
                    ),
                    now=self.clock.now(),
                    pepper="stateful",
                )
                returns.accept_at_counter(
                    session,
                    office=office,
                    return_id=registered.id,
                    ticket=returns.counter_ticket(
                        return_id=registered.id, office_id=office.id, seat="s", pepper="stateful"
                    ),
                    seat="s",
                    pepper="stateful",
                    accepted={0: mug, 1: min(taken, plates)},
                    weight_g=None,
                    actor="clerk:stateful",
                    now=self.clock.now(),
                )

            if units:
                self._attempt(run)

        @invariant()
        def a_returned_parcel_never_moves_again(self) -> None:
            if self.returned_seen:
                assert self.shipment.status == "returned"
            self.returned_seen = self.shipment.status == "returned"

        @invariant()
        def a_recalled_parcel_is_never_issued(self) -> None:
            if self.shipment.status == "recalled":
                self.recalled_seen = True
            if self.recalled_seen:
                assert self.shipment.status in {"recalled", "returning", "returned", "lost"}
                assert self.shipment.cod_collected_kop == 0

        @invariant()
        def money_refunded_never_exceeds_money_collected(self) -> None:
            refunds = session.scalars(
                select(CustomerReturn.refund_kop).where(
                    CustomerReturn.shipment_id == self.shipment.id
                )
            ).all()
            assert all(r >= 0 for r in refunds)
            assert sum(refunds) <= self.shipment.cod_collected_kop
            if refunds and sum(refunds) == self.shipment.cod_collected_kop:
                assert self.shipment.status in {"delivered", "partially_delivered", "returning"}

        @invariant()
        def arrives_only_at_its_destination(self) -> None:
            query = select(TrackingEvent.office_index).where(
                TrackingEvent.shipment_id == self.shipment.id,
                TrackingEvent.code == "arrived_at_office",
            )
            assert set(session.scalars(query)) <= {None, "155650"}

        @invariant()
        def events_only_grow(self) -> None:
            ids = self._event_ids()
            assert ids[: len(self.seen_events)] == self.seen_events
            self.seen_events = ids

        @invariant()
        def delivered_never_changes(self) -> None:
            state = (self.shipment.status, self.shipment.cod_collected_kop)
            if self.delivered_snapshot is not None:
                assert state == self.delivered_snapshot
            elif self.shipment.status == "delivered":
                self.delivered_snapshot = state

        @invariant()
        def cash_matches_what_was_due(self) -> None:
            if self.shipment.status == "delivered":
                assert self.shipment.cod_collected_kop == self.shipment.cod_kop
            if self.shipment.status in {"created", "handed_over", "in_transit", "refused"}:
                assert self.shipment.cod_collected_kop == 0

    run_state_machine_as_test(
        ParcelMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )


@given(
    code=st.sampled_from(sorted(EVENT_CODES)),
    scanned_at=st.one_of(st.none(), st.from_regex(r"\A\d{6}\Z")),
    destination=st.from_regex(r"\A\d{6}\Z"),
)
def test_an_arrival_counts_only_at_the_destination(
    code: str, scanned_at: str | None, destination: str
) -> None:
    event = arrival_target(code, scanned_at=scanned_at, destination=destination)
    arrives = EVENT_CODES[event] == Status.ARRIVED_AT_OFFICE
    assert arrives == (code == "arrived_at_office" and scanned_at in (None, destination))
    if event != code:
        assert (code, event) == ("arrived_at_office", MISSORTED)
        assert EVENT_CODES[event] == Status.IN_TRANSIT
