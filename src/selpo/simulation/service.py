"""The simulation through the real services: a scratch database, the engine's operations.

One transaction per step (``session_scope``); the services flush, this module commits.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selpo.config import BUNDLED_REGION_DIR
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.logistics import service as logistics_service
from selpo.marketplace import service as marketplace_service
from selpo.migrate import upgrade_to_head
from selpo.models import (
    District,
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    Settlement,
    Shipment,
)
from selpo.network.importer import import_region
from selpo.network.rules import is_open_at
from selpo.shipment import service as shipment_service
from selpo.shipment.lifecycle import Status
from selpo.shipment.schemas import ShipmentCreate
from selpo.shipment.service import PickupPolicy
from selpo.simulation import engine
from selpo.simulation.demand import (
    REACH_KM,
    Assignment,
    Order,
    Place,
    Site,
    daily_orders,
)
from selpo.simulation.engine import EngineTotals, Pickup, StepOutcome

PEPPER = "selpo-simulation-pepper"
OVERFLOW_CELL = "OVERFLOW"
PARCEL_DIMENSIONS_MM = (300, 200, 150)
PARCEL_WEIGHT_G = 1500
TIMETABLE_SEED = 0


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate."""

    days: int = 30
    seed: int = 1
    scale: float = 1.0
    start: date = date(2026, 11, 2)  # a Monday
    url: str | None = None  # a scratch SQLite file when None
    connect: list[str] | None = field(default=None)  # office indexes to connect to every market
    connect_all: bool = False
    connect_marketplace: str | None = None  # connect to this marketplace only (None: to all)
    reach_km: float = REACH_KM


@dataclass
class _OfficeInfo:
    id: int
    index: str
    district: str
    hours: Any
    timezone: str
    cells: int


@dataclass
class OfficeUse:
    """Storage use of one office over the run."""

    index: str
    district: str
    cells: int
    peak: int = 0
    overflow: int = 0  # parcels shelved with no free cell


