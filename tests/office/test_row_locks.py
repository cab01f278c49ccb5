"""A marketplace's open transaction never holds up a clerk (PostgreSQL): inserting rows that
refer to an office or a shipment takes a key-share lock on it, and the counter's locks
(`FOR NO KEY UPDATE`) do not wait for those. With `FOR UPDATE` they waited for the whole
batch of new shipments addressed to the office."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Marketplace, PostOffice, Shipment, TrackingEvent
from selpo.network.importer import import_region
from selpo.office import repository as office_repository
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, shipment_payload
from tests.fixtures.regions import bundled_source
from tests.office.world import PESTYAKI


@pytest.fixture
def engine(backend: str, scratch_url: str) -> Iterator[Engine]:
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's: SQLite has one writer at a time")
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    with session_scope(make_session_factory(engine)) as session:
        import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
        marketplace_key(session, "OZON", now=TEST_NOW)
    yield engine
    engine.dispose()


def _create_for_pestyaki(session: Session) -> int:
    """A new shipment to Pestyaki (flushed, not committed); its id."""
    ozon = session.scalars(select(Marketplace).where(Marketplace.code == "OZON")).one()
    outcome = shipment_service.create_shipments(
        session,
        marketplace=ozon,
        shipments_in=[ShipmentCreate.model_validate(shipment_payload())],
        now=TEST_NOW,
    )[0]
    assert outcome.shipment is not None
    return session.scalars(
        select(Shipment.id).where(Shipment.tracking_number == outcome.shipment.tracking_number)
    ).one()


def _impatient(session: Session) -> Session:
    """A session that gives up on a lock after 2 s instead of waiting."""
    session.execute(text("SET LOCAL lock_timeout = '2s'"))
    return session


def test_a_clerk_locks_the_office_while_a_batch_for_it_is_being_created(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as marketplace_side, factory() as counter_side:
        created = _create_for_pestyaki(marketplace_side)  # its insert holds a key-share lock
        office_id = marketplace_side.get_one(Shipment, created).destination_office_id
        office = office_repository.lock_office(_impatient(counter_side), office_id)
        assert office.index == PESTYAKI
        counter_side.rollback()
        marketplace_side.rollback()


def test_a_shipment_locked_for_a_change_does_not_wait_for_a_scan_being_inserted(
    engine: Engine,
) -> None:
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        shipment_id = _create_for_pestyaki(session)
    with factory() as scanner, factory() as changer:
        scanner.add(
            TrackingEvent(
                shipment_id=shipment_id,
                code="in_transit",
                status_after="in_transit",
                applied=False,
                occurred_at=TEST_NOW + timedelta(hours=1),
                recorded_at=TEST_NOW + timedelta(hours=1),
                actor="test",
            )
        )
        scanner.flush()
        locked = office_repository.lock_shipment(_impatient(changer), shipment_id)
        assert locked.id == shipment_id
        office = changer.get(PostOffice, locked.destination_office_id)
        assert office is not None
        assert office.index == PESTYAKI
        changer.rollback()
        scanner.rollback()
