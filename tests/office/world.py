"""The office tests' world: clerks signed in at Pestyaki (155650) and Alekhino (155654), and
parcels on the way to them walked through the real shipment service, on the real database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.models import Marketplace, OutboxMessage, PostOffice, Shipment
from selpo.office import auth
from selpo.office import service as office
from selpo.office.auth import Workstation
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate
from selpo.shipment.service import PickupPolicy
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, shipment_payload, two_item_payload

PESTYAKI = "155650"
ALEKHINO = "155654"  # a village office of the same district: cash only, no card terminal
POLICY = PickupPolicy(pepper="office-test-pepper", max_failures=5, lock_minutes=15)
PASSWORD = "correct horse battery"


def sign_in(session: Session, login: str, clock: FrozenClock) -> Workstation:
    """A signed-in workstation of an existing clerk."""
    result = auth.sign_in(session, login=login, password=PASSWORD, now=clock.now())
    assert result.token is not None, result.refusal
    workstation = auth.resolve(session, result.token, now=clock.now())
    assert workstation is not None
    return workstation


@dataclass
class OfficeWorld:
    """Two offices, a clerk at each, and OZON serving both."""

    session: Session
    clock: FrozenClock
    ozon: Marketplace
    pestyaki: PostOffice
    alekhino: PostOffice
    clerk: Workstation  # at Pestyaki
    village_clerk: Workstation  # at Alekhino
    _orders: int = 0

    def parcel(
        self,
        *,
        to: str = PESTYAKI,
        walk: tuple[str, ...] = ("handed_over", "departed_hub"),
        cod: bool = False,
        two_items: bool = False,
        **overrides: Any,
    ) -> Shipment:
        """A shipment created and scanned along the road (by default: in transit)."""
        self._orders += 1
        order = f"OFFICE-{self._orders}"
        payload = (
            two_item_payload(order, cod=cod)
            if two_items
            else shipment_payload(external_order_id=order)
        )
        payload["destination_index"] = to
        payload.update(overrides)
        outcome = shipment_service.create_shipments(
            self.session,
            marketplace=self.ozon,
            shipments_in=[ShipmentCreate.model_validate(payload)],
            now=self.clock.now(),
        )[0]
        assert outcome.shipment is not None, outcome.error
        number = outcome.shipment.tracking_number
        for code in walk:
            self.clock.advance(timedelta(minutes=10))
            shipment_service.record_scan(
                self.session,
                tracking_number=number,
                code=code,
                occurred_at=self.clock.now(),
                now=self.clock.now(),
            )
        self.clock.advance(timedelta(minutes=10))
        shipment = self.session.scalars(
            select(Shipment).where(Shipment.tracking_number == number)
        ).one()
        return shipment

    def accepted(self, **kwargs: Any) -> Shipment:
        """A parcel accepted at Pestyaki (arrived at the office, not shelved)."""
        shipment = self.parcel(**kwargs)
        acceptance = office.start_acceptance(
            self.session, office=self.pestyaki, workstation=self.clerk, now=self.clock.now()
        )
        scan = office.scan_for_acceptance(
            self.session,
            acceptance=acceptance,
            office=self.pestyaki,
            workstation=self.clerk,
            barcode=shipment.tracking_number,
            damaged=False,
            now=self.clock.now(),
        )
        assert scan.result == "accepted"
        return shipment

    def shelved(self, **kwargs: Any) -> tuple[Shipment, str]:
        """A parcel ready for pickup at Pestyaki, and its pickup code (from the SMS)."""
        shipment = self.accepted(**kwargs)
        shelved = office.shelve(
            self.session,
            office=self.pestyaki,
            workstation=self.clerk,
            tracking_number=shipment.tracking_number,
            cell_input="",
            policy=POLICY,
            now=self.clock.now(),
        )
        assert shelved.cell
        code = sms_code(self.session, shipment.tracking_number)
        return shipment, code


def sms_code(session: Session, tracking_number: str) -> str:
    """The pickup code in the latest SMS about a parcel."""
    rows = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "sms", OutboxMessage.reference == tracking_number)
            .order_by(OutboxMessage.id)
        )
    )
    assert rows, "no SMS queued"
    text = str(rows[-1].payload["text"])
    marker = "Код получения: "
    return text[text.index(marker) + len(marker) :][:6]


def make_world(session: Session, clock: FrozenClock) -> OfficeWorld:
    """OZON serving both offices, a clerk at each, signed in (flushed, never committed)."""
    ozon = marketplace_key(session, "OZON", now=TEST_NOW, connect=(PESTYAKI, ALEKHINO)).marketplace
    offices = {
        o.index: o
        for o in session.scalars(
            select(PostOffice).where(PostOffice.index.in_([PESTYAKI, ALEKHINO]))
        )
    }
    for index, login in ((PESTYAKI, "pestyaki1"), (ALEKHINO, "alekhino1")):
        auth.add_clerk(session, office_index=index, login=login, password=PASSWORD, now=TEST_NOW)
    return OfficeWorld(
        session=session,
        clock=clock,
        ozon=ozon,
        pestyaki=offices[PESTYAKI],
        alekhino=offices[ALEKHINO],
        clerk=sign_in(session, "pestyaki1", clock),
        village_clerk=sign_in(session, "alekhino1", clock),
    )


@contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with small costs (a real login costs ~0.3 s here; tests sign in hundreds of
    times). The stored hashes are still argon2id and carry their own parameters."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield
