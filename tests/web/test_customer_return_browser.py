"""«Возврат от покупателя» in headless Chromium against the real server: the clerk presses 6,
scans the buyer's return code, checks the units, accepts with the cash refund, and gets the
receipt and the return label. Saved to docs/screens/ at 1024×768."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import sessionmaker

from selpo.config import Settings
from selpo.db import create_db_engine, session_scope
from selpo.kit.clock import FrozenClock
from selpo.marketplace import service as marketplace_service
from selpo.migrate import upgrade_to_head
from selpo.network.importer import import_region
from selpo.returns import service as returns
from selpo.returns.schemas import ReturnCreate, ReturnItemIn
from selpo.shipment import service as shipment_service
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.world import cheap_password_hashing, make_world
from tests.web.conftest import new_page, screenshot, serve
from tests.web.test_browser import _goto, _press, _scan, _sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser
PEPPER = "browser-return-pepper"


@dataclass
class ReturnServer:
    base_url: str
    code: str
    order: str


@pytest.fixture(scope="module")
def return_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReturnServer]:
    """The real server over a scratch SQLite database: a COD order of two lines issued at
    Pestyaki two days ago (600 ₽ in cash), and its return of one plate registered."""
    folder = tmp_path_factory.mktemp("returns-live")
    url = f"sqlite:///{folder / 'selpo.db'}"
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    seeding = FrozenClock(TEST_NOW - timedelta(days=2))
    with cheap_password_hashing(), session_scope(sessionmaker(bind=engine)) as session:
        import_region(session, bundled_source(), clock=seeding)
        world = make_world(session, seeding)
        marketplace_service.set_returns(world.ozon, refund_cash=True)
        parcel, _ = world.shelved(two_items=True, cod=True)
        shipment_service.issue_to_recipient(
            session, shipment=parcel, now=seeding.now(), cod_method="cash"
        )
        registered = returns.register_return(
            session,
            marketplace=world.ozon,
            return_in=ReturnCreate(
                tracking_number=parcel.tracking_number,
                external_return_id="RET-BROWSER",
                reason="трещина на тарелке",
                items=[ReturnItemIn(position=1, quantity=2)],
            ),
            now=TEST_NOW - timedelta(hours=1),
            pepper=PEPPER,
        )
        order = parcel.tracking_number
    settings = Settings(database_url=url, pickup_code_pepper=PEPPER)
    with serve(settings, FrozenClock(TEST_NOW)) as base_url:
        yield ReturnServer(base_url, registered.return_code, order)
    engine.dispose()


def test_a_buyers_return_by_keyboard_and_scanner(
    browser: Browser, return_server: ReturnServer
) -> None:
    page = new_page(browser, return_server)
    _sign_in(page, "pestyaki1")
    _press(page, "8")
    assert "/customer-returns" in page.url
    screenshot(page, "20-customer-return-search")
    _scan(page, return_server.code)
    assert page.locator("#return-lines").is_visible()
    assert "Тарелка" in page.locator("#return-lines").inner_text()
    assert "500,00" in page.locator("#refund").inner_text()  # both plates: 500 ₽ of 600 ₽
    # The buyer brought one plate of the two: the clerk takes one.
    page.fill("#take-1", "1")
    screenshot(page, "21-customer-return-check")
    with page.expect_navigation():
        page.click("#accept")
    assert "/receipt" in page.url
    assert "Выдайте покупателю 250,00" in page.locator("#flash").inner_text()
    assert "250,00" in page.locator("#refunded").inner_text()
    number = page.locator("#return-number").inner_text().replace(" ", "").replace("\u00a0", "")
    assert number.startswith("155650")
    assert len(number) == 14
    screenshot(page, "22-customer-return-receipt")
    href = page.locator("#label").get_attribute("href")
    assert href is not None
    label = page.request.get(href)
    assert label.status == 200
    assert label.body().startswith(b"%PDF")
    # The same code again: the return is already taken.
    _goto(page, "/office/155650/customer-returns")
    _scan(page, return_server.code)
    assert "/receipt" in page.url
