"""What an integrator relies on, through the real HTTP stack: the operator onboards a
marketplace (marketplace, key, offices) over the API; the key is shown once and kept only as
a digest; a revoked key is refused at once; and a marketplace sees only its own shipments,
webhooks and offices, never another's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.marketplace import service
from selpo.models import ApiKey, Marketplace, MarketplaceConnection, PostOffice
from tests.conftest import TEST_NOW
from tests.fixtures.builders import PESTYAKI_INDEX, admin_headers, shipment_payload

SHUYA_INDEX = "155900"  # an open town office that no test marketplace serves until connected


@dataclass(frozen=True)
class Onboarded:
    """A marketplace as an integrator holds it: its code, its key and the bearer header."""

    code: str
    prefix: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    headers = admin_headers(session, now=TEST_NOW)
    session.commit()
    return headers


def _onboard(client: TestClient, admin: dict[str, str], code: str, offices: list[str]) -> Onboarded:
    """The operator's three calls: the marketplace, its key, its offices."""
    created = client.post(
        "/v1/marketplaces", json={"code": code, "name": code.title()}, headers=admin
    )
    assert created.status_code == 201, created.text
    key = client.post(f"/v1/marketplaces/{code}/keys", headers=admin)
    assert key.status_code == 201, key.text
    if offices:
        connected = client.post(
            f"/v1/marketplaces/{code}/connections", json={"indexes": offices}, headers=admin
        )
        assert connected.status_code == 200, connected.text
    body = key.json()
    return Onboarded(code, body["prefix"], body["key"])


