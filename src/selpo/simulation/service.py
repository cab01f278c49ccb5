"""The simulation through the real services: a scratch database, the engine's operations.

One region at a time: its localities order (every one with people and a coordinate), its
offices serve. One transaction per step (``session_scope``); the services flush, this module
commits.
"""

from __future__ import annotations

import random
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selpo.collection import service as collection_service
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.kit.display import local_day
from selpo.kit.lockout import Lockout
from selpo.logistics import movement, promises, return_legs, timetables, way_back
from selpo.marketplace import service as marketplace_service
from selpo.migrate import upgrade_to_head
from selpo.models import (
    Clerk,
    CollectionPartner,
    District,
    Hub,
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    ReturnLeg,
    ReturnLegItem,
    Settlement,
    Shipment,
)
from selpo.network import regions
from selpo.network.importer import import_region
from selpo.network.rules import OfficeCapacity, is_open_at
from selpo.office import auth
from selpo.planning.service import resolve_region
from selpo.returns import repository as returns_repository
from selpo.returns import service as returns_service
from selpo.returns.schemas import ReturnCreate, ReturnItemIn
from selpo.shipment import repository as shipment_repository
from selpo.shipment import service as shipment_service
from selpo.shipment.lifecycle import Status
from selpo.shipment.schemas import ShipmentCreate
from selpo.shipment.service import PickupPolicy
from selpo.simulation import engine
from selpo.simulation.demand import (
    CUSTOMER_RETURN_DELAY_H,
    PARTNER_BAG_WEIGHT_G,
    REACH_KM,
    Assignment,
    Order,
    Place,
    Site,
    customer_returns,
    daily_orders,
    partner_bags,
    unstaffed,
)
from selpo.simulation.engine import EngineTotals, Pickup, StepOutcome

