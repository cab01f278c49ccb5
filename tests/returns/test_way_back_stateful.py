"""A hypothesis state machine on the way back: a parcel starts on its way, on the shelf or in
the buyer's hands, and then anything happens in any order — the marketplace recalls it, the
road scans it, the counter shelves, issues or sends it back, the warehouse takes it, the buyer
returns some units (registered, taken at the counter with a cash refund).

Whatever the order: a returned parcel never moves again; a recalled one is never issued and
takes no money; the money refunded never exceeds the money collected, nor does any refund
go below zero; a refused operation changes nothing.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import DomainError
from selpo.kit.clock import FrozenClock
from selpo.marketplace import service as marketplace_service
from selpo.models import CustomerReturn, PostOffice, Shipment
from selpo.returns import recall as recalls
from selpo.returns import service as returns
from selpo.returns.schemas import ReturnCreate, ReturnItemIn
from selpo.shipment import service
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, two_item_payload

POLICY = service.PickupPolicy(pepper="way-back", max_failures=5, lock_minutes=15)
_orders = itertools.count()
ISSUED = {"delivered", "partially_delivered"}


def test_the_way_back_invariants_hold_under_any_sequence(session: Session) -> None:
    marketplace = marketplace_key(session, "OZON", now=TEST_NOW).marketplace
    marketplace_service.set_returns(marketplace, refund_cash=True, return_days=30)
    office = session.scalars(select(PostOffice).where(PostOffice.index == "155650")).one()

    class WayBack(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = FrozenClock(TEST_NOW)
            self.returned_seen = False
            self.recalled_seen = False
            self.returns = 0
            self.shipment: Shipment

        @initialize(
            stage=st.sampled_from(["in_transit", "ready", "delivered", "partly"]),
            cod=st.booleans(),
        )
        def a_parcel(self, stage: str, cod: bool) -> None:
            payload = two_item_payload(f"WB-{next(_orders)}", cod=cod)
            outcome = service.create_shipments(
                session,
                marketplace=marketplace,
                shipments_in=[ShipmentCreate.model_validate(payload)],
                now=self.clock.now(),
            )[0]
            assert outcome.shipment is not None
            self.shipment = service.get_shipment(
                session, marketplace_id=None, tracking_number=outcome.shipment.tracking_number
            )
            for code in ("handed_over", "departed_hub"):
                self._scan(code)
            if stage == "in_transit":
                return
            self._scan("arrived_at_office")
            service.make_ready_for_pickup(
                session, shipment=self.shipment, now=self.clock.now(), policy=POLICY
            )
            if stage == "delivered":
                service.issue_to_recipient(
                    session, shipment=self.shipment, now=self.clock.now(), cod_method="cash"
                )
            elif stage == "partly":
                service.issue_to_recipient(
                    session,
                    shipment=self.shipment,
                    now=self.clock.now(),
                    refused_items={1: 1},
                    cod_method="cash",
                )

        def _scan(self, code: str) -> None:
            self.clock.advance(timedelta(minutes=30))
            service.record_scan(
                session,
                tracking_number=self.shipment.tracking_number,
                code=code,
                occurred_at=self.clock.now(),
                now=self.clock.now(),
                office_index="155650" if code == "arrived_at_office" else None,
            )

        def _attempt(self, operation: object) -> bool:
            before = (self.shipment.status, self.shipment.cod_collected_kop, self._refunds())
            try:
                with session.begin_nested():
                    assert callable(operation)
                    operation()
                return True
            except DomainError:
                session.refresh(self.shipment)
                after = (self.shipment.status, self.shipment.cod_collected_kop, self._refunds())
                assert after == before, "a refused operation changed something"
                return False

        def _refunds(self) -> list[int]:
            query = select(CustomerReturn.refund_kop).where(
                CustomerReturn.shipment_id == self.shipment.id
            )
            return list(session.scalars(query))

        @rule(hours=st.integers(1, 72))
        def time_passes(self, hours: int) -> None:
            self.clock.advance(timedelta(hours=hours))

        @rule()
        def recall(self) -> None:
            self._attempt(
                lambda: recalls.recall(
                    session,
                    marketplace_id=marketplace.id,
                    tracking_number=self.shipment.tracking_number,
                    now=self.clock.now(),
                )
            )

        @rule(code=st.sampled_from(["departed_hub", "arrived_at_office", "lost"]))
        def scan(self, code: str) -> None:
            self._attempt(lambda: self._scan(code))

        @rule()
        def accepted_at_the_office(self) -> None:
            """The counter's acceptance of a recalled parcel starts its return."""
            self._attempt(
                lambda: recalls.recalled_arrived(
                    session,
                    shipment=self.shipment,
                    office=office,
                    now=self.clock.now(),
                    actor="clerk:way-back",
                )
            )

        @rule()
        def shelve(self) -> None:
            self._attempt(
                lambda: service.make_ready_for_pickup(
                    session, shipment=self.shipment, now=self.clock.now(), policy=POLICY
                )
            )

        @rule()
        def issue(self) -> None:
            self._attempt(
                lambda: service.issue_to_recipient(
                    session, shipment=self.shipment, now=self.clock.now(), cod_method="cash"
                )
            )

        @rule()
        def refuse_and_send_back(self) -> None:
            self._attempt(
                lambda: service.refuse(session, shipment=self.shipment, now=self.clock.now())
            )
            self._attempt(
                lambda: service.start_return(session, shipment=self.shipment, now=self.clock.now())
            )

        @rule()
        def warehouse_act(self) -> None:
            self._attempt(
                lambda: service.complete_return(
                    session, shipment=self.shipment, now=self.clock.now()
                )
            )

        @rule(mug=st.integers(0, 1), plates=st.integers(0, 2), taken=st.integers(0, 2))
        def buyer_returns(self, mug: int, plates: int, taken: int) -> None:
            self.returns += 1
            units = [ReturnItemIn(position=p, quantity=q) for p, q in ((0, mug), (1, plates)) if q]
            if not units:
                return

            def run() -> None:
                registered = returns.register_return(
                    session,
                    marketplace=marketplace,
                    return_in=ReturnCreate(
                        tracking_number=self.shipment.tracking_number,
                        external_return_id=f"WB-R-{self.shipment.id}-{self.returns}",
                        reason="way back",
                        items=units,
                    ),
                    now=self.clock.now(),
                    pepper="way-back",
                )
                returns.accept_at_counter(
                    session,
                    office=office,
                    return_id=registered.id,
                    ticket=returns.counter_ticket(
                        return_id=registered.id, office_id=office.id, seat="s", pepper="way-back"
                    ),
                    seat="s",
                    pepper="way-back",
                    accepted={0: mug, 1: min(taken, plates)},
                    weight_g=None,
                    actor="clerk:way-back",
                    now=self.clock.now(),
                )

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
            refunds = self._refunds()
            assert all(r >= 0 for r in refunds)
            assert sum(refunds) <= self.shipment.cod_collected_kop
            if refunds:
                assert self.shipment.status in ISSUED | {"returning", "returned"}

    run_state_machine_as_test(
        WayBack,
        settings=settings(
            max_examples=40,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
