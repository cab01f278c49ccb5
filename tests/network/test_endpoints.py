"""The public pickup-point API through the whole HTTP stack."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

PESTYAKI = {"lat": 56.7086, "lon": 42.6695}


class TestSearchPickupPoints:
    def test_pestyaki_office_comes_first_near_pestyaki(self, client: TestClient) -> None:
        response = client.get("/v1/pickup-points", params=PESTYAKI)
        assert response.status_code == 200
        items = response.json()["items"]
        assert items[0]["index"] == "155650"
        distances = [item["distance_m"] for item in items]
        assert distances == sorted(distances)
        assert all(d <= 25_000 for d in distances)

    def test_an_item_carries_what_a_marketplace_shows(self, client: TestClient) -> None:
        item = client.get("/v1/pickup-points", params={**PESTYAKI, "limit": 1}).json()["items"][0]
        for field in (
            "index",
            "name",
            "address",
            "lat",
            "lon",
            "distance_m",
            "rural",
            "opening_hours",
            "timezone",
            "open_now",
            "marketplaces",
            "fits",
        ):
            assert field in item
        assert item["timezone"] == "Europe/Moscow"
        assert len(item["opening_hours"]) == 7
        assert item["fits"] is None  # no parcel given

    def test_limit_and_radius_bound_the_answer(self, client: TestClient) -> None:
        items = client.get(
            "/v1/pickup-points", params={**PESTYAKI, "radius_km": 200, "limit": 7}
        ).json()["items"]
        assert len(items) == 7
        tiny = client.get("/v1/pickup-points", params={**PESTYAKI, "radius_km": 0.001}).json()
        assert all(item["distance_m"] <= 1 for item in tiny["items"])

    def test_marketplace_filter_keeps_only_its_offices(self, client: TestClient) -> None:
        items = client.get(
            "/v1/pickup-points",
            params={
                "lat": 57.0,
                "lon": 41.0,
                "radius_km": 300,
                "limit": 100,
                "marketplace": "OZON",
            },
        ).json()["items"]
        assert len(items) == 19
        assert all("OZON" in item["marketplaces"] for item in items)
        market = client.get(
            "/v1/pickup-points",
            params={**PESTYAKI, "radius_km": 300, "limit": 100, "marketplace": "YANDEX_MARKET"},
        ).json()["items"]
        assert len(market) == 10
        assert {i["index"] for i in market} < {i["index"] for i in items}

    def test_a_heavy_parcel_does_not_fit_a_village_office(self, client: TestClient) -> None:
        parcel = {"weight_g": 17_000, "length_mm": 300, "width_mm": 200, "height_mm": 100}
        near = {**PESTYAKI, "radius_km": 60, "limit": 50, **parcel}
        items = client.get("/v1/pickup-points", params=near).json()["items"]
        assert items
        assert not [item for item in items if item["rural"]]  # the village offices are left out
        assert {item["fits"] for item in items} == {True}
        # fits_only=false keeps them, marked, for a map that greys them out.
        marked = client.get("/v1/pickup-points", params={**near, "fits_only": "false"}).json()
        assert {item["fits"] for item in marked["items"] if item["rural"]} == {False}
        assert {item["fits"] for item in marked["items"] if not item["rural"]} == {True}

    def test_open_at_a_given_moment(self, client: TestClient) -> None:
        # Monday 10:00 Moscow: village offices rest on Mondays, the pgt office is open.
        monday = "2026-11-23T10:00:00+03:00"
        items = client.get(
            "/v1/pickup-points",
            params={**PESTYAKI, "radius_km": 60, "limit": 50, "open_at": monday},
        ).json()["items"]
        assert {i["open_now"] for i in items if i["rural"]} == {False}
        assert next(i for i in items if i["index"] == "155650")["open_now"] is True

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"lat": 91, "lon": 42}, "lat"),
            ({"lat": 56, "lon": 181}, "lon"),
            ({**PESTYAKI, "radius_km": -1}, "radius_km"),
            ({**PESTYAKI, "limit": 1001}, "limit"),
            ({**PESTYAKI, "limit": 0}, "limit"),
            ({**PESTYAKI, "marketplace": "WILDBERRIES"}, "marketplace"),
            ({**PESTYAKI, "weight_g": 100}, "length_mm"),
            ({**PESTYAKI, "open_at": "2026-11-23T10:00:00"}, "open_at"),
            ({"lon": 42}, "lat"),
        ],
    )
    def test_bad_input_names_the_parameter(
        self, client: TestClient, params: dict[str, str | float], field: str
    ) -> None:
        response = client.get("/v1/pickup-points", params=params)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert field in {error["field"] for error in body["errors"]}


class TestGetPickupPoint:
    def test_one_office_by_index(self, client: TestClient) -> None:
        response = client.get("/v1/pickup-points/155650")
        assert response.status_code == 200
        body = response.json()
        assert body["index"] == "155650"
        assert "distance_m" not in body
        assert body["opening_hours"][6] == []  # closed on Sunday

    def test_unknown_index_is_404(self, client: TestClient) -> None:
        response = client.get("/v1/pickup-points/999999")
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "index"

    def test_index_that_is_not_six_digits_is_422(self, client: TestClient) -> None:
        response = client.get("/v1/pickup-points/15565")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "index"


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/v1/pickup-points" in spec["paths"]
    assert client.get("/docs").status_code == 200
