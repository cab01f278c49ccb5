"""Counters at once on a database of their own (both backends): many clerks type a wrong return
code at one office at the same moment, and many workstations accept the same return at once.
The office's search locks after exactly its limit of wrong codes; a return is taken, and its
cash paid back, once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.errors import DomainError
from selpo.kit.clock import FrozenClock
from selpo.kit.lockout import Lockout
from selpo.marketplace import service as marketplace_service
from selpo.migrate import upgrade_to_head
from selpo.models import CustomerReturn, PostOffice, ReturnCodeGuard, ReturnLegItem
from selpo.network.importer import import_region
from selpo.returns import service as returns
from selpo.returns.schemas import ReturnCreate, ReturnItemIn
from selpo.shipment import service as shipment_service
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.world import cheap_password_hashing, make_world

COUNTERS = 12
PEPPER = "race-pepper"
POLICY = returns.CodePolicy(pepper=PEPPER, lockout=Lockout(5, timedelta(minutes=15)))
AT = TEST_NOW + timedelta(days=1)


def test_counters_at_once_count_wrong_codes_and_take_a_return_once(scratch_url: str) -> None:
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    factory = make_session_factory(engine)
    clock = FrozenClock(TEST_NOW)
    with cheap_password_hashing(), session_scope(factory) as session:
        import_region(session, bundled_source(), clock=clock)
        world = make_world(session, clock)
        marketplace_service.set_returns(world.ozon, refund_cash=True)
        parcel, _ = world.shelved(two_items=True, cod=True)
        shipment_service.issue_to_recipient(
            session, shipment=parcel, now=clock.now(), cod_method="cash"
        )
        made = returns.register_return(
            session,
            marketplace=world.ozon,
            return_in=ReturnCreate(
                tracking_number=parcel.tracking_number,
                external_return_id="RACE-1",
                reason="гонка",
                items=[ReturnItemIn(position=1, quantity=2)],
            ),
            now=clock.now(),
            pepper=PEPPER,
        )
        office_ids = (world.pestyaki.id, world.alekhino.id)
    wrong = "0000000000" if made.return_code != "0000000000" else "1111111111"
    start = threading.Barrier(COUNTERS)

    def type_wrong(_: int) -> str:
        start.wait()
        with session_scope(factory) as session:
            office = session.get(PostOffice, office_ids[0])
            assert office is not None
            found = returns.find_by_code(
                session, office=office, code=wrong, seat="s", policy=POLICY, now=AT
            )
            return found.message

    with ThreadPoolExecutor(COUNTERS) as pool:
        messages = list(pool.map(type_wrong, range(COUNTERS)))
    counted = [m for m in messages if "Осталось попыток" in m]
    assert len(counted) == POLICY.lockout.max_failures - 1  # the fifth locks the search
    assert all("закрыт" in m for m in messages if m not in counted)
    with session_scope(factory) as session:
        guard = session.get(ReturnCodeGuard, office_ids[0])
        assert guard is not None
        assert guard.locked_until is not None
        assert guard.failures == 0  # the count starts again once it locks

    # Alekhino's workstations all found the return; they accept it at once.
    seats = [f"seat-{n}" for n in range(COUNTERS)]
    tickets = [
        returns.counter_ticket(return_id=made.id, office_id=office_ids[1], seat=s, pepper=PEPPER)
        for s in seats
    ]
    again = threading.Barrier(COUNTERS)

    def accept(n: int) -> bool:
        again.wait()
        try:
            with session_scope(factory) as session:
                office = session.get(PostOffice, office_ids[1])
                assert office is not None
                returns.accept_at_counter(
                    session,
                    office=office,
                    return_id=made.id,
                    ticket=tickets[n],
                    seat=seats[n],
                    pepper=PEPPER,
                    accepted={1: 2},
                    weight_g=None,
                    actor=f"clerk:{n}",
                    now=AT,
                )
            return True
        except DomainError:
            return False

    with ThreadPoolExecutor(COUNTERS) as pool:
        outcomes = list(pool.map(accept, range(COUNTERS)))
    assert outcomes.count(True) == 1
    with session_scope(factory) as session:
        taken = session.get(CustomerReturn, made.id)
        assert taken is not None
        assert taken.status == "accepted"
        assert taken.refund_kop == 50000  # two plates of the 600 ₽ collected, paid once
        legs = session.scalar(
            select(func.count(ReturnLegItem.id)).where(ReturnLegItem.kind == "customer_return")
        )
        assert legs == 1
    engine.dispose()