PEPPER = "selpo-simulation-pepper"
# Where a parcel holds its cell (as the counter's cell map counts it).
IN_CELL = (
    Status.READY_FOR_PICKUP,
    Status.STORAGE_EXPIRED,
    Status.REFUSED,
    Status.PARTIALLY_DELIVERED,
    Status.RETURNING,
)
OVERFLOW_CELL = "OVERFLOW"
PARCEL_DIMENSIONS_MM = (300, 200, 150)
PARCEL_WEIGHT_G = 1500
TIMETABLE_SEED = 0
LINE_HAUL_HOUR_UTC = 5  # the daily line-haul from each district hub to the warehouses
SIMULATED_PARTNER = "SIM_PARTNER"  # the collection partner ``prepare`` adds
PARTNER_MATERIAL = "knitwear"  # what its bags hold (``demand.PARTNER_BAG_WEIGHT_G`` each)
RETURN_REASON = "Не подошёл"
RETURN_LOCKOUT = Lockout(max_failures=5, period=timedelta(minutes=15))


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate."""

    days: int = 30
    region: str | None = None  # the region's code; None: the database's only region
    seed: int = 1
    scale: float = 1.0
    start: date = date(2026, 11, 2)  # a Monday
    url: str | None = None  # a scratch SQLite file when None
    connect: list[str] | None = field(default=None)  # office indexes to connect to every market
    connect_all: bool = False
    connect_marketplace: str | None = None  # connect to this marketplace only (None: to all)
    reach_km: float = REACH_KM
    absences: bool = True  # unstaffed office-days (demand.UNSTAFFED_SHARE_*); False: none


@dataclass
class _OfficeInfo:
    id: int
    index: str
    district: str
    hours: Any
    timezone: str
    cells: int
    rural: bool = False


@dataclass
class OfficeUse:
    """Storage use of one office over the run."""

    index: str
    district: str
    cells: int
    peak: int = 0
    overflow: int = 0  # parcels shelved with no free cell


class ServiceOperations:
    """The engine's operations, done by the real services on the given database.

    Every part of a step goes through the services' bulk forms (``record_scans``,
    ``advance_parcels``, ``make_ready_for_pickup_many``, ``issue_to_recipients``,
    ``refuse_many``, ``start_returns``, ``complete_returns``): one batch per step, not one
    call per parcel.

    ``seed`` draws the unstaffed office-days (``demand.unstaffed``); ``absences=False``
    leaves every office staffed. ``every_step_dispatch=True`` runs the full timetable pass
    in every step instead of only when it can depart something (see ``_dispatch``).
    ``partner``: the code of the collection partner whose bags residents bring (None: no
    bags).
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        offices: Sequence[_OfficeInfo],
        *,
        seed: int = 0,
        absences: bool = True,
        every_step_dispatch: bool = False,
        partner: str | None = None,
    ) -> None:
        self._factory = factory
        self._offices = {o.id: o for o in offices}
        self._by_index = {o.index: o for o in offices}
        self._codes: dict[str, str] = {}
        self._policy = PickupPolicy(pepper=PEPPER)
        self._seed = seed
        self._absences = absences
        self._unstaffed: dict[tuple[int, date], bool] = {}
        self._full_dispatch = every_step_dispatch
        self._next_departure: datetime | None = None
        self._arrivals: deque[datetime] = deque()  # vans on their way: when each parcel arrives
        self.use: dict[str, OfficeUse] = {
            o.index: OfficeUse(o.index, o.district, o.cells) for o in offices
        }
        self._returning: deque[tuple[datetime, int]] = deque()  # buyers' returns: when, id
        self._at_counter: list[tuple[int, str]] = []  # registered returns: office id, code
        self._return_policy = returns_service.CodePolicy(pepper=PEPPER, lockout=RETURN_LOCKOUT)
        self._bag_days: set[tuple[int, date]] = set()
        self._partner = partner
        self._clerks: dict[str, str] = {}  # district name -> its simulated supervisor's login
        self._next_last_call: datetime | None = None  # of any route run, after the last pass

    def step(
        self, now: datetime, orders: Sequence[Order], pickups: Sequence[Pickup]
    ) -> StepOutcome:
        outcome = StepOutcome()
        with session_scope(self._factory) as session:
            if orders:
                self._create(session, now, orders, outcome)
            self._dispatch(session, now, handed_over=bool(orders))
            shipment_service.send_storage_reminders(session, now)
            if shipment_service.expire_storage(session, now):
                self._send_back(session, now, Status.STORAGE_EXPIRED, outcome)
            self._shelve(session, now, outcome)
            if pickups:
                self._collect(session, now, pickups, outcome)
            self._customer_returns(session, now)
            self._partner_bags(session, now)
            self._way_back(session, now)
        return outcome

    # ------------------------------------------------------------------ the way back

    def _way_back(self, session: Session, now: datetime) -> None:
        """The worker loads the return legs whose vans made their last call (only when a van
        has made one since the last pass: nothing else can fix a leg); the hub accepts every
        leg whose van is back (all it carries: no losses are simulated); once a day the
        line-haul takes what is at each hub to the warehouses, with an act."""
        due = self._next_last_call
        if due is None or now >= due:
            return_legs.advance_return_legs(session, now)
            self._next_last_call = return_legs.next_last_call(session, now)
        back = session.scalars(
            select(ReturnLeg)
            .where(ReturnLeg.accepted_at.is_(None), ReturnLeg.back_at <= now)
            .order_by(ReturnLeg.back_at, ReturnLeg.id)
        )
        for leg in list(back):
            barcodes = list(
                session.scalars(
                    select(ReturnLegItem.barcode).where(
                        ReturnLegItem.route_code == leg.route_code,
                        ReturnLegItem.departure == leg.departure,
                    )
                )
            )
            if not barcodes:
                leg.accepted_at, leg.missing = now, 0
                continue
            return_legs.accept_at_hub(
                session,
                route_id=leg.route_code,
                departure=leg.departure,
                barcodes=barcodes,
                now=now,
            )
        if now.hour != LINE_HAUL_HOUR_UTC:
            return
        hubs = session.scalars(
            select(ReturnLegItem.hub_code)
            .where(ReturnLegItem.status == way_back.AT_HUB, ReturnLegItem.hub_code.is_not(None))
            .distinct()
        )
        for hub in sorted(h for h in hubs if h):
            return_legs.deliver_to_warehouses(session, hub=hub, now=now)

    def _customer_returns(self, session: Session, now: datetime) -> None:
        """Buyers bring back what is due (``demand.customer_returns``), through the returns
        service: when the return is due the marketplace registers it (``register_return``:
        every unit taken, its code for the buyer); at the first moment the office's counter
        serves, its clerk finds it by that code and accepts every unit (``find_by_code``,
        ``accept_at_counter``, as the counter page does), which puts it on the way back."""
        while self._returning and self._returning[0][0] <= now:
            shipment_id = self._returning.popleft()[1]
            shipment = session.get(Shipment, shipment_id)
            marketplace = session.get(Marketplace, shipment.marketplace_id) if shipment else None
            assert shipment is not None
            assert marketplace is not None
            lines = shipment_repository.items_of(session, shipment.id)
            registered = returns_service.register_return(
                session,
                marketplace=marketplace,
                return_in=ReturnCreate(
                    tracking_number=shipment.tracking_number,
                    external_return_id=f"SIM-RET-{shipment.tracking_number}",
                    reason=RETURN_REASON,
                    items=[
                        ReturnItemIn(position=i.position, quantity=i.quantity - i.refused_quantity)
                        for i in lines
                        if i.quantity > i.refused_quantity
                    ],
                ),
                now=now,
                pepper=PEPPER,
            )
            self._at_counter.append((shipment.destination_office_id, registered.return_code))
        waiting: list[tuple[int, str]] = []
        for office_id, code in self._at_counter:
            office = self._offices[office_id]
            if not self._open(office, now):
                waiting.append((office_id, code))
                continue
            row = session.get(PostOffice, office_id)
            assert row is not None
            seat = f"simulation:{office.index}"
            found = returns_service.find_by_code(
                session, office=row, code=code, seat=seat, policy=self._return_policy, now=now
            )
            assert found.return_id is not None, found.message
            items = returns_repository.items_of(session, found.return_id)
            returns_service.accept_at_counter(
                session,
                office=row,
                return_id=found.return_id,
                ticket=found.ticket,
                seat=seat,
                pepper=PEPPER,
                accepted={i.position: i.quantity for i in items},
                weight_g=None,
                actor="simulation",
                now=now,
            )
        self._at_counter = waiting

    def _partner_bags(self, session: Session, now: datetime) -> None:
        """Residents bring the simulated collection partner's bags (``SIMULATED_PARTNER``,
        made in ``prepare``) to the offices open now, once per office and local day
        (``demand.partner_bags``): the clerk takes each with ``collection.take_bag``, as the
        counter page does, which puts it on the way back to the partner's depot hub. Without
        that partner (a simulated history in the service's own database) no bags come."""
        if self._partner is None:
            return
        for office in self._offices.values():
            day = local_day(now, office.timezone)
            if (office.id, day) in self._bag_days or not self._open(office, now):
                continue
            self._bag_days.add((office.id, day))
            bags = partner_bags(self._seed, office.index, day, rural=office.rural)
            if not bags:
                continue
            row = session.get(PostOffice, office.id)
            assert row is not None
            clerk = self._bag_clerk(session, office, now)
            for _ in range(bags):
                collection_service.take_bag(
                    session,
                    office=row,
                    clerk=clerk,
                    partner_code=self._partner,
                    material=PARTNER_MATERIAL,
                    weight=str(PARTNER_BAG_WEIGHT_G),
                    now=now,
                )

    def _bag_clerk(self, session: Session, office: _OfficeInfo, now: datetime) -> Clerk:
        """Who takes the bags at ``office``: the simulated supervisor of its district, made
        on its first bag (one account per district, not per office: each account's password
        is an argon2 hash, some 0.15 s)."""
        login = self._clerks.get(office.district)
        if login is None:
            login = f"simulation-{len(self._clerks) + 1}"
            self._clerks[office.district] = login
        clerk = session.scalar(select(Clerk).where(Clerk.login == login))
        if clerk is None:
            clerk = auth.add_supervisor(
                session,
                district_name=office.district,
                login=login,
                password=auth.generate_password(),
                now=now,
                full_name="Симуляция",
            )
        return clerk

    def _dispatch(self, session: Session, now: datetime, *, handed_over: bool) -> None:
        """The worker's timetable job (``advance_parcels``), every step.

        A full pass can depart something only when a van has left since the last one or
        parcels were handed over; in the other steps vans can only reach offices, which
        ``record_arrivals`` does, and only when one is due. The simulation is its
        database's only writer, so this gives what a full pass every step gives, without
        reading every waiting parcel every hour (``every_step_dispatch=True`` does the
        full passes).
        """
        due = self._next_departure
        if self._full_dispatch or handed_over or due is None or now >= due:
            movement.advance_parcels(session, now)
            self._next_departure = movement.next_departure(session, now)
            self._arrivals = deque(movement.pending_arrivals(session))
        elif self._arrivals and self._arrivals[0] <= now:
            movement.record_arrivals(session, now)
            for _ in range(movement.ARRIVALS_PER_PASS):
                if not self._arrivals or self._arrivals[0] > now:
                    break
                self._arrivals.popleft()

    # ------------------------------------------------------------------ the office's day

    def _at_work(self, office: _OfficeInfo, now: datetime) -> bool:
        """Whether the office's clerk came to work on its local day (seeded absences)."""
        if not self._absences:
            return True
        day = local_day(now, office.timezone)
        key = (office.id, day)
        if key not in self._unstaffed:
            self._unstaffed[key] = unstaffed(self._seed, office.index, day, rural=office.rural)
        return not self._unstaffed[key]

    # ------------------------------------------------------------------ the parts of a step

    def _create(
        self, session: Session, now: datetime, orders: Sequence[Order], outcome: StepOutcome
    ) -> None:
        promise = promises.promised_dates(session, now=now)
        markets = {m.code: m for m in session.scalars(select(Marketplace))}
        scans: list[shipment_service.Scan] = []
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
                scans.append(shipment_service.Scan(tracking, "handed_over", now))
                outcome.created.append((order.order_id, tracking))
        for scanned in shipment_service.record_scans(session, scans=scans, now=now):
            if scanned.error is not None:
                raise scanned.error

    def _send_back(
        self, session: Session, now: datetime, status: Status, outcome: StepOutcome
    ) -> None:
        query = select(Shipment).where(Shipment.status == status).order_by(Shipment.id)
        shipments = list(session.scalars(query))
        shipment_service.start_returns(session, shipments=shipments, now=now)
        way_back.send_shipments_back(session, shipments=shipments, now=now)
        outcome.sent_back.extend(s.tracking_number for s in shipments)

    def _open(self, office: _OfficeInfo, now: datetime) -> bool:
        """Whether the office's counter serves people at ``now``: in its hours and staffed."""
        return is_open_at(office.hours, office.timezone, now) and self._at_work(office, now)

    def _shelve(self, session: Session, now: datetime, outcome: StepOutcome) -> None:
        """Shelve what has arrived at the offices open now, each into its first free cell."""
        serving = [o.id for o in self._offices.values() if self._open(o, now)]
        arrived = list(
            session.scalars(
                select(Shipment)
                .where(
                    Shipment.status == Status.ARRIVED_AT_OFFICE,
                    Shipment.destination_office_id.in_(serving),
                )
                .order_by(Shipment.id)
            )
        )
        if not arrived:
            return
        # Cells taken at the offices that shelve now (elsewhere nothing is added this step,
        # so their peak is already counted): a parcel going back keeps its cell until a
        # return run loads it.
        used: dict[int, set[str]] = {s.destination_office_id: set() for s in arrived}
        rows = session.execute(
            select(Shipment.destination_office_id, Shipment.cell_code).where(
                Shipment.status.in_(IN_CELL),
                Shipment.cell_code.is_not(None),
                Shipment.destination_office_id.in_(sorted(used)),
            )
        )
        for office_id, cell in rows:
            used[office_id].add(cell or "")
        shelvings: list[shipment_service.Shelving] = []
        for shipment in arrived:
            office = self._offices[shipment.destination_office_id]
            taken = used[office.id]
            cell = next(
                (f"C{n:03d}" for n in range(1, office.cells + 1) if f"C{n:03d}" not in taken),
                OVERFLOW_CELL,
            )
            use = self.use[office.index]
            if cell == OVERFLOW_CELL:
                use.overflow += 1
            else:
                taken.add(cell)
            shelvings.append(shipment_service.Shelving(shipment, cell))
        codes = shipment_service.make_ready_for_pickup_many(
            session, shelvings=shelvings, now=now, policy=self._policy
        )
        for shelving, code in zip(shelvings, codes, strict=True):
            self._codes[shelving.shipment.tracking_number] = code
            outcome.shelved.append(shelving.shipment.tracking_number)
        for office_id, cells in used.items():
            use = self.use[self._offices[office_id].index]
            use.peak = max(use.peak, len(cells - {OVERFLOW_CELL, ""}))

    def _collect(
        self, session: Session, now: datetime, pickups: Sequence[Pickup], out: StepOutcome
    ) -> None:
        """Recipients at the counter: a closed office sends them off before any parcel is
        looked up (closed: an hour later; unstaffed: the next day)."""
        at_counter: list[Pickup] = []
        hours: dict[int, bool] = {}  # office id -> in its hours now
        for pickup in pickups:
            office = self._by_index[pickup.order.office_index or ""]
            if office.id not in hours:
                hours[office.id] = is_open_at(office.hours, office.timezone, now)
            if not hours[office.id]:
                out.not_served.append(pickup)
            elif not self._at_work(office, now):
                out.turned_away.append(pickup)
            else:
                at_counter.append(pickup)
        found = shipment_service.get_shipments(session, [p.tracking_number for p in at_counter])
        refusals: list[Shipment] = []
        issues: list[shipment_service.Issue] = []
        for pickup in at_counter:
            shipment = found[pickup.tracking_number]
            if shipment.status != Status.READY_FOR_PICKUP:
                continue  # storage expired before the recipient came
            shipment_service.verify_pickup_code(
                session,
                shipment=shipment,
                code=self._codes.pop(pickup.tracking_number),
                now=now,
                policy=self._policy,
            )
            order = pickup.order
            if order.refuse_all:
                refusals.append(shipment)
                continue
            refused = (
                {len(order.items) - 1: 1} if order.refuse_part and len(order.items) > 1 else None
            )
            issues.append(shipment_service.Issue(shipment, refused, cod_method="cash"))
        shipment_service.refuse_many(session, shipments=refusals, now=now, clerk="simulation")
        shipment_service.issue_to_recipients(session, issues=issues, now=now, clerk="simulation")
        # The clerk scans what was refused, whole or in part, into the returns at once.
        partly = [i.shipment for i in issues if i.shipment.status == Status.PARTIALLY_DELIVERED]
        back = [*refusals, *partly]
        shipment_service.start_returns(session, shipments=back, now=now)
        way_back.send_shipments_back(session, shipments=back, now=now)
        out.sent_back.extend(s.tracking_number for s in back)
        delay = timedelta(hours=CUSTOMER_RETURN_DELAY_H)
        for issue in issues:
            shipment = issue.shipment
            if shipment.status == Status.DELIVERED and customer_returns(
                self._seed, shipment.tracking_number
            ):
                self._returning.append((now + delay, shipment.id))


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


