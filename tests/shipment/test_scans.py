"""Scans are checked: where (a known index, the destination for an arrival) and when (not in
the future beyond the clock skew, not before the shipment existed), through the HTTP API and
the bulk form, on the real database."""

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
from selpo.shipment import service
from tests.conftest import TEST_NOW
from tests.fixtures.builders import (
    MarketplaceWithKey,
    admin_headers,
    marketplace_key,
    shipment_payload,
)

PESTYAKI = "155650"
ALEKHINO = "155654"  # another office of the same district


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


def _parcel(client: TestClient, key: MarketplaceWithKey, order: str = "SCAN-1") -> str:
    response = client.post(
        "/v1/shipments", json=shipment_payload(external_order_id=order), headers=key.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["tracking_number"])


def _scan(
    client: TestClient,
    admin: dict[str, str],
    number: str,
    code: str,
    at: datetime,
    office_index: str | None = PESTYAKI,
) -> Any:
    body: dict[str, Any] = {"tracking_number": number, "code": code, "occurred_at": at.isoformat()}
    if office_index is not None:
        body["office_index"] = office_index
    return client.post("/v1/tracking-events", json=body, headers=admin)


def _events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(TrackingEvent)) or 0)


def _in_transit(
    client: TestClient, admin: dict[str, str], key: MarketplaceWithKey, clock: FrozenClock
) -> str:
    number = _parcel(client, key)
    clock.advance(timedelta(hours=6))
    assert _scan(client, admin, number, "handed_over", TEST_NOW + timedelta(hours=1)).status_code
    assert _scan(client, admin, number, "departed_hub", TEST_NOW + timedelta(hours=2)).status_code
    return number


class TestWhere:
    def test_an_unknown_index_is_422_naming_the_field_and_changes_nothing(
        self,
        client: TestClient,
        session: Session,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _in_transit(client, admin, ozon_key, clock)
        before = _events(session)
        at = TEST_NOW + timedelta(hours=5)
        refused = _scan(client, admin, number, "arrived_at_office", at, office_index="999999")
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["errors"][0]["field"] == "office_index"
        assert "999999" in refused.json()["detail"]
        assert _events(session) == before
        shown = client.get(f"/v1/shipments/{number}", headers=ozon_key.headers).json()
        assert shown["status"] == "in_transit"

    def test_an_arrival_at_another_office_is_recorded_as_missorted(
        self,
        client: TestClient,
        session: Session,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _in_transit(client, admin, ozon_key, clock)
        at = TEST_NOW + timedelta(hours=5)
        answer = _scan(client, admin, number, "arrived_at_office", at, office_index=ALEKHINO)
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert body["status"] == "in_transit"  # back to its hub, never "arrived"
        last = body["events"][-1]
        assert (last["code"], last["office_index"], last["applied"]) == (
            "missorted",
            ALEKHINO,
            True,
        )
        event = session.scalars(
            select(TrackingEvent).where(TrackingEvent.code == "missorted")
        ).one()
        assert event.source == {"scanned_as": "arrived_at_office", "destination_index": PESTYAKI}
        hooks = [
            m.payload["data"]
            for m in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "webhook"))
            if m.payload["data"].get("tracking_number") == number
        ]
        assert hooks[-1]["event_code"] == "missorted"  # the marketplace hears of it
        assert hooks[-1]["status"] == "in_transit"
        # at its own office it then arrives as usual
        arrived = _scan(client, admin, number, "arrived_at_office", at + timedelta(minutes=30))
        assert arrived.json()["status"] == "arrived_at_office"

    def test_an_arrival_without_an_index_counts_as_at_the_destination(
        self,
        client: TestClient,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _in_transit(client, admin, ozon_key, clock)
        at = TEST_NOW + timedelta(hours=5)
        answer = _scan(client, admin, number, "arrived_at_office", at, office_index=None)
        assert answer.json()["status"] == "arrived_at_office"

    def test_a_hubs_index_is_known(
        self,
        client: TestClient,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _parcel(client, ozon_key)
        clock.advance(timedelta(hours=6))
        # 153950: the regional sorting centre's index
        answer = _scan(client, admin, number, "handed_over", TEST_NOW, office_index="153950")
        assert answer.status_code == 201, answer.text


class TestWhen:
    def test_a_scan_in_the_future_beyond_the_skew_is_422_and_changes_nothing(
        self,
        client: TestClient,
        session: Session,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _parcel(client, ozon_key)
        before = _events(session)
        refused = _scan(client, admin, number, "handed_over", clock.now() + timedelta(minutes=6))
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "occurred_at"
        assert _events(session) == before
        within = _scan(client, admin, number, "handed_over", clock.now() + timedelta(minutes=4))
        assert within.status_code == 201  # a scanner's clock a little ahead is fine

    def test_a_scan_before_the_shipment_existed_is_422(
        self,
        client: TestClient,
        session: Session,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _parcel(client, ozon_key)
        clock.advance(timedelta(hours=2))
        before = _events(session)
        refused = _scan(client, admin, number, "handed_over", TEST_NOW - timedelta(minutes=1))
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "occurred_at"
        assert "before the shipment was created" in refused.json()["detail"]
        assert _events(session) == before


def test_the_bulk_form_refuses_each_bad_scan_alone(
    client: TestClient,
    session: Session,
    admin: dict[str, str],
    ozon_key: MarketplaceWithKey,
    clock: FrozenClock,
) -> None:
    numbers = [_parcel(client, ozon_key, f"BULK-{i}") for i in range(4)]
    now = TEST_NOW + timedelta(hours=3)
    scans = [
        service.Scan(numbers[0], "handed_over", now, PESTYAKI),
        service.Scan(numbers[1], "handed_over", now, "000000"),
        service.Scan(numbers[2], "handed_over", now + timedelta(hours=1), PESTYAKI),
        service.Scan(numbers[3], "handed_over", TEST_NOW - timedelta(days=1), PESTYAKI),
    ]
    outcomes = service.record_scans(session, scans=scans, now=now)
    assert [o.error is None for o in outcomes] == [True, False, False, False]
    assert [o.error.field for o in outcomes if o.error] == [
        "office_index",
        "occurred_at",
        "occurred_at",
    ]
    for number in numbers[1:]:
        shown = client.get(f"/v1/shipments/{number}", headers=ozon_key.headers).json()
        assert [e["code"] for e in shown["events"]] == ["created"]
