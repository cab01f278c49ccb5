"""Pages on a village line: bytes transferred and time to usable for the counter's pages and
the region map on an emulated EDGE line, first and repeat visit, and the scan round trip.

    .venv/bin/python bench/pages.py [--latency 400] [--down-kbps 240] [--up-kbps 200]

Debian's Chromium (/usr/bin/chromium, headless) through Playwright; the line is emulated by
CDP ``Network.emulateNetworkConditions`` on the page's target. The server is the real
application under uvicorn on 127.0.0.1 (one process, a scratch SQLite database seeded as the
browser tests seed theirs: the bundled region, a clerk at Pestyaki, parcels on their way).

* **bytes**: the sum of ``encodedDataLength`` of every response the page loaded (headers and
  compressed body, as on the wire), from CDP ``Network.loadingFinished``.
* **time to usable**: navigation start to the ``load`` event (the scan field has the focus,
  the scripts run); for the map, until the network is idle (the layers drawn), minus the
  500 ms of idleness that tells it.
* **first visit**: an empty browser cache (``Network.clearBrowserCache`` after sign-in);
  **repeat**: the same page again in the same context. Service workers are blocked here, so
  the figures are what HTTP caching alone gives (the counter's service worker, when it runs,
  also keeps the pages for a reload offline).
* **scan round trip**: Enter on the acceptance screen to the scan's result in the list (the
  queue's JSON request), the median of 5 scans; beside it, the same scan without JavaScript
  (the form's post, its redirect and the new page), as the counter worked before the queue.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import TEST_NOW  # noqa: E402
from tests.fixtures.regions import bundled_source  # noqa: E402
from tests.office.world import PASSWORD, cheap_password_hashing, make_world  # noqa: E402
from tests.web.conftest import CHROMIUM_FLAGS, serve  # noqa: E402

from selpo.config import Settings  # noqa: E402
from selpo.db import create_db_engine, session_scope  # noqa: E402
from selpo.kit.clock import FrozenClock  # noqa: E402
from selpo.logistics import timetables  # noqa: E402
from selpo.migrate import upgrade_to_head  # noqa: E402
from selpo.network.importer import import_region  # noqa: E402
from selpo.office import auth  # noqa: E402

SCANS = 5


def seed(url: str) -> list[str]:
    """The region, its timetable, a clerk at Pestyaki, a manager, parcels on their way."""
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    clock = FrozenClock(TEST_NOW - timedelta(days=1))
    with session_scope(factory) as session:
        import_region(session, bundled_source(), clock=clock)
        timetables.generate_timetable(session, now=clock.now(), seed=7)
        world = make_world(session, clock)
        auth.add_manager(session, login="boss", password=PASSWORD, now=clock.now())
        parcels = [world.parcel().tracking_number for _ in range(3 * SCANS + 20)]
        for _ in range(3):
            world.shelved()
    engine.dispose()
    return parcels


class Wire:
    """Bytes on the wire of one page's target, from CDP."""

    def __init__(self, cdp: Any) -> None:
        self.bytes = 0
        self.requests = 0
        cdp.on("Network.loadingFinished", self._finished)

    def _finished(self, event: dict[str, Any]) -> None:
        self.bytes += int(event.get("encodedDataLength", 0))
        self.requests += 1

    def reset(self) -> None:
        self.bytes = 0
        self.requests = 0


