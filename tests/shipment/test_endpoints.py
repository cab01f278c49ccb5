"""The marketplace's shipment API through the whole HTTP stack."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.models import Shipment
from selpo.shipment.tracking import is_valid_tracking_number
from tests.conftest import TEST_NOW
from tests.fixtures.builders import (
    MarketplaceWithKey,
    admin_headers,
    marketplace_key,
    shipment_payload,
)


@pytest.fixture
def ozon_key(session: Session) -> MarketplaceWithKey:
    return marketplace_key(session, "OZON", now=TEST_NOW)


@pytest.fixture
def yandex_key(session: Session) -> MarketplaceWithKey:
    return marketplace_key(session, "YANDEX_MARKET", now=TEST_NOW)


def _create(client: TestClient, key: MarketplaceWithKey, **overrides: object) -> dict[str, object]:
    response = client.post("/v1/shipments", json=shipment_payload(**overrides), headers=key.headers)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


class TestCreateShipment:
    def test_created_shipment_answers_with_its_tracking_number(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        body = _create(client, ozon_key)
        number = str(body["tracking_number"])
        assert is_valid_tracking_number(number)
        assert number.startswith("153950")
        assert body["status"] == "created"
        assert body["promised_date"] is None
        assert body["storage_deadline"] is None
        assert body["recipient"] == {"name": "И****** М. П.", "phone": "+7******4567"}
        assert [e["code"] for e in body["events"]] == ["created"]  # type: ignore[attr-defined]

    def test_no_key_is_401(self, client: TestClient) -> None:
        response = client.post("/v1/shipments", json=shipment_payload())
        assert response.status_code == 401
        bad = client.get("/v1/shipments", headers={"Authorization": "Bearer selpo_x_y"})
        assert bad.status_code == 401

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"destination_index": "999999"}, "destination_index"),
            ({"destination_index": "15565"}, "destination_index"),
            ({"recipient": {"name": "Мария", "phone": "+74951234567"}}, "recipient.phone"),
            (
                {
                    "parcel": {
                        "weight_g": 1200,
                        "length_mm": 300,
                        "width_mm": 200,
                        "height_mm": 100,
                        "declared_value_kop": 150000,
                        "cod_kop": 150001,
                    }
                },
                "parcel.cod_kop",
            ),
            (
                {"items": [{"sku": "A", "name": "Чайник", "quantity": 2, "price_kop": 150000}]},
                "items",
            ),
            (
                {
                    "parcel": {
                        "weight_g": 21000,
                        "length_mm": 300,
                        "width_mm": 200,
                        "height_mm": 100,
                        "declared_value_kop": 150000,
                        "cod_kop": 0,
                    }
                },
                "parcel.weight_g",
            ),
            (
                {
                    "parcel": {
                        "weight_g": 1000,
                        "length_mm": 900,
                        "width_mm": 200,
                        "height_mm": 100,
                        "declared_value_kop": 150000,
                        "cod_kop": 0,
                    }
                },
                "parcel.length_mm",
            ),
        ],
    )
    def test_bad_input_names_the_field_and_changes_nothing(
        self,
        client: TestClient,
        session: Session,
        ozon_key: MarketplaceWithKey,
        overrides: dict[str, object],
        field: str,
    ) -> None:
        before = session.scalar(select(func.count()).select_from(Shipment))
        response = client.post(
            "/v1/shipments", json=shipment_payload(**overrides), headers=ozon_key.headers
        )
        assert response.status_code == 422, response.text
        fields = [e["field"] for e in response.json()["errors"]]
        assert any(f == field or f.startswith(field) for f in fields), fields
        assert session.scalar(select(func.count()).select_from(Shipment)) == before

    def test_office_that_does_not_serve_the_marketplace_is_refused(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        # 155217 (Кромы) is a village office no marketplace serves yet.
        response = client.post(
            "/v1/shipments",
            json=shipment_payload(destination_index="155217"),
            headers=ozon_key.headers,
        )
        assert response.status_code == 422
        assert "does not serve" in response.json()["detail"]

    def test_same_idempotency_key_and_body_returns_the_first_answer(
        self, client: TestClient, session: Session, ozon_key: MarketplaceWithKey
    ) -> None:
        headers = {**ozon_key.headers, "Idempotency-Key": "k-1"}
        first = client.post("/v1/shipments", json=shipment_payload(), headers=headers)
        again = client.post("/v1/shipments", json=shipment_payload(), headers=headers)
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        count = session.scalar(select(func.count()).select_from(Shipment))
        assert count == 1

    def test_a_batch_retried_with_its_key_is_answered_once(
        self, client: TestClient, session: Session, ozon_key: MarketplaceWithKey
    ) -> None:
        headers = {**ozon_key.headers, "Idempotency-Key": "batch-1"}
        body = [shipment_payload(external_order_id=f"B-{n}") for n in range(3)]
        first = client.post("/v1/shipments/batch", json=body, headers=headers)
        again = client.post("/v1/shipments/batch", json=body, headers=headers)
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json()
        assert first.json()["created"] == 3
        assert session.scalar(select(func.count()).select_from(Shipment)) == 3

    def test_a_refused_create_keeps_no_answer_under_its_key(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        headers = {**ozon_key.headers, "Idempotency-Key": "k-refused"}
        heavy = shipment_payload(parcel={**shipment_payload()["parcel"], "weight_g": 25_000})
        assert client.post("/v1/shipments", json=heavy, headers=headers).status_code == 422
        # The refusal rolled the claim back: the key is free for the corrected request.
        fixed = client.post("/v1/shipments", json=shipment_payload(), headers=headers)
        assert fixed.status_code == 201

    def test_an_over_long_key_is_refused(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        headers = {**ozon_key.headers, "Idempotency-Key": "k" * 256}
        answer = client.post("/v1/shipments", json=shipment_payload(), headers=headers)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "Idempotency-Key"

    def test_the_promised_date_comes_from_the_provider_the_app_is_composed_with(
        self, app: FastAPI, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        asked: list[str] = []

        def three_days_on(session: Session, *, now: datetime) -> Callable[[str], date | None]:
            def promise(index: str) -> date | None:
                asked.append(index)
                return now.date() + timedelta(days=3)

            return promise

        app.state.promises = three_days_on
        body = _create(client, ozon_key)
        assert body["promised_date"] == (TEST_NOW.date() + timedelta(days=3)).isoformat()
        assert asked == [shipment_payload()["destination_index"]]

    def test_same_key_with_another_body_is_422(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        headers = {**ozon_key.headers, "Idempotency-Key": "k-2"}
        client.post("/v1/shipments", json=shipment_payload(), headers=headers)
        other = client.post(
            "/v1/shipments", json=shipment_payload(external_order_id="OTHER"), headers=headers
        )
        assert other.status_code == 422
        assert other.json()["errors"][0]["field"] == "Idempotency-Key"

    def test_reused_order_id_is_409_naming_the_shipment(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        first = _create(client, ozon_key)
        again = client.post("/v1/shipments", json=shipment_payload(), headers=ozon_key.headers)
        assert again.status_code == 409
        assert again.json()["tracking_number"] == first["tracking_number"]

    def test_tracking_numbers_never_repeat(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        numbers = {
            _create(client, ozon_key, external_order_id=f"O-{n}")["tracking_number"]
            for n in range(20)
        }
        assert len(numbers) == 20


class TestBatch:
    def test_one_bad_item_fails_alone(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        batch = [
            shipment_payload(external_order_id="B-1"),
            shipment_payload(external_order_id="B-2", destination_index="999999"),
            {"external_order_id": "B-3"},
            shipment_payload(external_order_id="B-1"),
            shipment_payload(external_order_id="B-4"),
        ]
        response = client.post("/v1/shipments/batch", json=batch, headers=ozon_key.headers)
        assert response.status_code == 200
        body = response.json()
        assert [r["status_code"] for r in body["results"]] == [201, 422, 422, 422, 201]
        assert body["created"] == 2
        assert body["failed"] == 3

    def test_batch_over_the_limit_is_refused(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        batch = [shipment_payload(external_order_id=f"X-{n}") for n in range(1001)]
        response = client.post("/v1/shipments/batch", json=batch, headers=ozon_key.headers)
        assert response.status_code == 422


class TestReadAndList:
    def test_list_pages_with_a_cursor(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        for n in range(5):
            _create(client, ozon_key, external_order_id=f"L-{n}")
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/shipments", params=params, headers=ozon_key.headers).json()
            seen += [i["external_order_id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            # a shipment created between pages lands at the end, never twice
            if len(seen) == 2:
                _create(client, ozon_key, external_order_id="L-late")
        assert seen == ["L-0", "L-1", "L-2", "L-3", "L-4", "L-late"]

    def test_list_filters_by_status_and_rejects_unknown(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        _create(client, ozon_key)
        created = client.get(
            "/v1/shipments", params={"status": "created"}, headers=ozon_key.headers
        ).json()
        assert len(created["items"]) == 1
        bad = client.get("/v1/shipments", params={"status": "teleported"}, headers=ozon_key.headers)
        assert bad.status_code == 422

    def test_wrong_check_digit_is_refused(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        number = str(_create(client, ozon_key)["tracking_number"])
        wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
        response = client.get(f"/v1/shipments/{wrong}", headers=ozon_key.headers)
        assert response.status_code == 422
        assert "check digit" in response.json()["detail"]


class TestIsolation:
    def test_another_marketplaces_shipment_is_404_everywhere(
        self, client: TestClient, ozon_key: MarketplaceWithKey, yandex_key: MarketplaceWithKey
    ) -> None:
        number = _create(client, ozon_key)["tracking_number"]
        for method, path in [
            ("GET", f"/v1/shipments/{number}"),
            ("POST", f"/v1/shipments/{number}/cancel"),
            ("POST", f"/v1/shipments/{number}/extend-storage"),
            ("GET", f"/v1/shipments/{number}/label"),
        ]:
            response = client.request(method, path, headers=yandex_key.headers)
            assert response.status_code == 404, (method, path)
        listed = client.get("/v1/shipments", headers=yandex_key.headers).json()
        assert listed["items"] == []


class TestLifecycleThroughTheApi:
    def test_cancel_before_handover_then_not_again(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        number = _create(client, ozon_key)["tracking_number"]
        cancelled = client.post(f"/v1/shipments/{number}/cancel", headers=ozon_key.headers)
        assert cancelled.json()["status"] == "cancelled"
        again = client.post(f"/v1/shipments/{number}/cancel", headers=ozon_key.headers)
        assert again.status_code == 409
        assert again.json()["current_status"] == "cancelled"
        assert again.json()["allowed"] == []

    def test_cancel_after_handover_is_409_with_what_is_allowed(
        self,
        client: TestClient,
        session: Session,
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _create(client, ozon_key)["tracking_number"]
        admin = admin_headers(session, now=TEST_NOW)
        scan = {
            "tracking_number": number,
            "code": "handed_over",
            "occurred_at": TEST_NOW.isoformat(),
        }
        assert client.post("/v1/tracking-events", json=scan, headers=admin).status_code == 201
        refused = client.post(f"/v1/shipments/{number}/cancel", headers=ozon_key.headers)
        assert refused.status_code == 409
        assert refused.json()["current_status"] == "handed_over"
        assert set(refused.json()["allowed"]) == {
            "in_transit",
            "arrived_at_office",
            "recalled",
            "lost",
        }

    def test_a_late_scan_is_recorded_in_time_order_without_moving_back(
        self,
        client: TestClient,
        session: Session,
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _create(client, ozon_key)["tracking_number"]
        admin = admin_headers(session, now=TEST_NOW)
        clock.advance(timedelta(hours=30))

        def scan(code: str, hours: int) -> int:
            body = {
                "tracking_number": number,
                "code": code,
                "occurred_at": (TEST_NOW + timedelta(hours=hours)).isoformat(),
                "office_index": "155650",
            }
            return client.post("/v1/tracking-events", json=body, headers=admin).status_code

        assert scan("handed_over", 1) == 201
        assert scan("arrived_at_office", 20) == 201
        assert scan("departed_hub", 10) == 201  # uploaded late
        body = client.get(f"/v1/shipments/{number}", headers=ozon_key.headers).json()
        assert body["status"] == "arrived_at_office"
        codes = [e["code"] for e in body["events"]]
        assert codes == ["created", "handed_over", "departed_hub", "arrived_at_office"]
        assert [e["applied"] for e in body["events"]] == [True, True, False, True]

    def test_scans_need_the_admin_key(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        number = _create(client, ozon_key)["tracking_number"]
        body = {
            "tracking_number": number,
            "code": "handed_over",
            "occurred_at": TEST_NOW.isoformat(),
        }
        response = client.post("/v1/tracking-events", json=body, headers=ozon_key.headers)
        assert response.status_code == 403


def test_label_is_a_pdf_with_the_tracking_number(
    client: TestClient, ozon_key: MarketplaceWithKey
) -> None:
    number = _create(client, ozon_key)["tracking_number"]
    response = client.get(f"/v1/shipments/{number}/label", headers=ozon_key.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 1000
