"""A new marketplace integrates over HTTP alone: key, pickup point, shipment, label, webhook."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from selpo.kit.clock import FrozenClock
from selpo.notify.delivery import deliver_due, make_http_client
from selpo.notify.signing import verify_signature
from tests.conftest import TEST_NOW
from tests.fixtures.builders import admin_headers
from tests.fixtures.receiver import Receiver
from tests.notify.conftest import LOOPBACK, RecordingSmsGateway


def test_a_marketplace_goes_live_over_http(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    clock: FrozenClock,
) -> None:
    admin = admin_headers(session, now=TEST_NOW)
    session.commit()  # the operator's key exists before the integration starts

    # The operator onboards the marketplace and its offices.
    created = client.post(
        "/v1/marketplaces", json={"code": "VILLAGE_SHOP", "name": "Сельмаг"}, headers=admin
    )
    assert created.status_code == 201
    key = client.post("/v1/marketplaces/VILLAGE_SHOP/keys", headers=admin).json()["key"]
    connected = client.post(
        "/v1/marketplaces/VILLAGE_SHOP/connections",
        json={"indexes": ["155650", "155217"]},
        headers=admin,
    )
    assert connected.json() == {"changed": 2}
    me = {"Authorization": f"Bearer {key}"}

    # The integration: a pickup point near Pestyaki that serves us.
    points = client.get(
        "/v1/pickup-points",
        params={"lat": 56.7086, "lon": 42.6695, "marketplace": "VILLAGE_SHOP", "limit": 5},
    ).json()["items"]
    assert [p["index"] for p in points][:1] == ["155650"]

    receiver = Receiver()
    receiver.start()
    # The test's receiver listens on loopback: on the development allow list.
    client.app.state.settings = client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"webhook_allow_hosts": "127.0.0.1"}
    )
    try:
        subscription = client.post(
            "/v1/webhooks", json={"url": receiver.url, "events": ["*"]}, headers=me
        )
        assert subscription.status_code == 201
        secret = subscription.json()["secret"]

        order = {
            "external_order_id": "SHOP-1",
            "destination_index": points[0]["index"],
            "recipient": {"name": "Петров Пётр", "phone": "8 (916) 123-45-67"},
            "parcel": {
                "weight_g": 800,
                "length_mm": 250,
                "width_mm": 150,
                "height_mm": 100,
                "declared_value_kop": 99000,
                "cod_kop": 99000,
            },
            "items": [{"sku": "K-1", "name": "Валенки", "quantity": 1, "price_kop": 99000}],
        }
        shipment = client.post(
            "/v1/shipments", json=order, headers={**me, "Idempotency-Key": "shop-1"}
        )
        assert shipment.status_code == 201, shipment.text
        number = shipment.json()["tracking_number"]

        label = client.get(f"/v1/shipments/{number}/label", headers=me)
        assert label.content.startswith(b"%PDF")

        # The sorting centre scans it in; the worker delivers the outbox.
        scan = {
            "tracking_number": number,
            "code": "handed_over",
            "occurred_at": TEST_NOW.isoformat(),
        }
        assert client.post("/v1/tracking-events", json=scan, headers=admin).status_code == 201
        with make_http_client(allow_hosts=LOOPBACK) as http:
            report = deliver_due(
                session_factory, now=clock.now(), http=http, sms_gateway=RecordingSmsGateway()
            )
        assert report.sent == 2

        # Sent in parallel: the order of arrival is not guaranteed (as documented).
        received = sorted(receiver.accepted, key=lambda r: r.headers["x-selpo-event-type"])
        types = [r.headers["x-selpo-event-type"] for r in received]
        assert types == ["shipment.created", "shipment.status_changed"]
        for request in received:
            assert verify_signature(
                secret, request.headers["x-selpo-signature"], request.body, now=clock.now()
            )
        assert b'"handed_over"' in received[-1].body
        assert number.encode() in received[-1].body
    finally:
        receiver.stop()
