"""«Приём вторсырья» in headless Chromium against the real server, by keyboard alone: a
resident's bag weighed, its receipt with the partner's coupon, its label, the next bag."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.orm import sessionmaker

from selpo.collection import rules, service
from selpo.db import session_scope
from tests.conftest import TEST_NOW
from tests.office.world import PASSWORD
from tests.web.conftest import LiveServer, new_page, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def _settle(page: Any) -> None:
    page.wait_for_function(
        "() => { const wanted = document.querySelector('[autofocus]');"
        " return !wanted || document.activeElement === wanted; }"
    )


def _press(page: Any, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)
    _settle(page)


def test_a_bag_taken_by_keyboard(browser: Browser, live_server: LiveServer) -> None:
    with session_scope(sessionmaker(bind=live_server.engine, expire_on_commit=False)) as session:
        service.add_partner(
            session,
            code="ECOTEX",
            name="ЭкоТекс",
            takes=["textile", "knitwear"],
            offices="155650",
            depot="DH-155650",
            now=TEST_NOW,
            coupon_prefix="ECO",
            coupon_min_g=1000,
            coupon_note="Скидка 10 % в магазинах ЭкоТекс",
        )
    page = new_page(browser, live_server)
    page.goto("/office")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'login'")
    page.keyboard.type("pestyaki1")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    _press(page, "Enter")
    page.wait_for_url("**/office/155650")

    _press(page, "7")  # the section's key
    assert page.locator("h1").inner_text() == "Приём вторсырья"
    assert page.locator("#weight").evaluate("el => el === document.activeElement")
    screenshot(page, "collection-01-form")

    # A reading off the scale that is no weight: refused, the form again.
    page.keyboard.type("50")
    _press(page, "Enter")
    assert "легче 100 г" in page.locator("#flash").inner_text()
    assert page.locator("#weight").evaluate("el => el === document.activeElement")

    # Knitwear (the second choice), 2 450 g.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.type("2450")
    _press(page, "Enter")
    assert page.locator("h1").inner_text() == "Мешок принят"
    code = page.locator("#bag-code").inner_text().replace(" ", "")
    assert rules.is_bag_code(code)
    receipt = page.locator("#receipt").inner_text()
    assert "Трикотаж для партнёра «ЭкоТекс»" in receipt
    assert page.locator("#weight").inner_text() == "2,45\u00a0кг"
    assert page.locator("#coupon").inner_text().startswith("ECO-")
    screenshot(page, "collection-02-receipt")
    page.emulate_media(media="print")  # what the printer gets: the receipt alone
    assert not page.locator("nav.menu").is_visible()
    assert page.locator("#receipt").is_visible()
    page.emulate_media(media="screen")

    label = page.request.get(str(page.locator("#label").get_attribute("href")))
    assert label.ok
    assert label.headers["content-type"] == "application/pdf"
    assert label.body().startswith(b"%PDF")

    _press(page, "Escape")  # the next bag: the form, the same choice kept
    assert page.locator("h1").inner_text() == "Приём вторсырья"
    assert page.locator("#what").input_value() == "ECOTEX:knitwear"
    assert "Сегодня: 1 мешок" in page.locator("main").inner_text()
    assert rules.spaced_bag_code(code) in page.locator("#today").inner_text()
