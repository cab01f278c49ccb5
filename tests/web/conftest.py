"""Web fixtures: the office pages on the test app (HTTP tests), and the real server with headless
Chromium (browser tests).

Until the lead wires ``selpo.web.pages.office.router`` and ``mount_static`` into ``app.py``,
``install_pages`` adds them to the application under test (a no-op once they are there).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import create_db_engine, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import OutboxMessage
from selpo.network.importer import import_region
from selpo.office import auth
from selpo.shipment import service as shipment_service
from selpo.web import mount_static
from selpo.web.pages import office as office_pages
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source
from tests.office.world import (
    ALEKHINO,
    PASSWORD,
    PESTYAKI,
    OfficeWorld,
    cheap_password_hashing,
    make_world,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=ru-RU",  # the clerk's PC speaks Russian: dates as ДД.ММ.ГГГГ in date fields
]


def install_pages(app: FastAPI) -> FastAPI:
    """Include the office pages and the static files if the app does not have them yet."""
    if not any(getattr(route, "path", None) == "/office/login" for route in app.routes):
        app.include_router(office_pages.router)
    mount_static(app)
    return app


@pytest.fixture(autouse=True)
def _cheap_passwords() -> Iterator[None]:
    with cheap_password_hashing():
        yield


@pytest.fixture
def world(session: Session, clock: FrozenClock) -> OfficeWorld:
    """Pestyaki and Alekhino with a clerk each, OZON serving both (see tests.office.world)."""
    return make_world(session, clock)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client of the test app with the office pages; it follows no redirects."""
    install_pages(app)
    with TestClient(app, follow_redirects=False) as client:
        yield client


# ---------------------------------------------------------------------------- the real server


@dataclass
class Parcels:
    """The tracking numbers the browser tests work with."""

    issue_full: str  # arrives, shelved, issued in full by code
    issue_partly: str  # two items, cash on delivery: one plate refused, paid in cash
    damaged: str  # arrives damaged
    missing: str  # expected, never arrives
    foreign: str  # for Alekhino, turns up at Pestyaki
    expired: str  # shelved ten days ago, storage expired: to return


@dataclass
class LiveServer:
    """selpo served by uvicorn on 127.0.0.1 over a scratch SQLite database."""

    base_url: str
    engine: Engine
    clock: FrozenClock
    parcels: Parcels

    def sms_code(self, tracking_number: str) -> str:
        """The pickup code of the latest SMS to a parcel's recipient (as the phone shows)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(OutboxMessage.payload)
                .where(OutboxMessage.kind == "sms", OutboxMessage.reference == tracking_number)
                .order_by(OutboxMessage.id)
            ).all()
        assert rows, f"no SMS for {tracking_number}"
        text = str(rows[-1][0]["text"])
        marker = "Код получения: "
        return text[text.index(marker) + len(marker) :][:6]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _seed(factory: sessionmaker[Session]) -> Parcels:
    """The region, two clerks, and parcels walked to Pestyaki through the real services."""
    seeding = FrozenClock(TEST_NOW - timedelta(days=10))
    with session_scope(factory) as session:
        import_region(session, bundled_source(), clock=seeding)
        world = make_world(session, seeding)
        expired = world.parcel(walk=("handed_over", "departed_hub", "arrived_at_office"))
        shipment_service.make_ready_for_pickup(
            session,
            shipment=expired,
            now=seeding.now(),
            policy=shipment_service.PickupPolicy(pepper="browser-test-pepper"),
            cell_code="S-10",
        )
        seeding.set(TEST_NOW - timedelta(hours=5))
        shipment_service.expire_storage(session, seeding.now())
        assert expired.status == "storage_expired"
        parcels = Parcels(
            issue_full=world.parcel().tracking_number,
            issue_partly=world.parcel(two_items=True, cod=True).tracking_number,
            damaged=world.parcel().tracking_number,
            missing=world.parcel().tracking_number,
            foreign=world.parcel(to=ALEKHINO).tracking_number,
            expired=expired.tracking_number,
        )
        auth.add_supervisor(
            session,
            district_name="Пестяковский район",
            login="district1",
            password=PASSWORD,
            now=seeding.now(),
        )
    return parcels


@contextmanager
def serve(settings: Settings, clock: FrozenClock) -> Iterator[str]:
    """The real application under uvicorn in a thread on 127.0.0.1; yields its base URL."""
    application = install_pages(create_app(settings, clock=clock))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="selpo-live-server", daemon=True)
    with cheap_password_hashing():
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
        server.should_exit = True
        thread.join(timeout=10)
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real application under uvicorn in a thread, on a fresh migrated SQLite database."""
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'selpo.db'}"
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    with cheap_password_hashing():
        parcels = _seed(sessionmaker(bind=engine, expire_on_commit=False))
    clock = FrozenClock(TEST_NOW)
    settings = Settings(
        database_url=url,
        pickup_code_pepper="browser-test-pepper",
        sms_log_path=folder / "sms.log",
    )
    with serve(settings, clock) as base_url:
        yield LiveServer(base_url, engine, clock, parcels)
    engine.dispose()


def _chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _no_browser(reason: str) -> None:
    if os.environ.get("SELPO_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"browser tests are mandatory here (SELPO_REQUIRE_BROWSER=1): {reason}. "
            "Run scripts/install-browser.sh and `pip install -e '.[dev]'`.",
            pytrace=False,
        )
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright (never Playwright's own download)."""
    path = _chromium_path()
    if path is None:
        _no_browser("chromium is not installed (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("the playwright package is not installed")
    assert path is not None
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


class Served(Protocol):
    """Any server the browser tests open (it has a base URL)."""

    base_url: str


def new_page(browser: Browser, server: Served) -> Any:
    """A fresh profile at 1024×768 in Moscow time, accepting confirmation dialogs."""
    context = browser.new_context(
        viewport={"width": 1024, "height": 768},
        locale="ru-RU",
        timezone_id="Europe/Moscow",
        base_url=server.base_url,
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_default_timeout(15_000)
    return page


def screenshot(page: Any, name: str) -> None:
    """Save the screen as docs/screens/NAME.png (1024×768)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"))


__all__ = ["PESTYAKI", "LiveServer", "new_page", "screenshot", "serve"]
