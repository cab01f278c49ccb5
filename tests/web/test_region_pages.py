"""The regional dashboard through the whole HTTP stack: who sees what, every page and every
JSON endpoint of the map, CSRF, the simulated-data banner."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.logistics import timetables
from selpo.models import (
    District,
    Hub,
    MarketplaceConnection,
    PostOffice,
    Region,
    Route,
    Settlement,
    StaffJob,
)
from selpo.network.rules import OfficeCapacity
from selpo.office import auth
from selpo.web import static_url
from selpo.web.rendering import num
from tests.conftest import TEST_NOW
from tests.office.world import PASSWORD, OfficeWorld
from tests.web.region_data import add_comparison, add_plan, add_run, unconnected_offices

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
PESTYAKI_DISTRICT = "Пестяковский район"


def _csrf(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _sign_in(pages: TestClient, login: str, next_url: str = "") -> Any:
    form = pages.get("/office/login")
    response = pages.post(
        "/office/login",
        data={"login": login, "password": PASSWORD, "csrf": _csrf(form.text), "next": next_url},
    )
    assert response.status_code == 303, response.text
    return response


@pytest.fixture
def accounts(session: Session, world: OfficeWorld) -> None:
    """A regional manager and the supervisor of Pestyaki's district (besides the clerks)."""
    auth.add_manager(
        session, login="boss", password=PASSWORD, now=TEST_NOW, full_name="Руководитель"
    )
    auth.add_supervisor(
        session, district_name=PESTYAKI_DISTRICT, login="district1", password=PASSWORD, now=TEST_NOW
    )
    session.flush()


def _district_id(session: Session, name: str) -> int:
    return session.scalars(select(District.id).where(District.name == name)).one()


