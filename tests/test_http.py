"""The HTTP shell under bad input: problem details for every error, request ids, rate limits,
body limits, headers, and the refusal of development secrets in production."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from selpo.app import create_app
from selpo.config import InsecureSettings, Settings, check_production_secrets
from selpo.kit.clock import FrozenClock
from selpo.kit.rate_limit import TokenBuckets
from selpo.kit.request_id import accept_request_id
from selpo.logistics import timetables
from tests.conftest import TEST_NOW
from tests.fixtures.builders import admin_headers, make_shipment, marketplace_key, shipment_payload

PROBLEM = "application/problem+json"
SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
BIG = 2**31 + 5
HUGE = 2**70

ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(
    seeded_engine: Engine, session_factory: sessionmaker[Session], clock: FrozenClock
) -> Iterator[ClientFactory]:
    """A client of an app built with these settings (on the test's rolled-back transaction)."""
    apps: list[FastAPI] = []

    def build(**overrides: Any) -> TestClient:
        url = seeded_engine.url.render_as_string(hide_password=False)
        application = create_app(Settings(database_url=url, **overrides), clock=clock)
        application.state.session_factory = session_factory
        apps.append(application)
        return TestClient(application, raise_server_exceptions=False)

    yield build
    for application in apps:
        application.state.engine.dispose()


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"]
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 422:
        assert body["errors"]
        assert all({"field", "reason"} <= set(e) for e in body["errors"])
    return body


class TestBigIds:
    @pytest.mark.parametrize("value", [BIG, HUGE, 0, -1])
    @pytest.mark.parametrize(
        ("method", "path", "who"),
        [
            ("GET", "/v1/plans/{id}", "admin"),
            ("DELETE", "/v1/webhooks/{id}", "marketplace"),
            ("GET", "/v1/webhooks/{id}/deliveries", "marketplace"),
            ("POST", "/v1/webhooks/{id}/replay?since=2026-11-01T00:00:00Z", "marketplace"),
        ],
    )
    def test_ids_out_of_range_are_refused_as_invalid(
        self, client: TestClient, session: Session, method: str, path: str, who: str, value: int
    ) -> None:
        headers = (
            admin_headers(session, now=TEST_NOW)
            if who == "admin"
            else marketplace_key(session, "OZON", now=TEST_NOW).headers
        )
        response = client.request(method, path.format(id=value), headers=headers)
        body = _assert_problem(response, 422)
        assert body["errors"][0]["field"] in {"plan_id", "subscription_id"}

    def test_the_largest_id_is_simply_not_found(self, client: TestClient, session: Session) -> None:
        response = client.get(
            f"/v1/plans/{2**31 - 1}", headers=admin_headers(session, now=TEST_NOW)
        )
        _assert_problem(response, 404)

    @pytest.mark.parametrize(
        "query", [f"limit={BIG}", "radius_km=nan", "radius_km=inf", f"weight_g={HUGE}"]
    )
    def test_search_numbers_out_of_range_are_refused(self, client: TestClient, query: str) -> None:
        _assert_problem(client.get(f"/v1/pickup-points?lat=56.7&lon=42.6&{query}"), 422)

    @pytest.mark.parametrize("value", ["Infinity", "NaN", "1e300", "-1"])
    def test_a_route_with_unbounded_minutes_is_refused(
        self, client: TestClient, session: Session, value: str
    ) -> None:
        body = (
            '{"hub": "DH-155650", "weekdays": ["mon"], "departure": "08:00", '
            '"capacity_parcels": 10, "capacity_litres": 100, "return_after_min": VALUE, '
            '"stops": [{"office_index": "155650", "arrival_after_min": VALUE}]}'
        ).replace("VALUE", value)
        headers = {**admin_headers(session, now=TEST_NOW), "Content-Type": "application/json"}
        _assert_problem(client.put("/v1/routes/X-TEST", content=body, headers=headers), 422)

    @pytest.mark.parametrize(
        "fields", ['"budget_rub": Infinity', '"budget_rub": 1e300', f'"seed": {HUGE}']
    )
    def test_a_plan_with_unbounded_numbers_is_refused(
        self, client: TestClient, session: Session, fields: str
    ) -> None:
        body = '{"name": "x", "kind": "modernise", FIELDS}'.replace("FIELDS", fields)
        headers = {**admin_headers(session, now=TEST_NOW), "Content-Type": "application/json"}
        _assert_problem(client.post("/v1/plans", content=body, headers=headers), 422)

    def test_a_run_id_with_a_huge_year_is_refused(
        self, client: TestClient, session: Session
    ) -> None:
        response = client.get(
            "/v1/route-runs/DH-155650-V01@99999-11-26T05:00:00Z/manifest",
            headers=admin_headers(session, now=TEST_NOW),
        )
        _assert_problem(response, 422)


class TestProblems:
    def test_an_unknown_path_is_a_404_problem(self, client: TestClient) -> None:
        body = _assert_problem(client.get("/v1/no-such-thing"), 404)
        assert body["detail"] == "nothing is at this path"

    def test_a_wrong_method_is_a_405_problem_naming_the_allowed(self, client: TestClient) -> None:
        response = client.put("/healthz")
        _assert_problem(response, 405)
        assert "GET" in response.headers["allow"]

    def test_a_missing_key_is_a_401_problem(self, client: TestClient) -> None:
        _assert_problem(client.get("/v1/shipments"), 401)

    def test_a_marketplace_key_on_an_operator_route_is_a_403_problem(
        self, client: TestClient, session: Session
    ) -> None:
        headers = marketplace_key(session, "OZON", now=TEST_NOW).headers
        _assert_problem(client.get("/v1/plans", headers=headers), 403)

    def test_malformed_json_is_a_422_problem(self, client: TestClient, session: Session) -> None:
        headers = marketplace_key(session, "OZON", now=TEST_NOW).headers
        response = client.post(
            "/v1/shipments",
            content=b"{not json",
            headers={**headers, "Content-Type": "application/json"},
        )
        _assert_problem(response, 422)

    def test_a_crash_is_a_500_problem_without_the_traceback(self, app: FastAPI) -> None:
        def explode() -> None:
            raise RuntimeError("secret internals: password=hunter2")

        app.add_api_route("/v1/explode", explode)
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/v1/explode", headers={"X-Request-Id": "crash-1"})
        body = _assert_problem(response, 500)
        assert body["request_id"] == "crash-1"
        assert "hunter2" not in response.text
        assert "Traceback" not in response.text
        assert "RuntimeError" not in response.text


class TestRequestId:
    @given(st.text(max_size=80))
    def test_any_offered_id_gives_a_sane_one(self, offered: str) -> None:
        made = accept_request_id(offered)
        assert SANE_ID.fullmatch(made)
        assert (made == offered) == bool(SANE_ID.fullmatch(offered))

    def test_every_answer_says_how_long_the_application_took(self, client: TestClient) -> None:
        for response in (client.get("/healthz"), client.get("/v1/explode-nothing-here")):
            timing = response.headers["server-timing"]
            name, _, duration = timing.partition(";dur=")
            assert name == "app"
            assert 0 <= float(duration) < 60_000

    def test_a_sane_id_from_the_client_is_echoed(self, client: TestClient) -> None:
        response = client.get("/healthz", headers={"X-Request-Id": "lb-7f3a.91:2"})
        assert response.headers["x-request-id"] == "lb-7f3a.91:2"

    @pytest.mark.parametrize("offered", ["", "x" * 65, "a b", "id\r\nSet-Cookie: x=1", "é"])
    def test_an_unsafe_id_is_replaced(self, offered: str) -> None:
        made = accept_request_id(offered)
        assert made != offered
        assert len(made) == 32

    def test_a_request_without_an_id_gets_a_fresh_one(self, client: TestClient) -> None:
        first = client.get("/healthz").headers["x-request-id"]
        second = client.get("/healthz").headers["x-request-id"]
        assert len(first) == 32
        assert first != second

    def test_one_access_line_per_request_without_the_query(
        self, client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO, logger="selpo.access"):
            client.get(
                "/v1/pickup-points?lat=56.7&lon=42.6&radius_km=12.3456",
                headers={"X-Request-Id": "line-1"},
            )
        lines = [r.getMessage() for r in caplog.records if r.name == "selpo.access"]
        assert len(lines) == 1
        assert lines[0].startswith("GET /v1/pickup-points 200 ")
        assert lines[0].endswith("request_id=line-1")
        assert "radius_km" not in lines[0]
        assert "12.3456" not in lines[0]

    def test_a_crash_is_logged_as_500_with_its_id(
        self, app: FastAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        def explode() -> None:
            raise RuntimeError("boom")

        app.add_api_route("/v1/explode", explode)
        with (
            caplog.at_level(logging.INFO, logger="selpo"),
            TestClient(app, raise_server_exceptions=False) as client,
        ):
            client.get("/v1/explode", headers={"X-Request-Id": "crash-2"})
        lines = [r.getMessage() for r in caplog.records if r.name == "selpo.access"]
        assert any(" 500 " in line and "request_id=crash-2" in line for line in lines)
        errors = [r for r in caplog.records if r.name == "selpo.error"]
        assert len(errors) == 1
        assert "request_id=crash-2" in errors[0].getMessage()
        assert errors[0].exc_info is not None  # the traceback stays in the server's log


class TestTokenBuckets:
    def test_a_burst_then_the_rate(self) -> None:
        now = [0.0]
        buckets = TokenBuckets(2.0, 4.0, clock=lambda: now[0])
        assert [buckets.take("k") for _ in range(4)] == [0.0] * 4
        assert buckets.take("k") == pytest.approx(0.5)
        now[0] = 0.5
        assert buckets.take("k") == 0.0
        assert buckets.take("other") == 0.0  # each key its own bucket

    @given(
        rate=st.floats(0.1, 100),
        burst=st.integers(1, 50),
        gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200),
    )
    def test_never_more_than_the_burst_plus_the_rate(
        self, rate: float, burst: int, gaps: list[float]
    ) -> None:
        now = [0.0]
        buckets = TokenBuckets(rate, float(burst), clock=lambda: now[0])
        granted = 0
        for gap in gaps:
            now[0] += gap
            wait = buckets.take("k")
            assert wait >= 0
            granted += wait == 0.0
        assert granted <= burst + rate * now[0] + 1e-6

    def test_a_full_bucket_stays_full(self) -> None:
        now = [0.0]
        buckets = TokenBuckets(1.0, 2.0, clock=lambda: now[0])
        now[0] = 1000.0
        assert [buckets.take("k") for _ in range(3)][2] > 0

    def test_tokens_are_taken_atomically_under_threads(self) -> None:
        buckets = TokenBuckets(1e-9, 100.0)
        granted: list[bool] = []
        lock = threading.Lock()

        def hammer() -> None:
            for _ in range(50):
                ok = buckets.take("shared") == 0.0
                with lock:
                    granted.append(ok)

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert granted.count(True) == 100

    def test_the_number_of_buckets_is_bounded(self) -> None:
        buckets = TokenBuckets(1.0, 1.0, max_keys=10)
        for n in range(100):
            buckets.take(str(n))
        assert len(buckets._buckets) == 10


class TestRateLimits:
    def test_a_key_over_its_rate_gets_429_with_retry_after(
        self, make_client: ClientFactory, session: Session
    ) -> None:
        client = make_client(rate_limit_per_key=0.01)  # burst 1, one token per 100 s
        ozon = marketplace_key(session, "OZON", now=TEST_NOW).headers
        yandex = marketplace_key(session, "YANDEX_MARKET", now=TEST_NOW).headers
        assert client.get("/v1/shipments", headers=ozon).status_code == 200
        refused = client.get("/v1/shipments", headers=ozon)
        _assert_problem(refused, 429)
        assert 90 <= int(refused.headers["retry-after"]) <= 100
        assert client.get("/v1/shipments", headers=yandex).status_code == 200

    def test_the_default_lets_a_busy_integration_through(
        self, make_client: ClientFactory, session: Session
    ) -> None:
        client = make_client()
        ozon = marketplace_key(session, "OZON", now=TEST_NOW).headers
        answers = [client.get("/v1/shipments", headers=ozon).status_code for _ in range(60)]
        assert answers == [200] * 60

    def test_zero_turns_the_key_limit_off(
        self, make_client: ClientFactory, session: Session
    ) -> None:
        client = make_client(rate_limit_per_key=0)
        ozon = marketplace_key(session, "OZON", now=TEST_NOW).headers
        answers = [client.get("/v1/shipments", headers=ozon).status_code for _ in range(150)]
        assert answers == [200] * 150

    def test_sign_in_is_limited_per_address(self, make_client: ClientFactory) -> None:
        client = make_client(rate_limit_signin_per_minute=1)  # burst 2
        form = {"login": "nobody", "password": "wrong", "csrf": "x"}
        first = [client.post("/office/login", data=form).status_code for _ in range(2)]
        assert 429 not in first
        refused = client.post("/office/login", data=form)
        _assert_problem(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1
        assert client.get("/office/login").status_code == 200  # the form itself stays
        elsewhere = TestClient(client.app, client=("203.0.113.9", 50000))
        assert elsewhere.post("/office/login", data=form).status_code != 429

    def test_an_address_that_keeps_failing_authentication_is_refused_first(
        self, make_client: ClientFactory, session: Session
    ) -> None:
        client = make_client(rate_limit_auth_failures_per_minute=1)  # burst 2
        made_up = {"Authorization": "Bearer selpo_abcdefgh_not-a-real-secret"}
        failures = [client.get("/v1/shipments", headers=made_up).status_code for _ in range(2)]
        assert failures == [401, 401]
        refused = client.get("/v1/shipments", headers=made_up)
        _assert_problem(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1
        # Another address is not held back, and succeeding never spends anything.
        elsewhere = TestClient(client.app, client=("203.0.113.9", 50000))
        ozon = marketplace_key(session, "OZON", now=TEST_NOW).headers
        answers = [elsewhere.get("/v1/shipments", headers=ozon).status_code for _ in range(5)]
        assert answers == [200] * 5

    def test_zero_turns_the_failed_authentication_limit_off(
        self, make_client: ClientFactory
    ) -> None:
        client = make_client(rate_limit_auth_failures_per_minute=0)
        made_up = {"Authorization": "Bearer selpo_abcdefgh_not-a-real-secret"}
        answers = [client.get("/v1/shipments", headers=made_up).status_code for _ in range(80)]
        assert answers == [401] * 80

    def test_a_clerk_session_is_limited(self, make_client: ClientFactory) -> None:
        client = make_client(rate_limit_per_session=0.01)
        client.cookies.set("selpo_session", "some-session-token")
        assert client.get("/office", follow_redirects=False).status_code == 303
        _assert_problem(client.get("/office", follow_redirects=False), 429)


class TestBodyLimit:
    def test_a_declared_body_over_the_limit_is_413(
        self, make_client: ClientFactory, session: Session
    ) -> None:
        client = make_client(max_body_bytes=2048)
        headers = marketplace_key(session, "OZON", now=TEST_NOW).headers
        body = json.dumps([shipment_payload(external_order_id=f"O-{i}") for i in range(10)])
        response = client.post(
            "/v1/shipments/batch",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        _assert_problem(response, 413)

    def test_a_streamed_body_over_the_limit_is_413(
        self, make_client: ClientFactory, session: Session
    ) -> None:
        client = make_client(max_body_bytes=2048)
        headers = marketplace_key(session, "OZON", now=TEST_NOW).headers
        sent: list[int] = []

        def chunks() -> Iterator[bytes]:
            yield b"["
            for i in range(1000):
                sent.append(i)
                yield json.dumps(shipment_payload(external_order_id=f"O-{i}")).encode() + b","
            yield b"{}]"

        response = client.post(
            "/v1/shipments/batch",
            content=chunks(),
            headers={**headers, "Content-Type": "application/json"},
        )
        _assert_problem(response, 413)

    def test_a_batch_of_a_thousand_fits_the_default(
        self, make_client: ClientFactory, session: Session
    ) -> None:
        batch = [shipment_payload(external_order_id=f"ORDER-{i:08d}") for i in range(1000)]
        size = len(json.dumps(batch).encode())
        assert size < Settings().max_body_bytes / 4


class TestHeaders:
    def test_api_answers_are_not_stored_nor_sniffed(self, client: TestClient) -> None:
        response = client.get("/v1/pickup-points?lat=56.7&lon=42.6")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in response.headers["content-security-policy"]

    def test_errors_carry_them_too(self, client: TestClient) -> None:
        response = client.get("/v1/shipments")
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"

    def test_static_files_are_cached_and_revalidated(self, client: TestClient) -> None:
        response = client.get("/static/office/office.js")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=3600"
        etag = response.headers["etag"]
        again = client.get("/static/office/office.js", headers={"If-None-Match": etag})
        assert again.status_code == 304


class TestProductionSecrets:
    def test_development_settings_start_with_the_default_pepper(self) -> None:
        check_production_secrets(Settings())

    def test_production_refuses_the_default_pepper(self) -> None:
        with pytest.raises(InsecureSettings, match="SELPO_PICKUP_CODE_PEPPER"):
            create_app(Settings(env="production"))

    def test_production_refuses_a_short_pepper(self) -> None:
        with pytest.raises(InsecureSettings, match="SELPO_PICKUP_CODE_PEPPER"):
            check_production_secrets(Settings(env="production", pickup_code_pepper="short"))

    def test_production_starts_with_a_real_pepper(self, tmp_path: Any) -> None:
        settings = Settings(
            env="production",
            pickup_code_pepper="a-long-random-production-pepper-0123456789",
            database_url=f"sqlite:///{tmp_path / 'p.db'}",
        )
        application = create_app(settings)
        application.state.engine.dispose()

    def test_the_worker_refuses_too(self) -> None:
        from selpo.worker import start_background_worker

        with pytest.raises(InsecureSettings, match="SELPO_PICKUP_CODE_PEPPER"):
            start_background_worker(Settings(env="production"))

    def test_serve_says_which_variable_and_exits(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
    ) -> None:
        import subprocess
        import sys

        env = {
            "SELPO_ENV": "production",
            "SELPO_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
            "PATH": "/usr/bin:/bin",
        }
        done = subprocess.run(
            [sys.executable, "-c", "from selpo.cli import run; run()", "serve", "--port", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert done.returncode == 2
        assert "SELPO_PICKUP_CODE_PEPPER" in done.stderr


class TestOpenApi:
    def test_every_error_an_operation_documents_is_a_problem(self, client: TestClient) -> None:
        spec = client.get("/openapi.json").json()
        assert "Problem" in spec["components"]["schemas"]
        keyed = 0
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                errors = {
                    code: answer
                    for code, answer in operation["responses"].items()
                    if code[0] in "45"
                }
                for code, answer in errors.items():
                    assert list(answer["content"]) == [PROBLEM], (method, path, code)
                    schema = answer["content"][PROBLEM]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}
                # Public: the pickup-point finder and the webhook event catalogue.
                public = path.startswith("/v1/pickup-points") or path == "/v1/webhooks/events"
                if path.startswith("/v1/") and not public:
                    keyed += 1
                    assert {"401", "429"} <= set(errors), (method, path)
                if "{" in path:
                    assert {"404", "422"} & set(errors), (method, path)
        assert keyed > 25


class TestFarDates:
    @pytest.mark.parametrize(
        "query",
        [
            "/v1/shipments?updated_since=0001-01-01T00:00:00%2B14:00",
            "/v1/shipments?updated_since=9999-12-31T23:59:59-12:00",
            "/v1/reports/cod?date=9999-12-31",
            "/v1/pickup-points?lat=56.7&lon=42.6&open_at=9999-12-31T23:59:59-12:00",
            "/v1/pickup-points/155650?open_at=0001-01-01T00:00:00%2B14:00",
        ],
    )
    def test_a_far_date_in_a_query_is_refused(
        self, client: TestClient, session: Session, query: str
    ) -> None:
        headers = marketplace_key(session, "OZON", now=TEST_NOW).headers
        body = _assert_problem(client.get(query, headers=headers), 422)
        assert "2000 to 2099" in body["detail"]

    @pytest.mark.parametrize(
        "moment", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "2026-11-25T09:00:00"]
    )
    def test_a_scan_at_a_far_or_naive_moment_is_no_server_error(
        self, client: TestClient, session: Session, moment: str
    ) -> None:
        ozon = marketplace_key(session, "OZON", now=TEST_NOW)
        shipment = make_shipment(session, ozon.marketplace, now=TEST_NOW)
        response = client.post(
            "/v1/tracking-events",
            json={
                "tracking_number": shipment.tracking_number,
                "code": "handed_over",
                "occurred_at": moment,
            },
            headers=admin_headers(session, now=TEST_NOW),
        )
        assert response.status_code < 500, response.text
        assert response.headers["content-type"].startswith(("application/json", PROBLEM))

    @pytest.mark.parametrize(
        "moment",
        [
            "9999-12-31T23:59:59-12:00",
            "0001-01-01T00:00:00+14:00",
            "2099-12-31T23:00:00+03:00",
            "2000-01-01T00:00:00+03:00",
        ],
    )
    def test_a_quote_handed_over_at_a_far_moment_is_no_server_error(
        self, client: TestClient, session: Session, moment: str
    ) -> None:
        timetables.generate_timetable(session, now=TEST_NOW, seed=7)
        headers = marketplace_key(session, "OZON", now=TEST_NOW).headers
        parcel = {"weight_g": 1000, "length_mm": 100, "width_mm": 100, "height_mm": 100}
        response = client.post(
            "/v1/quotes",
            json={"destination_index": "155650", "handover_at": moment, **parcel},
            headers=headers,
        )
        assert response.status_code in {200, 422}, response.text