def _load_places(session: Session, region_id: int) -> list[Place]:
    """The region's localities that order: every one with people and a coordinate."""
    rows = session.execute(
        select(
            District.name,
            Settlement.population,
            Settlement.lat,
            Settlement.lon,
            Settlement.kind,
        )
        .join(District, Settlement.district_id == District.id)
        .where(
            District.region_id == region_id,
            Settlement.population > 0,
            Settlement.lat.is_not(None),
            Settlement.lon.is_not(None),
        )
        .order_by(Settlement.id)
    )
    return [
        Place(
            district=district,
            population=population,
            lat=lat,
            lon=lon,
            urban=kind != "rural_locality",
        )
        for district, population, lat, lon, kind in rows
        if population is not None and lat is not None and lon is not None
    ]


def _load_offices(session: Session, region_id: int) -> tuple[list[_OfficeInfo], list[Site]]:
    """The region's open offices and the marketplaces each serves."""
    served: dict[int, set[str]] = {}
    rows = session.execute(
        select(MarketplaceConnection.post_office_id, Marketplace.code)
        .join(Marketplace, MarketplaceConnection.marketplace_id == Marketplace.id)
        .join(PostOffice, MarketplaceConnection.post_office_id == PostOffice.id)
        .join(District, PostOffice.district_id == District.id)
        .where(MarketplaceConnection.status == "active", District.region_id == region_id)
    )
    for office_id, code in rows:
        served.setdefault(office_id, set()).add(code)
    infos: list[_OfficeInfo] = []
    sites: list[Site] = []
    query = (
        select(PostOffice, District.name)
        .join(District, PostOffice.district_id == District.id)
        .where(PostOffice.status == "open", District.region_id == region_id)
        .order_by(PostOffice.index)
    )
    for office, district in session.execute(query):
        cells = OfficeCapacity.of(office).cells
        infos.append(
            _OfficeInfo(
                office.id,
                office.index,
                district,
                office.opening_hours,
                office.timezone,
                cells,
                office.rural,
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
    region: str = ""  # the code of the region simulated

    def dispose(self) -> None:
        """Close the scratch database's connections."""
        bind = self.factory.kw.get("bind")
        if bind is not None:
            bind.dispose()


def _import_region(session: Session, *, region: str | None, clock: FrozenClock) -> None:
    """Load the region to simulate (its code or name; None: the default region) into the
    scratch database, from the reference shipped in the package."""
    source = regions.load_source(regions.default_region(region).code)
    import_region(session, source, clock=clock)


def prepare(config: SimulationConfig, folder: Path | None = None) -> sessionmaker[Session]:
    """A migrated database with the region, the synthetic timetable and the plan."""
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
        _import_region(session, region=config.region, clock=clock)
    with session_scope(factory) as session:
        resolve_region(session, config.region)  # the region asked for is there
    with session_scope(factory) as session:
        timetables.generate_timetable(session, now=setup_time, seed=TIMETABLE_SEED)
    with session_scope(factory) as session:
        _add_partner(session, region=config.region, now=setup_time)
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


def _add_partner(session: Session, *, region: str | None, now: datetime) -> None:
    """The simulated collection partner (``collection.add_partner``): it takes knitwear at
    every office of the region, its depot the region's sorting centre (or, without one, its
    first hub by code)."""
    found = resolve_region(session, region)
    hub = session.scalars(
        select(Hub)
        .where(Hub.region_id == found.id)
        .order_by(Hub.kind != "regional_sorting_centre", Hub.code)
        .limit(1)
    ).first()
    if hub is None:
        return  # no hub to take bags to: no partner, no bags
    collection_service.add_partner(
        session,
        code=SIMULATED_PARTNER,
        name="Партнёр симуляции",
        takes=[PARTNER_MATERIAL],
        offices=f"region:{found.code}",
        depot=hub.code,
        now=now,
    )


def simulate(
    config: SimulationConfig,
    *,
    folder: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run the simulation; same config (seed) -> same figures."""
    return run_on(prepare(config, folder), config, progress=progress)


def run_on(
    factory: sessionmaker[Session],
    config: SimulationConfig,
    *,
    progress: Callable[[int], None] | None = None,
) -> SimulationResult:
    """Run ``config`` on a database that holds the region, its timetable and its connections
    (a prepared scratch one, or the service's own for a simulated history)."""
    with session_scope(factory) as session:
        region = resolve_region(session, config.region)
        code = region.code
        places = _load_places(session, region.id)
        offices, sites = _load_offices(session, region.id)
        partner = session.scalar(
            select(CollectionPartner.code).where(CollectionPartner.code == SIMULATED_PARTNER)
        )
    assignment = Assignment(places, sites, config.reach_km)
    operations = ServiceOperations(
        factory, offices, seed=config.seed, absences=config.absences, partner=partner
    )
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
    return SimulationResult(config, totals, operations.use, factory, clock.now(), code)


def _demand(
    places: Sequence[Place], assignment: Assignment, scale: float, day: date, rng: random.Random
) -> list[Order]:
    return daily_orders(places, assignment, day, rng, scale=scale)