class ServiceOperations:
    """The engine's operations, done by the real services on the given database."""

    def __init__(self, factory: sessionmaker[Session], offices: Sequence[_OfficeInfo]) -> None:
        self._factory = factory
        self._offices = {o.id: o for o in offices}
        self._by_index = {o.index: o for o in offices}
        self._codes: dict[str, str] = {}
        self._policy = PickupPolicy(pepper=PEPPER)
        self.use: dict[str, OfficeUse] = {
            o.index: OfficeUse(o.index, o.district, o.cells) for o in offices
        }

    def step(
        self,
        now: datetime,
        orders: Sequence[Order],
        pickups: Sequence[Pickup],
        returns_done: Sequence[str],
    ) -> StepOutcome:
        outcome = StepOutcome()
        with session_scope(self._factory) as session:
            if orders:
                self._create(session, now, orders, outcome)
            logistics_service.advance_parcels(session, now)
            shipment_service.send_storage_reminders(session, now)
            if shipment_service.expire_storage(session, now):
                self._send_back(session, now, Status.STORAGE_EXPIRED, outcome)
            self._shelve(session, now, outcome)
            for pickup in pickups:
                self._collect(session, now, pickup, outcome)
            for tracking in returns_done:
                shipment = self._get(session, tracking)
                shipment_service.complete_return(session, shipment=shipment, now=now)
        return outcome

    # ------------------------------------------------------------------ the parts of a step

    @staticmethod
    def _get(session: Session, tracking: str) -> Shipment:
        return shipment_service.get_shipment(session, marketplace_id=None, tracking_number=tracking)

    def _create(
        self, session: Session, now: datetime, orders: Sequence[Order], outcome: StepOutcome
    ) -> None:
        promise = logistics_service.promised_dates(session, now=now)
        markets = {m.code: m for m in session.scalars(select(Marketplace))}
        for code in sorted({o.marketplace for o in orders}):
            batch = [o for o in orders if o.marketplace == code]
            results = shipment_service.create_shipments(
                session,
                marketplace=markets[code],
                shipments_in=[_payload(o) for o in batch],
                now=now,
                actor="simulation",
                promise=promise,
            )
            for result in results:
                order = batch[result.position]
                if result.shipment is None:
                    outcome.refused_orders.append(order.order_id)
                    continue
                tracking = result.shipment.tracking_number
                shipment_service.record_scan(
                    session, tracking_number=tracking, code="handed_over", occurred_at=now, now=now
                )
                outcome.created.append((order.order_id, tracking))

    def _send_back(
        self, session: Session, now: datetime, status: Status, outcome: StepOutcome
    ) -> None:
        query = select(Shipment).where(Shipment.status == status).order_by(Shipment.id)
        for shipment in session.scalars(query):
            shipment_service.start_return(session, shipment=shipment, now=now)
            outcome.sent_back.append(shipment.tracking_number)

    def _shelve(self, session: Session, now: datetime, outcome: StepOutcome) -> None:
        arrived = list(
            session.scalars(
                select(Shipment)
                .where(Shipment.status == Status.ARRIVED_AT_OFFICE)
                .order_by(Shipment.id)
            )
        )
        if not arrived:
            return
        used: dict[int, set[str]] = {}
        rows = session.execute(
            select(Shipment.destination_office_id, Shipment.cell_code).where(
                Shipment.status == Status.READY_FOR_PICKUP
            )
        )
        for office_id, cell in rows:
            used.setdefault(office_id, set()).add(cell or "")
        for shipment in arrived:
            office = self._offices[shipment.destination_office_id]
            if not is_open_at(office.hours, office.timezone, now):
                continue
            taken = used.setdefault(office.id, set())
            cell = next(
                (f"C{n:03d}" for n in range(1, office.cells + 1) if f"C{n:03d}" not in taken),
                OVERFLOW_CELL,
            )
            use = self.use[office.index]
            if cell == OVERFLOW_CELL:
                use.overflow += 1
            else:
                taken.add(cell)
            code = shipment_service.make_ready_for_pickup(
                session, shipment=shipment, now=now, policy=self._policy, cell_code=cell
            )
            self._codes[shipment.tracking_number] = code
            outcome.shelved.append(shipment.tracking_number)
        for office_id, cells in used.items():
            use = self.use[self._offices[office_id].index]
            use.peak = max(use.peak, len(cells - {OVERFLOW_CELL, ""}))

    def _collect(self, session: Session, now: datetime, pickup: Pickup, out: StepOutcome) -> None:
        shipment = self._get(session, pickup.tracking_number)
        if shipment.status != Status.READY_FOR_PICKUP:
            return  # storage expired before the recipient came
        office = self._offices[shipment.destination_office_id]
        if not is_open_at(office.hours, office.timezone, now):
            out.not_served.append(pickup)
            return
        shipment_service.verify_pickup_code(
            session,
            shipment=shipment,
            code=self._codes.pop(pickup.tracking_number),
            now=now,
            policy=self._policy,
        )
        order = pickup.order
        if order.refuse_all:
            shipment_service.refuse(session, shipment=shipment, now=now, clerk="simulation")
            shipment_service.start_return(session, shipment=shipment, now=now)
            out.sent_back.append(shipment.tracking_number)
            return
        refused = {len(order.items) - 1: 1} if order.refuse_part and len(order.items) > 1 else None
        shipment_service.issue_to_recipient(
            session,
            shipment=shipment,
            now=now,
            refused_items=refused,
            cod_method="cash",
            clerk="simulation",
        )


def _payload(order: Order) -> ShipmentCreate:
    value = sum(order.items)
    length, width, height = PARCEL_DIMENSIONS_MM
    return ShipmentCreate.model_validate(
        {
            "external_order_id": order.order_id,
            "destination_index": order.office_index,
            "recipient": {"name": "Получатель Симуляции", "phone": "+79000000000"},
            "parcel": {
                "weight_g": PARCEL_WEIGHT_G,
                "length_mm": length,
                "width_mm": width,
                "height_mm": height,
                "declared_value_kop": value,
                "cod_kop": value if order.cod else 0,
            },
            "items": [
                {"sku": f"SKU-{n}", "name": "Товар", "quantity": 1, "price_kop": price}
                for n, price in enumerate(order.items, start=1)
            ],
            "options": {"fitting": False, "contents_check": False, "partial_redemption": True},
        }
    )


