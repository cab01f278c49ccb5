"""The clerk's day in headless Chromium against the real server, by keyboard and scanner alone.

A barcode scanner is a keyboard that types the code and presses Enter, so every step below is
typed keys: no clicks. Each screen is saved to docs/screens/ at 1024×768.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from selpo.shipment.tracking import make_tracking_number
from tests.office.world import PASSWORD
from tests.web.conftest import LiveServer, new_page, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def _settle(page: Any) -> None:
    """Wait until the page's autofocus took the focus (Chromium applies it after "load")."""
    page.wait_for_function(
        "() => { const wanted = document.querySelector('[autofocus]');"
        " return !wanted || document.activeElement === wanted; }"
    )


def _goto(page: Any, path: str) -> None:
    page.goto(path)
    _settle(page)


def _press(page: Any, key: str) -> None:
    """Press a key that leads to another page, and wait for it (and for its autofocus)."""
    with page.expect_navigation():
        page.keyboard.press(key)
    _settle(page)


def _scan(page: Any, barcode: str) -> None:
    """What a scanner does: type the code, press Enter."""
    page.keyboard.type(barcode)
    _press(page, "Enter")


def _queued(page: Any, barcode: str) -> None:
    """A scan on a screen with the scan queue (acceptance, shelving, returns): no new page,
    the field clears at once and the scan's result comes into the list (and the banner)."""
    before = page.locator("#queue li").count()
    page.keyboard.type(barcode)
    page.keyboard.press("Enter")
    assert page.locator("[data-scan]").input_value() == ""
    page.wait_for_function(
        f"() => document.querySelectorAll('#queue li').length > {before}"
        " && !document.querySelector('#queue li[data-state=sending], #queue li[data-state=queued]')"
    )


def _parcel_for_shelf(page: Any, barcode: str) -> None:
    """The first scan of a shelving: the parcel (its cell is proposed in the page)."""
    page.keyboard.type(barcode)
    page.keyboard.press("Enter")
    page.locator("#next-cell").wait_for()


def _banner(page: Any) -> tuple[str, str]:
    banner = page.locator("#flash")
    return str(banner.get_attribute("class")), str(banner.inner_text())


def _login_focused(page: Any) -> None:
    """Wait until autofocus has put the cursor in the login field (on a loaded machine it
    lands a moment after the page's load event), so the scanner's first keystrokes count."""
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'login'")


def _sign_in(page: Any, login: str) -> None:
    _goto(page, "/office")
    assert "/office/login" in page.url
    _login_focused(page)
    page.keyboard.type(login)  # the login field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    _press(page, "Enter")


def _wrong_check_digit(number: str) -> str:
    return number[:13] + str((int(number[13]) + 1) % 10)


