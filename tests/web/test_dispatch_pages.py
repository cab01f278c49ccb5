"""The dispatcher's pages: the day's runs of one's own hub and a printable manifest."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.logistics import manifests, timetables
from selpo.office import auth
from selpo.web import static_url
from tests.conftest import TEST_NOW
from tests.office.world import PASSWORD, OfficeWorld

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


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


def test_a_district_dispatcher_prints_a_manifest_of_their_hub_only(
    client: TestClient, session: Session, clock: FrozenClock
) -> None:
    timetables.generate_timetable(session, now=TEST_NOW, seed=7)
    auth.add_supervisor(
        session, district_name="Пестяковский район", login="disp", password=PASSWORD, now=TEST_NOW
    )
    auth.add_clerk(session, office_index="155217", login="kromy", password=PASSWORD, now=TEST_NOW)
    session.commit()

    assert client.get("/office/dispatch", follow_redirects=False).status_code == 303
    _sign_in(client, "disp")
    page = client.get("/office/dispatch", params={"date": "2026-11-26"})
    assert page.status_code == 200
    assert "Рейсы на 26.11.2026" in page.text
    run_ids = re.findall(r'href="/office/dispatch/([^"]+)"', page.text)
    assert run_ids, "the Pestyaki hub has runs on a Thursday"
    assert all(r.startswith("DH-155650") for r in run_ids)

    sheet = client.get(f"/office/dispatch/{run_ids[0]}")
    assert sheet.status_code == 200
    assert "Погрузочная ведомость" in sheet.text
    assert "Остановки" in sheet.text
    # the print styles (at the file's hashed name), no inline style
    assert static_url("dispatch/dispatch.css") in sheet.text
    assert "@media print" in client.get("/static/dispatch/dispatch.css").text
    assert "onclick" not in sheet.text
    assert sheet.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in sheet.headers["content-security-policy"]

    client.cookies.clear()
    _sign_in(client, "kromy")  # a village clerk is no dispatcher
    refused = client.get("/office/dispatch")
    assert refused.status_code == 403
    assert "не диспетчер" in refused.text


def _a_run_with_parcels(session: Session, world: OfficeWorld) -> tuple[str, date, int]:
    """Three parcels handed over for Pestyaki; the first run of its hub that carries them
    (no manifest made yet): its id, its local day and how many its preview loads."""
    timetables.generate_timetable(session, now=TEST_NOW, seed=7)
    for _ in range(3):
        world.parcel(walk=("handed_over",))
    session.commit()
    for offset in range(0, 7):
        day = date(2026, 11, 25) + timedelta(days=offset)
        for run in manifests.list_route_runs(session, day=day, hub="DH-155650"):
            preview = manifests.get_manifest(
                session, route_id=run.route_id, departure=run.departure, now=TEST_NOW
            )
            if run.manifest == "none" and preview.parcels:
                return run.id, day, preview.parcels
    raise AssertionError("no run of the Pestyaki hub carries the parcels")


def test_the_days_runs_count_the_parcels_a_manifest_would_load(
    client: TestClient, session: Session, world: OfficeWorld
) -> None:
    run_id, day, parcels = _a_run_with_parcels(session, world)
    auth.add_supervisor(
        session, district_name="Пестяковский район", login="disp", password=PASSWORD, now=TEST_NOW
    )
    session.commit()
    _sign_in(client, "disp")
    page = client.get("/office/dispatch", params={"date": f"{day:%d.%m.%Y}"})
    assert page.status_code == 200
    assert f"Рейсы на {day:%d.%m.%Y}" in page.text
    row = re.search(
        rf'<tr>(?:(?!</tr>).)*href="/office/dispatch/{re.escape(run_id)}"', page.text, re.S
    )
    assert row is not None
    assert f">{parcels} / " in row.group(0)  # the true count, not 0 / 500
    assert f'href="/office/dispatch/{run_id}/pdf"' in page.text
    assert "предварительно" in page.text
    assert "— selpo" not in page.text  # no English product name in the title
    # A day typed as the pages show it, or as links carry it; anything else is refused in words.
    assert client.get("/office/dispatch", params={"date": day.isoformat()}).status_code == 200
    bad = client.get("/office/dispatch", params={"date": "2026/11/26"})
    assert bad.status_code == 422
    assert "ДД.ММ.ГГГГ" in bad.text


def test_the_pdf_opens_in_the_signed_in_session_and_refuses_in_russian(
    client: TestClient, session: Session, world: OfficeWorld
) -> None:
    run_id, _, _ = _a_run_with_parcels(session, world)
    auth.add_supervisor(
        session, district_name="Пестяковский район", login="disp", password=PASSWORD, now=TEST_NOW
    )
    auth.add_clerk(session, office_index="155217", login="kromy", password=PASSWORD, now=TEST_NOW)
    session.commit()
    away = client.get(f"/office/dispatch/{run_id}/pdf", follow_redirects=False)
    assert away.status_code == 303  # to the sign-in, never a 401 in English JSON
    assert away.headers["location"].startswith("/office/login")
    _sign_in(client, "disp")
    pdf = client.get(f"/office/dispatch/{run_id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert pdf.headers["cache-control"] == "no-store"
    client.cookies.clear()
    _sign_in(client, "kromy")
    refused = client.get(f"/office/dispatch/{run_id}/pdf")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "не диспетчер" in refused.text
