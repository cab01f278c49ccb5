"""A scan on the start screen, «Поиск» by the phone's last digits, the issue by identity document,
the card payment and the sign-out, in headless Chromium against the real server, by keyboard
and scanner alone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.orm import sessionmaker

from selpo.config import Settings
from selpo.db import create_db_engine, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.network.importer import import_region
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.world import ALEKHINO, PASSWORD, cheap_password_hashing, make_world
from tests.web.conftest import new_page, screenshot, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

HOME = "/office/155650"


@dataclass
class Counter:
    """The live server and the parcels these tests work with."""

    base_url: str
    arrived: str  # accepted at Pestyaki, to shelve
    for_document: str  # waiting, recipient Шелёхова (phone …0022), no code at hand
    cod: str  # waiting, cash on delivery, recipient phone …0033
    foreign: str  # for Alekhino, with the same phone digits


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Counter]:
    folder = tmp_path_factory.mktemp("counter")
    url = f"sqlite:///{folder / 'selpo.db'}"
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    seeding = FrozenClock(TEST_NOW - timedelta(hours=5))
    with cheap_password_hashing(), session_scope(sessionmaker(bind=engine)) as session:
        import_region(session, bundled_source(), clock=seeding)
        world = make_world(session, seeding)
        world.ozon.issue_by_document = True
        world.pestyaki.accepts_card = True
        arrived = world.accepted().tracking_number
        for_document, _ = world.shelved(
            recipient={"name": "Шелёхова Анна Ивановна", "phone": "+79161110022"}
        )
        cod, _ = world.shelved(
            two_items=True,
            cod=True,
            recipient={"name": "Петров Пётр", "phone": "+79161110033"},
        )
        foreign = world.parcel(
            to=ALEKHINO, recipient={"name": "Шелехова Вера", "phone": "+79161110022"}
        )
        parcels = (arrived, for_document.tracking_number, cod.tracking_number)
        foreign_number = foreign.tracking_number
    settings = Settings(
        database_url=url,
        pickup_code_pepper="office-test-pepper",
        sms_log_path=folder / "sms.log",
    )
    with serve(settings, FrozenClock(TEST_NOW)) as base_url:
        yield Counter(base_url, *parcels, foreign_number)
    engine.dispose()


def _settle(page: Any) -> None:
    page.wait_for_function(
        "() => { const wanted = document.querySelector('[autofocus]');"
        " return !wanted || document.activeElement === wanted; }"
    )


def _press(page: Any, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)
    _settle(page)


def _sign_in(page: Any) -> None:
    page.goto("/office")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'login'")
    page.keyboard.type("pestyaki1")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    _press(page, "Enter")
    page.wait_for_url(f"**{HOME}")


def _focused(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement && document.activeElement.id"))


def test_a_scan_on_the_start_screen_opens_the_parcel_a_lone_digit_the_section(
    browser: Browser, counter: Counter
) -> None:
    page = new_page(browser, counter)
    _sign_in(page)
    assert _focused(page) in ("", "None")  # nothing focused: the clerk just scans
    page.keyboard.type(counter.arrived)  # a scanner: the digits at once, then Enter
    _press(page, "Enter")
    assert page.url.endswith(f"/shelving/{counter.arrived}")
    assert page.locator("#proposed").count() == 1
    _press(page, "Escape")  # back to the shelving list
    page.goto(HOME)
    _settle(page)
    _press(page, "3")  # one key alone is still the section's shortcut
    assert page.url.endswith("/issue")
    page.goto(HOME)
    _settle(page)
    page.keyboard.type(counter.foreign)
    _press(page, "Enter")
    assert page.url.endswith(HOME)
    assert "Посылка другого отделения" in page.locator("#flash").inner_text()


def test_search_by_the_phones_last_digits_then_issue_by_document(
    browser: Browser, counter: Counter
) -> None:
    page = new_page(browser, counter)
    _sign_in(page)
    _press(page, "6")
    assert page.url.endswith("/search")
    assert _focused(page) == "q"
    page.keyboard.type("0022")
    _press(page, "Enter")
    rows = page.locator("#results tbody tr")
    assert rows.count() == 1  # Alekhino's parcel with the same digits is never found
    assert rows.first.get_attribute("data-tracking") == counter.for_document
    text = rows.first.inner_text()
    assert "Шелёхова А." in text
    assert "+7******0022" in text
    assert "Анна" not in text
    screenshot(page, "20-search")
    # Tab to the row's «Выдать» and open it: the number is filled in, the phone digits asked.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.textContent.trim()") == "Выдать":
            break
    _press(page, "Enter")
    assert _focused(page) == "phone_last4"
    page.keyboard.type("0022")
    _press(page, "Enter")
    assert page.url.endswith(f"/issue/{counter.for_document}")
    # No code: the recipient shows a passport.
    page.locator("#document-type").focus()
    page.keyboard.press("Tab")
    assert _focused(page) == "document-last4"
    page.keyboard.type("4521")
    page.keyboard.press("Tab")
    page.keyboard.type("ШЕЛЕХОВА")
    _press(page, "Enter")
    assert "Документ проверен (паспорт РФ …4521)" in page.content()
    assert page.locator("#recipient").inner_text() == "Шелёхова Анна Ивановна"
    _press(page, "Enter")  # on to the payment (nothing due)
    _press(page, "Enter")  # issue
    assert "/receipt/" in page.url
    assert page.locator("#receipt-number").inner_text().startswith("155650-")
    assert page.locator("#identification").inner_text() == "паспорт РФ …4521"
    assert page.locator("#clerk-name").inner_text() == "pestyaki1"
    assert page.locator("#office-address").inner_text()
    screenshot(page, "21-receipt-by-document")


def test_card_payment_shows_the_card_fields_only(browser: Browser, counter: Counter) -> None:
    page = new_page(browser, counter)
    _sign_in(page)
    page.goto(f"{HOME}/issue?tracking={counter.cod}")
    _settle(page)
    page.keyboard.type("0033")
    _press(page, "Enter")
    page.locator("#document-type").focus()
    page.keyboard.press("Tab")
    page.keyboard.type("7788")
    page.keyboard.press("Tab")
    page.keyboard.type("Петров")
    _press(page, "Enter")
    _press(page, "Enter")  # the items: on to the payment
    assert page.locator("#cash-fields").is_visible()
    assert not page.locator("#card-fields").is_visible()
    page.locator("#method-cash").focus()
    page.keyboard.press("ArrowDown")  # the radio group: card
    assert page.locator("#method-card").is_checked()
    assert not page.locator("#cash-fields").is_visible()
    assert page.locator("#card-fields").is_visible()
    assert "Сдача" not in page.locator("form.pay").inner_text()
    screenshot(page, "22-card-payment")


def test_sign_out_by_keyboard_with_a_visible_focus(browser: Browser, counter: Counter) -> None:
    page = new_page(browser, counter)
    _sign_in(page)
    for _ in range(10):
        page.keyboard.press("Tab")
        if _focused(page) == "sign-out":
            break
    assert _focused(page) == "sign-out"
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none"
    assert outline[1] != "0px"
    _press(page, "Enter")
    assert "/office/login" in page.url
    # And the shortcut, from any page.
    _sign_in(page)
    page.goto(f"{HOME}/day")
    _settle(page)
    _press(page, "Alt+q")
    assert "/office/login" in page.url
