"""A hub sends its scans by the thousand (``POST /v1/tracking-events/batch``): each scan is
judged on its own and gets its own result, a bad one fails alone, a retried batch records
nothing twice, and only the operator may send them; on the real database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.models import OutboxMessage, TrackingEvent
from selpo.notify import service as notify_service
from selpo.shipment.endpoints import MAX_BATCH
from tests.conftest import TEST_NOW
from tests.fixtures.builders import (
    MarketplaceWithKey,
    admin_headers,
    marketplace_key,
    shipment_payload,
)

PESTYAKI = "155650"
ALEKHINO = "155654"  # another office of the same district
BATCH = "/v1/tracking-events/batch"


@pytest.fixture
def ozon_key(session: Session) -> MarketplaceWithKey:
    key = marketplace_key(session, "OZON", now=TEST_NOW)
    notify_service.create_subscription(
        session,
        marketplace_id=key.marketplace.id,
        url="https://hooks.example/ozon",
        events=["*"],
        now=TEST_NOW,
    )
    return key


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return admin_headers(session, now=TEST_NOW)


def _parcels(client: TestClient, key: MarketplaceWithKey, count: int) -> list[str]:
    numbers = []
    for n in range(count):
        body = shipment_payload(external_order_id=f"BATCH-SCAN-{n}")
        response = client.post("/v1/shipments", json=body, headers=key.headers)
        assert response.status_code == 201, response.text
        numbers.append(str(response.json()["tracking_number"]))
    return numbers


def _scan(scan_id: str, number: str, code: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "tracking_number": number,
        "code": code,
        "occurred_at": at.isoformat(),
        **extra,
    }


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_batch_records_every_scan_and_a_bad_one_fails_alone(
    client: TestClient,
    session: Session,
    admin: dict[str, str],
    ozon_key: MarketplaceWithKey,
    clock: FrozenClock,
) -> None:
    first, second, third = _parcels(client, ozon_key, 3)
    clock.advance(timedelta(hours=6))
    at = TEST_NOW + timedelta(hours=1)
    events, hooks = _count(session, TrackingEvent), _count(session, OutboxMessage)
    batch = [
        _scan("S-1", first, "handed_over", at),
        _scan("S-2", second, "teleported", at),  # an unknown code
        {"scan_id": "S-3", "tracking_number": third},  # no code, no time
        _scan("S-4", "RU000000000XX", "handed_over", at),  # not a tracking number
        _scan("S-5", third, "arrived_at_office", at, office_index=PESTYAKI),  # not handed over
        _scan("S-6", second, "handed_over", at + timedelta(minutes=1)),
        _scan("S-7", first, "arrived_at_office", at + timedelta(hours=2), office_index=ALEKHINO),
    ]
    answer = client.post(BATCH, json=batch, headers=admin)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["recorded"], body["repeated"], body["failed"]) == (3, 0, 4)
    results = body["results"]
    assert [r["position"] for r in results] == list(range(7))
    assert [r["status_code"] for r in results] == [201, 422, 422, 422, 409, 201, 201]
    assert [r["scan_id"] for r in results] == [f"S-{n}" for n in range(1, 8)]
    odd = client.post(BATCH, json=[{"scan_id": 7}, {"scan_id": ""}], headers=admin).json()
    assert [(r["status_code"], r["scan_id"]) for r in odd["results"]] == [(422, None)] * 2
    assert results[1]["error"]["errors"][0]["field"] == "code"
    assert {e["field"] for e in results[2]["error"]["errors"]} == {"code", "occurred_at"}
    assert results[3]["error"]["errors"][0]["field"] == "tracking_number"
    assert results[4]["error"]["status"] == 409
    assert (results[5]["applied"], results[5]["status"]) == (True, "handed_over")
    # the status is the parcel's once the whole batch is recorded: missorted, back to its hub
    assert [results[0]["status"], results[6]["status"]] == ["in_transit", "in_transit"]
    assert _count(session, TrackingEvent) == events + 3
    assert _count(session, OutboxMessage) > hooks  # the marketplace hears of each change
    shown = client.get(f"/v1/shipments/{first}", headers=ozon_key.headers).json()
    assert [e["code"] for e in shown["events"]] == ["created", "handed_over", "missorted"]


def test_a_retried_batch_records_nothing_twice(
    client: TestClient,
    session: Session,
    admin: dict[str, str],
    ozon_key: MarketplaceWithKey,
    clock: FrozenClock,
) -> None:
    (number,) = _parcels(client, ozon_key, 1)
    clock.advance(timedelta(hours=6))
    at = TEST_NOW + timedelta(hours=1)
    batch = [
        _scan("R-1", number, "handed_over", at),
        _scan("R-2", number, "departed_hub", at + timedelta(hours=1)),
    ]
    assert client.post(BATCH, json=batch, headers=admin).json()["recorded"] == 2
    events, hooks = _count(session, TrackingEvent), _count(session, OutboxMessage)
    again = client.post(BATCH, json=batch, headers=admin)
    assert again.status_code == 200
    body = again.json()
    assert (body["recorded"], body["repeated"], body["failed"]) == (0, 2, 0)
    assert [r["status_code"] for r in body["results"]] == [200, 200]
    assert body["results"][1]["status"] == "in_transit"
    assert (_count(session, TrackingEvent), _count(session, OutboxMessage)) == (events, hooks)
    # a retry that brings a new scan along records only the new one
    grown = [*batch, _scan("R-3", number, "arrived_at_office", at + timedelta(hours=3))]
    body = client.post(BATCH, json=grown, headers=admin).json()
    assert [r["status_code"] for r in body["results"]] == [200, 200, 201]
    assert _count(session, TrackingEvent) == events + 1
    # the same scan id twice in one batch is recorded once
    twice = [_scan("R-4", number, "in_transit", at + timedelta(hours=2))] * 2
    body = client.post(BATCH, json=twice, headers=admin).json()
    assert [r["status_code"] for r in body["results"]] == [201, 200]
    assert _count(session, TrackingEvent) == events + 2


def test_a_marketplace_key_is_refused_and_changes_nothing(
    client: TestClient,
    session: Session,
    ozon_key: MarketplaceWithKey,
    clock: FrozenClock,
) -> None:
    (number,) = _parcels(client, ozon_key, 1)
    clock.advance(timedelta(hours=6))
    events = _count(session, TrackingEvent)
    batch = [_scan("M-1", number, "handed_over", TEST_NOW + timedelta(hours=1))]
    refused = client.post(BATCH, json=batch, headers=ozon_key.headers)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.post(BATCH, json=batch).status_code == 401
    assert _count(session, TrackingEvent) == events


@pytest.mark.parametrize("size", [0, MAX_BATCH + 1])
def test_an_empty_or_oversized_batch_is_422(
    client: TestClient, admin: dict[str, str], size: int
) -> None:
    at = TEST_NOW.isoformat()
    batch = [{"scan_id": "Z", "tracking_number": "x", "code": "x", "occurred_at": at}] * size
    refused = client.post(BATCH, json=batch, headers=admin)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