def _assert_problem(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if field is not None:
        assert [e["field"] for e in body["errors"]] == [field]
    return body


@pytest.fixture
def alpha(client: TestClient, admin: dict[str, str]) -> Onboarded:
    return _onboard(client, admin, "ALPHA", [PESTYAKI_INDEX])


@pytest.fixture
def beta(client: TestClient, admin: dict[str, str]) -> Onboarded:
    return _onboard(client, admin, "BETA", [PESTYAKI_INDEX])


def _ship(client: TestClient, who: Onboarded, order: str, **extra: Any) -> Any:
    return client.post(
        "/v1/shipments",
        json=shipment_payload(external_order_id=order, **extra),
        headers=who.headers,
    )


class TestApiKeys:
    def test_a_new_key_works_at_once_and_is_stored_only_as_its_digest(
        self, client: TestClient, session: Session, alpha: Onboarded
    ) -> None:
        assert alpha.key.startswith(f"selpo_{alpha.prefix}_")
        assert client.get("/v1/shipments", headers=alpha.headers).status_code == 200
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == alpha.prefix)).one()
        assert row.secret_sha256 == hashlib.sha256(alpha.key.encode()).hexdigest()
        stored = [str(getattr(row, c.key)) for c in ApiKey.__table__.columns]
        assert not any(alpha.key in value for value in stored)
        assert not any(alpha.key.rsplit("_", 1)[1] in value for value in stored)

    def test_the_key_is_shown_once_and_a_second_key_is_a_different_secret(
        self, client: TestClient, admin: dict[str, str], alpha: Onboarded
    ) -> None:
        again = client.post("/v1/marketplaces/ALPHA/keys", headers=admin)
        assert again.status_code == 201
        second = again.json()
        assert second["key"] != alpha.key
        assert second["prefix"] != alpha.prefix
        # Nothing the operator or the marketplace can read shows a secret again.
        for path, headers in (("/v1/shipments", alpha.headers), ("/v1/webhooks", alpha.headers)):
            text = client.get(path, headers=headers).text
            assert alpha.key not in text
            assert second["key"] not in text
        # Both keys act for the same marketplace.
        shipped = _ship(client, alpha, "KEY-1")
        assert shipped.status_code == 201, shipped.text
        listed = client.get("/v1/shipments", headers={"Authorization": f"Bearer {second['key']}"})
        assert [s["external_order_id"] for s in listed.json()["items"]] == ["KEY-1"]

    def test_a_revoked_key_is_refused_401_problem_json_and_the_others_keep_working(
        self, client: TestClient, session: Session, admin: dict[str, str], alpha: Onboarded
    ) -> None:
        spare = client.post("/v1/marketplaces/ALPHA/keys", headers=admin).json()
        assert client.get("/v1/shipments", headers=alpha.headers).status_code == 200
        service.revoke_key(session, prefix=alpha.prefix, now=TEST_NOW)  # `selpo marketplace`
        session.commit()
        for response in (
            client.get("/v1/shipments", headers=alpha.headers),
            _ship(client, alpha, "AFTER-REVOKE"),
            client.post(
                "/v1/quotes", json={"destination_index": PESTYAKI_INDEX}, headers=alpha.headers
            ),
        ):
            body = _assert_problem(response, 401, "Authorization")
            assert "revoked" in body["detail"]
        ok = client.get("/v1/shipments", headers={"Authorization": f"Bearer {spare['key']}"})
        assert ok.status_code == 200

    @pytest.mark.parametrize(
        "header",
        [
            None,
            "Bearer",
            "Basic dXNlcjpwYXNz",
            "Bearer nonsense",
            "Bearer selpo_000000000000_not-a-key",
        ],
    )
    def test_no_key_or_a_wrong_one_is_401_problem_json(
        self, client: TestClient, header: str | None
    ) -> None:
        headers = {} if header is None else {"Authorization": header}
        _assert_problem(client.get("/v1/shipments", headers=headers), 401, "Authorization")

    def test_a_forged_secret_with_a_real_prefix_is_refused(
        self, client: TestClient, alpha: Onboarded
    ) -> None:
        forged = f"selpo_{alpha.prefix}_{'A' * 43}"
        response = client.get("/v1/shipments", headers={"Authorization": f"Bearer {forged}"})
        _assert_problem(response, 401, "Authorization")

    def test_a_marketplace_key_cannot_act_as_the_operator(
        self, client: TestClient, alpha: Onboarded
    ) -> None:
        _assert_problem(
            client.post("/v1/marketplaces/ALPHA/keys", headers=alpha.headers), 403, "Authorization"
        )
        _assert_problem(
            client.post(
                "/v1/marketplaces/ALPHA/connections",
                json={"indexes": [SHUYA_INDEX]},
                headers=alpha.headers,
            ),
            403,
        )

    def test_the_admin_key_is_no_marketplace(
        self, client: TestClient, admin: dict[str, str]
    ) -> None:
        _assert_problem(client.get("/v1/shipments", headers=admin), 401, "Authorization")


