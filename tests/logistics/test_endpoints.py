"""The logistics API through the whole HTTP stack: quotes, promised dates on new shipments,
route runs and their manifests, the route timetable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from selpo.logistics import endpoints as logistics_endpoints
from selpo.logistics import timetables
from selpo.logistics.tariff import load_tariff
from selpo.marketplace import service as marketplace_service
from selpo.network.rules import is_open_at
from tests.conftest import TEST_NOW
from tests.fixtures.builders import (
    MarketplaceWithKey,
    admin_headers,
    marketplace_key,
    shipment_payload,
)

MSK = ZoneInfo("Europe/Moscow")
SHUYA_CSV = """\
route_id,hub_id,weekdays,departure,capacity_parcels,capacity_litres,return_after_min,stop_seq,office_index,arrival_after_min
SHUYA-MON-THU,DH-155900,mon|thu,08:00,2,2000,240,1,155921,70
SHUYA-TOWN,DH-155900,mon|tue|wed|thu|fri|sat,08:00,500,7000,120,1,155901,30
"""


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    """A client of the app with the logistics router (included here until app.py has it)."""
    if "/v1/quotes" not in {getattr(r, "path", "") for r in app.routes}:
        app.include_router(logistics_endpoints.router)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def ozon(session: Session) -> MarketplaceWithKey:
    key = marketplace_key(session, "OZON", now=TEST_NOW, connect=())
    marketplace_service.connect_offices(
        session, marketplace=key.marketplace, indexes=None, today=TEST_NOW.date(), now=TEST_NOW
    )
    return key


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return admin_headers(session, now=TEST_NOW)


@pytest.fixture
def region(session: Session, ozon: MarketplaceWithKey) -> MarketplaceWithKey:
    """The synthetic timetable of the whole region."""
    timetables.generate_timetable(session, now=TEST_NOW, seed=7)
    return ozon


@pytest.fixture
def shuya(session: Session, ozon: MarketplaceWithKey) -> MarketplaceWithKey:
    """Two routes of the Shuya hub (the village van takes two parcels)."""
    timetables.import_routes(session, SHUYA_CSV, now=TEST_NOW)
    return ozon


def _body(index: str = "155901", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "destination_index": index,
        "weight_g": 1200,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 100,
        "declared_value_kop": 150_000,
        "cod_kop": 150_000,
    }
    body.update(overrides)
    return body


class TestQuotes:
    def test_every_office_of_the_region_gets_a_quote(
        self, api: TestClient, session: Session, region: MarketplaceWithKey
    ) -> None:
        network = timetables.load_network(session)
        assert len(network.offices) > 290
        for office in network.offices:
            response = api.post("/v1/quotes", json=_body(office.index), headers=region.headers)
            assert response.status_code == 200, (office.index, response.text)
            quote = response.json()
            earliest = datetime.fromisoformat(quote["earliest"])
            latest = datetime.fromisoformat(quote["latest"])
            assert TEST_NOW < earliest <= latest
            assert latest >= earliest + timedelta(days=2)
            assert is_open_at(office.opening_hours, office.timezone, earliest)
            assert quote["promised_date"] == latest.astimezone(MSK).date().isoformat()
            assert quote["currency"] == "RUB"
            assert quote["price_kop"] == sum(
                quote["price"][k] for k in ("base_kop", "cod_fee_kop", "insurance_kop")
            )
            assert quote["route_id"].startswith("DH-")
            assert datetime.fromisoformat(quote["handover_at"]) == TEST_NOW

    def test_a_later_handover_is_never_promised_earlier(
        self, api: TestClient, shuya: MarketplaceWithKey
    ) -> None:
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(
            start=st.integers(0, 60 * 24 * 45),
            delay=st.integers(1, 60 * 24 * 7),
            index=st.sampled_from(["155921", "155901"]),
        )
        def check(start: int, delay: int, index: str) -> None:
            first = datetime(2026, 12, 20, tzinfo=MSK) + timedelta(minutes=start)
            answers = []
            for moment in (first, first + timedelta(minutes=delay)):
                body = _body(index, handover_at=moment.isoformat())
                response = api.post("/v1/quotes", json=body, headers=shuya.headers)
                assert response.status_code == 200, response.text
                answers.append(response.json())
            a, b = answers
            assert datetime.fromisoformat(a["earliest"]) <= datetime.fromisoformat(b["earliest"])
            assert datetime.fromisoformat(a["latest"]) <= datetime.fromisoformat(b["latest"])
            assert a["promised_date"] <= b["promised_date"]

        check()

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"weight_g": 0}, "weight_g"),
            ({"weight_g": None}, "weight_g"),
            ({"length_mm": -1}, "length_mm"),
            ({"destination_index": "15590"}, "destination_index"),
            ({"destination_index": "999999"}, "destination_index"),
            ({"handover_at": "2026-11-20T18:00:00"}, "handover_at"),
            ({"handover_at": "Friday"}, "handover_at"),
            ({"handover_at": "1990-01-01T00:00:00+03:00"}, "handover_at"),
            ({"cod_kop": 200_000}, "cod_kop"),
            ({"weight_g": 25_000}, "weight_g"),
            ({"warehouse": "W-NOWHERE"}, "warehouse"),
            ({"colour": "red"}, "colour"),
        ],
    )
    def test_bad_input_is_422_naming_the_field(
        self,
        api: TestClient,
        shuya: MarketplaceWithKey,
        overrides: dict[str, Any],
        field: str,
    ) -> None:
        body = _body()
        body.update(overrides)
        if overrides.get("weight_g", 0) is None:
            del body["weight_g"]
        response = api.post("/v1/quotes", json=body, headers=shuya.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}

    def test_an_office_not_serving_the_marketplace_is_422(
        self, api: TestClient, session: Session, shuya: MarketplaceWithKey
    ) -> None:
        other = marketplace_key(session, "SMALLMP", now=TEST_NOW, connect=("155650",))
        response = api.post("/v1/quotes", json=_body("155901"), headers=other.headers)
        assert response.status_code == 422
        assert "does not serve" in response.json()["detail"]

    def test_an_office_on_no_route_is_422(self, api: TestClient, shuya: MarketplaceWithKey) -> None:
        response = api.post("/v1/quotes", json=_body("155650"), headers=shuya.headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "destination_index"

    def test_without_a_timetable_it_is_503(self, api: TestClient, ozon: MarketplaceWithKey) -> None:
        response = api.post("/v1/quotes", json=_body(), headers=ozon.headers)
        assert response.status_code == 503
        assert "timetable" in response.json()["detail"]

    def test_a_marketplace_key_is_needed(
        self, api: TestClient, shuya: MarketplaceWithKey, admin: dict[str, str]
    ) -> None:
        assert api.post("/v1/quotes", json=_body()).status_code == 401
        assert api.post("/v1/quotes", json=_body(), headers=admin).status_code == 401

    def test_warehouses_are_listed(self, api: TestClient, shuya: MarketplaceWithKey) -> None:
        response = api.get("/v1/warehouses", headers=shuya.headers)
        assert response.status_code == 200
        assert [w["code"] for w in response.json()] == ["W-IVANOVO", "W-PODOLSK"]


def test_a_new_shipment_carries_the_quoted_promise(
    api: TestClient, shuya: MarketplaceWithKey
) -> None:
    quote = api.post("/v1/quotes", json=_body("155921"), headers=shuya.headers).json()
    payload = shipment_payload(external_order_id="PROMISE-1", destination_index="155921")
    response = api.post("/v1/shipments", json=payload, headers=shuya.headers)
    assert response.status_code == 201, response.text
    assert response.json()["promised_date"] == quote["promised_date"]
    number = response.json()["tracking_number"]
    again = api.get(f"/v1/shipments/{number}", headers=shuya.headers).json()
    assert again["promised_date"] == quote["promised_date"]
    batch = api.post(
        "/v1/shipments/batch",
        json=[shipment_payload(external_order_id="PROMISE-2", destination_index="155921")],
        headers=shuya.headers,
    )
    assert batch.json()["results"][0]["shipment"]["promised_date"] == quote["promised_date"]


class TestRouteRuns:
    def _hand_over(self, api: TestClient, key: MarketplaceWithKey, admin: dict[str, str]) -> None:
        for n in range(3):
            payload = shipment_payload(external_order_id=f"RUN-{n}", destination_index="155921")
            number = api.post("/v1/shipments", json=payload, headers=key.headers).json()[
                "tracking_number"
            ]
            event = {
                "tracking_number": number,
                "code": "handed_over",
                "occurred_at": TEST_NOW.isoformat(),
            }
            assert api.post("/v1/tracking-events", json=event, headers=admin).status_code == 201

    def test_runs_of_a_day_and_their_manifest(
        self, api: TestClient, shuya: MarketplaceWithKey, admin: dict[str, str]
    ) -> None:
        self._hand_over(api, shuya, admin)
        # Handed over Wed 25 Nov 12:00 -> the village's next run is Thursday's.
        runs = api.get("/v1/route-runs?date=2026-11-26&hub=DH-155900", headers=admin)
        assert runs.status_code == 200, runs.text
        listed = {r["route_id"]: r for r in runs.json()}
        run = listed["SHUYA-MON-THU"]
        assert run["id"] == "SHUYA-MON-THU@2026-11-26T05:00:00Z"
        assert run["departure_local"] == "2026-11-26 08:00"
        assert (run["manifest"], run["parcels"]) == ("none", 0)

        preview = api.get(f"/v1/route-runs/{run['id']}/manifest", headers=admin)
        assert preview.status_code == 200, preview.text
        assert preview.json()["stored"] is False
        assert len(preview.json()["lines"]) == 2  # the van takes two
        assert len(preview.json()["rolled"]) == 1

        built = api.post(f"/v1/route-runs/{run['id']}/manifest", headers=admin)
        assert built.status_code == 200, built.text
        manifest = built.json()
        assert manifest["stored"] is True
        assert manifest["parcels"] == 2 <= manifest["capacity_parcels"]
        assert manifest["stops"][0]["office_index"] == "155921"
        assert manifest["rolled"][0]["next_departure"] == "2026-11-30T05:00:00Z"
        runs = api.get("/v1/route-runs?date=2026-11-26&hub=155900", headers=admin).json()
        assert {r["route_id"]: r["manifest"] for r in runs}["SHUYA-MON-THU"] == "planned"

        pdf = api.get(f"/v1/route-runs/{run['id']}/manifest?format=pdf", headers=admin)
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")

    def test_refusals(
        self, api: TestClient, shuya: MarketplaceWithKey, admin: dict[str, str]
    ) -> None:
        run = "SHUYA-MON-THU@2026-11-26T05:00:00Z"
        assert api.get(f"/v1/route-runs/{run}/manifest", headers=shuya.headers).status_code == 403
        assert api.get("/v1/route-runs?date=2026-11-26", headers=shuya.headers).status_code == 403
        not_a_run = api.get(
            "/v1/route-runs/SHUYA-MON-THU@2026-11-27T05:00:00Z/manifest", headers=admin
        )
        assert not_a_run.status_code == 404
        bad = api.get("/v1/route-runs/SHUYA-MON-THU@tomorrow/manifest", headers=admin)
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "run_id"
        hub = api.get("/v1/route-runs?date=2026-11-26&hub=DH-000000", headers=admin)
        assert (hub.status_code, hub.json()["errors"][0]["field"]) == (422, "hub")
        day = api.get("/v1/route-runs?date=26.11.2026", headers=admin)
        assert (day.status_code, day.json()["errors"][0]["field"]) == (422, "date")
        ancient = api.get("/v1/route-runs?date=1900-01-01", headers=admin)
        assert (ancient.status_code, ancient.json()["errors"][0]["field"]) == (422, "date")
        year_one = "/v1/route-runs/SHUYA-MON-THU@0001-01-01T00:00:00Z/manifest"
        assert api.get(year_one, headers=admin).status_code == 404


class TestRoutesApi:
    def test_list_edit_delete_and_export(
        self, api: TestClient, shuya: MarketplaceWithKey, admin: dict[str, str]
    ) -> None:
        listed = api.get("/v1/routes?hub=DH-155900", headers=admin)
        assert [r["id"] for r in listed.json()] == ["SHUYA-MON-THU", "SHUYA-TOWN"]
        body = {
            "hub": "DH-155900",
            "weekdays": ["wed"],
            "departure": "09:30",
            "capacity_parcels": 40,
            "capacity_litres": 600,
            "return_after_min": 180,
            "stops": [{"office_index": "155650", "arrival_after_min": 90}],
        }
        put = api.put("/v1/routes/SHUYA-WED", json=body, headers=admin)
        assert put.status_code == 200, put.text
        quote = api.post("/v1/quotes", json=_body("155650"), headers=shuya.headers)
        assert quote.status_code == 200
        assert quote.json()["route_id"] == "SHUYA-WED"
        csv_text = api.get("/v1/routes.csv", headers=admin).text
        assert "SHUYA-WED,DH-155900,wed,09:30,40,600,180,1,155650,90" in csv_text
        summary = api.get("/v1/timetable", headers=admin).json()
        assert summary["routes"] == 3
        assert api.delete("/v1/routes/SHUYA-WED", headers=admin).status_code == 204
        assert api.get("/v1/routes/SHUYA-WED", headers=admin).status_code == 404
        assert api.delete("/v1/routes/SHUYA-WED", headers=admin).status_code == 404

    def test_a_bad_route_is_422(
        self, api: TestClient, shuya: MarketplaceWithKey, admin: dict[str, str]
    ) -> None:
        body = {
            "hub": "DH-155900",
            "weekdays": ["wed"],
            "departure": "25:00",
            "capacity_parcels": 40,
            "capacity_litres": 600,
            "return_after_min": 180,
            "stops": [{"office_index": "155650", "arrival_after_min": 90}],
        }
        response = api.put("/v1/routes/X", json=body, headers=admin)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "departure"
        body["departure"] = "09:00"
        body["stops"] = [{"office_index": "999999", "arrival_after_min": 90}]
        response = api.put("/v1/routes/X", json=body, headers=admin)
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "stops.0.office_index"
        body["hub"] = "RSC-153950"
        response = api.put("/v1/routes/X", json=body, headers=admin)
        assert (response.status_code, response.json()["errors"][0]["field"]) == (422, "hub")


class TestTariffFile:
    def test_a_price_list_file_replaces_the_default_tariff(
        self,
        api: TestClient,
        app: FastAPI,
        shuya: MarketplaceWithKey,
        tmp_path: Path,
    ) -> None:
        default = api.post("/v1/quotes", json=_body(), headers=shuya.headers).json()
        price_list = tmp_path / "tariff.json"
        # Cash on delivery at 4 % instead of 2 %: the price grows by 2 % of 1,500 roubles.
        price_list.write_text(json.dumps({"cod_fee_bp": 400}), encoding="utf-8")
        app.state.settings = app.state.settings.model_copy(update={"tariff_file": price_list})
        custom = api.post("/v1/quotes", json=_body(), headers=shuya.headers).json()
        assert custom["price_kop"] - default["price_kop"] == 3_000
        assert custom["earliest"] == default["earliest"]

    def test_a_bad_price_list_is_refused_naming_the_field(self, tmp_path: Path) -> None:
        price_list = tmp_path / "tariff.json"
        price_list.write_text(json.dumps({"cod_fee_percent": 4}), encoding="utf-8")
        with pytest.raises(ValueError, match="cod_fee_percent"):
            load_tariff(price_list)
        price_list.write_text(json.dumps({"weight_bands_g": [1000, 500]}), encoding="utf-8")
        with pytest.raises(ValueError, match="weight bands"):
            load_tariff(price_list)
