"""The office pages through the whole HTTP stack: sign-in, cookies, CSRF, offices, codes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from selpo.kit.display import format_local_time
from selpo.models import ClerkSignInGuard, CodeSearchGuard
from tests.office.world import PASSWORD, OfficeWorld

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def _csrf(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _sign_in(pages: TestClient, login: str = "pestyaki1", password: str = PASSWORD) -> str:
    form = pages.get("/office/login")
    assert form.status_code == 200
    response = pages.post(
        "/office/login",
        data={"login": login, "password": password, "csrf": _csrf(form.text), "next": ""},
    )
    assert response.status_code == 303, response.text
    home = pages.get(response.headers["location"])
    if home.status_code == 303:
        home = pages.get(home.headers["location"])
    assert home.status_code == 200
    return _csrf(home.text)


class TestSignIn:
    def test_pages_need_a_signed_in_clerk(self, pages: TestClient, world: OfficeWorld) -> None:
        response = pages.get("/office/155650/issue")
        assert response.status_code == 303
        assert response.headers["location"] == "/office/login?next=/office/155650/issue"

    def test_the_session_cookie_is_httponly_lax_and_scoped(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        form = pages.get("/office/login")
        assert "selpo_login_csrf" in form.headers["set-cookie"]
        response = pages.post(
            "/office/login",
            data={"login": "pestyaki1", "password": PASSWORD, "csrf": _csrf(form.text)},
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/office"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("selpo_session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/office" in cookie
        home = pages.get("/office")
        assert home.status_code == 303
        assert home.headers["location"] == "/office/155650"

    def test_a_login_form_from_elsewhere_is_refused(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        response = pages.post(
            "/office/login", data={"login": "pestyaki1", "password": PASSWORD, "csrf": "forged"}
        )
        assert response.status_code == 403
        assert "Форма входа устарела" in response.text
        assert "selpo_session=" not in response.headers.get("set-cookie", "")

    def test_wrong_passwords_are_counted_and_lock_the_account(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        for attempt in range(5):
            form = pages.get("/office/login")
            response = pages.post(
                "/office/login",
                data={"login": "pestyaki1", "password": "nope", "csrf": _csrf(form.text)},
            )
            assert response.status_code == 401
            if attempt < 4:
                assert "Неверный логин или пароль." in response.text
        assert "Вход заблокирован на 15 мин.: 5 неверных паролей подряд." in response.text
        world.session.expire_all()
        guard = world.session.get(ClerkSignInGuard, ("pestyaki1", "testclient"))
        assert guard is not None
        assert guard.locked_until is not None  # committed although the answer was a refusal

    def test_a_stranger_failing_elsewhere_does_not_lock_the_clerks_counter(
        self, pages: TestClient, app: FastAPI, world: OfficeWorld
    ) -> None:
        with TestClient(app, follow_redirects=False, client=("203.0.113.7", 40000)) as stranger:
            for _ in range(5):
                form = stranger.get("/office/login")
                response = stranger.post(
                    "/office/login",
                    data={"login": "pestyaki1", "password": "nope", "csrf": _csrf(form.text)},
                )
            assert "Вход заблокирован на 15 мин." in response.text
            form = stranger.get("/office/login")
            refused = stranger.post(
                "/office/login",
                data={"login": "pestyaki1", "password": PASSWORD, "csrf": _csrf(form.text)},
            )
            assert refused.status_code == 401  # the stranger's address waits out its lock
        _sign_in(pages)  # the clerk at their own counter signs in as usual

    def test_sign_out_ends_the_session(self, pages: TestClient, world: OfficeWorld) -> None:
        csrf = _sign_in(pages)
        assert pages.post("/office/logout", data={"csrf": csrf}).status_code == 303
        assert pages.get("/office/155650").status_code == 303


class TestPages:
    def test_another_offices_pages_are_forbidden_in_russian(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        _sign_in(pages)
        forbidden = pages.get("/office/155654/acceptance")
        assert forbidden.status_code == 403
        assert "Нет доступа: отделение 155654 не ваше" in forbidden.text
        assert pages.get("/office/999999").status_code == 404

    def test_a_form_without_the_csrf_token_changes_nothing(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        _sign_in(pages)
        response = pages.post("/office/155650/acceptance", data={"csrf": "forged"})
        assert response.status_code == 403
        assert "Форма устарела" in response.text
        assert pages.get("/office/155650/acceptance").status_code == 200  # none was opened

    def test_pages_are_private_and_load_nothing_from_elsewhere(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        _sign_in(pages)
        page = pages.get("/office/155650")
        assert page.headers["cache-control"] == "no-store"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert not re.search(r'(src|href)="(https?:)?//', page.text)
        for asset in ("/static/office/office.css", "/static/office/office.js"):
            assert pages.get(asset).status_code == 200

    def test_every_screen_renders(self, pages: TestClient, world: OfficeWorld) -> None:
        world.parcel()
        _sign_in(pages)
        for path, text in [
            ("/office/155650", "Что ждёт в отделении"),
            ("/office/155650/acceptance", "Начать приёмку"),
            ("/office/155650/shelving", "Разложить по ячейкам"),
            ("/office/155650/issue", "По коду из SMS"),
            ("/office/155650/returns", "Возвраты отправителю"),
            ("/office/155650/day", "Итоги дня 25.11.2026"),
        ]:
            response = pages.get(path)
            assert response.status_code == 200, path
            assert text in response.text, path
        assert pages.get("/office/155650/day?day=yesterday").status_code == 422


class TestCodesAreCountedEvenWhenRefused:
    def test_a_wrong_code_at_the_parcel_is_committed(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        parcel, code = world.shelved()
        csrf = _sign_in(pages)
        found = pages.post(
            "/office/155650/issue/tracking",
            data={"csrf": csrf, "tracking": parcel.tracking_number, "phone_last4": "4567"},
        )
        assert found.headers["location"] == f"/office/155650/issue/{parcel.tracking_number}"
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        pages.post(
            f"/office/155650/issue/{parcel.tracking_number}/verify",
            data={"csrf": csrf, "code": wrong},
        )
        page = pages.get(f"/office/155650/issue/{parcel.tracking_number}")
        assert "Неверный код. Осталось попыток: 4." in page.text
        world.session.refresh(parcel)
        assert parcel.pickup_code_failures == 1

    def test_a_locked_code_says_the_configured_number_of_tries(
        self, app: FastAPI, pages: TestClient, world: OfficeWorld
    ) -> None:
        app.state.settings = app.state.settings.model_copy(
            update={"pickup_code_max_failures": 3, "pickup_code_lock_minutes": 10}
        )
        parcel, code = world.shelved()
        csrf = _sign_in(pages)
        pages.post(
            "/office/155650/issue/tracking",
            data={"csrf": csrf, "tracking": parcel.tracking_number, "phone_last4": "4567"},
        )
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(3):
            pages.post(
                f"/office/155650/issue/{parcel.tracking_number}/verify",
                data={"csrf": csrf, "code": wrong},
            )
        page = pages.get(f"/office/155650/issue/{parcel.tracking_number}")
        until = format_local_time(world.clock.now() + timedelta(minutes=10), "Europe/Moscow")
        assert f"Код заблокирован до {until}: 3 неверных кода подряд." in page.text

    def test_a_wrong_code_at_the_code_search_is_committed(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        _, code = world.shelved()
        csrf = _sign_in(pages)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        response = pages.post("/office/155650/issue/code", data={"csrf": csrf, "code": wrong})
        assert response.headers["location"] == "/office/155650/issue"
        assert "Осталось попыток: 4" in pages.get("/office/155650/issue").text
        world.session.expire_all()
        guard = world.session.get(CodeSearchGuard, world.pestyaki.id)
        assert guard is not None
        assert guard.failures == 1

    @pytest.mark.parametrize("typed", ["12345", "abcdef"])
    def test_a_malformed_code_is_refused_without_counting(
        self, pages: TestClient, world: OfficeWorld, typed: str
    ) -> None:
        csrf = _sign_in(pages)
        pages.post("/office/155650/issue/code", data={"csrf": csrf, "code": typed})
        assert "Код получения — 6 цифр из SMS." in pages.get("/office/155650/issue").text
        world.session.expire_all()
        assert world.session.get(CodeSearchGuard, world.pestyaki.id) is None