class TestIsolation:
    def test_a_marketplace_sees_only_its_own_shipments(
        self, client: TestClient, alpha: Onboarded, beta: Onboarded
    ) -> None:
        created = _ship(client, alpha, "ALPHA-1")
        assert created.status_code == 201, created.text
        number = created.json()["tracking_number"]
        assert _ship(client, beta, "BETA-1").status_code == 201

        mine = client.get("/v1/shipments", headers=alpha.headers).json()["items"]
        theirs = client.get("/v1/shipments", headers=beta.headers).json()["items"]
        assert [s["external_order_id"] for s in mine] == ["ALPHA-1"]
        assert [s["external_order_id"] for s in theirs] == ["BETA-1"]

        # Another marketplace's parcel does not exist for BETA: read, label, cancel, extend.
        for response in (
            client.get(f"/v1/shipments/{number}", headers=beta.headers),
            client.get(f"/v1/shipments/{number}/label", headers=beta.headers),
            client.post(f"/v1/shipments/{number}/cancel", headers=beta.headers),
            client.post(f"/v1/shipments/{number}/extend-storage", headers=beta.headers),
        ):
            _assert_problem(response, 404)
        still = client.get(f"/v1/shipments/{number}", headers=alpha.headers)
        assert still.status_code == 200
        assert still.json()["status"] == "created"

    def test_the_same_idempotency_key_is_separate_per_marketplace(
        self, client: TestClient, alpha: Onboarded, beta: Onboarded
    ) -> None:
        key = {"Idempotency-Key": "order-0001"}
        first = client.post(
            "/v1/shipments",
            json=shipment_payload(external_order_id="A-0001"),
            headers=alpha.headers | key,
        )
        second = client.post(
            "/v1/shipments",
            json=shipment_payload(external_order_id="B-0001"),
            headers=beta.headers | key,
        )
        assert first.status_code == second.status_code == 201, second.text
        assert first.json()["tracking_number"] != second.json()["tracking_number"]
        assert second.json()["external_order_id"] == "B-0001"

    def test_a_marketplace_sees_only_its_own_webhooks(
        self, client: TestClient, alpha: Onboarded, beta: Onboarded
    ) -> None:
        hook = client.post(
            "/v1/webhooks",
            json={"url": "https://alpha.example/hooks", "events": ["*"]},
            headers=alpha.headers,
        )
        assert hook.status_code == 201, hook.text
        hook_id = hook.json()["id"]
        assert client.get("/v1/webhooks", headers=beta.headers).json()["items"] == []
        _assert_problem(client.delete(f"/v1/webhooks/{hook_id}", headers=beta.headers), 404)
        listed = client.get("/v1/webhooks", headers=alpha.headers).json()["items"]
        assert [h["id"] for h in listed] == [hook_id]


class TestConnections:
    def test_connecting_an_office_makes_it_a_pickup_point_of_that_marketplace_only(
        self, client: TestClient, admin: dict[str, str], alpha: Onboarded, beta: Onboarded
    ) -> None:
        before = client.get(f"/v1/pickup-points/{SHUYA_INDEX}").json()["marketplaces"]
        assert "ALPHA" not in before
        assert "BETA" not in before
        refused = _ship(client, alpha, "TOO-EARLY", destination_index=SHUYA_INDEX)
        _assert_problem(refused, 422, "destination_index")

        added = client.post(
            "/v1/marketplaces/ALPHA/connections", json={"indexes": [SHUYA_INDEX]}, headers=admin
        )
        assert added.json() == {"changed": 1}

        point = client.get(f"/v1/pickup-points/{SHUYA_INDEX}").json()
        assert "ALPHA" in point["marketplaces"]
        assert "BETA" not in point["marketplaces"]
        shipped = _ship(client, alpha, "NOW-SERVED", destination_index=SHUYA_INDEX)
        assert shipped.status_code == 201, shipped.text
        other = _ship(client, beta, "NOT-SERVED", destination_index=SHUYA_INDEX)
        _assert_problem(other, 422, "destination_index")

    def test_a_marketplace_lists_exactly_the_offices_it_was_given(
        self, client: TestClient, admin: dict[str, str], alpha: Onboarded
    ) -> None:
        client.post(
            "/v1/marketplaces/ALPHA/connections", json={"indexes": [SHUYA_INDEX]}, headers=admin
        )
        found = client.get(
            "/v1/pickup-points",
            params={
                "lat": 56.85,
                "lon": 41.4,
                "radius_km": 300,
                "limit": 100,
                "marketplace": "ALPHA",
            },
        )
        assert found.status_code == 200, found.text
        assert sorted(p["index"] for p in found.json()["items"]) == sorted(
            [PESTYAKI_INDEX, SHUYA_INDEX]
        )

    def test_connecting_again_changes_nothing(
        self, client: TestClient, admin: dict[str, str], alpha: Onboarded
    ) -> None:
        again = client.post(
            "/v1/marketplaces/ALPHA/connections",
            json={"indexes": [PESTYAKI_INDEX]},
            headers=admin,
        )
        assert again.json() == {"changed": 0}

    def test_an_unknown_office_or_marketplace_is_refused_and_nothing_is_connected(
        self, client: TestClient, admin: dict[str, str], alpha: Onboarded
    ) -> None:
        unknown = client.post(
            "/v1/marketplaces/ALPHA/connections",
            json={"indexes": [SHUYA_INDEX, "999999"]},
            headers=admin,
        )
        _assert_problem(unknown, 404)
        point = client.get(f"/v1/pickup-points/{SHUYA_INDEX}").json()
        assert "ALPHA" not in point["marketplaces"]
        nobody = client.post(
            "/v1/marketplaces/NOBODY/connections", json={"indexes": [SHUYA_INDEX]}, headers=admin
        )
        _assert_problem(nobody, 404, "code")
        empty = client.post("/v1/marketplaces/ALPHA/connections", json={}, headers=admin)
        _assert_problem(empty, 422, "indexes")