def test_a_clerks_day_by_keyboard_and_scanner(browser: Browser, live_server: LiveServer) -> None:
    p = live_server.parcels
    page = new_page(browser, live_server)

    # Sign in.
    _goto(page, "/office")
    screenshot(page, "01-login")
    _login_focused(page)
    page.keyboard.type("pestyaki1")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    _press(page, "Enter")
    page.wait_for_url("**/office/155650")
    assert page.locator("h1").inner_text() == "Что ждёт в отделении"
    screenshot(page, "02-home")

    # 1 — acceptance of a delivery outside a run (no timetable here: nothing is expected; by a
    # run's manifest: test_acceptance_by_run.py), with every kind of scan.
    _press(page, "1")
    assert "Начать приёмку" in page.content()
    _press(page, "Enter")
    assert page.locator("#barcode").evaluate("el => el === document.activeElement")
    _queued(page, p.issue_full)
    tone, text = _banner(page)
    assert "ok" in tone
    assert "Принята: OZON" in text
    _queued(page, p.issue_partly)
    page.keyboard.press("F2")  # the next parcel is damaged
    assert page.locator("#damaged").is_checked()
    _queued(page, p.damaged)
    assert "Отмечена как повреждённая" in _banner(page)[1]
    _queued(page, p.foreign)
    tone, text = _banner(page)
    assert "error" in tone
    assert "Чужая посылка — вернуть в доставку. Её отделение: 155654 Алехино." in text
    _queued(page, p.issue_full)
    assert "warn" in _banner(page)[0]
    assert "Уже отсканирована" in _banner(page)[1]
    _queued(page, make_tracking_number("153950", "11", 99_999))
    assert "Неизвестный штрихкод" in _banner(page)[1]
    _queued(page, _wrong_check_digit(p.missing))
    assert "Неверная контрольная цифра" in _banner(page)[1]
    assert page.locator("#accepted-count").inner_text() == "3"
    assert page.locator("#barcode").evaluate("el => el === document.activeElement")
    screenshot(page, "03-acceptance")
    _press(page, "F9")  # close (the confirmation is answered with Enter by a person)
    assert page.locator("h1").inner_text().endswith("акт расхождений")
    assert "без рейса" in page.locator("#run").inner_text()
    assert page.locator("#missing-count").inner_text() == "0"  # nothing was expected
    assert page.locator("#missorted-count").inner_text() == "1"
    assert page.locator("#unexpected-count").inner_text() == "1"
    assert page.locator("#damaged-count").inner_text() == "1"
    assert "155654 Алехино" in page.locator("#missorted").inner_text()
    screenshot(page, "04-acceptance-report")

    # 2 — shelving: the proposed cell with Enter, or a scanned cell label.
    _press(page, "2")
    _parcel_for_shelf(page, p.issue_full)
    assert page.locator("#proposed").inner_text() == "S-01"  # S-10 holds an expired parcel
    screenshot(page, "06-shelve-parcel")
    _queued(page, "")  # Enter: the proposed cell
    assert "в ячейке S-01" in _banner(page)[1]
    _parcel_for_shelf(page, p.issue_partly)
    _queued(page, "Ы-05")  # S-05 typed through the Russian keyboard layout
    assert "в ячейке S-05" in _banner(page)[1]
    _parcel_for_shelf(page, p.damaged)
    _queued(page, "")
    assert "в ячейке S-02" in _banner(page)[1]
    assert page.locator("#cellmap .cellrow .cell.ready").count() == 3
    assert page.locator("#cellmap .cellrow .cell.expired").count() == 1
    screenshot(page, "05-shelving")

    # 3 — issue by the code from the SMS, in full.
    _press(page, "Escape")
    _press(page, "3")
    screenshot(page, "07-issue-search")
    _scan(page, live_server.sms_code(p.issue_full))
    assert page.locator("#recipient").inner_text() == "Иванова Мария Петровна"
    assert page.locator("#cell").inner_text() == "S-01"
    screenshot(page, "08-issue-parcel")
    _press(page, "Enter")  # next: payment (nothing due)
    _press(page, "Enter")  # issue
    assert "Заказ оплачен заранее." in page.locator("#receipt").inner_text()

    # 3 — partial issue: one plate refused, the rest paid in cash with change.
    _press(page, "Escape")
    _scan(page, live_server.sms_code(p.issue_partly))
    page.keyboard.press("Shift+Tab")  # from "next" back to the plates' quantity
    page.keyboard.press("Control+a")
    page.keyboard.type("1")
    _press(page, "Enter")
    assert page.locator("#due").inner_text().startswith("350,00")
    page.keyboard.type("500")
    assert page.locator("#change").inner_text().startswith("150,00")
    screenshot(page, "09-payment")
    _press(page, "Enter")
    receipt = page.locator("#receipt").inner_text()
    assert "Тарелка" in receipt
    assert page.locator("#change").inner_text().startswith("150,00")
    screenshot(page, "10-receipt")
    page.emulate_media(media="print")  # what the printer gets: the receipt alone
    assert not page.locator("nav.menu").is_visible()
    screenshot(page, "10-receipt-print")
    page.emulate_media(media="screen")

    # 4 — returns: the expired parcel and the rest of the partial one go back.
    _press(page, "Escape")
    _press(page, "Escape")
    _press(page, "4")
    to_return = page.locator("#to-return").inner_text()
    assert "S-10" in to_return
    assert "выдана частично" in to_return
    _queued(page, p.expired)
    assert "Ячейка S-10 свободна." in _banner(page)[1]
    _queued(page, p.issue_partly)
    assert "оформлена в возврат" in _banner(page)[1]
    _queued(page, p.issue_full)
    assert "Уже выдано" in _banner(page)[1]
    screenshot(page, "11-returns")

    # 5 — the end of the day.
    _press(page, "Escape")
    _press(page, "5")
    assert page.locator("#received").inner_text() == "3"
    assert page.locator("#issued").inner_text() == "1"
    assert page.locator("#issued-partly").inner_text() == "1"
    assert page.locator("#returned").inner_text() == "2"
    assert page.locator("#cash-total").inner_text().startswith("350,00")
    screenshot(page, "12-day")
    page.emulate_media(media="print")
    screenshot(page, "12-day-print")
    page.emulate_media(media="screen")
    page.context.close()


def test_a_clerk_of_another_office_is_refused(browser: Browser, live_server: LiveServer) -> None:
    page = new_page(browser, live_server)
    _sign_in(page, "alekhino1")
    page.wait_for_url("**/office/155654")
    _goto(page, "/office/155650/acceptance")
    assert "Нет доступа: отделение 155650 не ваше" in page.locator("#flash").inner_text()
    screenshot(page, "13-forbidden")
    _goto(page, "/office/155654/acceptance")
    _press(page, "Enter")
    _queued(page, live_server.parcels.missing)
    tone, text = _banner(page)
    assert "error" in tone
    assert "Чужая посылка — вернуть в доставку. Её отделение: 155650 Пестяки." in text
    page.context.close()


def test_a_supervisor_chooses_an_office_of_the_district(
    browser: Browser, live_server: LiveServer
) -> None:
    page = new_page(browser, live_server)
    _sign_in(page, "district1")
    choices = page.locator("ol.choices").inner_text()
    assert "155650 Пестяки" in choices
    assert "155654 Алехино" in choices
    _press(page, "Enter")  # the first office has the focus
    page.wait_for_url("**/office/155650")
    page.context.close()
