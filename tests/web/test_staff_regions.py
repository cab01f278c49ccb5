"""Managers and dispatchers see their regions only: region 33 (Vladimir, built beside the
bundled Ivanovo, 37) against 37, through the whole HTTP stack."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.logistics import manifests, timetables
from selpo.models import District, Hub
from selpo.office import auth
from tests.conftest import TEST_NOW
from tests.office.world import PASSWORD, OfficeWorld
from tests.web.second_region import HUB, OFFICE, SecondRegion, make_second_region

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
PESTYAKI_HUB = "DH-155650"
THURSDAY = date(2026, 11, 26)
PROBLEM = "application/problem+json"


def _sign_in(pages: TestClient, login: str) -> Any:
    form = pages.get("/office/login")
    token = CSRF_RE.search(form.text)
    assert token is not None
    response = pages.post(
        "/office/login",
        data={"login": login, "password": PASSWORD, "csrf": token.group(1), "next": ""},
    )
    assert response.status_code == 303, response.text
    return response


@pytest.fixture
def vladimir(session: Session, world: OfficeWorld) -> SecondRegion:
    """Ivanovo's synthetic timetable, then region 33 beside it."""
    timetables.generate_timetable(session, now=TEST_NOW, seed=7)
    return make_second_region(session)


def _offices(pages: TestClient, **params: str) -> set[str]:
    answer = pages.get("/region/api/offices", params=params)
    assert answer.status_code == 200, answer.text
    return {o["index"] for o in answer.json()["offices"]}


def _refused_json(answer: Any, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["status"] == status


def _refused_page(answer: Any, status: int) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "Нет доступа" in answer.text or "Не найдено" in answer.text


class TestDispatcher:
    def test_a_dispatcher_of_33_sees_nothing_of_37(
        self, pages: TestClient, session: Session, vladimir: SecondRegion
    ) -> None:
        auth.add_dispatcher(
            session, login="disp33", password=PASSWORD, now=TEST_NOW, region_codes=["33"]
        )
        ivanovo_runs = manifests.list_route_runs(session, day=THURSDAY, hub=PESTYAKI_HUB)
        assert ivanovo_runs, "the Pestyaki hub has runs on a Thursday"
        ivanovo_hubs = session.scalars(
            select(Hub.name).where(Hub.region_id != vladimir.region.id)
        ).all()
        session.commit()

        _sign_in(pages, "disp33")
        home = pages.get("/office")
        assert (home.status_code, home.headers["location"]) == (303, "/office/dispatch")
        page = pages.get("/office/dispatch", params={"date": THURSDAY.isoformat()})
        assert page.status_code == 200
        assert vladimir.hub.name in page.text
        assert "Europe/Moscow" in page.text  # the hub's region's zone, said on the page
        assert not [name for name in ivanovo_hubs if name in page.text]
        assert PESTYAKI_HUB not in page.text

        run = ivanovo_runs[0].id
        _refused_page(pages.get(f"/office/dispatch/{run}"), 403)
        pdf = pages.get(f"/office/dispatch/{run}/pdf")
        _refused_page(pdf, 403)
        assert "не вашего узла" in pdf.text
        # No counter work and no dashboard either.
        _refused_page(pages.get(f"/office/{OFFICE}"), 403)
        _refused_page(pages.get("/region"), 403)
        _refused_json(pages.get("/region/api/offices"), 403)

    def test_the_manifest_pdf_of_ones_own_hub_is_a_pdf_and_asks_a_stranger_to_sign_in(
        self, pages: TestClient, session: Session, vladimir: SecondRegion
    ) -> None:
        auth.add_dispatcher(
            session, login="disp37", password=PASSWORD, now=TEST_NOW, region_codes=["37"]
        )
        run = manifests.list_route_runs(session, day=THURSDAY, hub=PESTYAKI_HUB)[0].id
        session.commit()

        stranger = pages.get(f"/office/dispatch/{run}/pdf")
        assert stranger.status_code == 303  # to the Russian sign-in page, never a 401 JSON
        assert stranger.headers["location"].startswith("/office/login")

        _sign_in(pages, "disp37")
        page = pages.get("/office/dispatch", params={"date": THURSDAY.isoformat()})
        assert PESTYAKI_HUB in page.text
        assert vladimir.hub.name not in page.text
        sheet = pages.get(f"/office/dispatch/{run}")
        assert sheet.status_code == 200
        assert f'href="/office/dispatch/{run}/pdf"' in sheet.text
        pdf = pages.get(f"/office/dispatch/{run}/pdf")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert pdf.headers["cache-control"] == "no-store"


class TestManager:
    def test_a_manager_of_33_is_refused_37(
        self, pages: TestClient, session: Session, vladimir: SecondRegion
    ) -> None:
        auth.add_manager(
            session, login="boss33", password=PASSWORD, now=TEST_NOW, region_codes=["33"]
        )
        pestyaki_district = session.scalars(
            select(District.id).where(District.name == "Пестяковский район")
        ).one()
        session.commit()

        _sign_in(pages, "boss33")
        page = pages.get("/region")
        assert page.status_code == 200
        assert "Владимирская область" in page.text
        assert "Ивановская область" not in page.text
        assert 'id="region-choice"' not in page.text  # one region: no selector
        assert _offices(pages) == {OFFICE}
        hubs = pages.get("/region/api/hubs").json()["hubs"]
        assert [h["code"] for h in hubs] == [HUB]
        assert pages.get("/region/api/routes").json()["routes"] == []
        kpi = pages.get("/region/kpi")
        assert kpi.status_code == 200
        assert "Судогодский район" in kpi.text
        assert "Пестяковский район" not in kpi.text

        _refused_page(pages.get("/region", params={"region": "37"}), 403)
        _refused_page(pages.get("/region/kpi", params={"region": "37"}), 403)
        _refused_page(pages.get("/region/scenarios", params={"region": "37"}), 403)
        _refused_page(pages.get("/region/kpi", params={"district": str(pestyaki_district)}), 403)
        _refused_json(pages.get("/region/api/offices", params={"region": "37"}), 403)
        _refused_json(pages.get("/region/api/hubs", params={"region": "37"}), 403)
        _refused_json(pages.get("/region/api/offices/155650"), 404)  # not in their region
        _refused_json(pages.get("/region/api/offices", params={"region": "54"}), 404)

    def test_a_manager_of_both_regions_switches_between_them(
        self, pages: TestClient, session: Session, vladimir: SecondRegion
    ) -> None:
        auth.add_manager(
            session, login="boss", password=PASSWORD, now=TEST_NOW, region_codes=["37", "33"]
        )
        session.commit()

        _sign_in(pages, "boss")
        first = pages.get("/region")  # the first of their regions by code
        assert first.status_code == 200
        assert 'id="region-choice"' in first.text
        assert '<option value="33" selected>' in first.text
        assert 'data-region="33"' in first.text

        ivanovo = pages.get("/region", params={"region": "37"})
        assert ivanovo.status_code == 200
        assert '<option value="37" selected>' in ivanovo.text
        assert 'href="/region/kpi?region=37"' in ivanovo.text  # the menu keeps the region
        offices_37 = _offices(pages, region="37")
        assert "155650" in offices_37
        assert OFFICE not in offices_37
        assert _offices(pages, region="33") == {OFFICE}
        figures = pages.get("/region/api/offices/155650", params={"region": "37"})
        assert figures.status_code == 200
        _refused_json(pages.get("/region/api/offices/155650", params={"region": "33"}), 404)
        kpi = pages.get("/region/kpi", params={"region": "37"})
        assert "Пестяковский район" in kpi.text
        assert "Судогодский район" not in kpi.text
