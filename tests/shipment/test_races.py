"""Limits and uniqueness under real concurrency, on a database of their own (both backends):
parallel wrong pickup codes lock the parcel after exactly the limit, and racing batches
that share an order give that order its own 409 while the rest are created."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Marketplace, Shipment
from selpo.network.importer import import_region
from selpo.shipment import service
from selpo.shipment.errors import PickupCodeLocked, WrongPickupCode
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, shipment_payload
from tests.fixtures.regions import bundled_source

POLICY = service.PickupPolicy(pepper="race-pepper", max_failures=5, lock_minutes=15)
ATTEMPTS = 40


@dataclass
class Live:
    """A migrated, seeded database of the test's own, with OZON's key."""

    url: str
    engine: Engine
    factory: sessionmaker[Session]
    headers: dict[str, str]


@pytest.fixture
def live(scratch_url: str) -> Iterator[Live]:
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
        headers = marketplace_key(session, "OZON", now=TEST_NOW).headers
    yield Live(scratch_url, engine, factory, headers)
    engine.dispose()


def _ready_parcel(live: Live) -> tuple[str, str]:
    """A committed parcel waiting for pickup at Pestyaki: (tracking number, its code)."""
    at = TEST_NOW
    with session_scope(live.factory) as session:
        ozon = marketplace_key(session, "OZON", now=at).marketplace
        outcome = service.create_shipments(
            session,
            marketplace=ozon,
            shipments_in=[ShipmentCreate.model_validate(shipment_payload())],
            now=at,
        )[0]
        assert outcome.shipment is not None
        number = outcome.shipment.tracking_number
        for code in ("handed_over", "departed_hub", "arrived_at_office"):
            at += timedelta(hours=2)
            service.record_scan(
                session,
                tracking_number=number,
                code=code,
                occurred_at=at,
                now=at,
                office_index="155650",
            )
        shipment = service.get_shipment(session, marketplace_id=None, tracking_number=number)
        code = service.make_ready_for_pickup(session, shipment=shipment, now=at, policy=POLICY)
    return number, code


def _try_code(live: Live, number: str, code: str, barrier: threading.Barrier | None) -> str:
    """One counter's attempt in its own session and transaction, committed whatever the
    answer (as the workstation does)."""
    if barrier is not None:
        barrier.wait()
    with session_scope(live.factory) as session:
        shipment = service.get_shipment(session, marketplace_id=None, tracking_number=number)
        try:
            service.verify_pickup_code(
                session, shipment=shipment, code=code, now=NOW_AT_COUNTER, policy=POLICY
            )
        except WrongPickupCode:
            return "wrong"
        except PickupCodeLocked:
            return "locked"
    return "right"


NOW_AT_COUNTER = TEST_NOW + timedelta(hours=8)


def _counter(live: Live, number: str) -> tuple[int, object]:
    with session_scope(live.factory) as session:
        row = session.execute(
            select(Shipment.pickup_code_failures, Shipment.pickup_code_locked_until).where(
                Shipment.tracking_number == number
            )
        ).one()
    return int(row[0]), row[1]


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class TestParallelWrongCodes:
    def test_forty_at_once_lock_after_exactly_five(self, live: Live) -> None:
        number, code = _ready_parcel(live)
        barrier = threading.Barrier(ATTEMPTS)
        with ThreadPoolExecutor(ATTEMPTS) as pool:
            answers = Counter(
                pool.map(lambda _: _try_code(live, number, _wrong(code), barrier), range(ATTEMPTS))
            )
        # Four are told "wrong", the fifth locks the code, the other 35 find it locked.
        assert answers == Counter({"wrong": 4, "locked": ATTEMPTS - 4})
        failures, locked_until = _counter(live, number)
        assert failures == 0
        assert locked_until == NOW_AT_COUNTER + timedelta(minutes=15)
        # Even the right code waits out the lock, and asking does not count.
        assert _try_code(live, number, code, None) == "locked"
        assert _counter(live, number) == (failures, locked_until)


class TestLockedCode:
    def test_attempts_while_locked_do_not_count(self, live: Live) -> None:
        number, code = _ready_parcel(live)
        answers = [_try_code(live, number, _wrong(code), None) for _ in range(5)]
        assert answers == ["wrong"] * 4 + ["locked"]
        for _ in range(3):
            assert _try_code(live, number, _wrong(code), None) == "locked"
        assert _counter(live, number)[0] == 0
        # After the lock the parcel has its full five attempts again: nothing was counted.
        later = NOW_AT_COUNTER + timedelta(minutes=16)
        with session_scope(live.factory) as session:
            shipment = service.get_shipment(session, marketplace_id=None, tracking_number=number)
            left = []
            for _ in range(4):
                with pytest.raises(WrongPickupCode) as refused:
                    service.verify_pickup_code(
                        session, shipment=shipment, code=_wrong(code), now=later, policy=POLICY
                    )
                left.append(refused.value.extra["attempts_left"])
        assert left == [4, 3, 2, 1]


def _shipment_count(live: Live) -> int:
    with live.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Shipment)).scalar_one())


BATCH = 200


def _batch(prefix: str) -> list[dict[str, object]]:
    """``BATCH`` orders of their own, the first of which is the shared order ``SHARED``."""
    orders = ["SHARED"] + [f"{prefix}-{i}" for i in range(1, BATCH)]
    return [shipment_payload(external_order_id=order) for order in orders]


class TestRacingBatches:
    def test_a_shared_order_is_one_items_409_and_the_rest_are_created(self, live: Live) -> None:
        app = create_app(Settings(database_url=live.url), clock=FrozenClock(TEST_NOW))
        barrier = threading.Barrier(2)

        def post(prefix: str) -> tuple[int, dict[str, object]]:
            with TestClient(app) as client:
                barrier.wait()
                response = client.post(
                    "/v1/shipments/batch",
                    json=_batch(prefix),
                    headers={**live.headers, "Idempotency-Key": f"batch-{prefix}"},
                )
                return response.status_code, response.json()

        with ThreadPoolExecutor(2) as pool:
            answers = dict(zip("AB", pool.map(post, "AB"), strict=True))
        assert {status for status, _ in answers.values()} == {200}
        bodies = {name: body for name, (_, body) in answers.items()}
        created = sorted(int(str(b["created"])) for b in bodies.values())
        assert created == [BATCH - 1, BATCH]
        winner, loser = sorted(bodies, key=lambda n: -int(str(bodies[n]["created"])))
        lost = bodies[loser]["results"]
        assert isinstance(lost, list)
        assert lost[0]["status_code"] == 409
        won = bodies[winner]["results"]
        assert isinstance(won, list)
        assert lost[0]["error"]["tracking_number"] == won[0]["shipment"]["tracking_number"]
        assert all(r["status_code"] == 201 for r in lost[1:])
        assert _shipment_count(live) == 2 * BATCH - 1
        # What each key keeps is exactly what was answered.
        with TestClient(app) as client:
            for name, body in bodies.items():
                again = client.post(
                    "/v1/shipments/batch",
                    json=_batch(name),
                    headers={**live.headers, "Idempotency-Key": f"batch-{name}"},
                )
                assert again.status_code == 200
                assert again.json() == body
        app.state.engine.dispose()
        assert _shipment_count(live) == 2 * BATCH - 1

    def test_an_order_committed_between_check_and_insert_fails_alone(
        self, live: Live, backend: str
    ) -> None:
        if backend != "postgresql":
            pytest.skip("SQLite writers never overlap: the check always sees the winner")
        with session_scope(live.factory) as session:
            ozon_id = marketplace_key(session, "OZON", now=TEST_NOW).marketplace.id

        def create(session: Session, orders: list[str]) -> list[service.CreateOutcome]:
            marketplace = session.get(Marketplace, ozon_id)
            assert marketplace is not None
            return service.create_shipments(
                session,
                marketplace=marketplace,
                shipments_in=[
                    ShipmentCreate.model_validate(shipment_payload(external_order_id=o))
                    for o in orders
                ],
                now=TEST_NOW,
            )

        first = live.factory()
        winner = create(first, ["SHARED"])[0].shipment
        assert winner is not None
        with ThreadPoolExecutor(1) as pool:
            # The second request checks before the first commits, then waits on the index.
            later = pool.submit(
                lambda: _in_own_transaction(live, lambda s: create(s, ["SHARED", "B-1", "B-2"]))
            )
            try:
                waited = _waits_on_a_lock(live)
            finally:
                first.commit()  # whatever happened: the second one must not wait for ever
                first.close()
            outcomes = later.result(timeout=60)
        assert waited, "the second request never waited on the first one's order"
        assert outcomes[0].error is not None
        assert outcomes[0].error.status_code == 409
        assert outcomes[0].error.extra["tracking_number"] == winner.tracking_number
        assert [o.shipment is not None for o in outcomes[1:]] == [True, True]
        assert _shipment_count(live) == 3


def _in_own_transaction(
    live: Live, work: Callable[[Session], list[service.CreateOutcome]]
) -> list[service.CreateOutcome]:
    with session_scope(live.factory) as session:
        return work(session)


def _waits_on_a_lock(live: Live) -> bool:
    """Whether some transaction of this database comes to wait on a lock (60 s at most)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 60
    with live.engine.connect() as connection:
        while time.monotonic() < deadline:
            if connection.execute(query).scalar_one():
                return True
            time.sleep(0.02)
    return False