def sign_in(page: Any, login: str) -> None:
    page.goto("/office/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def line(cdp: Any, conditions: dict[str, Any]) -> None:
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", conditions)


def visit(page: Any, wire: Wire, path: str, *, idle: bool) -> tuple[int, int, float]:
    wire.reset()
    started = time.perf_counter()
    if idle:
        page.goto(path, wait_until="networkidle", timeout=300_000)
        elapsed = time.perf_counter() - started - 0.5
    else:
        page.goto(path, wait_until="load", timeout=300_000)
        elapsed = time.perf_counter() - started
    page.wait_for_timeout(300)  # late loadingFinished events
    return wire.bytes, wire.requests, elapsed


def measure_pages(browser: Any, base: str, conditions: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    plan = [
        ("pestyaki1", "counter: home", "/office/155650", False),
        ("pestyaki1", "counter: acceptance", "/office/155650/acceptance", False),
        ("pestyaki1", "counter: shelving", "/office/155650/shelving", False),
        ("pestyaki1", "counter: issue", "/office/155650/issue", False),
        ("pestyaki1", "counter: returns", "/office/155650/returns", False),
        ("boss", "region map", "/region", True),
    ]
    for login, name, path, idle in plan:
        context = browser.new_context(
            base_url=base, viewport={"width": 1024, "height": 768}, service_workers="block"
        )
        page = context.new_page()
        sign_in(page, login)
        cdp = context.new_cdp_session(page)
        wire = Wire(cdp)
        line(cdp, conditions)
        cdp.send("Network.clearBrowserCache")
        first = visit(page, wire, path, idle=idle)
        repeat = visit(page, wire, path, idle=idle)
        rows.append(
            (
                name,
                f"{first[0] / 1024:.1f} KB ({first[1]})",
                f"{first[2]:.2f} s",
                f"{repeat[0] / 1024:.1f} KB ({repeat[1]})",
                f"{repeat[2]:.2f} s",
            )
        )
        context.close()
    return rows


def scan_times(
    browser: Any, base: str, conditions: dict[str, Any], parcels: list[str], *, script: bool
) -> float:
    context = browser.new_context(
        base_url=base, java_script_enabled=script, service_workers="block"
    )
    page = context.new_page()
    sign_in(page, "pestyaki1")
    page.goto("/office/155650/acceptance")
    if page.locator("#start").count():
        with page.expect_navigation():
            page.locator("#start").click()
    cdp = context.new_cdp_session(page)
    line(cdp, conditions)
    times = []
    for code in parcels:
        page.locator("#barcode").fill(code)
        started = time.perf_counter()
        if script:
            done = page.locator("#queue li[data-state=done]").count()
            page.locator("#barcode").press("Enter")
            page.wait_for_function(
                f"() => document.querySelectorAll('#queue li[data-state=done]').length > {done}",
                timeout=120_000,
            )
        else:
            with page.expect_navigation(wait_until="load", timeout=120_000):
                page.locator("#barcode").press("Enter")
        times.append(time.perf_counter() - started)
    context.close()
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=400.0, help="ms added to each request")
    parser.add_argument("--down-kbps", type=float, default=240.0)
    parser.add_argument("--up-kbps", type=float, default=200.0)
    options = parser.parse_args(argv)
    conditions = {
        "offline": False,
        "latency": options.latency,
        "downloadThroughput": options.down_kbps * 1000 / 8,
        "uploadThroughput": options.up_kbps * 1000 / 8,
    }
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, cheap_password_hashing():
        url = f"sqlite:///{Path(folder) / 'selpo.db'}"
        parcels = seed(url)
        settings = Settings(
            database_url=url,
            pickup_code_pepper="bench-pepper",
            sms_log_path=Path(folder) / "sms.log",
            rate_limit_per_session=0,
        )
        with serve(settings, FrozenClock(TEST_NOW)) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_FLAGS
            )
            rows = measure_pages(browser, base, conditions)
            queued = scan_times(browser, base, conditions, parcels[:SCANS], script=True)
            posted = scan_times(browser, base, conditions, parcels[SCANS : 2 * SCANS], script=False)
            browser.close()
    print(
        f"line: {options.latency:g} ms latency, {options.down_kbps:g} kbit/s down, "
        f"{options.up_kbps:g} kbit/s up (CDP); {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    )
    print("| page | first visit | time to usable | repeat visit | time to usable |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"scan round trip (queue, JSON), median of {SCANS}: {queued * 1000:.0f} ms")
    print(
        f"scan without JavaScript (post, redirect, page), median of {SCANS}: {posted * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
