"""Benchmark of the counter's «Поиск» (``selpo.office.service.search_parcels``).

Run from the repository root::

    .venv/bin/python bench/counter_search.py [--parcels 500 3000] [--queries 200]

A fresh SQLite database in a temporary folder (migrated, the bundled Ivanovo region imported),
one marketplace, and N parcels on their way to Pestyaki (155650) with recipients drawn from a
list of surnames (seeded), made through ``shipment.service.create_shipments`` and moved to
``in_transit`` in one statement (the bench measures the search, not the road). Each kind of
query (tracking number, order number, the phone's last four digits, a surname) is timed over
``--queries`` queries; the baseline, in the same run, is reading the names the surname
search compares (the ``SELECT`` of two columns alone), so the figures compare as ratios on a shared
machine.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import PostOffice, Shipment
from selpo.network.importer import import_region
from selpo.office import repository
from selpo.office import service as office
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import TEST_NOW  # noqa: E402
from tests.fixtures.builders import marketplace_key, shipment_payload  # noqa: E402
from tests.fixtures.regions import bundled_source  # noqa: E402

OFFICE = "155650"
SURNAMES = (
    "Иванова Смирнова Кузнецова Попова Васильева Петрова Соколова Михайлова Новикова Фёдорова "
    "Морозова Волкова Алексеева Лебедева Семёнова Егорова Павлова Козлова Степанова Николаева"
).split()


def _seed(session: Session, parcels: int, rng: random.Random) -> list[Shipment]:
    import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
    ozon = marketplace_key(session, "OZON", now=TEST_NOW, connect=(OFFICE,)).marketplace
    payloads = []
    for n in range(parcels):
        payload = shipment_payload(external_order_id=f"BENCH-{n}")
        payload["destination_index"] = OFFICE
        payload["recipient"] = {
            "name": f"{rng.choice(SURNAMES)} Анна Петровна",
            "phone": f"+7916{rng.randrange(10**7):07d}",
        }
        payloads.append(ShipmentCreate.model_validate(payload))
    for start in range(0, parcels, 500):
        shipment_service.create_shipments(
            session, marketplace=ozon, shipments_in=payloads[start : start + 500], now=TEST_NOW
        )
    session.execute(update(Shipment).values(status="in_transit"))
    return list(session.scalars(select(Shipment)))


def _timed(run: Callable[[str], object], queries: list[str]) -> float:
    """Median milliseconds per query."""
    spent = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        spent.append((time.perf_counter() - started) * 1000)
    return median(spent)


def measure(parcels: int, queries: int) -> list[tuple[str, float]]:
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as folder:
        engine = create_db_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade_to_head(engine)
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            made = _seed(session, parcels, rng)
            numbers = [s.tracking_number for s in made]
            orders = [s.external_order_id for s in made]
            phones = [s.phone_last4 for s in made]
        with session_scope(factory) as session:
            pestyaki = session.scalars(select(PostOffice).where(PostOffice.index == OFFICE)).one()

            def search(query: str) -> object:
                return office.search_parcels(session, office=pestyaki, query=query)

            def baseline(_: str) -> object:
                return repository.office_active_names(session, pestyaki.id, limit=20_000)

            pick = [rng.randrange(len(made)) for _ in range(queries)]
            rows = [
                ("read the active parcels' names (baseline)", _timed(baseline, ["-"] * queries)),
                ("tracking number", _timed(search, [numbers[i] for i in pick])),
                ("order number", _timed(search, [orders[i] for i in pick])),
                ("phone's last 4", _timed(search, [phones[i] for i in pick])),
                ("surname", _timed(search, [rng.choice(SURNAMES).lower() for _ in pick])),
            ]
        engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parcels", type=int, nargs="+", default=[500, 3000])
    parser.add_argument("--queries", type=int, default=200)
    options = parser.parse_args()
    print("| parcels at the office | query | median ms | × baseline |")
    print("|---:|---|---:|---:|")
    for parcels in options.parcels:
        rows = measure(parcels, options.queries)
        base = rows[0][1]
        for name, ms in rows:
            print(f"| {parcels:,} | {name} | {ms:.2f} | {ms / base:.2f} |")


if __name__ == "__main__":
    main()
