"""The pages' security headers, their request ids, and their refusals of ids out of range."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from selpo.office import auth
from selpo.web import TEMPLATES_DIR
from tests.conftest import TEST_NOW
from tests.office.world import PASSWORD, OfficeWorld

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def _sign_in(pages: TestClient, login: str = "pestyaki1") -> None:
    form = pages.get("/office/login")
    token = CSRF_RE.search(form.text)
    assert token is not None
    response = pages.post(
        "/office/login",
        data={"login": login, "password": PASSWORD, "csrf": token.group(1), "next": ""},
    )
    assert response.status_code == 303, response.text


def _assert_page_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] in {"no-referrer", "same-origin"}
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["cache-control"] == "no-store"
    assert headers["x-request-id"]


class TestPageHeaders:
    def test_the_sign_in_page(self, pages: TestClient) -> None:
        _assert_page_headers(pages.get("/office/login"))

    @pytest.mark.parametrize(
        "path", ["/office/155650", "/office/155650/issue", "/office/155650/day"]
    )
    def test_the_workstation_pages(self, pages: TestClient, world: OfficeWorld, path: str) -> None:
        _sign_in(pages)
        response = pages.get(path)
        assert response.status_code == 200
        _assert_page_headers(response)

    def test_an_error_page(self, pages: TestClient, world: OfficeWorld) -> None:
        _sign_in(pages)
        response = pages.get("/office/155217")  # another office
        assert response.status_code == 403
        _assert_page_headers(response)


class TestTemplates:
    @pytest.mark.parametrize("template", sorted(TEMPLATES_DIR.rglob("*.html")), ids=str)
    def test_no_inline_script_style_or_handler(self, template: object) -> None:
        text = template.read_text(encoding="utf-8")  # type: ignore[attr-defined]
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
        assert "<style" not in text
        assert not re.search(r"\son[a-z]+\s*=", text), "inline on* handler"
        assert "javascript:" not in text
        assert not re.search(r"\sstyle\s*=", text), "inline style attribute"


class TestPageIds:
    @pytest.mark.parametrize("value", [2**31, 2**70, 0])
    def test_an_acceptance_id_out_of_range_is_a_russian_page(
        self, pages: TestClient, world: OfficeWorld, value: int
    ) -> None:
        _sign_in(pages)
        response = pages.get(f"/office/155650/acceptance/{value}")
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        assert "Неверный адрес" in response.text
        assert response.headers["x-request-id"]

    def test_a_posted_id_out_of_range_is_refused_too(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        _sign_in(pages)
        response = pages.post(f"/office/155650/acceptance/{2**40}/close", data={"csrf": "x"})
        assert response.status_code in {403, 422}
        assert response.headers["content-type"].startswith("text/html")


class TestPageNumbers:
    @pytest.mark.parametrize("received", ["²", "9" * 5000, "-1", "1e9"])
    def test_a_strange_amount_on_the_receipt_is_ignored(
        self, pages: TestClient, world: OfficeWorld, received: str
    ) -> None:
        _sign_in(pages)
        response = pages.get("/office/155650/receipt/15365011000014", params={"received": received})
        assert response.status_code < 500
        assert response.headers["content-type"].startswith("text/html")


class TestPageDays:
    @pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
    def test_a_far_day_report_is_a_russian_refusal(
        self, pages: TestClient, world: OfficeWorld, day: str
    ) -> None:
        _sign_in(pages)
        response = pages.get("/office/155650/day", params={"day": day})
        assert response.status_code == 422
        assert "ГГГГ-ММ-ДД" in response.text

    @pytest.mark.parametrize("query", ["from=0001-01-01", "to=9999-12-31"])
    def test_a_far_kpi_period_is_a_russian_refusal(
        self, pages: TestClient, session: Session, world: OfficeWorld, query: str
    ) -> None:
        auth.add_manager(session, login="boss", password=PASSWORD, now=TEST_NOW)
        session.flush()
        _sign_in(pages, "boss")
        response = pages.get(f"/region/kpi?{query}")
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")

    def test_a_far_dispatch_day_is_refused(self, pages: TestClient, world: OfficeWorld) -> None:
        _sign_in(pages)
        assert pages.get("/office/dispatch", params={"date": "9999-12-31"}).status_code == 422


class TestRegionIds:
    @pytest.mark.parametrize(
        "path",
        [
            f"/region/scenarios/runs/{2**31}",
            f"/region?plan={2**40}",
            "/region/kpi?district=99999999999",
        ],
    )
    def test_a_dashboard_id_out_of_range_is_a_russian_page(
        self, pages: TestClient, session: Session, world: OfficeWorld, path: str
    ) -> None:
        auth.add_manager(session, login="boss", password=PASSWORD, now=TEST_NOW)
        session.flush()
        _sign_in(pages, "boss")
        response = pages.get(path)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
        _assert_page_headers(response)

    def test_the_dashboard_api_answers_a_problem(
        self, pages: TestClient, session: Session, world: OfficeWorld
    ) -> None:
        auth.add_manager(session, login="boss", password=PASSWORD, now=TEST_NOW)
        session.flush()
        _sign_in(pages, "boss")
        response = pages.get(f"/region/api/offices?plan={2**40}")
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["request_id"] == response.headers["x-request-id"]