class TestAccess:
    def test_a_manager_lands_on_the_dashboard_and_the_cookie_reaches_it(
        self, pages: TestClient, accounts: None
    ) -> None:
        response = _sign_in(pages, "boss")
        cookies = [
            c for c in response.headers.get_list("set-cookie") if c.startswith("selpo_session=")
        ]
        assert any("Path=/office" in c for c in cookies)
        assert any("Path=/region" in c for c in cookies)
        assert all("HttpOnly" in c and "SameSite=lax" in c for c in cookies)
        assert response.headers["location"] == "/office"
        office = pages.get("/office")
        assert office.status_code == 303
        assert office.headers["location"] == "/region"
        page = pages.get("/region")
        assert page.status_code == 200
        assert "Панель региона" in page.text
        assert "Ивановская область" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "default-src 'self'" in page.headers["content-security-policy"]

    def test_the_sign_in_returns_to_the_dashboard_page_asked_for(
        self, pages: TestClient, accounts: None
    ) -> None:
        away = pages.get("/region/kpi?from=2026-11-01&to=2026-11-07")
        assert away.status_code == 303
        location = away.headers["location"]
        assert location.startswith("/office/login?next=")
        assert "%2Fregion%2Fkpi%3Ffrom%3D2026-11-01" in location or "/region/kpi" in location
        response = _sign_in(pages, "boss", next_url="/region/kpi?from=2026-11-01&to=2026-11-07")
        assert response.headers["location"] == "/region/kpi?from=2026-11-01&to=2026-11-07"
        pages.cookies.clear()
        assert (
            _sign_in(pages, "boss", next_url="//evil.example/region").headers["location"]
            == "/office"
        )

    def test_without_a_session_pages_redirect_and_json_answers_401(
        self, pages: TestClient, accounts: None
    ) -> None:
        page = pages.get("/region")
        assert page.status_code == 303
        assert page.headers["location"] == "/office/login?next=/region"
        api = pages.get("/region/api/offices")
        assert api.status_code == 401
        assert api.headers["content-type"].startswith("application/problem+json")

    def test_a_clerk_gets_a_403_page_and_403_json(self, pages: TestClient, accounts: None) -> None:
        _sign_in(pages, "pestyaki1")
        page = pages.get("/region")
        assert page.status_code == 403
        assert "Нет доступа" in page.text
        assert "панель региона — для руководителя и начальников районов" in page.text
        assert pages.get("/region/kpi").status_code == 403
        assert pages.get("/region/scenarios").status_code == 403
        api = pages.get("/region/api/offices/155650")
        assert api.status_code == 403
        assert api.headers["content-type"].startswith("application/problem+json")

    def test_a_manager_does_no_counter_work(self, pages: TestClient, accounts: None) -> None:
        _sign_in(pages, "boss")
        refused = pages.get("/office/155650")
        assert refused.status_code == 403
        assert "Руководитель региона не работает за стойкой" in refused.text
        assert pages.get("/office/155650/acceptance").status_code == 403
        assert pages.get("/office/dispatch").status_code == 403

    def test_a_supervisor_finds_the_dashboard_from_the_office_choice(
        self, pages: TestClient, accounts: None
    ) -> None:
        _sign_in(pages, "district1")
        choice = pages.get("/office")
        assert choice.status_code == 200
        assert 'href="/region"' in choice.text
        page = pages.get("/region")
        assert page.status_code == 200
        assert "Панель района" in page.text
        assert PESTYAKI_DISTRICT in page.text

    def test_logout_needs_the_csrf_token_and_ends_the_session(
        self, pages: TestClient, accounts: None
    ) -> None:
        _sign_in(pages, "boss")
        token = _csrf(pages.get("/region").text)
        forged = pages.post("/region/logout", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert "Форма устарела" in forged.text
        assert pages.get("/region").status_code == 200  # still signed in
        missing = pages.post("/region/logout", data={})
        assert missing.status_code == 403
        done = pages.post("/region/logout", data={"csrf": token})
        assert done.status_code == 303
        assert done.headers["location"] == "/office/login"
        cleared = [c for c in done.headers.get_list("set-cookie") if "selpo_session=" in c]
        assert {("Path=/office" in c, "Path=/region" in c) for c in cleared} == {
            (True, False),
            (False, True),
        }
        assert pages.get("/region").status_code == 303


class TestMap:
    def test_the_map_page_loads_leaflet_from_selpo(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        plan = add_plan(session, [o.index for o in unconnected_offices(session, 3)], now=TEST_NOW)
        _sign_in(pages, "boss")
        page = pages.get("/region")
        assert page.status_code == 200
        assert f'<script src="{static_url("leaflet/leaflet.js")}"' in page.text
        assert f'<link rel="stylesheet" href="{static_url("leaflet/leaflet.css")}">' in page.text
        assert static_url("region/map.js") in page.text
        assert "http://" not in page.text
        assert "https://" not in page.text
        assert f'data-plan="{plan.id}"' in page.text  # the latest connect plan by default
        assert "зона охвата 8&nbsp;км" in page.text
        assert 'data-from="2026-11-19" data-to="2026-11-25"' in page.text
        for path in ("/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css"):
            asset = pages.get(path)
            assert asset.status_code == 200
            assert len(asset.content) > 10_000
        assert pages.get("/static/region/map.js").status_code == 200
        assert pages.get("/static/region/region.css").status_code == 200
        assert pages.get("/static/office/office.css").status_code == 200
        without = pages.get("/region?plan=0")
        assert 'data-plan="0"' in without.text

    def test_a_tile_server_is_used_only_when_configured(
        self, pages: TestClient, accounts: None
    ) -> None:
        _sign_in(pages, "boss")
        settings = pages.app.state.settings  # type: ignore[attr-defined]
        settings.map_tile_url = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
        settings.map_tile_attribution = "© участники OpenStreetMap"
        page = pages.get("/region")
        assert 'data-tiles="https://{s}.tile.example.org/{z}/{x}/{y}.png"' in page.text
        assert "https://*.tile.example.org" in page.headers["content-security-policy"]

    def test_offices_come_with_their_status(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        chosen = [o.index for o in unconnected_offices(session, 4)]
        plan = add_plan(session, chosen, now=TEST_NOW, radius_km=12.5)
        closed = unconnected_offices(session, 5)[-1]
        closed.status = "closed"
        session.flush()
        _sign_in(pages, "boss")
        body = pages.get("/region/api/offices", params={"plan": plan.id}).json()
        assert body["plan"] == {"id": plan.id, "name": plan.name, "kind": "connect"}
        assert body["radius_km"] == 12.5
        assert body["truncated"] is False
        status = {o["index"]: o["status"] for o in body["offices"]}
        assert len(status) == session.scalar(select(func.count(PostOffice.id)))
        serving = session.scalar(
            select(func.count(func.distinct(MarketplaceConnection.post_office_id))).where(
                MarketplaceConnection.status == "active"
            )
        )
        assert body["counts"]["serving"] == serving
        assert body["counts"]["planned"] == 4
        assert body["counts"]["closed"] >= 1
        assert sum(body["counts"].values()) == len(status)
        assert all(status[i] == "planned" for i in chosen)
        assert status[closed.index] == "closed"
        assert status["155650"] == "serving"
        assert all(o["mine"] for o in body["offices"])
        first = body["offices"][0]
        assert set(first) == {"index", "name", "lat", "lon", "status", "mine"}
        # Without a plan nothing is planned (no planned connections in the data).
        bare = pages.get("/region/api/offices", params={"plan": 0}).json()
        assert bare["plan"] is None
        assert bare["counts"]["planned"] == 0
        assert bare["radius_km"] == 10.0

    def test_offices_are_cut_by_district_and_box_on_the_server(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        _sign_in(pages, "boss")
        pestyaki = session.scalars(select(PostOffice).where(PostOffice.index == "155650")).one()
        box = (
            f"{pestyaki.lon - 0.05},{pestyaki.lat - 0.05},{pestyaki.lon + 0.05},"
            f"{pestyaki.lat + 0.05}"
        )
        near = pages.get("/region/api/offices", params={"bbox": box}).json()["offices"]
        assert "155650" in {o["index"] for o in near}
        assert 0 < len(near) < 20
        district = pages.get(
            "/region/api/offices", params={"district": pestyaki.district_id}
        ).json()["offices"]
        assert {o["index"] for o in district} >= {"155650", "155654"}
        assert "153000" not in {o["index"] for o in district}
        bad = pages.get("/region/api/offices", params={"bbox": "north,pole"})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "bbox"
        missing_plan = pages.get("/region/api/offices", params={"plan": 999_999})
        assert missing_plan.status_code == 404

    def test_an_offices_popup_figures(
        self, pages: TestClient, accounts: None, world: OfficeWorld
    ) -> None:
        world.shelved()
        _sign_in(pages, "boss")
        body = pages.get(
            "/region/api/offices/155650", params={"from": "2026-11-19", "to": "2026-11-25"}
        ).json()
        assert body["index"] == "155650"
        assert body["name"] == "Пестяки"
        assert body["district"] == PESTYAKI_DISTRICT
        assert "OZON" in body["marketplaces"]
        assert (body["from"], body["to"]) == ("2026-11-19", "2026-11-25")
        figures = body["figures"]
        assert figures["received"] == 1
        assert figures["on_shelves"] == 1
        assert figures["cells"] > 0
        assert {"issued", "on_time_share", "unclaimed_share", "cash_kop", "overflow"} <= set(
            figures
        )
        # Another period: nothing received then, the shelf is what it is now.
        old = pages.get(
            "/region/api/offices/155650", params={"from": "2026-10-01", "to": "2026-10-07"}
        ).json()["figures"]
        assert (old["received"], old["on_shelves"]) == (0, 1)
        assert pages.get("/region/api/offices/999999").status_code == 404
        bad = pages.get("/region/api/offices/155650", params={"from": "вчера"})
        assert bad.status_code == 422
        backwards = pages.get(
            "/region/api/offices/155650", params={"from": "2026-11-25", "to": "2026-11-19"}
        )
        assert backwards.status_code == 422

    def test_hubs_and_routes_of_the_timetable(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        _sign_in(pages, "boss")
        assert pages.get("/region/api/routes").json() == {"routes": []}
        timetables.generate_timetable(session, now=TEST_NOW, seed=7)
        session.flush()
        hubs = pages.get("/region/api/hubs").json()["hubs"]
        assert len(hubs) == session.scalar(select(func.count(Hub.id)))
        assert {"regional_sorting_centre", "district_hub"} <= {h["kind"] for h in hubs}
        routes = pages.get("/region/api/routes").json()["routes"]
        assert len(routes) == session.scalar(select(func.count(Route.id)))
        hub_at = {h["code"]: [round(h["lat"], 5), round(h["lon"], 5)] for h in hubs}
        for route in routes:
            assert route["points"][0] == hub_at[route["hub"]]
            assert len(route["points"]) == len(route["offices"]) + 1
        pestyaki = next(h for h in hubs if h["code"].startswith("DH-155650"))
        near = pages.get(
            "/region/api/routes",
            params={
                "bbox": f"{pestyaki['lon'] - 0.02},{pestyaki['lat'] - 0.02},"
                f"{pestyaki['lon'] + 0.02},{pestyaki['lat'] + 0.02}"
            },
        ).json()["routes"]
        assert near
        assert len(near) < len(routes)
        assert any(r["hub"] == pestyaki["code"] for r in near)


class TestSupervisorScope:
    def test_the_map_shows_the_region_but_opens_only_the_districts_offices(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        _sign_in(pages, "district1")
        offices = pages.get("/region/api/offices").json()["offices"]
        mine = {o["index"] for o in offices if o["mine"]}
        assert {"155650", "155654"} <= mine
        assert "153000" not in mine
        assert "153000" in {o["index"] for o in offices}  # the region's map is fine
        assert pages.get("/region/api/offices/155650").status_code == 200
        refused = pages.get("/region/api/offices/153000")
        assert refused.status_code == 403
        assert "другого района" in refused.json()["detail"]

    def test_the_kpi_page_holds_the_district_only(
        self, pages: TestClient, accounts: None, session: Session, world: OfficeWorld
    ) -> None:
        world.shelved()
        _sign_in(pages, "district1")
        page = pages.get("/region/kpi")
        assert page.status_code == 200
        assert f"{PESTYAKI_DISTRICT}: показатели отделений" in page.text
        assert 'id="office-155650"' in page.text
        assert 'id="office-153000"' not in page.text
        assert "Регион, всего" not in page.text
        assert "Район, всего" in page.text
        assert "городской округ Иваново" not in page.text
        other = _district_id(session, "городской округ Иваново")
        refused = pages.get("/region/kpi", params={"district": other})
        assert refused.status_code == 403
        own = _district_id(session, PESTYAKI_DISTRICT)
        assert pages.get("/region/kpi", params={"district": own}).status_code == 200

    def test_scenarios_show_the_districts_rows_only(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        own = [o.index for o in unconnected_offices(session, 400) if o.index.startswith("1556")]
        add_plan(session, ["153002", *own[:2]], now=TEST_NOW)
        add_comparison(session, now=TEST_NOW)
        _sign_in(pages, "district1")
        page = pages.get("/region/scenarios")
        assert page.status_code == 200
        assert "Добавляет в вашем районе" in page.text
        assert "Охват до" not in page.text
        # The district's orders (1000 // 10), not the region's 1000.
        orders = re.search(r'data-figure="orders"><td>[^<]+</td>(.*?)</tr>', page.text, re.S)
        assert orders is not None
        assert ">100<" in orders.group(1)
        assert ">1\u00a0000<" not in orders.group(1)
        run_id = re.findall(r'href="/region/scenarios/runs/(\d+)"', page.text)[0]
        detail = pages.get(f"/region/scenarios/runs/{run_id}")
        assert detail.status_code == 200
        assert PESTYAKI_DISTRICT in detail.text
        assert "городской округ Иваново" not in detail.text
        assert 'id="region-row"' not in detail.text


class TestKpiPage:
    def test_districts_and_the_region_for_the_period(
        self, pages: TestClient, accounts: None, session: Session, world: OfficeWorld
    ) -> None:
        world.shelved()
        _sign_in(pages, "boss")
        page = pages.get("/region/kpi")
        assert page.status_code == 200
        assert "Показатели районов за 19.11.2026–25.11.2026" in page.text
        assert "Регион, всего" in page.text
        assert "городской округ Иваново" in page.text
        own = _district_id(session, PESTYAKI_DISTRICT)
        row = re.search(rf'<tr id="district-{own}">(.*?)</tr>', page.text, re.S)
        assert row is not None
        assert f'href="/region/kpi?district={own}&amp;from=2026-11-19&amp;to=2026-11-25"' in (
            row.group(1)
        )
        drill = pages.get("/region/kpi", params={"district": own})
        assert drill.status_code == 200
        assert 'id="office-155650"' in drill.text
        assert "← все районы" in drill.text
        bad = pages.get("/region/kpi", params={"from": "2026-13-01"})
        assert bad.status_code == 422
        assert "ДД.ММ.ГГГГ" in bad.text
        assert "Неверный" not in bad.text
        russian = pages.get("/region/kpi", params={"from": "19.11.2026", "to": "25.11.2026"})
        assert russian.status_code == 200
        assert "Показатели районов за 19.11.2026–25.11.2026" in russian.text
        assert pages.get("/region/kpi", params={"district": 999_999}).status_code == 422


class TestScenarios:
    def test_plans_and_runs_side_by_side(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        plan = add_plan(session, [o.index for o in unconnected_offices(session, 113)], now=TEST_NOW)
        add_comparison(session, now=TEST_NOW, plan_id=plan.id)
        add_run(session, label="Одиночный прогон", connected=19, now=TEST_NOW)
        _sign_in(pages, "boss")
        page = pages.get("/region/scenarios")
        assert page.status_code == 200
        plans = re.search(rf'<tr id="plan-{plan.id}">(.*?)</tr>', page.text, re.S)
        assert plans is not None
        assert ">113<" in plans.group(1)
        assert "+200\u00a0000" in plans.group(1)  # people covered after − before
        assert f'href="/region?plan={plan.id}"' in plans.group(1)
        assert "Сравнение «plan-3»" in page.text
        section = page.text[page.text.index("Сравнение «plan-3»") :]
        section = section[: section.index("</section>")]
        assert "Сегодня: 19 отделений" in section
        assert "План №3: +113" in page.text
        assert '<th class="num diff">Разница</th>' in section
        connected = re.search(
            r'data-figure="connected_offices"><td>[^<]+</td>(.*?)</tr>', section, re.S
        )
        assert connected is not None
        assert re.findall(r">([^<>]+)</td>", connected.group(1)) == ["19", "132", "+113"]
        on_time = re.search(r'data-figure="on_time_share"><td>[^<]+</td>(.*?)</tr>', section, re.S)
        assert on_time is not None
        assert "+2,0\u00a0п.\u00a0п." in on_time.group(1)
        overflow = re.search(
            r'data-figure="overflow_parcels"><td>[^<]+</td>(.*?)</tr>', section, re.S
        )
        assert overflow is not None
        assert "−1\u00a0172" in overflow.group(1)
        runs = page.text[page.text.index('id="runs"') :]
        assert "Одиночный прогон" in runs
        assert "Одиночный прогон" not in section
        assert runs.count('<tr id="run-') == 3

    def test_a_runs_detail_page(self, pages: TestClient, accounts: None, session: Session) -> None:
        run = add_run(session, label="Месяц", connected=19, now=TEST_NOW, overflow=1172)
        _sign_in(pages, "boss")
        page = pages.get(f"/region/scenarios/runs/{run.id}")
        assert page.status_code == 200
        assert "Прогон №" in page.text
        assert "Месяц" in page.text
        assert "02.11.2026–01.12.2026" in page.text
        assert PESTYAKI_DISTRICT in page.text
        assert "городской округ Иваново" in page.text
        assert 'id="region-row"' in page.text
        assert "1\u00a0172" in page.text  # Ivanovo's parcels without a cell
        missing = pages.get("/region/scenarios/runs/999999")
        assert missing.status_code == 404
        assert "Прогона №999999 нет" in missing.text

    def test_empty_lists_say_how_to_fill_them(self, pages: TestClient, accounts: None) -> None:
        _sign_in(pages, "boss")
        page = pages.get("/region/scenarios")
        assert "Сохранённых планов нет" in page.text
        assert "Прогонов моделирования нет" in page.text
        assert "Сравнений нет" in page.text


def test_a_simulated_history_is_announced_on_every_page(
    pages: TestClient, accounts: None, session: Session, clock: FrozenClock
) -> None:
    _sign_in(pages, "boss")
    assert "Данные смоделированы" not in pages.get("/region").text
    add_run(session, label="История месяца", connected=19, now=TEST_NOW, kind="history")
    for path in ("/region", "/region/kpi", "/region/scenarios"):
        text = pages.get(path).text
        assert 'id="simulated"' in text, path
        assert "Данные смоделированы: История месяца, 02.11.2026–01.12.2026" in text


# ---------------------------------------------------------------------------- issue 14, item 8/9

ENGLISH_WORDS = re.compile(
    r"\b(selpo|seed|delivered|ready_for_pickup|returned|returning|storage_expired|optimal|"
    r"feasible|queued|running|done|failed|history|scenario|connect|serving|not_connected|"
    r"planned|bbox|index|error|not found)\b",
    re.I,
)


def _visible_text(html: str) -> str:
    """What a reader sees: no scripts, styles, tags or attributes."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


class TestInRussian:
    def test_no_english_word_on_any_page(
        self, pages: TestClient, accounts: None, session: Session, world: OfficeWorld
    ) -> None:
        world.shelved()
        plan = add_plan(session, [o.index for o in unconnected_offices(session, 5)], now=TEST_NOW)
        add_comparison(session, now=TEST_NOW, plan_id=plan.id)
        run = add_run(session, label="История", connected=19, now=TEST_NOW, kind="history")
        pages.app.state.staff_jobs.threads = False  # type: ignore[attr-defined]
        _sign_in(pages, "boss")
        token = _csrf(pages.get("/region/scenarios").text)
        pages.post("/region/scenarios/plans", data={"csrf": token, "name": "Ещё пять", "add": "5"})
        for path in (
            "/region",
            "/region/kpi",
            f"/region/kpi?district={_district_id(session, PESTYAKI_DISTRICT)}",
            "/region/scenarios",
            f"/region/scenarios/runs/{run.id}",
            "/region/workload",
            "/region/kpi?from=31.02.2026",  # an error page
            "/region/scenarios/runs/999999",
        ):
            page = pages.get(path)
            text = _visible_text(page.text)
            assert not ENGLISH_WORDS.findall(text), (path, ENGLISH_WORDS.findall(text))
        detail = _visible_text(pages.get(f"/region/scenarios/runs/{run.id}").text)
        assert "выдана:" in detail
        assert "возвращена отправителю:" in detail
        missing = pages.get("/region/api/offices/999999")
        assert missing.status_code == 404
        assert "Отделения с индексом 999999" in missing.json()["detail"]
        box = pages.get("/region/api/offices", params={"bbox": "1,2"})
        assert "градус" in box.json()["detail"]

    def test_dates_are_day_month_year_with_the_picker(
        self, pages: TestClient, accounts: None
    ) -> None:
        _sign_in(pages, "boss")
        page = pages.get("/region/kpi", params={"from": "2026-11-01", "to": "2026-11-07"})
        assert 'name="from" value="01.11.2026"' in page.text
        assert 'name="to" value="07.11.2026"' in page.text
        assert "data-picker" in page.text
        assert 'type="date"' not in page.text
        assert static_url("region/datepicker.js") in page.text
        script = pages.get("/static/region/datepicker.js").text
        assert '["Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"]' in script
        typed = pages.get("/region/kpi", params={"from": "1.11.2026", "to": "07.11.2026"})
        assert "Показатели районов за 01.11.2026–07.11.2026" in typed.text


class TestTrueFigures:
    def test_storage_use_is_over_connected_offices(
        self, pages: TestClient, accounts: None, session: Session, world: OfficeWorld
    ) -> None:
        world.shelved()
        _sign_in(pages, "boss")
        page = pages.get("/region/kpi")
        total = re.search(r'<tr id="total">(.*?)</tr>', page.text, re.S)
        assert total is not None
        cells = sum(
            OfficeCapacity.of(o).cells
            for o in session.scalars(
                select(PostOffice).where(
                    PostOffice.id.in_(
                        select(MarketplaceConnection.post_office_id).where(
                            MarketplaceConnection.status == "active"
                        )
                    )
                )
            )
        )
        assert f">1 / {num(cells)}<" in total.group(1)
        every = session.scalars(select(PostOffice))
        assert cells < sum(OfficeCapacity.of(o).cells for o in every)  # not every office
        assert "На полках / ячеек" in page.text


class TestNextOffices:
    def test_the_ranked_list_of_the_latest_plan(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        chosen = unconnected_offices(session, 3)
        add_plan(session, ["155650"], now=TEST_NOW, name="Старый")
        add_plan(session, [o.index for o in chosen], now=TEST_NOW, name="Три")
        _sign_in(pages, "boss")
        page = pages.get("/region")
        assert "Какие отделения подключать следующими" in page.text
        assert "«Три»" in page.text
        rows = re.findall(r'<tr id="next-(\d{6})">(.*?)</tr>', page.text, re.S)
        assert [index for index, _ in rows] == [o.index for o in chosen]
        settlement = session.get(Settlement, chosen[0].settlement_id)
        first = rows[0][1]
        assert ">1<" in first
        if settlement is not None:
            assert settlement.name in first
        assert ">100<" in first  # people newly covered
        assert "500\u00a0100" in first  # covered before (500 000) + 100
        assert "53,9\u00a0%" in first  # of 927 828
        assert "500\u00a0300" in rows[2][1]  # cumulative: three offices of 100 each
        scenarios = pages.get("/region/scenarios").text
        assert 'id="next-list"' in scenarios

    def test_a_supervisor_sees_the_districts_offices_only(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        district = _district_id(session, PESTYAKI_DISTRICT)
        own = [o.index for o in unconnected_offices(session, 400) if o.district_id == district]
        add_plan(session, ["153002", own[0]], now=TEST_NOW)
        _sign_in(pages, "district1")
        page = pages.get("/region")
        rows = re.findall(r'<tr id="next-(\d{6})">(.*?)</tr>', page.text, re.S)
        assert [index for index, _ in rows] == [own[0]]
        assert ">2<" in rows[0][1]  # its rank in the region's plan
        assert "500\u00a0200" not in rows[0][1]  # region-wide people are hidden


class TestJobsFromTheWeb:
    def test_starting_a_plan_runs_it_and_shows_its_progress(
        self, pages: TestClient, accounts: None, session: Session
    ) -> None:
        runner = pages.app.state.staff_jobs  # type: ignore[attr-defined]
        runner.threads = False  # one test connection: the test runs the job, as the worker would
        _sign_in(pages, "boss")
        token = _csrf(pages.get("/region/scenarios").text)
        forged = pages.post(
            "/region/scenarios/plans", data={"csrf": "forged", "name": "Пять", "add": "5"}
        )
        assert forged.status_code == 403
        bad = pages.post("/region/scenarios/plans", data={"csrf": token, "name": "Н", "add": "0"})
        assert bad.status_code == 422
        assert "Отделений добавить — от 1 до 500" in bad.text
        assert session.scalar(select(func.count(StaffJob.id))) == 0
        started = pages.post(
            "/region/scenarios/plans",
            data={"csrf": token, "name": "Пять с сайта", "add": "5", "radius_km": "10"},
        )
        assert started.status_code == 303
        assert started.headers["location"].startswith("/region/scenarios#job-")
        queued = pages.get("/region/scenarios").text
        job = re.search(r'<tr id="job-(\d+)" data-status="queued">(.*?)</tr>', queued, re.S)
        assert job is not None
        assert "в очереди" in job.group(2)
        assert "«Пять с сайта», +5" in job.group(2)
        assert pages.get("/region/api/jobs").json()["jobs"][0]["status"] == "queued"

        assert runner.run_pending() == 1
        body = pages.get("/region/api/jobs").json()["jobs"][0]
        assert (body["status"], body["progress"], body["stage"]) == ("done", 1.0, "готово")
        plan_id = body["plan_id"]
        assert plan_id is not None
        done = pages.get("/region/scenarios").text
        row = re.search(rf'<tr id="job-{job.group(1)}" data-status="done">(.*?)</tr>', done, re.S)
        assert row is not None
        assert 'value="100"' in row.group(1)
        assert f'href="/region?plan={plan_id}"' in row.group(1)
        assert f'<tr id="plan-{plan_id}">' in done
        # The new plan is the latest: its offices lead the list on the dashboard.
        assert "«Пять с сайта»" in pages.get("/region").text
        assert len(re.findall(r'<tr id="next-\d{6}">', pages.get("/region").text)) == 5

    def test_a_stale_job_fails_and_a_supervisor_may_not_start_one(
        self, pages: TestClient, accounts: None, session: Session, clock: FrozenClock
    ) -> None:
        region_id = session.scalar(select(Region.id).where(Region.code == "37"))
        assert region_id is not None
        session.add(
            StaffJob(
                region_id=region_id,
                kind="simulation",
                parameters={"days": 3},
                status="running",
                progress=0.4,
                stage="смоделировано дней: 1 из 3",
                created_by="boss",
                created_at=TEST_NOW - timedelta(hours=1),
                heartbeat_at=TEST_NOW - timedelta(minutes=30),
            )
        )
        session.flush()
        pages.app.state.staff_jobs.threads = False  # type: ignore[attr-defined]
        assert pages.app.state.staff_jobs.run_pending() == 0  # type: ignore[attr-defined]
        _sign_in(pages, "boss")
        page = pages.get("/region/scenarios").text
        assert "не удалось" in page
        assert "сервис перезапускался" in page
        pages.cookies.clear()
        _sign_in(pages, "district1")
        token = _csrf(pages.get("/region/scenarios").text)
        refused = pages.post("/region/scenarios/simulations", data={"csrf": token, "days": "3"})
        assert refused.status_code == 403
        assert "руководитель региона" in refused.text
        assert 'id="start-plan"' not in pages.get("/region/scenarios").text


class TestWorkloadPages:
    def test_the_page_and_the_csv(
        self, pages: TestClient, accounts: None, session: Session, world: OfficeWorld
    ) -> None:
        world.shelved()
        world.shelved()
        _sign_in(pages, "boss")
        page = pages.get("/region/workload")
        assert page.status_code == 200
        assert "Нагрузка операторов за 19.11.2026–25.11.2026" in page.text
        office = re.search(r'<tbody id="workload-155650">(.*?)</tbody>', page.text, re.S)
        assert office is not None
        clerk = re.search(
            r'<tr class="clerk" data-clerk="pestyaki1">(.*?)</tr>', office.group(1), re.S
        )
        assert clerk is not None
        figures = re.findall(r'<td class="num">([^<]*)</td>', clerk.group(1))
        assert figures[1:4] == ["2", "2", "0"]  # accepted, shelved, issued
        csv_answer = pages.get("/region/workload.csv")
        assert csv_answer.status_code == 200
        assert csv_answer.headers["content-type"].startswith("text/csv")
        assert "attachment" in csv_answer.headers["content-disposition"]
        text = csv_answer.content.decode("utf-8")
        assert text.startswith("\ufeffИндекс;Отделение;Сотрудник;Логин;Часов на смене")
        lines = text.strip().splitlines()
        row = next(line for line in lines if ";pestyaki1;" in line).split(";")
        assert row[0] == "155650"
        assert row[5:8] == ["2", "2", "0"]
        assert any(line.split(";")[2] == "всего" for line in lines[1:])
        _sign_in_again = pages.get("/region/workload", params={"district": 999_999})
        assert _sign_in_again.status_code == 422