# ---------------------------------------------------------------------------- set-up and run


def _load_places(session: Session) -> list[Place]:
    rows = session.execute(
        select(Settlement, District.name)
        .join(District, Settlement.district_id == District.id)
        .order_by(Settlement.id)
    )
    return [
        Place(
            district=district,
            population=s.population,
            lat=s.lat,
            lon=s.lon,
            urban=s.kind != "rural_locality",
        )
        for s, district in rows
        if s.population and s.lat is not None and s.lon is not None
    ]


def _load_offices(session: Session) -> tuple[list[_OfficeInfo], list[Site]]:
    served: dict[int, set[str]] = {}
    rows = session.execute(
        select(MarketplaceConnection.post_office_id, Marketplace.code)
        .join(Marketplace, MarketplaceConnection.marketplace_id == Marketplace.id)
        .where(MarketplaceConnection.status == "active")
    )
    for office_id, code in rows:
        served.setdefault(office_id, set()).add(code)
    infos: list[_OfficeInfo] = []
    sites: list[Site] = []
    query = (
        select(PostOffice, District.name)
        .join(District, PostOffice.district_id == District.id)
        .where(PostOffice.status == "open")
        .order_by(PostOffice.index)
    )
    for office, district in session.execute(query):
        cells = office.cells_s + office.cells_m + office.cells_l
        infos.append(
            _OfficeInfo(
                office.id, office.index, district, office.opening_hours, office.timezone, cells
            )
        )
        sites.append(
            Site(
                office.index,
                district,
                office.lat,
                office.lon,
                frozenset(served.get(office.id, set())),
            )
        )
    return infos, sites


@dataclass
class SimulationResult:
    """Everything the report needs."""

    config: SimulationConfig
    totals: EngineTotals
    use: dict[str, OfficeUse]
    factory: sessionmaker[Session]
    end: datetime

    def dispose(self) -> None:
        """Close the scratch database's connections."""
        bind = self.factory.kw.get("bind")
        if bind is not None:
            bind.dispose()


def prepare(config: SimulationConfig, folder: Path | None = None) -> sessionmaker[Session]:
    """A migrated database with the bundled region, the synthetic timetable and the plan."""
    if config.url is None:
        folder = folder or Path(tempfile.mkdtemp(prefix="selpo-sim-"))
        url = f"sqlite:///{folder / 'simulation.db'}"
    else:
        url = config.url
    db = create_db_engine(url)
    upgrade_to_head(db)
    factory = make_session_factory(db)
    setup_time = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
    clock = FrozenClock(setup_time)
    with session_scope(factory) as session:
        import_region(session, directory=BUNDLED_REGION_DIR, clock=clock)
    with session_scope(factory) as session:
        logistics_service.generate_timetable(session, now=setup_time, seed=TIMETABLE_SEED)
    if config.connect or config.connect_all:
        with session_scope(factory) as session:
            markets = select(Marketplace).order_by(Marketplace.code)
            if config.connect_marketplace is not None:
                markets = markets.where(Marketplace.code == config.connect_marketplace)
            for market in session.scalars(markets):
                marketplace_service.connect_offices(
                    session,
                    marketplace=market,
                    indexes=None if config.connect_all else list(config.connect or []),
                    today=config.start,
                    now=setup_time,
                )
    return factory


def simulate(
    config: SimulationConfig,
    *,
    folder: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run the simulation; same config (seed) -> same figures."""
    factory = prepare(config, folder)
    with session_scope(factory) as session:
        places = _load_places(session)
        offices, sites = _load_offices(session)
    assignment = Assignment(places, sites, config.reach_km)
    operations = ServiceOperations(factory, offices)
    start = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
    clock = FrozenClock(start)
    totals = engine.run(
        days=config.days,
        start=config.start,
        clock=clock,
        rng=random.Random(config.seed),
        demand=partial(_demand, places, assignment, config.scale),
        operations=operations,
        progress=progress,
    )
    return SimulationResult(config, totals, operations.use, factory, clock.now())


def _demand(
    places: Sequence[Place], assignment: Assignment, scale: float, day: date, rng: random.Random
) -> list[Order]:
    return daily_orders(places, assignment, day, rng, scale=scale)
