"""The regional dashboard in headless Chromium against the real server: the Leaflet map with
its markers coloured by status, an office's popup, the KPI table, the scenarios side by side,
a supervisor's and a clerk's view. Screens go to docs/screens/region-*.png at 1024×768.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from selpo.config import Settings
from selpo.db import create_db_engine, session_scope
from selpo.kit.clock import FrozenClock
from selpo.logistics import promises, timetables
from selpo.migrate import upgrade_to_head
from selpo.models import Marketplace, MarketplaceConnection, PostOffice
from selpo.network.importer import import_region
from selpo.office import auth
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate
from selpo.shipment.service import PickupPolicy
from tests.conftest import TEST_NOW
from tests.fixtures.builders import two_item_payload
from tests.fixtures.regions import bundled_source
from tests.office.world import ALEKHINO, PASSWORD, cheap_password_hashing, make_world
from tests.web.conftest import new_page, screenshot, serve
from tests.web.region_data import add_comparison, add_plan, add_run, unconnected_offices

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

POLICY = PickupPolicy(pepper="browser-test-pepper")
SERVING_FILL = "#2b8a3e"
PLANNED_FILL = "#1c7ed6"


@dataclass
class RegionServer:
    """selpo under uvicorn with a week of parcels, a timetable, a plan and simulation runs."""

    base_url: str
    engine: Engine
    offices: int
    serving: int
    planned: int
    serving_names: set[str]


def _same_day(at: datetime) -> Callable[[str], date | None]:
    """A promise for the day of the hand-over: the parcel comes late."""
    return lambda _index: at.date()


def _week_of_parcels(session: Session, start: datetime) -> None:
    """Parcels at a dozen serving offices outside Pestyaki's district, through the real
    services with the timetable's promise: shelved (some late), half of them issued, a third
    with cash on delivery."""
    pairs = session.execute(
        select(PostOffice.index, Marketplace)
        .join(MarketplaceConnection, MarketplaceConnection.post_office_id == PostOffice.id)
        .join(Marketplace, MarketplaceConnection.marketplace_id == Marketplace.id)
        .where(MarketplaceConnection.status == "active", PostOffice.index.not_like("1556%"))
        .order_by(PostOffice.index, Marketplace.code)
    ).all()[:14]
    n = 0
    for office_index, marketplace in pairs:
        for _ in range(3 + len(office_index) % 2 + n % 4):
            n += 1
            at = start + timedelta(hours=(5 * n) % 48)
            payload = two_item_payload(f"WEEK-{n}", cod=n % 3 == 0)
            payload["destination_index"] = office_index
            created = shipment_service.create_shipments(
                session,
                marketplace=marketplace,
                shipments_in=[ShipmentCreate.model_validate(payload)],
                now=at,
                promise=_same_day(at) if n % 5 == 0 else promises.promised_dates(session, now=at),
            )[0]
            assert created.shipment is not None, created.error
            number = created.shipment.tracking_number
            late = n % 5 == 0
            arrived = at + timedelta(days=1)
            for code, moment in (("handed_over", at), ("arrived_at_office", arrived)):
                shipment_service.record_scan(
                    session, tracking_number=number, code=code, occurred_at=moment, now=moment
                )
            shipment = shipment_service.get_shipment(
                session, marketplace_id=None, tracking_number=number
            )
            ready = arrived + timedelta(hours=1)
            shipment_service.make_ready_for_pickup(
                session, shipment=shipment, now=ready, policy=POLICY, cell_code=f"S-{n:02d}"
            )
            if n % 2 == 0 and not late:
                shipment_service.issue_to_recipient(
                    session,
                    shipment=shipment,
                    now=ready + timedelta(hours=20),
                    cod_method="cash" if shipment.cod_kop else None,
                )


def _seed(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    start = TEST_NOW - timedelta(days=10)
    clock = FrozenClock(start)
    with session_scope(factory) as session:
        import_region(session, bundled_source(), clock=clock)
        timetables.generate_timetable(session, now=start, seed=7)
        world = make_world(session, clock)
        auth.add_manager(
            session, login="boss", password=PASSWORD, now=start, full_name="Смирнова Е. А."
        )
        auth.add_supervisor(
            session,
            district_name="Пестяковский район",
            login="district1",
            password=PASSWORD,
            now=start,
        )
        # A week at Pestyaki and Alekhino: parcels shelved, some issued (one with cash).
        clock.set(TEST_NOW - timedelta(days=5))
        paid, _ = world.shelved(two_items=True, cod=True)
        for _ in range(3):
            world.shelved()
        shipment_service.issue_to_recipient(
            session, shipment=paid, now=clock.now(), cod_method="cash", clerk="clerk:pestyaki1"
        )
        world.parcel(to=ALEKHINO)
        _week_of_parcels(session, TEST_NOW - timedelta(days=6))
        plan_offices = unconnected_offices(session, 113)
        plan = add_plan(session, [o.index for o in plan_offices], now=clock.now(), radius_km=10.0)
        add_comparison(session, now=clock.now(), plan_id=plan.id)
        add_run(session, label="История: ноябрь", connected=19, now=clock.now(), kind="history")
        offices = session.scalar(select(func.count(PostOffice.id))) or 0
        serving = (
            session.scalar(
                select(func.count(func.distinct(MarketplaceConnection.post_office_id))).where(
                    MarketplaceConnection.status == "active"
                )
            )
            or 0
        )
    return offices, serving, len(plan_offices)


@pytest.fixture(scope="module")
def region_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegionServer]:
    folder = tmp_path_factory.mktemp("region")
    url = f"sqlite:///{folder / 'selpo.db'}"
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    with cheap_password_hashing():
        offices, serving, planned = _seed(sessionmaker(bind=engine, expire_on_commit=False))
    with engine.connect() as connection:
        serving_names = set(
            connection.scalars(
                select(PostOffice.name)
                .join(MarketplaceConnection, MarketplaceConnection.post_office_id == PostOffice.id)
                .where(MarketplaceConnection.status == "active")
            )
        )
    settings = Settings(
        database_url=url, pickup_code_pepper="browser-test-pepper", sms_log_path=folder / "sms.log"
    )
    with serve(settings, FrozenClock(TEST_NOW)) as base_url:
        yield RegionServer(base_url, engine, offices, serving, planned, serving_names)
    engine.dispose()


def _sign_in(page: Any, login: str) -> None:
    page.goto("/region")
    assert "/office/login" in page.url
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def _map_loaded(page: Any) -> None:
    page.wait_for_function("() => document.querySelector('#map').dataset.loaded")
    page.wait_for_function("() => document.querySelectorAll('#map .hub-icon').length > 0")
    page.wait_for_function("() => document.querySelectorAll('#map path.route').length > 0")


def _fill(page: Any, selector: str) -> set[str]:
    return set(page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('fill'))"))


def test_a_manager_reads_the_map_the_figures_and_the_scenarios(
    browser: Browser, region_server: RegionServer
) -> None:
    page = new_page(browser, region_server)
    _sign_in(page, "boss")
    page.wait_for_url("**/region")
    assert "Данные смоделированы: История: ноябрь" in page.locator("#simulated").inner_text()
    _map_loaded(page)

    # Every office is a marker, coloured by its status; the legend counts them.
    assert page.locator("#map path.office").count() == region_server.offices
    assert page.locator("#map path.office-serving").count() == region_server.serving
    assert page.locator("#map path.office-planned").count() == region_server.planned
    assert page.locator("#map path.office-not_connected").count() > 0
    assert _fill(page, "#map path.office-serving") == {SERVING_FILL}
    assert _fill(page, "#map path.office-planned") == {PLANNED_FILL}
    assert page.locator("#count-serving").inner_text() == str(region_server.serving)
    assert page.locator("#count-planned").inner_text() == str(region_server.planned)
    # Coverage circles around serving (solid) and planned (dashed) offices.
    assert page.locator("#map path.coverage-serving").count() == region_server.serving
    assert page.locator("#map path.coverage-planned").count() == region_server.planned
    assert page.locator("#map path.coverage-planned").first.get_attribute("stroke-dasharray")
    # Nothing came from outside: no tiles, no other host.
    assert page.locator("#map img.leaflet-tile").count() == 0

    # An office's popup with its week.
    page.locator("#map path.office-155650").dispatch_event("click")
    popup = page.locator(".leaflet-popup-content .popup")
    popup.locator("table").wait_for()
    page.wait_for_timeout(400)  # the pan that brings the whole popup into view
    text = popup.inner_text()
    assert "155650 Пестяки" in text
    assert "Получено\t4" in text or "Получено 4" in text
    assert "Выдано\t1" in text or "Выдано 1" in text
    assert "Наложенный, OZON" in text
    assert "600,00" in text
    assert "Маркетплейсы:" in text
    assert "OZON" in text
    screenshot(page, "region-map")

    # The KPI table.
    with page.expect_navigation():
        page.get_by_role("link", name="Показатели").click()
    assert "Показатели районов за 19.11.2026–25.11.2026" in page.locator("h1").inner_text()
    row = page.locator("#kpi tbody tr", has_text="Пестяковский район")
    cells = row.locator("td").all_inner_texts()
    assert cells[2] == "4"  # received: the four shelved at Pestyaki
    assert cells[3] == "1"
    assert "Регион, всего" in page.locator("#total").inner_text()
    screenshot(page, "region-kpi")

    # The scenarios: the plan and today's offices against it, side by side.
    with page.expect_navigation():
        page.get_by_role("link", name="Сценарии").click()
    assert "Сто тринадцать" in page.locator("#plans").inner_text()
    comparison = page.locator("section.comparison", has_text="plan-3")
    head = comparison.locator("thead").inner_text()
    assert "Сегодня: 19 отделений" in head
    assert "План №3: +113" in head
    connected = comparison.locator("tr[data-figure='connected_offices'] td").all_inner_texts()
    assert connected[1:] == ["19", "132", "+113"]
    screenshot(page, "region-scenarios")

    # A run's own page: its districts and its busiest offices.
    with page.expect_navigation():
        comparison.get_by_role("link", name="Сегодня: 19 отделений").click()
    assert "Прогон №" in page.locator("h1").inner_text()
    assert "Пестяковский район" in page.locator("#districts").inner_text()
    assert "1\u00a0172" in page.locator("#offices").inner_text()
    screenshot(page, "region-run")
    page.context.close()


def test_a_supervisor_opens_only_the_districts_offices(
    browser: Browser, region_server: RegionServer
) -> None:
    page = new_page(browser, region_server)
    _sign_in(page, "district1")
    page.wait_for_url("**/region")
    _map_loaded(page)
    # The map opens on the district and loads the offices around it (cut by the view's box).
    around = page.locator("#map path.office").count()
    assert page.locator("#map path.office-155650").count() == 1
    assert around < region_server.offices
    # Zoomed out, the map loads the region around: the other districts' offices come too.
    for _ in range(2):
        page.locator(".leaflet-control-zoom-out").click()
        page.wait_for_timeout(400)
    page.wait_for_function(
        f"() => Number(document.querySelector('#map').dataset.loaded) > {around}"
    )
    assert page.locator("#map path.office-foreign").count() > 0
    page.locator("#map path.office-foreign").first.dispatch_event("click")
    foreign = page.locator(".leaflet-popup-content .popup")
    foreign.wait_for()
    assert "только по отделениям вашего района" in foreign.inner_text()
    page.locator("#map path.office-155654").dispatch_event("click")
    own = page.locator(".leaflet-popup-content .popup table")
    own.wait_for()
    assert "Получено" in own.inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name="Показатели").click()
    assert page.locator("#kpi tbody tr").count() > 1
    assert "Район, всего" in page.locator("#total").inner_text()
    assert "Регион" not in page.locator("#kpi").inner_text()
    page.context.close()


def test_a_clerk_is_refused_in_words(browser: Browser, region_server: RegionServer) -> None:
    page = new_page(browser, region_server)
    _sign_in(page, "pestyaki1")
    page.goto("/region")
    assert page.locator("h1").inner_text() == "Нет доступа"
    assert "для руководителя и начальников районов" in page.locator("#flash").inner_text()
    screenshot(page, "region-forbidden")
    page.context.close()


# ---------------------------------------------------------------------------- issue 14, item 8


def test_the_date_picker_starts_the_week_on_monday(
    browser: Browser, region_server: RegionServer
) -> None:
    page = new_page(browser, region_server)
    _sign_in(page, "boss")
    page.wait_for_url("**/region")
    page.goto("/region/kpi")
    field = page.locator("input[name='from']")
    assert field.input_value() == "19.11.2026"
    assert field.get_attribute("type") == "text"
    page.locator("input[name='from'] + .picker-open").click()
    picker = page.locator(".picker")
    picker.wait_for()
    assert picker.locator(".picker-title").inner_text() == "ноябрь 2026"
    assert picker.locator("thead th").all_inner_texts() == [
        "Пн",
        "Вт",
        "Ср",
        "Чт",
        "Пт",
        "Сб",
        "Вс",
    ]
    # 1 November 2026 is a Sunday: the first row is Monday 26 October .. Sunday 1 November.
    first_row = picker.locator("tbody tr").first.locator("button").all_inner_texts()
    assert first_row == ["26", "27", "28", "29", "30", "31", "1"]
    assert picker.locator("tbody tr").nth(1).locator("button").first.inner_text() == "2"
    # The chosen day has the focus; arrows move it, Enter writes it.
    assert page.evaluate("document.activeElement.dataset.day") == "19.11.2026"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.day") == "26.11.2026"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    assert field.input_value() == "20.11.2026"
    assert page.locator(".picker").count() == 0
    page.locator("input[name='from'] + .picker-open").click()
    page.locator(".picker .picker-prev").click()
    assert page.locator(".picker .picker-title").inner_text() == "октябрь 2026"
    page.locator(".picker button.picker-day:not(.other)", has_text="12").first.click()
    assert field.input_value() == "12.10.2026"
    with page.expect_navigation():
        page.get_by_role("button", name="Показать").click()
    assert "Показатели районов за 12.10.2026–25.11.2026" in page.locator("h1").inner_text()
    assert "from=12.10.2026" in page.url
    page.context.close()


def test_offices_are_named_on_the_map(browser: Browser, region_server: RegionServer) -> None:
    page = new_page(browser, region_server)
    _sign_in(page, "boss")
    page.wait_for_url("**/region")
    _map_loaded(page)
    # Hovering a marker names it (the hub's square sits on Pestaki's marker: the event itself).
    page.locator("#map path.office-155650").dispatch_event("mouseover")
    tooltip = page.locator(".leaflet-tooltip.office-tooltip")
    tooltip.wait_for()
    assert tooltip.inner_text() == "155650 Пестяки"
    # Zoomed in, names stand beside the markers: serving and planned offices first ...
    assert page.locator("#map .office-label").count() == 0  # the whole region: no names
    page.locator(".leaflet-control-zoom-in").click()
    page.wait_for_function("() => document.querySelectorAll('#map .office-label').length > 0")
    assert page.locator("#map .office-label-not_connected").count() == 0
    serving = set(page.locator("#map .office-label-serving").all_inner_texts())
    assert serving
    assert serving <= region_server.serving_names
    # ... and every office closer in (a supervisor's map opens on the district).
    closer = new_page(browser, region_server)
    _sign_in(closer, "district1")
    closer.wait_for_url("**/region")
    _map_loaded(closer)
    assert "Пестяки" in closer.locator("#map .office-label-serving").all_inner_texts()
    for _ in range(4):
        if closer.locator("#map .office-label-not_connected").count():
            break
        closer.locator(".leaflet-control-zoom-in").click()
        closer.wait_for_timeout(500)
    others = closer.locator("#map .office-label-not_connected").all_inner_texts()
    assert others
    assert all(name and not name.isdigit() for name in others)
    screenshot(closer, "region-map-names")
    closer.context.close()
    # The ranked list of the latest plan under the map.
    assert page.locator("#next-list tbody tr").count() == 15
    assert "Сто тринадцать" in page.locator("#next-offices").inner_text()
    page.context.close()


def test_the_dispatchers_pdf_opens_in_the_session(
    browser: Browser, region_server: RegionServer
) -> None:
    page = new_page(browser, region_server)
    _sign_in(page, "district1")
    page.goto("/office/dispatch?date=26.11.2026")
    assert page.locator("h1").inner_text() == "Рейсы на 26.11.2026"
    link = page.locator("a.pdf").first
    href = link.get_attribute("href")
    assert href is not None
    answer = page.request.get(href)  # the page's own cookies: the signed-in session
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF")
    # The manifest page's link is the same; signed out, the PDF sends to the sign-in page.
    with page.expect_navigation():
        page.locator("table.sheet a").first.click()
    assert page.locator("a", has_text="PDF").get_attribute("href") == href
    page.context.clear_cookies()
    page.goto(href)
    assert "/office/login" in page.url
    assert page.locator("html").get_attribute("lang") == "ru"
    page.context.close()


def test_a_manager_starts_a_plan_and_watches_it_finish(
    browser: Browser, region_server: RegionServer
) -> None:
    page = new_page(browser, region_server)
    _sign_in(page, "boss")
    page.wait_for_url("**/region")
    page.goto("/region/scenarios")
    form = page.locator("#start-plan")
    form.locator("input[name='name']").fill("Три с сайта")
    form.locator("input[name='add']").fill("3")
    with page.expect_navigation():
        form.get_by_role("button", name="Рассчитать план").click()
    assert "#job-" in page.url
    row = page.locator("#jobs tbody tr").first
    assert "«Три с сайта», +3" in row.inner_text()
    # The page asks for the progress and reloads when the job ends.
    page.wait_for_selector("#jobs tbody tr[data-status='done']", timeout=90_000)
    done = page.locator("#jobs tbody tr").first
    assert "готово" in done.inner_text()
    assert done.locator("progress").get_attribute("value") == "100"
    assert "на карте" in done.locator(".job-result").inner_text()
    assert "Три с сайта" in page.locator("#plans").inner_text()
    screenshot(page, "region-jobs")
    page.context.close()
