"""The acceptance's run through HTTP (SQLite and PostgreSQL): the start screen offers today's
run, a run that does not arrive is refused with a Russian message and opens nothing, the
scan queue's answer counts against the manifest, and the report names what is missing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.web.rendering import spaced
from tests.office.runs import HANDOVER, ROUTE, RUN, depart, import_timetable
from tests.office.world import OfficeWorld, make_world
from tests.web.test_pages import _sign_in

PESTYAKI = "/office/155650"


@pytest.fixture
def van(session: Session) -> OfficeWorld:
    """Two parcels for Pestyaki on today's run, its van departed (the app's clock: noon)."""
    clock = FrozenClock(HANDOVER)
    world = make_world(session, clock)
    import_timetable(session, clock)
    return world


def test_the_run_is_chosen_scanned_against_and_reported(
    pages: TestClient, van: OfficeWorld, session: Session
) -> None:
    first, second = van.parcel(), van.parcel()
    depart(session, van.clock)
    csrf = _sign_in(pages)

    start = pages.get(f"{PESTYAKI}/acceptance")
    assert start.status_code == 200
    assert ROUTE in start.text
    assert f'value="{RUN}"' in start.text

    refused = pages.post(
        f"{PESTYAKI}/acceptance", data={"csrf": csrf, "run": f"{ROUTE}@2026-11-24T08:30:00Z"}
    )
    assert refused.status_code == 303
    assert refused.headers["location"] == f"{PESTYAKI}/acceptance"
    again = pages.get(f"{PESTYAKI}/acceptance")
    assert again.status_code == 200  # nothing was opened: the start screen, with the refusal
    assert "сегодня в отделение не приходит" in again.text

    started = pages.post(f"{PESTYAKI}/acceptance", data={"csrf": csrf, "run": RUN})
    assert started.status_code == 303
    url = started.headers["location"]
    assert re.fullmatch(rf"{PESTYAKI}/acceptance/\d+", url)
    page = pages.get(url)
    assert "По манифесту ждём (2)" in page.text
    assert f'Рейс <strong class="mono">{ROUTE}</strong>' in page.text

    answer = pages.post(
        f"{url}/scans",
        json={"barcode": first.tracking_number, "scan_id": "run-scan-1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["counts"] == {
        "accepted": 1,
        "expected": 1,
        "extra": 0,
        "missorted": 0,
        "unexpected": 0,
        "damaged": 0,
        "errors": 0,
    }
    closed = pages.post(f"{url}/close", data={"csrf": csrf})
    assert closed.status_code == 303
    report = pages.get(url).text
    missing = report[report.index('id="missing"') : report.index('id="extra"')]
    assert spaced(second.tracking_number) in missing
    assert spaced(first.tracking_number) not in missing
    assert "Есть в манифесте, но не пришла." in missing
