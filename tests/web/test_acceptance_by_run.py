"""Acceptance against the arriving run's manifest in headless Chromium, by keyboard and
scanner: the run is offered on the start screen, the page lists what its manifest carries,
and the report after closing names the missing parcel, the extra one (not on the manifest)
and another office's parcel to send back — each by its number.

The run is real: the timetable imported from CSV and the van departed by the worker job on a
scratch SQLite database (``tests.office.runs``), the server under uvicorn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session, sessionmaker

from selpo.config import Settings
from selpo.db import create_db_engine, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.network.importer import import_region
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.runs import HANDOVER, ROUTE, depart, import_timetable
from tests.office.world import ALEKHINO, cheap_password_hashing, make_world
from tests.web.conftest import new_page, screenshot, serve
from tests.web.test_browser import _banner, _press, _queued, _sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


@dataclass
class Van:
    """The server, and the parcels of the run to Pestyaki."""

    base_url: str
    on_manifest: list[str]  # three parcels for Pestyaki on the run
    missing: str  # on the manifest for Pestyaki, not in the van
    extra: str  # Pestyaki's, handed over after the van left: on no manifest
    foreign: str  # Alekhino's, on the same van: unloaded at Pestyaki by mistake


def _seed(factory: sessionmaker[Session]) -> Van:
    clock = FrozenClock(HANDOVER)
    with cheap_password_hashing(), session_scope(factory) as session:
        import_region(session, bundled_source(), clock=clock)
        world = make_world(session, clock)
        import_timetable(session, clock)
        on_manifest = [world.parcel().tracking_number for _ in range(2)]
        missing = world.parcel().tracking_number
        foreign = world.parcel(to=ALEKHINO).tracking_number
        depart(session, clock)
        extra = world.parcel().tracking_number
    return Van("", [*on_manifest, missing], missing, extra, foreign)


@pytest.fixture(scope="module")
def van(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Van]:
    folder = tmp_path_factory.mktemp("van")
    url = f"sqlite:///{folder / 'selpo.db'}"
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    seeded = _seed(sessionmaker(bind=engine, expire_on_commit=False))
    settings = Settings(
        database_url=url, pickup_code_pepper="van-test-pepper", sms_log_path=folder / "sms.log"
    )
    with serve(settings, FrozenClock(TEST_NOW)) as base_url:
        seeded.base_url = base_url
        yield seeded
    engine.dispose()


def _plain(text: str) -> str:
    """Page text without the narrow spaces tracking numbers are grouped with."""
    return text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")


def test_acceptance_against_the_runs_manifest(browser: Browser, van: Van) -> None:
    page = new_page(browser, van)
    _sign_in(page, "pestyaki1")
    page.wait_for_url("**/office/155650")

    # The start screen offers today's run: 11:30 from the hub, at Pestyaki 11:50, 3 parcels.
    _press(page, "1")
    runs = page.locator("#runs").inner_text()
    assert ROUTE in runs
    assert "11:30" in runs
    assert "11:50" in runs
    screenshot(page, "03a-acceptance-runs")
    _press(page, "Enter")  # the run's button has the focus
    assert ROUTE in page.locator("#run").inner_text()
    assert page.locator("#expected-count").inner_text() == "3"
    expected = _plain(page.locator("section", has_text="По манифесту ждём").inner_text())
    assert all(_plain(n) in expected for n in van.on_manifest)

    first, second = van.on_manifest[:2]
    _queued(page, first)
    assert "ok" in _banner(page)[0]
    _queued(page, second)
    _queued(page, van.extra)
    tone, text = _banner(page)
    assert "warn" in tone
    assert "нет в манифесте" in text
    _queued(page, van.foreign)
    tone, text = _banner(page)
    assert "error" in tone
    assert "Чужая посылка — вернуть в доставку. Её отделение: 155654 Алехино." in text
    assert page.locator("#accepted-count").inner_text() == "2"
    assert page.locator("#expected-count").inner_text() == "1"
    assert page.locator("#extra-count").inner_text() == "1"
    assert page.locator("#missorted-count").inner_text() == "1"
    screenshot(page, "03b-acceptance-by-run")

    _press(page, "F9")  # close: the discrepancy report
    assert page.locator("h1").inner_text().endswith("акт расхождений")
    assert ROUTE in page.locator("#run").inner_text()
    assert page.locator("#accepted-count").inner_text() == "2"
    assert page.locator("#missing-count").inner_text() == "1"
    assert page.locator("#extra-count").inner_text() == "1"
    assert page.locator("#missorted-count").inner_text() == "1"
    assert page.locator("#unexpected-count").inner_text() == "0"
    missing = _plain(page.locator("#missing").inner_text())
    assert _plain(van.missing) in missing
    assert _plain(first) not in missing
    assert _plain(van.extra) in _plain(page.locator("#extra").inner_text())
    missorted = page.locator("#missorted").inner_text()
    assert _plain(van.foreign) in _plain(missorted)
    assert "155654 Алехино" in missorted
    screenshot(page, "04a-acceptance-by-run-report")

    # The run is marked as accepted on the start screen.
    page.goto(f"{van.base_url}/office/155650/acceptance")
    assert "принят, №" in page.locator("#runs").inner_text()
    page.context.close()
