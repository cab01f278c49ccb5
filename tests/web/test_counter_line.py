"""The counter on a village line: the scan queue on an emulated slow line (CDP), offline and
back (IndexedDB, the service worker), the idempotent replay of a scan id, and the headers that
make a repeat visit cheap (hashed static files, immutable; gzip)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from selpo.config import Settings
from selpo.db import create_db_engine, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import AcceptanceScan, ShelvingScan
from selpo.network.importer import import_region
from selpo.web import IMMUTABLE, static_url
from selpo.web.headers import STATIC_CACHE
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.world import PASSWORD, OfficeWorld, cheap_password_hashing, make_world
from tests.web.conftest import new_page, screenshot, serve
from tests.web.test_pages import _sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

PESTYAKI = "/office/155650"
# An EDGE line as CDP emulates it (bench/pages.py measures on the same profile).
EDGE = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 240_000 / 8,
    "uploadThroughput": 200_000 / 8,
}


# ---------------------------------------------------------------------------- the live line


class Line:
    """The real server over a scratch SQLite database, with parcels on their way to Pestyaki."""

    def __init__(self, base_url: str, factory: sessionmaker[Session], clock: FrozenClock):
        self.base_url = base_url
        self.factory = factory
        self.clock = clock

    def scans(self) -> list[AcceptanceScan]:
        with self.factory() as session:
            return list(session.scalars(select(AcceptanceScan).order_by(AcceptanceScan.id)))


@pytest.fixture(scope="module")
def line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Line, list[str]]]:
    folder = tmp_path_factory.mktemp("line")
    url = f"sqlite:///{folder / 'selpo.db'}"
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    seeding = FrozenClock(TEST_NOW - timedelta(days=1))
    with cheap_password_hashing(), session_scope(factory) as session:
        import_region(session, bundled_source(), clock=seeding)
        world = make_world(session, seeding)
        parcels = [world.parcel().tracking_number for _ in range(10)]
    clock = FrozenClock(TEST_NOW)
    settings = Settings(
        database_url=url, pickup_code_pepper="line-test-pepper", sms_log_path=folder / "sms.log"
    )
    with serve(settings, clock) as base_url:
        yield Line(base_url, factory, clock), parcels
    engine.dispose()


def _open_acceptance(page: Any) -> None:
    """Sign in and open Pestyaki's acceptance, starting one when none is open.

    The fields are filled by their ids rather than typed into whatever has the focus: on a
    loaded machine the login field's autofocus can land after the first keystrokes, and a
    lost login would leave the test on the sign-in page (keyboard sign-in has its own test).
    """
    page.goto("/office/login")
    page.locator("#login").fill("pestyaki1")
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("#password").press("Enter")
    assert "/login" not in page.url, "the clerk was not signed in"
    page.goto(f"{PESTYAKI}/acceptance")
    # Either the open acceptance's scan form or the button that starts one.
    page.locator("form[data-queue=acceptance], #start").first.wait_for()
    if page.locator("form[data-queue=acceptance]").count() == 0:
        with page.expect_navigation():
            page.locator("#start").click()
    page.locator("form[data-queue=acceptance]").wait_for()
    page.locator("#barcode").focus()


def _all_sent(page: Any, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('#queue li').length >= {count}"
        f" && document.querySelectorAll('#queue li[data-state=done]').length >= {count}",
        timeout=60_000,
    )


@pytest.mark.browser
def test_scanning_ahead_on_a_slow_line_records_each_code_once_in_order(
    browser: Browser, line: tuple[Line, list[str]]
) -> None:
    server, parcels = line
    codes = parcels[:5]
    page = new_page(browser, server)
    _open_acceptance(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", EDGE)
    before = len(server.scans())

    for code in codes:  # the scanner: digits and Enter, as fast as it goes, no waiting
        page.keyboard.type(code, delay=5)
        page.keyboard.press("Enter")
        assert page.locator("#barcode").input_value() == ""  # cleared at once
    # Nothing is answered yet on this line: the scans wait their turn in the list.
    assert page.locator("#queue li").count() == 5
    _all_sent(page, 5)

    recorded = server.scans()[before:]
    assert [s.barcode for s in recorded] == codes  # each once, in order, none merged
    assert [s.result for s in recorded] == ["accepted"] * 5
    assert all(s.client_scan_id for s in recorded)
    rows = page.locator("#queue li").all_inner_texts()
    assert len(rows) == 5
    assert all("Принята" in row for row in rows)
    assert page.locator("#accepted-count").inner_text() == "5"
    page.context.close()


@pytest.mark.browser
def test_offline_scans_wait_survive_a_reload_and_go_out_with_their_times(
    browser: Browser, line: tuple[Line, list[str]]
) -> None:
    server, parcels = line
    codes = parcels[5:8]
    page = new_page(browser, server)
    _open_acceptance(page)
    # The service worker is installed (the next page it serves, if not this one) and has
    # kept the page.
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function("() => !!navigator.serviceWorker.controller")
    page.wait_for_function(
        "() => caches.open('selpo-counter-pages')"
        ".then(c => c.match(location.pathname)).then(hit => !!hit)"
    )
    before = len(server.scans())

    page.context.set_offline(True)
    scanned: list[datetime] = []
    for code in codes:
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        page.wait_for_timeout(1100)  # a second apart, to tell the times apart
        scanned.append(datetime.now(UTC))
    waiting = page.locator("#queue li[data-state=waiting]")
    assert waiting.count() == 3
    assert all("ожидает отправки" in t for t in waiting.all_inner_texts())
    assert page.locator("#line").is_visible()
    assert len(server.scans()) == before  # nothing reached the server
    screenshot(page, "14-counter-offline")

    response = page.reload()  # offline: the service worker answers with the kept page
    assert response is not None
    assert response.from_service_worker
    page.locator("#queue li").nth(2).wait_for()
    assert page.locator("#queue li[data-state=waiting]").count() == 3
    page.goto(f"{PESTYAKI}/acceptance")  # the menu's link (a redirect online) works offline
    page.locator("#queue li").nth(2).wait_for()
    assert page.locator("#queue li[data-state=waiting]").count() == 3

    server.clock.set(TEST_NOW + timedelta(minutes=30))  # the line comes back half an hour on
    page.context.set_offline(False)
    _all_sent(page, 3)

    recorded = server.scans()[before:]
    assert [s.barcode for s in recorded] == codes
    assert [s.result for s in recorded] == ["accepted"] * 3
    times = [s.scanned_at for s in recorded]
    assert times == sorted(times)  # their own times, in order
    assert len(set(times)) == 3
    assert all(TEST_NOW <= t < TEST_NOW + timedelta(minutes=5) for t in times)
    assert times[2] - times[0] >= timedelta(seconds=2)
    rows = page.locator("#queue li").all_inner_texts()
    assert all("Принята" in row for row in rows[:3])
    page.context.close()


@pytest.mark.browser
def test_the_issue_screen_says_it_needs_the_line(
    browser: Browser, line: tuple[Line, list[str]]
) -> None:
    server, _ = line
    page = new_page(browser, server)
    _open_acceptance(page)
    page.goto(f"{PESTYAKI}/issue")
    page.context.set_offline(True)
    note = page.locator("#line")
    note.wait_for()
    assert "выдать посылку сейчас нельзя" in note.inner_text()
    page.context.set_offline(False)
    page.context.close()


# ---------------------------------------------------------------------------- HTTP


def _acceptance(pages: TestClient, world: OfficeWorld) -> tuple[str, int]:
    csrf = _sign_in(pages)
    started = pages.post(f"{PESTYAKI}/acceptance", data={"csrf": csrf})
    assert started.status_code == 303
    acceptance_id = int(started.headers["location"].rsplit("/", 1)[1])
    return csrf, acceptance_id


def test_a_replayed_scan_id_records_one_scan(
    pages: TestClient, world: OfficeWorld, session: Session
) -> None:
    parcel = world.parcel()
    csrf, acceptance_id = _acceptance(pages, world)
    url = f"{PESTYAKI}/acceptance/{acceptance_id}/scans"
    scanned = world.clock.now() + timedelta(minutes=2)
    world.clock.advance(timedelta(minutes=10))  # sent when the line came back
    body = {
        "barcode": parcel.tracking_number,
        "scan_id": "0f8b1c7e-5d2a-4c19-9e31-2b7d4f6a8c01",
        "scanned_at": scanned.isoformat(),
    }
    first = pages.post(url, json=body, headers={"X-CSRF-Token": csrf})
    again = pages.post(url, json=body, headers={"X-CSRF-Token": csrf})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["outcome"] == "recorded"
    assert again.json()["outcome"] == "replayed"
    assert again.json()["message"] == first.json()["message"]
    rows = session.scalars(
        select(AcceptanceScan).where(AcceptanceScan.acceptance_id == acceptance_id)
    ).all()
    assert len(rows) == 1
    assert rows[0].scanned_at == scanned  # the moment it was scanned, not when it arrived
    assert rows[0].client_scan_id == body["scan_id"]


def test_scan_times_ahead_of_the_server_or_before_the_acceptance_are_refused(
    pages: TestClient, world: OfficeWorld, session: Session
) -> None:
    parcel = world.parcel()
    csrf, acceptance_id = _acceptance(pages, world)
    url = f"{PESTYAKI}/acceptance/{acceptance_id}/scans"
    for moment, words in (
        (world.clock.now() + timedelta(minutes=30), "ещё не наступило"),
        (world.clock.now() - timedelta(hours=3), "раньше начала"),
    ):
        answer = pages.post(
            url,
            json={
                "barcode": parcel.tracking_number,
                "scan_id": f"late-{moment:%H%M}-x",
                "scanned_at": moment.isoformat(),
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert words in answer.json()["detail"]
    assert (
        session.scalars(
            select(AcceptanceScan).where(AcceptanceScan.acceptance_id == acceptance_id)
        ).all()
        == []
    )


def test_a_replayed_shelving_puts_the_parcel_away_once(
    pages: TestClient, world: OfficeWorld, session: Session
) -> None:
    parcel = world.accepted()
    csrf = _sign_in(pages)
    body = {"barcode": parcel.tracking_number, "cell": "", "scan_id": "shelf-0001-abcdef"}
    first = pages.post(f"{PESTYAKI}/shelving/scans", json=body, headers={"X-CSRF-Token": csrf})
    again = pages.post(f"{PESTYAKI}/shelving/scans", json=body, headers={"X-CSRF-Token": csrf})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["cell"] == again.json()["cell"]
    assert again.json()["outcome"] == "replayed"
    assert len(session.scalars(select(ShelvingScan)).all()) == 1


def test_a_scan_without_the_session_token_is_refused(pages: TestClient, world: OfficeWorld) -> None:
    parcel = world.parcel()
    _, acceptance_id = _acceptance(pages, world)
    answer = pages.post(
        f"{PESTYAKI}/acceptance/{acceptance_id}/scans", json={"barcode": parcel.tracking_number}
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_static_files_at_hashed_names_are_immutable_and_answers_compressed(
    pages: TestClient, world: OfficeWorld
) -> None:
    _sign_in(pages)
    page = pages.get(f"{PESTYAKI}/acceptance", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"
    hashed = static_url("office/counter.js")
    assert re.fullmatch(r"/static/office/counter\.[0-9a-f]{10}\.js", hashed)
    assert hashed in page.text
    for name in ("office/office.css", "office/office.js", "office/counter.js"):
        asset = pages.get(static_url(name), headers={"Accept-Encoding": "gzip"})
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == IMMUTABLE
        assert asset.headers["content-encoding"] == "gzip"
        plain = pages.get(f"/static/{name}")
        assert plain.status_code == 200
        assert plain.headers["cache-control"] == STATIC_CACHE
        assert plain.content == asset.content
    stale = pages.get("/static/office/office.0123456789.css")
    assert stale.status_code == 200  # an old release's name: today's file, not immutable
    assert stale.headers["cache-control"] == STATIC_CACHE
    worker = pages.get("/office/sw.js")
    assert worker.status_code == 200
    assert static_url("office/counter.js") in worker.text


def test_a_shelving_scanned_before_the_parcel_arrived_is_refused(
    pages: TestClient, world: OfficeWorld, session: Session
) -> None:
    parcel = world.accepted()
    csrf = _sign_in(pages)
    answer = pages.post(
        f"{PESTYAKI}/shelving/scans",
        json={
            "barcode": parcel.tracking_number,
            "scan_id": "shelf-too-early-1",
            "scanned_at": (world.clock.now() - timedelta(hours=2)).isoformat(),
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 422
    assert "раньше начала" in answer.json()["detail"]
    session.refresh(parcel)
    assert parcel.status == "arrived_at_office"
    assert session.scalars(select(ShelvingScan)).all() == []
