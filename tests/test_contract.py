"""The API keeps its contract: the OpenAPI document is what the server answers.

- Every answer of the main paths — successes and refusals — has a status the operation
  documents, a documented content type, and a body valid against the documented schema
  (JSON Schema 2020-12, formats checked: a naive datetime is not a ``date-time``); every
  refusal is problem+json with the request's id.
- Every operation shows an example of its request body (if it has one) and of its 2xx answer
  (PDFs excepted), and every example in the document is valid against its own schema, so an
  integrator who copies one sends something the server takes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from selpo.app import create_app
from selpo.config import Settings
from selpo.kit.clock import FrozenClock
from selpo.logistics import timetables
from selpo.shipment import service as shipment_service
from selpo.shipment.tracking import make_tracking_number
from tests.conftest import TEST_NOW
from tests.fixtures.builders import (
    PESTYAKI_INDEX,
    MarketplaceWithKey,
    admin_headers,
    make_shipment,
    marketplace_key,
    shipment_payload,
)

JSON = "application/json"
PROBLEM = "application/problem+json"
BINARY = {"application/pdf"}  # no example expected: a PDF is shown by describing it


def _spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A validator of ``schema`` whose ``#/components/...`` refs resolve in the document."""
    return jsonschema_rs.Draft202012Validator(
        {**schema, "components": spec.get("components", {})}, validate_formats=True
    )


