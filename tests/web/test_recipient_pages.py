"""The recipient's pages: the tracking form at /, a parcel at /t/{number}, no personal data,
Russian 404 and 429 pages; and on a 360 px phone with JavaScript off, in real Chromium."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from selpo.app import create_app
from selpo.config import Settings
from selpo.kit.clock import FrozenClock
from selpo.models import PostOffice, Shipment
from selpo.shipment import recipient_view
from selpo.shipment import service as shipment_service
from selpo.shipment.tracking import make_tracking_number
from tests.office.world import PESTYAKI, OfficeWorld
from tests.web.conftest import LiveServer, screenshot

NAME = "Иванова Мария Петровна"  # the builders' recipient
PHONE_FORMS = ("+79161234567", "79161234567", "9161234567", "916 123-45-67")


def _text(html: str) -> str:
    """The page's words without tags (and the no-break spaces as spaces)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")


def _lookup_app(
    seeded_engine: Engine,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
    **extra: float,
) -> FastAPI:
    settings = Settings(
        database_url=seeded_engine.url.render_as_string(hide_password=False),
        rate_limit_per_key=0,
        **extra,  # type: ignore[arg-type]
    )
    application = create_app(settings, clock=clock)
    application.state.session_factory = session_factory
    return application


@pytest.fixture
def strict(
    seeded_engine: Engine, session_factory: sessionmaker[Session], clock: FrozenClock
) -> Iterator[TestClient]:
    """A client of an app that allows 3 lookups a minute per address."""
    application = _lookup_app(
        seeded_engine, session_factory, clock, rate_limit_tracking_per_minute=3
    )
    with TestClient(application, follow_redirects=False) as client:
        yield client
    application.state.engine.dispose()


class TestTheForm:
    def test_the_home_page_is_a_russian_form_that_needs_no_script(self, pages: TestClient) -> None:
        response = pages.get("/")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert '<html lang="ru">' in html
        assert "Где моя посылка?" in html
        assert re.search(r'<form method="get" action="/t"', html)
        assert 'name="number"' in html
        assert "<script" not in html
        assert re.search(r'href="/static/recipient/recipient\.[0-9a-f]+\.css"', html)
        assert "http://" not in html  # nothing from elsewhere
        assert "https://" not in html

    @pytest.mark.parametrize(
        ("typed", "target"),
        [
            ("15395026000014", "/t/15395026000014"),
            (" 1539 5026\u00a00000-14 ", "/t/15395026000014"),
            ("abc", "/t/abc"),
        ],
    )
    def test_the_form_goes_to_the_parcels_own_address(
        self, pages: TestClient, typed: str, target: str
    ) -> None:
        response = pages.get("/t", params={"number": typed})
        assert response.status_code == 303
        assert response.headers["location"] == target

    def test_an_empty_form_goes_home(self, pages: TestClient) -> None:
        response = pages.get("/t", params={"number": "  "})
        assert response.status_code == 303
        assert response.headers["location"] == "/"

    def test_the_stylesheet_is_served_with_cache_control(self, pages: TestClient) -> None:
        response = pages.get("/static/recipient/recipient.css")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/css")
        assert "max-age=" in response.headers["cache-control"]
        assert "@media" in response.text

    def test_the_page_links_the_stylesheet_by_its_content_hash_for_good(
        self, pages: TestClient
    ) -> None:
        found = re.search(
            r'href="(/static/recipient/recipient\.[0-9a-f]+\.css)"', pages.get("/").text
        )
        assert found is not None
        response = pages.get(found.group(1))
        assert response.status_code == 200
        assert "immutable" in response.headers["cache-control"]
        assert "@media" in response.text