class TestOnboarding:
    def test_all_connects_every_open_office_and_no_other(
        self, client: TestClient, session: Session, admin: dict[str, str], alpha: Onboarded
    ) -> None:
        open_offices = set(
            session.scalars(select(PostOffice.index).where(PostOffice.status == "open"))
        )
        added = client.post("/v1/marketplaces/ALPHA/connections", json={"all": True}, headers=admin)
        assert added.json() == {"changed": len(open_offices) - 1}  # Pestyaki was connected
        served = set(
            session.scalars(
                select(PostOffice.index)
                .join(MarketplaceConnection, MarketplaceConnection.post_office_id == PostOffice.id)
                .join(Marketplace, Marketplace.id == MarketplaceConnection.marketplace_id)
                .where(Marketplace.code == "ALPHA", MarketplaceConnection.status == "active")
            )
        )
        assert served == open_offices

    def test_a_suspended_connection_is_taken_up_again(
        self, client: TestClient, session: Session, admin: dict[str, str], alpha: Onboarded
    ) -> None:
        connection = session.scalars(
            select(MarketplaceConnection)
            .join(Marketplace, Marketplace.id == MarketplaceConnection.marketplace_id)
            .where(Marketplace.code == "ALPHA")
        ).one()
        connection.status = "suspended"
        session.commit()
        _assert_problem(_ship(client, alpha, "SUSPENDED"), 422, "destination_index")
        again = client.post(
            "/v1/marketplaces/ALPHA/connections", json={"indexes": [PESTYAKI_INDEX]}, headers=admin
        )
        assert again.json() == {"changed": 1}
        assert _ship(client, alpha, "SERVED-AGAIN").status_code == 201

    def test_creating_a_marketplace_twice_answers_the_same_one(
        self, client: TestClient, admin: dict[str, str], alpha: Onboarded
    ) -> None:
        again = client.post(
            "/v1/marketplaces", json={"code": "alpha", "name": "Another name"}, headers=admin
        )
        assert again.status_code == 201
        assert again.json()["code"] == "ALPHA"
        assert again.json()["name"] == "Alpha"

    @pytest.mark.parametrize("code", ["A", "AL-PHA", "ALPHA BETA", ""])
    def test_a_marketplace_code_is_letters_digits_and_underscores(
        self, client: TestClient, admin: dict[str, str], code: str
    ) -> None:
        response = client.post("/v1/marketplaces", json={"code": code, "name": "X"}, headers=admin)
        _assert_problem(response, 422)

    def test_first_start_keys_are_issued_once(self, session: Session) -> None:
        first = service.issue_first_keys(session, now=TEST_NOW)
        assert first, "a fresh registry has marketplaces without keys"
        assert service.issue_first_keys(session, now=TEST_NOW) == {}
        for code, secret in first.items():
            principal = service.authenticate(session, secret=secret, now=TEST_NOW)
            assert principal.is_admin is (code == "ADMIN")
            assert principal.marketplace_code == (None if code == "ADMIN" else code)
