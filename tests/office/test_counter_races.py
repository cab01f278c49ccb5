"""Forty counters at once, over the real HTTP stack, on a database of their own (both
backends): forty clerk sessions, each from its own address, type a wrong code for one parcel
at the same moment. The parcel's code locks after exactly five; none slips past."""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Shipment
from selpo.network.importer import import_region
from selpo.office import auth
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, shipment_payload
from tests.fixtures.regions import bundled_source
from tests.office.world import PASSWORD, PESTYAKI, sms_code

COUNTERS = 40
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
AT_COUNTER = TEST_NOW + timedelta(hours=4)


def _csrf(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _ready_parcel(url: str) -> tuple[str, str]:
    """A committed parcel waiting at Pestyaki, and its code; Pestyaki's clerk account."""
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
        ozon = marketplace_key(session, "OZON", now=TEST_NOW).marketplace
        auth.add_clerk(
            session, office_index=PESTYAKI, login="pestyaki1", password=PASSWORD, now=TEST_NOW
        )
        outcome = shipment_service.create_shipments(
            session,
            marketplace=ozon,
            shipments_in=[ShipmentCreate.model_validate(shipment_payload())],
            now=TEST_NOW,
        )[0]
        assert outcome.shipment is not None
        number = outcome.shipment.tracking_number
        at = TEST_NOW
        for code in ("handed_over", "departed_hub", "arrived_at_office"):
            at += timedelta(hours=1)
            shipment_service.record_scan(
                session, tracking_number=number, code=code, occurred_at=at, now=at
            )
        shipment = shipment_service.get_shipment(
            session, marketplace_id=None, tracking_number=number
        )
        shipment_service.make_ready_for_pickup(
            session,
            shipment=shipment,
            now=at,
            policy=shipment_service.PickupPolicy(pepper=Settings().pickup_code_pepper),
        )
        code = sms_code(session, number)
    engine.dispose()
    return number, code


def test_forty_counters_at_once_lock_the_code_after_exactly_five(scratch_url: str) -> None:
    number, code = _ready_parcel(scratch_url)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    app = create_app(Settings(database_url=scratch_url), clock=FrozenClock(AT_COUNTER))
    barrier = threading.Barrier(COUNTERS)

    def counter(n: int) -> str:
        with TestClient(app, client=(f"10.20.0.{n + 1}", 40000)) as desk:
            form = desk.get("/office/login")
            signed = desk.post(
                "/office/login",
                data={"login": "pestyaki1", "password": PASSWORD, "csrf": _csrf(form.text)},
            )
            assert signed.status_code == 200, signed.text  # followed to the office page
            found = desk.post(
                f"/office/{PESTYAKI}/issue/tracking",
                data={"tracking": number, "phone_last4": "4567", "csrf": _csrf(signed.text)},
            )
            assert found.url.path.endswith(number), found.url
            barrier.wait()
            answer = desk.post(
                f"/office/{PESTYAKI}/issue/{number}/verify",
                data={"code": wrong, "csrf": _csrf(found.text)},
            )
        if "Осталось попыток" in answer.text:
            return "wrong"
        if "Код заблокирован до" in answer.text:
            return "locked"
        return "other"

    with ThreadPoolExecutor(COUNTERS) as pool:
        answers = Counter(pool.map(counter, range(COUNTERS)))
    app.state.engine.dispose()
    assert answers == Counter({"wrong": 4, "locked": COUNTERS - 4})
    engine = create_db_engine(scratch_url)
    with engine.connect() as connection:
        failures, locked_until = connection.execute(
            select(Shipment.pickup_code_failures, Shipment.pickup_code_locked_until).where(
                Shipment.tracking_number == number
            )
        ).one()
    engine.dispose()
    assert failures == 0
    assert locked_until is not None