class TestAParcel:
    def test_a_waiting_parcel_shows_status_office_deadline_and_amount(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        shipment, _ = world.shelved(two_items=True, cod=True)
        response = pages.get(f"/t/{shipment.tracking_number}")
        assert response.status_code == 200
        text = _text(response.text)
        assert "Ждёт получателя" in text
        assert f"Отделение {PESTYAKI}" in text
        assert world.pestyaki.address in text
        assert shipment.storage_deadline is not None
        deadline = shipment.storage_deadline.astimezone(ZoneInfo(world.pestyaki.timezone))
        assert f"Ждёт вас до {deadline:%d.%m.%Y} включительно" in text
        assert "К оплате 600,00 ₽ при получении, наличными" in text
        assert "Часы работы (время местное)" in text
        assert "сегодня, ср, 25 ноября" in text  # TEST_NOW in the office's zone
        assert "Ждёт вас в отделении" in text  # the history in words
        assert "Прибыл в отделение" in text
        assert "Передан в доставку" in text

    def test_nothing_personal_and_no_pickup_code(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        shipment, code = world.shelved(two_items=True, cod=True)
        html = pages.get(f"/t/{shipment.tracking_number}").text
        assert NAME not in html
        for part in NAME.split():
            assert part not in html
        for phone in PHONE_FORMS:
            assert phone not in html
        assert "4567" not in html.replace(shipment.tracking_number, "")
        assert shipment.external_order_id not in html
        assert shipment.cell_code
        assert shipment.cell_code not in html
        assert "OZON" not in html
        # The six digits of the code appear nowhere but, by chance, inside the number.
        assert code not in html.replace(shipment.tracking_number, "").replace(
            "\u00a0".join(
                (
                    shipment.tracking_number[:6],
                    shipment.tracking_number[6:8],
                    shipment.tracking_number[8:13],
                    shipment.tracking_number[13],
                )
            ),
            "",
        )

    def test_the_view_has_no_field_for_personal_data(self) -> None:
        fields = {f.name for f in dataclasses.fields(recipient_view.RecipientView)}
        personal = {"recipient_name", "recipient_phone", "phone_last4", "pickup_code_hash"}
        assert not fields & (personal | {"cell_code", "external_order_id", "marketplace_id"})

    def test_a_parcel_on_its_way_shows_no_deadline_and_its_promised_day(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        shipment = world.parcel()
        text = _text(pages.get(f"/t/{shipment.tracking_number}").text)
        assert "В пути" in text
        assert "Ждёт вас до" not in text
        assert "К оплате" not in text  # no cash on delivery

    def test_an_issued_parcel_asks_for_no_money(
        self, pages: TestClient, world: OfficeWorld, session: Session
    ) -> None:
        shipment, _ = world.shelved(two_items=True, cod=True)
        assert "К оплате 600,00 ₽" in _text(pages.get(f"/t/{shipment.tracking_number}").text)
        shipment_service.issue_to_recipient(
            session, shipment=shipment, now=world.clock.now(), cod_method="cash"
        )
        text = _text(pages.get(f"/t/{shipment.tracking_number}").text)
        assert "Выдана" in text
        assert "Выдан " in text  # the history's last step
        assert "К оплате" not in text
        assert "Часы работы" not in text

    def test_the_page_headers(self, pages: TestClient, world: OfficeWorld) -> None:
        shipment = world.parcel()
        response = pages.get(f"/t/{shipment.tracking_number}")
        assert response.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-robots-tag"] == "noindex"


class TestNotFound:
    @pytest.mark.parametrize(
        "number",
        [
            make_tracking_number("155650", "26", 99_999),  # well formed, never issued
            "15395026000015",  # a wrong check digit
            "12345",
            "не номер",
            "x" * 300,
        ],
    )
    def test_an_unknown_or_malformed_number_is_a_russian_404(
        self, pages: TestClient, world: OfficeWorld, number: str
    ) -> None:
        response = pages.get(f"/t/{number}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "Не найдено" in response.text
        assert 'action="/t"' in response.text  # the form again

    def test_a_sandbox_parcel_is_not_shown(
        self, pages: TestClient, world: OfficeWorld, session: Session
    ) -> None:
        if not hasattr(Shipment, "sandbox"):
            pytest.skip("shipments have no sandbox flag in this schema")
        shipment = world.parcel()
        setattr(shipment, "sandbox", True)  # noqa: B010 (a column the sandbox branch adds)
        session.flush()
        assert pages.get(f"/t/{shipment.tracking_number}").status_code == 404


class TestRateLimit:
    def test_past_the_limit_a_russian_429_with_retry_after(
        self, strict: TestClient, world: OfficeWorld
    ) -> None:
        known = world.parcel().tracking_number
        answers = [strict.get(f"/t/{known}").status_code for _ in range(3)]
        assert answers == [200, 200, 200]
        refused = strict.get(f"/t/{make_tracking_number('155650', '26', 4242)}")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "Слишком много запросов" in refused.text
        assert re.search(r"через \d+ секунд", refused.text)
        assert refused.headers["cache-control"] == "no-store"
        # The form and the redirect spend nothing: only lookups are counted.
        assert strict.get("/").status_code == 200
        assert strict.get("/t", params={"number": known}).status_code == 303

    def test_the_limit_can_be_turned_off(
        self, seeded_engine: Engine, session_factory: sessionmaker[Session], clock: FrozenClock
    ) -> None:
        application = _lookup_app(
            seeded_engine, session_factory, clock, rate_limit_tracking_per_minute=0
        )
        with TestClient(application) as client:
            codes = {client.get("/t/15395026000015").status_code for _ in range(40)}
        application.state.engine.dispose()
        assert codes == {404}


class TestOfficeDays:
    def test_a_public_holiday_has_no_hours(self, session: Session) -> None:
        office = session.query(PostOffice).filter_by(index=PESTYAKI).one()
        days = recipient_view.office_days(office, date(2026, 11, 3), 3)
        assert [d.day for d in days] == [date(2026, 11, 3), date(2026, 11, 4), date(2026, 11, 5)]
        assert days[1].holiday  # 4 November, Unity Day
        assert days[1].hours == ()
        assert not days[0].holiday
        assert days[0].hours == tuple(tuple(h) for h in office.opening_hours[1])  # a Tuesday
        assert days[0].hours


# ---------------------------------------------------------------------------- real Chromium


def test_a_phone_without_javascript_tracks_a_parcel(
    live_server: LiveServer, browser: object
) -> None:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 360, "height": 640},
        java_script_enabled=False,
        locale="ru-RU",
        base_url=live_server.base_url,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=1,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/")
    assert page.locator("h1").inner_text() == "Где моя посылка?"
    number = live_server.parcels.issue_partly  # on its way, cash on delivery
    page.fill("#number", f"{number[:4]} {number[4:8]} {number[8:]}")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/t/{number}")
    assert page.locator("#status").inner_text() == "В пути"
    assert "Отделение 155650" in page.locator("#office").inner_text()
    assert "600,00" in page.locator("#to-pay").inner_text()
    screenshot(page, "recipient-parcel")  # 360×640, as the phone shows it
    for url in (page.url, f"{live_server.base_url}/", f"{live_server.base_url}/t/1"):
        widths = _widths(context, url)
        assert widths[0] <= widths[1] <= 360, f"{url} scrolls sideways: {widths}"
    page.goto("/t/15395026000015")
    assert page.locator("h1").inner_text() == "Не найдено"
    assert all(url.startswith(live_server.base_url) for url in requests)
    context.close()


def _widths(context: object, url: str) -> tuple[int, int]:
    """The page's scroll width and the viewport's, measured in a scripted twin of the page
    (the phone's own context runs no script at all)."""
    browser = context.browser  # type: ignore[attr-defined]
    twin = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True)
    page = twin.new_page()
    page.goto(url)
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    twin.close()
    return int(widths[0]), int(widths[1])
