"""The dispatcher's pages: the day's runs of one's own hub and a printable manifest."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.logistics import timetables
from selpo.office import auth
from selpo.web import static_url
from tests.conftest import TEST_NOW
from tests.office.world import PASSWORD

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
