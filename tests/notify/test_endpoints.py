"""Webhook subscriptions through the whole HTTP stack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.errors import InvalidInput
from selpo.kit.clock import FrozenClock
from selpo.models import OutboxMessage
from selpo.notify import service
from tests.conftest import TEST_NOW
from tests.notify.conftest import MarketplaceKey, make_marketplace

URL = "https://market.example/selpo/hooks"


@pytest.fixture
def other(session_factory: sessionmaker[Session]) -> MarketplaceKey:
    with session_scope(session_factory) as session:
        return make_marketplace(session, "NOTIFY_OTHER", now=TEST_NOW)


def _create(
    client: TestClient, key: MarketplaceKey, events: list[str] | None = None
) -> dict[str, object]:
    response = client.post(
        "/v1/webhooks", json={"url": URL, "events": events or ["*"]}, headers=key.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


class TestCreateWebhook:
    def test_answers_the_subscription_with_its_secret_once(
        self, client: TestClient, marketplace: MarketplaceKey
    ) -> None:
        body = _create(client, marketplace, ["shipment.created", "shipment.cancelled"])
        assert body["url"] == URL
        assert body["events"] == ["shipment.created", "shipment.cancelled"]
        assert body["active"] is True
        assert str(body["secret"]).startswith("whsec_")
        listed = client.get("/v1/webhooks", headers=marketplace.headers).json()["items"]
        assert [item["id"] for item in listed] == [body["id"]]
        assert "secret" not in listed[0]
        assert (
            str(body["secret"]) not in client.get("/v1/webhooks", headers=marketplace.headers).text
        )

    def test_no_key_is_401(self, client: TestClient) -> None:
        response = client.post("/v1/webhooks", json={"url": URL, "events": ["*"]})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert client.get("/v1/webhooks").status_code == 401
        assert client.delete("/v1/webhooks/1").status_code == 401
        bad = client.get("/v1/webhooks", headers={"Authorization": "Bearer selpo_x_y"})
        assert bad.status_code == 401

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"url": "ftp://market.example/h", "events": ["*"]}, "url"),
            ({"url": "not a url", "events": ["*"]}, "url"),
            ({"url": URL, "events": ["shipment.exploded"]}, "events"),
            ({"url": URL, "events": []}, "events"),
            ({"events": ["*"]}, "url"),
        ],
    )
    def test_bad_input_names_the_field(
        self,
        client: TestClient,
        marketplace: MarketplaceKey,
        payload: dict[str, object],
        field: str,
    ) -> None:
        response = client.post("/v1/webhooks", json=payload, headers=marketplace.headers)
        assert response.status_code == 422
        assert field in {error["field"] for error in response.json()["errors"]}
        assert client.get("/v1/webhooks", headers=marketplace.headers).json()["items"] == []


class TestListWebhooks:
    def test_a_marketplace_sees_only_its_own(
        self, client: TestClient, marketplace: MarketplaceKey, other: MarketplaceKey
    ) -> None:
        mine = _create(client, marketplace)
        _create(client, other)
        listed = client.get("/v1/webhooks", headers=marketplace.headers).json()["items"]
        assert [item["id"] for item in listed] == [mine["id"]]


class TestDeleteWebhook:
    def test_deactivates_it(self, client: TestClient, marketplace: MarketplaceKey) -> None:
        created = _create(client, marketplace)
        response = client.delete(f"/v1/webhooks/{created['id']}", headers=marketplace.headers)
        assert response.status_code == 204
        assert client.get("/v1/webhooks", headers=marketplace.headers).json()["items"] == []
        again = client.delete(f"/v1/webhooks/{created['id']}", headers=marketplace.headers)
        assert again.status_code == 404

    def test_another_marketplaces_subscription_is_404(
        self, client: TestClient, marketplace: MarketplaceKey, other: MarketplaceKey
    ) -> None:
        theirs = _create(client, other)
        response = client.delete(f"/v1/webhooks/{theirs['id']}", headers=marketplace.headers)
        assert response.status_code == 404
        assert response.json()["errors"] == [
            {"field": "id", "reason": f"no webhook subscription has id {theirs['id']}"}
        ]
        assert len(client.get("/v1/webhooks", headers=other.headers).json()["items"]) == 1


class TestReplayAndDeliveries:
    def test_replay_answers_the_count_and_deliveries_show_them(
        self,
        client: TestClient,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        other: MarketplaceKey,
        clock: FrozenClock,
    ) -> None:
        created = _create(client, marketplace)
        with session_scope(session_factory) as session:
            event_id = service.publish_event(
                session,
                marketplace_id=marketplace.marketplace_id,
                event_type="shipment.created",
                data={"tracking_number": "15395012345678"},
                now=clock.now(),
            )
            session.execute(update(OutboxMessage).values(status="dead"))  # gave up long ago
        clock.advance(timedelta(days=2))
        path = f"/v1/webhooks/{created['id']}"

        dead = client.get(f"{path}/deliveries?status=dead", headers=marketplace.headers).json()
        assert [d["event_id"] for d in dead["items"]] == [event_id]
        assert dead["items"][0]["status"] == "dead"

        since = "2026-11-25T11:59:00+03:00"  # 08:59 UTC, a minute before the event
        replay = client.post(f"{path}/replay", params={"since": since}, headers=marketplace.headers)
        assert replay.status_code == 200, replay.text
        assert replay.json() == {"requeued": 1}
        everything = client.get(f"{path}/deliveries", headers=marketplace.headers).json()["items"]
        assert [(d["event_id"], d["status"]) for d in everything] == [
            (event_id, "pending"),
            (event_id, "dead"),
        ]

        later = "2026-11-25T12:01:00+03:00"
        none = client.post(f"{path}/replay", params={"since": later}, headers=marketplace.headers)
        assert none.json() == {"requeued": 0}
        assert (
            client.post(
                f"{path}/replay", params={"since": since}, headers=other.headers
            ).status_code
            == 404
        )
        assert client.get(f"{path}/deliveries", headers=other.headers).status_code == 404

    @pytest.mark.parametrize("since", ["2026-11-25T10:00:00", "yesterday", None])
    def test_replay_needs_an_aware_since(
        self, client: TestClient, marketplace: MarketplaceKey, since: str | None
    ) -> None:
        created = _create(client, marketplace)
        params = {"since": since} if since else {}
        response = client.post(
            f"/v1/webhooks/{created['id']}/replay", params=params, headers=marketplace.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "since"


class TestEventCatalogue:
    def test_lists_every_event_with_its_schema_and_example_without_a_key(
        self, client: TestClient
    ) -> None:
        response = client.get("/v1/webhooks/events")
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [i["type"] for i in items] == list(service.EVENT_TYPES)
        for item in items:
            assert item["description"]
            schema = item["payload_schema"]
            assert schema["additionalProperties"] is False
            assert set(item["example"]) == set(schema["properties"])
            assert set(schema["required"]) <= set(item["example"])

    def test_is_documented_in_the_openapi_with_its_problems(self, client: TestClient) -> None:
        operation = client.get("/openapi.json").json()["paths"]["/v1/webhooks/events"]["get"]
        assert {"200", "429"} <= set(operation["responses"])
        assert not operation.get("security")
        spec = client.get("/openapi.json").json()
        schema = spec["components"]["schemas"]["WebhookEventCatalogue"]
        (example,) = schema["examples"]
        listed = {i["type"]: i for i in client.get("/v1/webhooks/events").json()["items"]}
        for item in example["items"]:
            assert item == listed[item["type"]]


class TestBatchMax:
    def test_create_takes_it_and_the_list_shows_it(
        self, client: TestClient, marketplace: MarketplaceKey
    ) -> None:
        single = _create(client, marketplace)
        response = client.post(
            "/v1/webhooks",
            json={"url": URL + "/batch", "events": ["*"], "batch_max": 50},
            headers=marketplace.headers,
        )
        assert response.status_code == 201, response.text
        batched = response.json()
        assert (single["batch_max"], batched["batch_max"]) == (1, 50)
        listed = client.get("/v1/webhooks", headers=marketplace.headers).json()["items"]
        assert [(i["id"], i["batch_max"]) for i in listed] == [
            (single["id"], 1),
            (batched["id"], 50),
        ]

    @pytest.mark.parametrize("batch_max", [0, -1, 101, 1000, "many", 2.5, None, True])
    def test_create_refuses_a_batch_max_out_of_range(
        self, client: TestClient, marketplace: MarketplaceKey, batch_max: object
    ) -> None:
        response = client.post(
            "/v1/webhooks",
            json={"url": URL, "events": ["*"], "batch_max": batch_max},
            headers=marketplace.headers,
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert {e["field"] for e in response.json()["errors"]} == {"batch_max"}
        assert client.get("/v1/webhooks", headers=marketplace.headers).json()["items"] == []

    def test_patch_changes_only_what_is_sent(
        self, client: TestClient, marketplace: MarketplaceKey
    ) -> None:
        created = _create(client, marketplace, ["shipment.created"])
        path = f"/v1/webhooks/{created['id']}"
        response = client.patch(path, json={"batch_max": 100}, headers=marketplace.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["batch_max"], body["events"], body["url"]) == (
            100,
            ["shipment.created"],
            URL,
        )
        assert "secret" not in body
        again = client.patch(path, json={"batch_max": 100}, headers=marketplace.headers)
        assert again.json() == body  # the same change twice: the same answer
        both = client.patch(
            path,
            json={"events": ["shipment.cancelled", "shipment.created"], "batch_max": 1},
            headers=marketplace.headers,
        ).json()
        assert (both["batch_max"], both["events"]) == (
            1,
            ["shipment.cancelled", "shipment.created"],
        )
        (listed,) = client.get("/v1/webhooks", headers=marketplace.headers).json()["items"]
        assert listed == both

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"batch_max": 0}, "batch_max"),
            ({"batch_max": 101}, "batch_max"),
            ({"batch_max": "ten"}, "batch_max"),
            ({"batch_max": None}, "request"),
            ({"events": []}, "events"),
            ({"events": ["shipment.exploded"]}, "events"),
            ({"batch_max": 10, "events": ["shipment.exploded"]}, "events"),
            ({"url": "https://other.example/hooks"}, "url"),
            ({}, "request"),
        ],
    )
    def test_patch_refuses_bad_input_and_changes_nothing(
        self,
        client: TestClient,
        marketplace: MarketplaceKey,
        payload: dict[str, object],
        field: str,
    ) -> None:
        created = _create(client, marketplace, ["shipment.created"])
        response = client.patch(
            f"/v1/webhooks/{created['id']}", json=payload, headers=marketplace.headers
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}
        (listed,) = client.get("/v1/webhooks", headers=marketplace.headers).json()["items"]
        assert (listed["batch_max"], listed["events"]) == (1, ["shipment.created"])

    def test_patch_of_another_marketplaces_or_a_stopped_subscription_is_404(
        self, client: TestClient, marketplace: MarketplaceKey, other: MarketplaceKey
    ) -> None:
        theirs = _create(client, other)
        response = client.patch(
            f"/v1/webhooks/{theirs['id']}", json={"batch_max": 50}, headers=marketplace.headers
        )
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"] == [
            {"field": "id", "reason": f"no webhook subscription has id {theirs['id']}"}
        ]
        (kept,) = client.get("/v1/webhooks", headers=other.headers).json()["items"]
        assert kept["batch_max"] == 1
        mine = _create(client, marketplace)
        client.delete(f"/v1/webhooks/{mine['id']}", headers=marketplace.headers)
        stopped = client.patch(
            f"/v1/webhooks/{mine['id']}", json={"batch_max": 50}, headers=marketplace.headers
        )
        assert stopped.status_code == 404
        assert client.patch("/v1/webhooks/1", json={"batch_max": 5}).status_code == 401

    def test_the_service_refuses_out_of_range_values_too(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        with session_scope(session_factory) as session:
            for batch_max in (0, 101):
                with pytest.raises(InvalidInput, match="batch_max"):
                    service.create_subscription(
                        session,
                        marketplace_id=marketplace.marketplace_id,
                        url=URL,
                        events=["*"],
                        now=TEST_NOW,
                        batch_max=batch_max,
                    )