def _errors(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    return [e.message for e in _validator(spec, schema).iter_errors(value)][:3]


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method.upper(), path, operation


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _shows_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    if "example" in media or "examples" in media:
        return True
    schema = _resolve(spec, media.get("schema", {}))
    if "example" in schema or "examples" in schema:
        return True
    if schema.get("type") == "array":  # a list of a model that shows one
        items = _resolve(spec, schema.get("items", {}))
        return "example" in items or "examples" in items
    return False


def _media_examples(media: dict[str, Any]) -> list[Any]:
    found = [media["example"]] if "example" in media else []
    return found + [e["value"] for e in media.get("examples", {}).values() if "value" in e]


# ------------------------------------------------------------------------------ examples


def test_every_operation_shows_an_example_of_its_body_and_its_answer(app: FastAPI) -> None:
    spec = _spec(app)
    lacking: list[str] = []
    for method, path, operation in _operations(spec):
        body = operation.get("requestBody", {}).get("content", {})
        lacking += [
            f"{method} {path}: request {media_type}"
            for media_type, media in body.items()
            if not _shows_example(spec, media)
        ]
        for status, answer in operation["responses"].items():
            if not status.startswith("2"):
                continue
            lacking += [
                f"{method} {path}: {status} {media_type}"
                for media_type, media in answer.get("content", {}).items()
                if media_type not in BINARY and not _shows_example(spec, media)
            ]
    assert not lacking, "operations without an example:\n" + "\n".join(lacking)


def test_every_example_is_valid_against_its_schema(app: FastAPI) -> None:
    spec = _spec(app)
    wrong: list[str] = []
    checked = 0
    for method, path, operation in _operations(spec):
        contents = [("request", operation.get("requestBody", {}).get("content", {}))] + [
            (status, answer.get("content", {})) for status, answer in operation["responses"].items()
        ]
        for where, content in contents:
            for media_type, media in content.items():
                schema = media.get("schema")
                if schema is None or media_type != JSON:
                    continue
                for example in _media_examples(media):
                    checked += 1
                    problems = _errors(spec, schema, example)
                    if problems:
                        wrong.append(f"{method} {path} {where}: {problems}")
    for name, schema in spec["components"]["schemas"].items():
        for example in schema.get("examples", []):
            checked += 1
            problems = _errors(spec, {"$ref": f"#/components/schemas/{name}"}, example)
            if problems:
                wrong.append(f"components.schemas.{name}: {problems}")
    assert checked > 40
    assert not wrong, "examples off their schema:\n" + "\n".join(wrong)


# ----------------------------------------------------------------------------- answers


class Contract:
    """Sends requests through the app and checks each answer against the document."""

    def __init__(self, client: TestClient, spec: dict[str, Any]) -> None:
        self.client = client
        self.spec = spec
        self.failures: list[str] = []
        self.seen: dict[tuple[str, str], set[int]] = defaultdict(set)

    def call(
        self,
        method: str,
        template: str,
        *,
        expect: int,
        headers: dict[str, str] | None = None,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        **path: str,
    ) -> Response:
        url = template.format(**path)
        response = self.client.request(method, url, headers=headers, json=json_body, params=params)
        label = f"{method} {template} -> {response.status_code}"
        if response.status_code != expect:
            self.failures.append(f"{label}: expected {expect}: {response.text[:300]}")
            return response
        self.seen[(method, template)].add(response.status_code)
        self._check(method, template, response, label)
        return response

    def _check(self, method: str, template: str, response: Response, label: str) -> None:
        operation = self.spec["paths"][template][method.lower()]
        answer = operation["responses"].get(str(response.status_code))
        if answer is None:
            self.failures.append(f"{label}: status not documented")
            return
        content = answer.get("content", {})
        if not content:
            if response.content:
                self.failures.append(f"{label}: a body where none is documented")
            return
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type not in content:
            self.failures.append(f"{label}: {media_type} is not one of {sorted(content)}")
            return
        if response.status_code >= 400:
            if media_type != PROBLEM:
                self.failures.append(f"{label}: a refusal as {media_type}, not problem+json")
                return
            if response.json().get("request_id") != response.headers.get("x-request-id"):
                self.failures.append(f"{label}: the problem's request_id is not X-Request-Id")
        if media_type in {JSON, PROBLEM}:
            schema = content[media_type].get("schema")
            if schema is None:
                self.failures.append(f"{label}: no schema documented for {media_type}")
                return
            problems = _errors(self.spec, schema, response.json())
            if problems:
                self.failures.append(f"{label}: {problems}")


@pytest.fixture
def contract(
    seeded_engine: Engine, session_factory: sessionmaker[Session], clock: FrozenClock
) -> Iterator[Contract]:
    """The app (as the ``app`` fixture makes it) taking loopback webhook URLs."""
    settings = Settings(
        database_url=seeded_engine.url.render_as_string(hide_password=False),
        rate_limit_per_key=0,
        webhook_allow_hosts="127.0.0.1",
    )
    application = create_app(settings, clock=clock)
    application.state.session_factory = session_factory
    with TestClient(application) as client:
        yield Contract(client, _spec(application))
    application.state.engine.dispose()


def _marketplace_paths(
    contract: Contract, ozon: MarketplaceWithKey, yandex: MarketplaceWithKey
) -> None:
    c, key = contract, ozon.headers
    c.call("GET", "/healthz", expect=200)
    # pickup points
    c.call("GET", "/v1/pickup-points", expect=200, params={"limit": 3})
    c.call(
        "GET",
        "/v1/pickup-points",
        expect=200,
        params={"lat": 56.7086, "lon": 42.66954, "radius_km": 30, "payment": "cash"},
    )
    c.call("GET", "/v1/pickup-points", expect=200, headers={"Accept": "text/csv"})
    c.call("GET", "/v1/pickup-points", expect=422, params={"lat": 56.7})
    c.call("GET", "/v1/pickup-points/{index}", expect=200, index=PESTYAKI_INDEX)
    c.call("GET", "/v1/pickup-points/{index}", expect=404, index="000000")
    # quotes
    quote = {
        "destination_index": PESTYAKI_INDEX,
        "weight_g": 1200,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 100,
    }
    c.call("POST", "/v1/quotes", expect=200, headers=key, json_body=quote)
    c.call("POST", "/v1/quotes", expect=422, headers=key, json_body={**quote, "weight_g": 0})
    c.call("POST", "/v1/quotes", expect=401, json_body=quote)
    # shipments
    created = c.call(
        "POST",
        "/v1/shipments",
        expect=201,
        headers={**key, "Idempotency-Key": "contract-1"},
        json_body=shipment_payload(
            external_order_id="CT-1", parcel={**shipment_payload()["parcel"], "cod_kop": 100000}
        ),
    ).json()
    number = created["tracking_number"]
    c.call(
        "POST",
        "/v1/shipments",
        expect=422,
        headers={**key, "Idempotency-Key": "contract-1"},
        json_body=shipment_payload(external_order_id="CT-other"),
    )
    c.call("POST", "/v1/shipments", expect=422, headers=key, json_body={"parcel": {}})
    c.call("POST", "/v1/shipments", expect=401, json_body=shipment_payload())
    c.call(
        "POST",
        "/v1/shipments/batch",
        expect=200,
        headers=key,
        json_body=[
            shipment_payload(external_order_id="CT-2"),
            shipment_payload(external_order_id="CT-3", destination_index="000000"),
        ],
    )
    c.call("POST", "/v1/shipments/batch", expect=422, headers=key, json_body=[])
    c.call("GET", "/v1/shipments", expect=200, headers=key, params={"limit": 1})
    c.call("GET", "/v1/shipments", expect=422, headers=key, params={"updated_since": "yesterday"})
    c.call(
        "GET", "/v1/shipments/{tracking_number}", expect=200, headers=key, tracking_number=number
    )
    c.call(
        "GET",
        "/v1/shipments/{tracking_number}",
        expect=404,
        headers=yandex.headers,
        tracking_number=number,
    )
    c.call("GET", "/v1/shipments/{tracking_number}", expect=422, headers=key, tracking_number="1")
    c.call(
        "PATCH",
        "/v1/shipments/{tracking_number}",
        expect=200,
        headers=key,
        json_body={"recipient": {"phone": "+79161234568"}, "parcel": {"cod_kop": 50000}},
        tracking_number=number,
    )
    c.call(
        "PATCH",
        "/v1/shipments/{tracking_number}",
        expect=422,
        headers=key,
        json_body={"parcel": {"cod_kop": 999_999_999}},
        tracking_number=number,
    )
    c.call(
        "GET",
        "/v1/shipments/{tracking_number}/label",
        expect=200,
        headers=key,
        tracking_number=number,
    )
    c.call(
        "GET",
        "/v1/shipments/{tracking_number}/label",
        expect=404,
        headers=yandex.headers,
        tracking_number=number,
    )
    c.call(
        "POST",
        "/v1/labels",
        expect=200,
        headers=key,
        json_body={"tracking_numbers": [number], "format": "a4"},
    )
    c.call(
        "POST",
        "/v1/labels",
        expect=422,
        headers=yandex.headers,
        json_body={"tracking_numbers": [number]},
    )
    c.call(
        "POST",
        "/v1/shipments/{tracking_number}/extend-storage",
        expect=409,
        headers=key,
        tracking_number=number,
    )
    c.call(
        "POST",
        "/v1/shipments/{tracking_number}/cancel",
        expect=200,
        headers=key,
        tracking_number=number,
    )
    c.call(
        "POST",
        "/v1/shipments/{tracking_number}/cancel",
        expect=409,
        headers=key,
        tracking_number=number,
    )
    c.call(
        "PATCH",
        "/v1/shipments/{tracking_number}",
        expect=409,
        headers=key,
        json_body={"options": {"fitting": True}},
        tracking_number=number,
    )
    c.call("GET", "/v1/reports/cod", expect=200, headers=key, params={"date": "2026-11-25"})
    c.call("GET", "/v1/reports/cod", expect=422, headers=key, params={"date": "25.11.2026"})
    # webhooks
    hook = c.call(
        "POST",
        "/v1/webhooks",
        expect=201,
        headers=key,
        json_body={"url": "http://127.0.0.1:9/hooks", "events": ["*"]},
    ).json()
    c.call(
        "POST",
        "/v1/webhooks",
        expect=422,
        headers=key,
        json_body={"url": "http://10.0.0.1/hooks", "events": ["*"]},
    )
    c.call("GET", "/v1/webhooks", expect=200, headers=key)
    c.call("GET", "/v1/webhooks/events", expect=200)
    hook_id = str(hook["id"])
    c.call(
        "PATCH",
        "/v1/webhooks/{subscription_id}",
        expect=200,
        headers=key,
        json_body={"batch_max": 50},
        subscription_id=hook_id,
    )
    c.call(
        "PATCH",
        "/v1/webhooks/{subscription_id}",
        expect=422,
        headers=key,
        json_body={"batch_max": 101},
        subscription_id=hook_id,
    )
    c.call(
        "PATCH",
        "/v1/webhooks/{subscription_id}",
        expect=404,
        headers=yandex.headers,
        json_body={"batch_max": 50},
        subscription_id=hook_id,
    )
    c.call(
        "GET",
        "/v1/webhooks/{subscription_id}/deliveries",
        expect=200,
        headers=key,
        subscription_id=hook_id,
    )
    c.call(
        "GET",
        "/v1/webhooks/{subscription_id}/deliveries",
        expect=404,
        headers=yandex.headers,
        subscription_id=hook_id,
    )
    since = (TEST_NOW - timedelta(hours=1)).isoformat()
    c.call(
        "POST",
        "/v1/webhooks/{subscription_id}/replay",
        expect=200,
        headers=key,
        params={"since": since},
        subscription_id=hook_id,
    )
    c.call(
        "POST",
        "/v1/webhooks/{subscription_id}/replay",
        expect=422,
        headers=key,
        params={"since": "2026-11-25T10:00:00"},
        subscription_id=hook_id,
    )
    c.call(
        "DELETE", "/v1/webhooks/{subscription_id}", expect=204, headers=key, subscription_id=hook_id
    )
    c.call(
        "DELETE", "/v1/webhooks/{subscription_id}", expect=404, headers=key, subscription_id=hook_id
    )


def _operator_paths(contract: Contract, admin: dict[str, str], ozon: MarketplaceWithKey) -> None:
    c = contract
    c.call(
        "POST",
        "/v1/marketplaces",
        expect=201,
        headers=admin,
        json_body={"code": "CONTRACT", "name": "Contract"},
    )
    c.call(
        "POST",
        "/v1/marketplaces",
        expect=403,
        headers=ozon.headers,
        json_body={"code": "CONTRACT", "name": "Contract"},
    )
    c.call("POST", "/v1/marketplaces/{code}/keys", expect=201, headers=admin, code="CONTRACT")
    c.call("POST", "/v1/marketplaces/{code}/keys", expect=404, headers=admin, code="NOBODY")
    c.call(
        "POST",
        "/v1/marketplaces/{code}/connections",
        expect=200,
        headers=admin,
        json_body={"indexes": [PESTYAKI_INDEX]},
        code="CONTRACT",
    )
    c.call(
        "POST",
        "/v1/marketplaces/{code}/connections",
        expect=422,
        headers=admin,
        json_body={},
        code="CONTRACT",
    )
    number = c.call(
        "POST",
        "/v1/shipments",
        expect=201,
        headers=ozon.headers,
        json_body=shipment_payload(external_order_id="CT-SCAN"),
    ).json()["tracking_number"]
    scan = {"tracking_number": number, "code": "handed_over", "occurred_at": TEST_NOW.isoformat()}
    c.call("POST", "/v1/tracking-events", expect=201, headers=admin, json_body=scan)
    c.call(
        "POST",
        "/v1/tracking-events",
        expect=404,
        headers=admin,
        json_body={**scan, "tracking_number": make_tracking_number("155900", "99", 99999)},
    )
    c.call(
        "POST",
        "/v1/tracking-events",
        expect=422,
        headers=admin,
        json_body={**scan, "tracking_number": "15565099999999"},
    )
    c.call("POST", "/v1/tracking-events", expect=403, headers=ozon.headers, json_body=scan)
    scans = [{**scan, "code": "departed_hub", "scan_id": "CT-SCAN-1"}]
    c.call("POST", "/v1/tracking-events/batch", expect=200, headers=admin, json_body=scans)
    c.call("POST", "/v1/tracking-events/batch", expect=403, headers=ozon.headers, json_body=scans)
    c.call("POST", "/v1/tracking-events/batch", expect=422, headers=admin, json_body=[])
    c.call("GET", "/v1/timetable", expect=200, headers=admin)
    c.call("GET", "/v1/warehouses", expect=200, headers=admin)
    routes = c.call("GET", "/v1/routes", expect=200, headers=admin).json()
    route_id = routes[0]["id"] if isinstance(routes, list) else routes["items"][0]["id"]
    c.call("GET", "/v1/routes/{route_id}", expect=200, headers=admin, route_id=route_id)
    c.call("GET", "/v1/routes/{route_id}", expect=404, headers=admin, route_id="NO-SUCH-ROUTE")
    runs = c.call(
        "GET", "/v1/route-runs", expect=200, headers=admin, params={"date": "2026-11-26"}
    ).json()
    if runs:
        c.call(
            "GET",
            "/v1/route-runs/{run_id}/manifest",
            expect=200,
            headers=admin,
            run_id=runs[0]["id"],
        )
    c.call("GET", "/v1/plans", expect=200, headers=admin)


def _recall_and_returns(
    contract: Contract,
    session: Session,
    ozon: MarketplaceWithKey,
    yandex: MarketplaceWithKey,
    ready: str,
) -> None:
    """A parcel on the shelf recalled (then 409); a delivered one returned by its buyer."""
    c, key = contract, ozon.headers
    delivered = make_shipment(session, ozon.marketplace, now=TEST_NOW, external_order_id="CT-D")
    for code in ("handed_over", "departed_hub", "arrived_at_office"):
        shipment_service.record_scan(
            session,
            tracking_number=delivered.tracking_number,
            code=code,
            occurred_at=TEST_NOW,
            now=TEST_NOW,
            office_index=PESTYAKI_INDEX,
        )
    shipment_service.make_ready_for_pickup(
        session,
        shipment=delivered,
        now=TEST_NOW,
        policy=shipment_service.PickupPolicy(pepper="contract-pepper"),
    )
    shipment_service.issue_to_recipient(session, shipment=delivered, now=TEST_NOW)
    session.commit()
    recall = "/v1/shipments/{tracking_number}/recall"
    c.call("POST", recall, expect=409, headers=key, tracking_number=delivered.tracking_number)
    c.call("POST", recall, expect=404, headers=yandex.headers, tracking_number=ready)
    c.call("POST", recall, expect=200, headers=key, tracking_number=ready)
    c.call("POST", recall, expect=409, headers=key, tracking_number=ready)
    body = {
        "tracking_number": delivered.tracking_number,
        "external_return_id": "CT-RET-1",
        "reason": "не подошло",
        "items": [{"position": 0, "quantity": 1}],
    }
    made = c.call("POST", "/v1/returns", expect=201, headers=key, json_body=body).json()
    c.call("POST", "/v1/returns", expect=409, headers=key, json_body=body)
    c.call("POST", "/v1/returns", expect=422, headers=key, json_body={**body, "items": []})
    c.call("GET", "/v1/returns", expect=200, headers=key, params={"status": "registered"})
    c.call("GET", "/v1/returns", expect=422, headers=key, params={"status": "lost"})
    c.call("GET", "/v1/returns/{return_id}", expect=200, headers=key, return_id=made["id"])
    c.call(
        "GET", "/v1/returns/{return_id}", expect=404, headers=yandex.headers, return_id=made["id"]
    )


def _ready_for_pickup(session: Session, ozon: MarketplaceWithKey) -> str:
    """A shipment waiting on the office's shelf (walked there through the services)."""
    shipment = make_shipment(session, ozon.marketplace, now=TEST_NOW, external_order_id="CT-R")
    for code in ("handed_over", "departed_hub", "arrived_at_office"):
        shipment_service.record_scan(
            session,
            tracking_number=shipment.tracking_number,
            code=code,
            occurred_at=TEST_NOW,
            now=TEST_NOW,
            office_index=PESTYAKI_INDEX,
        )
    shipment_service.make_ready_for_pickup(
        session,
        shipment=shipment,
        now=TEST_NOW,
        policy=shipment_service.PickupPolicy(pepper="contract-pepper"),
        cell_code="S-01",
    )
    return shipment.tracking_number


def test_the_main_paths_answer_as_documented(contract: Contract, session: Session) -> None:
    timetables.generate_timetable(session, now=TEST_NOW, seed=7)
    ozon = marketplace_key(session, "OZON", now=TEST_NOW)
    yandex = marketplace_key(session, "YANDEX_MARKET", now=TEST_NOW)
    admin = admin_headers(session, now=TEST_NOW)
    ready = _ready_for_pickup(session, ozon)
    session.commit()
    contract.call(
        "POST",
        "/v1/shipments/{tracking_number}/extend-storage",
        expect=200,
        headers=ozon.headers,
        tracking_number=ready,
    )
    _recall_and_returns(contract, session, ozon, yandex, ready)
    _marketplace_paths(contract, ozon, yandex)
    _operator_paths(contract, admin, ozon)
    assert not contract.failures, "answers off the contract:\n" + "\n".join(contract.failures)
    answered = {op for op, statuses in contract.seen.items() if any(s < 300 for s in statuses)}
    refused = {op for op, statuses in contract.seen.items() if any(s >= 400 for s in statuses)}
    marketplace_ops = {
        (method, path)
        for method, path, operation in _operations(contract.spec)
        if set(operation.get("tags", [])) & {"shipments", "pickup points", "webhooks", "returns"}
    }
    assert marketplace_ops <= answered, sorted(marketplace_ops - answered)
    assert len(refused) >= 20
    assert json.dumps(sorted(answered))  # the set is plain data
