"""Collection acts made at once, on a database of their own: the numbers have no gaps and no
twins, and no bag is collected twice (SQLite queues the writers; PostgreSQL locks the rows)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from selpo.collection import service
from selpo.collection.errors import NothingToCollect
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.logistics import way_back
from selpo.migrate import upgrade_to_head
from selpo.models import Clerk, CollectionAct, CollectionBag, PostOffice, ReturnLegItem
from selpo.office import auth
from tests.collection.conftest import DEPOT
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source, import_source
from tests.office.world import cheap_password_hashing

ACTS = 6
BAGS_PER_ACT = 3


def _seed(url: str) -> tuple[int, list[list[str]]]:
    """The region, a partner, and its bags at the depot hub, grouped as the acts take them."""
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    now = TEST_NOW
    with session_scope(factory) as session, cheap_password_hashing():
        import_source(session, bundled_source(), FrozenClock(now))
        auth.add_clerk(session, office_index="155650", login="bags1", password="x" * 12, now=now)
        clerk = session.scalars(select(Clerk).where(Clerk.login == "bags1")).one()
        office = session.scalars(select(PostOffice).where(PostOffice.index == "155650")).one()
        partner = service.add_partner(
            session,
            code="ECOTEX",
            name="ЭкоТекс",
            takes=["textile"],
            offices="region",
            depot=DEPOT,
            now=now,
        )
        codes = []
        for n in range(ACTS * BAGS_PER_ACT):
            bag = service.take_bag(
                session,
                office=office,
                clerk=clerk,
                partner_code="ECOTEX",
                material="textile",
                weight=str(1000 + n),
                now=now,
            )
            codes.append(bag.code)
        for item in session.scalars(select(ReturnLegItem)):
            for step in ("loaded", "at_hub"):
                item.status = step
                item.hub_code = DEPOT
                way_back.moved(session, item, "loaded" if step == "loaded" else "at_hub", now)
        partner_id = partner.id
    engine.dispose()
    groups = [codes[i : i + BAGS_PER_ACT] for i in range(0, len(codes), BAGS_PER_ACT)]
    return partner_id, groups


def test_acts_at_once_are_numbered_without_gaps_and_collect_each_bag_once(
    scratch_url: str,
) -> None:
    partner_id, groups = _seed(scratch_url)
    engine = create_db_engine(scratch_url)
    factory = make_session_factory(engine)
    now = TEST_NOW + timedelta(days=2)

    def act(codes: list[str] | None) -> str | None:
        try:
            with session_scope(factory) as session:
                # Not created: these very bags are on an act already (a wider one took
                # exactly them), which is the answer a retry gets.
                made, _created = service.make_act(
                    session, partner_id=partner_id, codes=codes, now=now
                )
                return made.number
        except NothingToCollect:
            return None

    with ThreadPoolExecutor(max_workers=ACTS + 2) as pool:
        # Each act its own bags, and two "everything waiting" racing them: whatever they
        # find is what no other act took.
        numbers = list(pool.map(act, [*groups, None, None]))

    made = sorted({n for n in numbers if n is not None})
    assert made == [f"CA-2026-{k:06d}" for k in range(1, len(made) + 1)]
    assert made  # an act that found its bags taken by a wider one is a 409, nothing more
    with session_scope(factory) as session:
        bags = session.scalars(select(CollectionBag)).all()
        assert {b.status for b in bags} == {"delivered"}
        assert all(b.act_id is not None for b in bags)
        delivered = session.scalar(
            select(func.count())
            .select_from(ReturnLegItem)
            .where(ReturnLegItem.status == "delivered")
        )
        assert delivered == ACTS * BAGS_PER_ACT
        on_acts = session.scalar(select(func.sum(CollectionAct.bags)))
        assert on_acts == ACTS * BAGS_PER_ACT  # every bag on exactly one act
    engine.dispose()
