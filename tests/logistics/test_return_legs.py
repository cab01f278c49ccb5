"""The way back on the route runs, through the real services: a parcel refused at the
counter keeps its cell until the van loads it, rides the run's return leg (oldest first,
within the van's room; what does not fit waits for the next run), is accepted at the hub
against the leg's manifest, and ends ``returned`` at its warehouse's act.

A route of the Pestyaki hub (DH-155650) calls at Pestyaki (155650) at 08:30 and Alekhino
(155654) at 09:00 Moscow time, Mondays and Thursdays, with room for two things back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.errors import DomainError
from selpo.kit.clock import FrozenClock
from selpo.logistics import return_legs, timetables, way_back
from selpo.logistics.eta import next_run
from selpo.logistics.manifests import run_id
from selpo.logistics.return_leg_pdf import render_return_leg, render_warehouse_act
from selpo.models import OutboxMessage, ReturnLeg, ReturnLegItem, Shipment
from selpo.notify import service as notify_service
from selpo.office import repository as office_repository
from selpo.office import service as office
from selpo.shipment import service as shipment_service
from tests.conftest import TEST_NOW
from tests.fixtures.builders import admin_headers, marketplace_key
from tests.office.world import OfficeWorld, cheap_password_hashing, make_world

MSK = ZoneInfo("Europe/Moscow")
ROUTE = "RET-PESTYAKI"
HUB = "DH-155650"
ROUTES_CSV = f"""\
route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min
{ROUTE},{HUB},mon|thu,08:00,2,2000,240,1,155650,30
{ROUTE},{HUB},mon|thu,08:00,2,2000,240,2,155654,60
"""


@pytest.fixture(autouse=True)
def _cheap_passwords() -> Iterator[None]:
    with cheap_password_hashing():
        yield


@pytest.fixture
def world(session: Session, clock: FrozenClock) -> OfficeWorld:
    found = make_world(session, clock)
    timetables.import_routes(session, ROUTES_CSV, now=TEST_NOW)
    notify_service.create_subscription(
        session,
        marketplace_id=found.ozon.id,
        url="https://127.0.0.1/hooks",
        events=["*"],
        now=TEST_NOW,
        allow_hosts=frozenset({"127.0.0.1"}),
    )
    session.flush()
    return found


def _refused_at_counter(world: OfficeWorld) -> Shipment:
    """A parcel shelved at Pestyaki, refused by its recipient, scanned into the returns."""
    shipment, _code = world.shelved()
    shipment_service.refuse(world.session, shipment=shipment, now=world.clock.now())
    world.clock.advance(timedelta(minutes=5))
    office.scan_return(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        barcode=shipment.tracking_number,
        now=world.clock.now(),
    )
    world.clock.advance(timedelta(minutes=5))
    world.session.refresh(shipment)
    return shipment


def _next_departure(world: OfficeWorld, after: datetime) -> datetime:
    loaded = timetables.current_timetable(world.session)
    return next_run(loaded.network, ROUTE, after).departure


def _item(session: Session, shipment: Shipment) -> ReturnLegItem:
    session.expire_all()
    return session.scalars(
        select(ReturnLegItem).where(
            ReturnLegItem.kind == "shipment", ReturnLegItem.ref_id == shipment.id
        )
    ).one()


def _cells(world: OfficeWorld) -> dict[str, str]:
    """Tracking number -> the cell it holds at Pestyaki."""
    occupied = office_repository.occupied_cells(world.session, world.pestyaki.id)
    return {s.tracking_number: code for code, s in occupied.items()}


class TestTheWayBack:
    def test_from_refusal_at_the_counter_to_the_warehouse_act(self, world: OfficeWorld) -> None:
        session = world.session
        parcel = _refused_at_counter(world)
        assert parcel.status == "returning"
        item = _item(session, parcel)
        assert (item.status, item.barcode, item.warehouse_id) == (
            "waiting",
            parcel.tracking_number,
            way_back.default_warehouse_id(session),
        )
        # The refused parcel keeps its cell until it leaves.
        cell = parcel.cell_code
        assert cell
        assert _cells(world)[parcel.tracking_number] == cell
        # The counter's returns screen: it leaves on the next run.
        outlook = return_legs.office_outlook(session, office_index="155650", now=world.clock.now())
        departure = _next_departure(world, world.clock.now())
        assert outlook.route_id == ROUTE
        assert outlook.call_at == departure + timedelta(minutes=30)
        assert [line.barcode for line in outlook.going] == [parcel.tracking_number]
        assert outlook.waiting == []
        # The van calls; once it has made its last call the worker fixes the leg.
        last_call = departure + timedelta(minutes=60)
        assert return_legs.advance_return_legs(session, last_call - timedelta(minutes=1)) == 0
        assert return_legs.advance_return_legs(session, last_call) == 1
        item = _item(session, parcel)
        assert (item.status, item.route_code, item.departure) == ("loaded", ROUTE, departure)
        assert item.loaded_at == departure + timedelta(minutes=30)
        session.refresh(parcel)
        assert parcel.cell_code is None
        assert parcel.tracking_number not in _cells(world)
        assert parcel.status == "returning"
        # The driver's manifest, JSON and PDF.
        leg = return_legs.get_leg(session, route_id=ROUTE, departure=departure)
        assert leg.stored
        assert leg.items == 1
        assert leg.load_factor == 0.5
        assert [(s.office_index, s.loaded) for s in leg.stops] == [("155650", 1), ("155654", 0)]
        assert render_return_leg(leg).startswith(b"%PDF")
        # The hub accepts it when the van is back.
        accepted = return_legs.accept_at_hub(
            session,
            route_id=ROUTE,
            departure=departure,
            barcodes=[parcel.tracking_number],
            now=leg.back_at,
        )
        assert (accepted.accepted, accepted.missing, accepted.extra) == (
            [parcel.tracking_number],
            [],
            [],
        )
        # The line-haul to the warehouse, with its act.
        acts = return_legs.deliver_to_warehouses(
            session, hub="155650", now=leg.back_at + timedelta(hours=20)
        )
        assert len(acts) == 1
        act = acts[0]
        assert act.number.startswith("WA-2026-")
        assert act.marketplace == "OZON"
        assert [line.barcode for line in act.lines] == [parcel.tracking_number]
        assert render_warehouse_act(act).startswith(b"%PDF")
        assert return_legs.get_warehouse_act(session, number=act.number) == act
        session.refresh(parcel)
        assert parcel.status == "returned"
        assert _item(session, parcel).act_number == act.number
        hooks = [
            m.payload.get("data", m.payload)
            for m in session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.kind == "webhook",
                    OutboxMessage.event_type == "shipment.status_changed",
                )
            )
        ]
        assert any(
            h.get("tracking_number") == parcel.tracking_number and h.get("status") == "returned"
            for h in hooks
        )
        # Nothing is left at the hub: the next line-haul makes no act.
        assert return_legs.deliver_to_warehouses(session, hub=HUB, now=leg.back_at) == []

    def test_a_leg_over_capacity_what_waits_goes_on_the_next_run(self, world: OfficeWorld) -> None:
        session = world.session
        parcels = [_refused_at_counter(world) for _ in range(3)]
        departure = _next_departure(world, world.clock.now())
        preview = return_legs.get_leg(session, route_id=ROUTE, departure=departure)
        assert not preview.stored
        oldest_two = [p.tracking_number for p in parcels[:2]]
        assert [line.barcode for line in preview.lines] == oldest_two
        assert [line.barcode for line in preview.waiting] == [parcels[2].tracking_number]
        outlook = return_legs.office_outlook(session, office_index="155650", now=world.clock.now())
        assert [line.barcode for line in outlook.waiting] == [parcels[2].tracking_number]
        # The worker catches up a whole week at once: this run and the next.
        following = _next_departure(world, departure)
        assert return_legs.advance_return_legs(session, following + timedelta(hours=2)) == 3
        first = session.scalars(
            select(ReturnLeg).where(ReturnLeg.route_code == ROUTE, ReturnLeg.departure == departure)
        ).one()
        assert (first.items, first.waited) == (2, 1)
        third = _item(session, parcels[2])
        assert (third.status, third.departure, third.runs_waited) == ("loaded", following, 1)
        for parcel in parcels[:2]:
            assert _item(session, parcel).departure == departure
        # Until it was loaded the third parcel held its cell.
        assert all(p.tracking_number not in _cells(world) for p in parcels)

    def test_the_hub_reports_missing_and_extra(self, world: OfficeWorld) -> None:
        session = world.session
        one, two = _refused_at_counter(world), _refused_at_counter(world)
        departure = _next_departure(world, world.clock.now())
        with pytest.raises(DomainError) as refused:
            return_legs.accept_at_hub(
                session, route_id=ROUTE, departure=departure, barcodes=["x"], now=departure
            )
        assert refused.value.status_code == 409
        leg = return_legs.load_leg(session, route_id=ROUTE, departure=departure, now=departure)
        assert leg.items == 2
        stranger = "80000000000000"
        report = return_legs.accept_at_hub(
            session,
            route_id=ROUTE,
            departure=departure,
            barcodes=[one.tracking_number, stranger],
            now=leg.back_at,
        )
        assert report.accepted == [one.tracking_number]
        assert report.missing == [two.tracking_number]
        assert report.extra == [stranger]
        assert _item(session, two).status == "loaded"
        # Only what reached the hub goes on to the warehouse.
        acts = return_legs.deliver_to_warehouses(session, hub=HUB, now=leg.back_at)
        assert [line.barcode for act in acts for line in act.lines] == [one.tracking_number]
        # The missing one turns up: a later scan accepts it.
        later = return_legs.accept_at_hub(
            session,
            route_id=ROUTE,
            departure=departure,
            barcodes=[two.tracking_number],
            now=leg.back_at + timedelta(hours=1),
        )
        assert (later.accepted, later.missing) == ([two.tracking_number], [])
        stored = session.scalars(select(ReturnLeg).where(ReturnLeg.departure == departure)).one()
        assert (stored.missing, stored.extra) == (0, [stranger])

    def test_warehouse_acts_are_numbered_without_gaps(self, world: OfficeWorld) -> None:
        session = world.session
        numbers = []
        for _ in range(2):
            parcel = _refused_at_counter(world)
            departure = _next_departure(world, world.clock.now())
            leg = return_legs.load_leg(session, route_id=ROUTE, departure=departure, now=departure)
            return_legs.accept_at_hub(
                session,
                route_id=ROUTE,
                departure=departure,
                barcodes=[parcel.tracking_number],
                now=leg.back_at,
            )
            acts = return_legs.deliver_to_warehouses(session, hub=HUB, now=leg.back_at)
            numbers.append(acts[0].number)
            world.clock.set(leg.back_at + timedelta(hours=1))
        first, second = (int(n.rsplit("-", 1)[1]) for n in numbers)
        assert second == first + 1

    def test_a_run_that_is_not_in_the_timetable_is_not_found(self, world: OfficeWorld) -> None:
        with pytest.raises(DomainError) as missing:
            return_legs.get_leg(
                world.session, route_id=ROUTE, departure=datetime(2026, 11, 24, 5, tzinfo=UTC)
            )
        assert missing.value.status_code == 404


class TestTheApi:
    def test_the_operator_loads_accepts_and_delivers_a_leg_over_http(
        self, world: OfficeWorld, client: TestClient
    ) -> None:
        session = world.session
        admin = admin_headers(session, now=TEST_NOW)
        one, two = _refused_at_counter(world), _refused_at_counter(world)
        departure = _next_departure(world, world.clock.now())
        leg_url = f"/v1/route-runs/{run_id(ROUTE, departure)}/return-leg"
        unloaded = client.post(f"{leg_url}/acceptance", json={"barcodes": ["x"]}, headers=admin)
        assert unloaded.status_code == 409
        assert unloaded.headers["content-type"].startswith("application/problem+json")
        preview = client.get(leg_url, headers=admin)
        assert preview.status_code == 200
        assert preview.json()["stored"] is False
        assert [line["barcode"] for line in preview.json()["lines"]] == [
            one.tracking_number,
            two.tracking_number,
        ]
        printed = client.get(leg_url, params={"format": "pdf"}, headers=admin)
        assert printed.headers["content-type"] == "application/pdf"
        loaded = client.post(leg_url, headers=admin)
        assert loaded.status_code == 200
        assert loaded.json()["stored"] is True
        report = client.post(
            f"{leg_url}/acceptance",
            json={"barcodes": [one.tracking_number, "80000000000000"]},
            headers=admin,
        ).json()
        assert report["missing"] == [two.tracking_number]
        assert report["extra"] == ["80000000000000"]
        acts = client.post("/v1/warehouse-acts", json={"hub": HUB}, headers=admin)
        assert acts.status_code == 200
        number = acts.json()[0]["number"]
        act = client.get(f"/v1/warehouse-acts/{number}", headers=admin)
        assert act.json()["lines"][0]["barcode"] == one.tracking_number
        pdf = client.get(f"/v1/warehouse-acts/{number}", params={"format": "pdf"}, headers=admin)
        assert pdf.content.startswith(b"%PDF")
        assert client.get("/v1/warehouse-acts/WA-1999-000001", headers=admin).status_code == 404
        assert client.post(
            "/v1/warehouse-acts", json={"hub": "nowhere"}, headers=admin
        ).status_code in (404, 422)

    def test_a_marketplace_key_cannot_see_return_legs(
        self, world: OfficeWorld, client: TestClient
    ) -> None:
        key = marketplace_key(world.session, "OTHER_MP", now=TEST_NOW, connect=())
        departure = _next_departure(world, world.clock.now())
        url = f"/v1/route-runs/{run_id(ROUTE, departure)}/return-leg"
        assert client.get(url, headers=key.headers).status_code == 403
