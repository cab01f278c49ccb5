"""The way back on the pages: the counter's returns screen says what leaves on the next run
and what waits for room; the dispatcher sees the run's return leg and prints it."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from selpo.logistics import timetables
from selpo.logistics.eta import next_run
from selpo.logistics.manifests import run_id
from selpo.models import Shipment
from selpo.office import auth
from selpo.office import service as office
from selpo.shipment import service as shipment_service
from selpo.web.rendering import spaced
from tests.conftest import TEST_NOW
from tests.office.world import PASSWORD, OfficeWorld

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
ROUTE = "RET-PESTYAKI"
ROUTES_CSV = f"""\
route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min
{ROUTE},DH-155650,mon|thu,08:00,2,2000,240,1,155650,30
{ROUTE},DH-155650,mon|thu,08:00,2,2000,240,2,155654,60
"""


def _sign_in(client: TestClient, login: str) -> None:
    form = client.get("/office/login")
    token = CSRF_RE.search(form.text)
    assert token is not None
    response = client.post(
        "/office/login",
        data={"login": login, "password": PASSWORD, "csrf": token.group(1), "next": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _three_refused(session: Session, world: OfficeWorld) -> list[Shipment]:
    timetables.import_routes(session, ROUTES_CSV, now=TEST_NOW)
    parcels = []
    for _ in range(3):
        shipment, _code = world.shelved()
        shipment_service.refuse(session, shipment=shipment, now=world.clock.now())
        office.scan_return(
            session,
            office=world.pestyaki,
            workstation=world.clerk,
            barcode=shipment.tracking_number,
            now=world.clock.now(),
        )
        world.clock.advance(timedelta(minutes=5))
        parcels.append(shipment)
    return parcels


def _section(page: str, element_id: str) -> str:
    found = re.search(rf'<table class="[^"]*" id="{element_id}">(.*?)</table>', page, re.S)
    assert found is not None, element_id
    return found.group(1)


def test_the_returns_screen_lists_what_leaves_on_the_next_run(
    client: TestClient, session: Session, world: OfficeWorld
) -> None:
    parcels = _three_refused(session, world)
    session.commit()
    _sign_in(client, "pestyaki1")
    page = client.get("/office/155650/returns")
    assert page.status_code == 200
    assert f"Уйдут с рейсом {ROUTE}" in page.text
    going = _section(page.text, "going")
    waiting = _section(page.text, "waiting")
    for parcel in parcels[:2]:
        assert spaced(parcel.tracking_number) in going
        assert parcel.cell_code
        assert parcel.cell_code in going
    assert spaced(parcels[2].tracking_number) in waiting
    assert "не хватило места" in page.text


def test_the_dispatcher_sees_and_prints_the_return_leg(
    client: TestClient, session: Session, world: OfficeWorld
) -> None:
    parcels = _three_refused(session, world)
    auth.add_supervisor(
        session, district_name="Пестяковский район", login="disp", password=PASSWORD, now=TEST_NOW
    )
    loaded = timetables.current_timetable(session)
    departure = next_run(loaded.network, ROUTE, world.clock.now()).departure
    leg_id = run_id(ROUTE, departure)
    session.commit()
    _sign_in(client, "disp")
    day = client.get("/office/dispatch", params={"date": f"{departure:%d.%m.%Y}"})
    assert f'href="/office/dispatch/{leg_id}/return"' in day.text
    page = client.get(f"/office/dispatch/{leg_id}/return")
    assert page.status_code == 200
    assert "Накладная обратного рейса" in page.text
    lines = _section(page.text, "lines")
    assert all(p.tracking_number in lines for p in parcels[:2])
    assert parcels[2].tracking_number in _section(page.text, "waiting")
    assert "Предварительно" in page.text
    pdf = client.get(f"/office/dispatch/{leg_id}/return/pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["cache-control"] == "no-store"
