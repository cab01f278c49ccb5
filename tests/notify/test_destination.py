"""Webhook destinations: https to public addresses only, checked at registration and again at
connect time after resolution. Private addresses are refused at registration only: nothing is
ever sent to them; delivery-time refusals are shown with names resolved to loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.errors import InvalidInput
from selpo.notify import service
from selpo.notify.delivery import deliver_due
from selpo.notify.destination import (
    DestinationRefused,
    address_refusal,
    check_destination,
    parse_allow_hosts,
)
from selpo.notify.transport import make_http_client
from tests.conftest import TEST_NOW
from tests.fixtures.receiver import Receiver
from tests.notify.conftest import MarketplaceKey, RecordingSmsGateway, outbox_rows

PUBLIC = "93.184.215.14"


def _resolver(table: dict[str, list[str]]) -> Callable[[str, int], list[str]]:
    """A DNS stand-in (the edge): names to addresses, anything else does not exist."""

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host} not found")
        return table[host]

    return resolve


class TestAddressRefusal:
    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "169.254.169.254",  # cloud metadata
            "100.64.0.1",  # CGNAT
            "0.0.0.0",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",  # ULA
            "fe80::1",
            "fe80::1%eth0",
            "ff02::1",
            "::ffff:127.0.0.1",  # IPv4-mapped loopback
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
            "2002:a00:1::1",  # 6to4 of 10.0.0.1
        ],
    )
    def test_internal_addresses_are_refused(self, address: str) -> None:
        assert address_refusal(address) is not None

    @pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2a00:1450:4010:c05::64"])
    def test_public_addresses_pass(self, address: str) -> None:
        assert address_refusal(address) is None


class TestCheckDestination:
    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("http://hooks.example.org/x", "https"),
            ("ftp://hooks.example.org/x", "https"),
            ("https://user:pw@hooks.example.org/x", "user name"),
            ("https://127.0.0.1/x", "loopback"),
            ("https://[::ffff:7f00:1]/x", "loopback"),
            ("https://2130706433/x", "loopback"),  # 127.0.0.1 as one number
            ("https://localhost/x", "loopback"),
            ("https://metadata.localhost/x", "loopback"),
            ("https://internal.corp.example.org/x", "loopback"),
            ("https://mixed.example.org/x", "loopback"),  # one bad answer among good ones
        ],
    )
    def test_refusals(self, url: str, reason: str) -> None:
        resolve = _resolver(
            {
                "hooks.example.org": [PUBLIC],
                "2130706433": ["127.0.0.1"],
                "internal.corp.example.org": ["10.20.30.40"],
                "mixed.example.org": [PUBLIC, "192.168.0.7"],
            }
        )
        with pytest.raises(DestinationRefused, match=reason):
            check_destination(url, allow_hosts=frozenset(), resolve=resolve)

    def test_public_https_and_unresolvable_names_pass(self) -> None:
        resolve = _resolver({"hooks.example.org": [PUBLIC]})
        check_destination("https://hooks.example.org/x", allow_hosts=frozenset(), resolve=resolve)
        # Not resolvable (yet): accepted, every delivery checks again.
        check_destination("https://later.example.org/", allow_hosts=frozenset(), resolve=resolve)

    def test_the_allow_list_permits_http_and_any_address(self) -> None:
        allow = parse_allow_hosts(" 127.0.0.1, Receiver.Test ,")
        assert allow == frozenset({"127.0.0.1", "receiver.test"})
        resolve = _resolver({"receiver.test": ["127.0.0.1"]})
        check_destination("http://127.0.0.1:8080/h", allow_hosts=allow, resolve=resolve)
        check_destination("http://RECEIVER.test/h", allow_hosts=allow, resolve=resolve)
        with pytest.raises(DestinationRefused):
            check_destination("http://127.0.0.2/h", allow_hosts=allow, resolve=resolve)


class TestRegistration:
    def test_the_api_refuses_internal_urls_naming_the_field(
        self, client: TestClient, marketplace: MarketplaceKey
    ) -> None:
        for url in (
            "http://market.example/hooks",
            "https://10.1.2.3/hooks",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8443/hooks",
            "https://[::ffff:192.168.0.1]/hooks",
            "https://100.64.1.1/hooks",
            "https://0.0.0.0/hooks",
            "https://localhost/hooks",
        ):
            response = client.post(
                "/v1/webhooks", json={"url": url, "events": ["*"]}, headers=marketplace.headers
            )
            assert response.status_code == 422, url
            assert response.headers["content-type"].startswith("application/problem+json")
            body = response.json()
            assert [e["field"] for e in body["errors"]] == ["url"], url
            # The refusal never tells what the address is.
            assert "10.1.2.3" not in body["detail"]
            assert "169.254" not in body["detail"]
        listed = client.get("/v1/webhooks", headers=marketplace.headers).json()["items"]
        assert listed == []

    def test_the_allow_list_setting_admits_a_loopback_receiver(
        self, client: TestClient, marketplace: MarketplaceKey
    ) -> None:
        url = "http://127.0.0.1:8999/hooks"
        refused = client.post(
            "/v1/webhooks", json={"url": url, "events": ["*"]}, headers=marketplace.headers
        )
        assert refused.status_code == 422
        state = client.app.state  # type: ignore[attr-defined]
        state.settings = state.settings.model_copy(update={"webhook_allow_hosts": "127.0.0.1"})
        created = client.post(
            "/v1/webhooks", json={"url": url, "events": ["*"]}, headers=marketplace.headers
        )
        assert created.status_code == 201

    def test_a_name_resolving_inside_is_refused(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        resolve = _resolver({"hooks.partner.example.org": ["10.9.8.7"]})
        with session_scope(session_factory) as session, pytest.raises(InvalidInput) as refused:
            service.create_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                url="https://hooks.partner.example.org/selpo",
                events=["*"],
                now=TEST_NOW,
                resolve=resolve,
            )
        assert refused.value.field == "url"


class TestDeliveryCheck:
    def _subscribe_public(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey, url: str
    ) -> None:
        with session_scope(session_factory) as session:
            service.create_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                url=url,
                events=["*"],
                now=TEST_NOW,
                resolve=_resolver({"rebind.example.org": [PUBLIC]}),
            )
            service.publish_event(
                session,
                marketplace_id=marketplace.marketplace_id,
                event_type="shipment.created",
                data={},
                now=TEST_NOW,
            )

    def test_a_name_that_turns_internal_after_registration_gets_nothing(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
    ) -> None:
        # Public when registered; by delivery time the name points at a loopback service.
        self._subscribe_public(
            session_factory, marketplace, f"https://rebind.example.org:{receiver.port}/hooks"
        )
        rebound = _resolver({"rebind.example.org": ["127.0.0.1"]})
        with make_http_client(resolve=rebound) as http:
            report = deliver_due(
                session_factory, now=TEST_NOW, http=http, sms_gateway=RecordingSmsGateway()
            )
        assert report.retried == 1
        assert receiver.requests == []
        (row,) = outbox_rows(session_factory)
        assert row.last_error is not None
        assert row.last_error.startswith("refused:")
        assert "127.0.0.1" not in row.last_error
        assert row.last_status_code is None

    def test_plain_http_off_the_allow_list_is_refused_at_delivery(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
    ) -> None:
        # Registered while the host was allowed; the allow list changed since.
        with session_scope(session_factory) as session:
            service.create_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                url=receiver.url,
                events=["*"],
                now=TEST_NOW,
                allow_hosts=frozenset({"127.0.0.1"}),
            )
            service.publish_event(
                session,
                marketplace_id=marketplace.marketplace_id,
                event_type="shipment.created",
                data={},
                now=TEST_NOW,
            )
        with make_http_client() as http:
            deliver_due(session_factory, now=TEST_NOW, http=http, sms_gateway=RecordingSmsGateway())
        assert receiver.requests == []
        (row,) = outbox_rows(session_factory)
        assert row.last_error == "refused: the webhook URL must use https"

    def test_the_connection_goes_to_the_checked_address_with_the_host_kept(
        self,
        session_factory: sessionmaker[Session],
        marketplace: MarketplaceKey,
        receiver: Receiver,
    ) -> None:
        allow = frozenset({"receiver.test"})
        with session_scope(session_factory) as session:
            service.create_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                url=f"http://receiver.test:{receiver.port}/hooks",
                events=["*"],
                now=TEST_NOW,
                allow_hosts=allow,
            )
            service.publish_event(
                session,
                marketplace_id=marketplace.marketplace_id,
                event_type="shipment.created",
                data={},
                now=TEST_NOW,
            )
        resolve = _resolver({"receiver.test": ["127.0.0.1"]})
        with make_http_client(allow_hosts=allow, resolve=resolve) as http:
            report = deliver_due(
                session_factory, now=TEST_NOW, http=http, sms_gateway=RecordingSmsGateway()
            )
        assert report.sent == 1
        (request,) = receiver.requests
        assert request.headers["host"] == f"receiver.test:{receiver.port}"

    def test_tls_names_the_host_of_the_url_while_connecting_to_the_checked_address(
        self, session_factory: sessionmaker[Session], marketplace: MarketplaceKey
    ) -> None:
        # A loopback listener that records the TLS ClientHello (where SNI travels in clear).
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(5)
        port = listener.getsockname()[1]
        hello: list[bytes] = []

        def capture() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(5)
                hello.append(connection.recv(4096))

        thread = threading.Thread(target=capture, daemon=True)
        thread.start()
        allow = frozenset({"tls.receiver.test"})
        with session_scope(session_factory) as session:
            service.create_subscription(
                session,
                marketplace_id=marketplace.marketplace_id,
                url=f"https://tls.receiver.test:{port}/hooks",
                events=["*"],
                now=TEST_NOW,
                allow_hosts=allow,
            )
            service.publish_event(
                session,
                marketplace_id=marketplace.marketplace_id,
                event_type="shipment.created",
                data={},
                now=TEST_NOW,
            )
        resolve = _resolver({"tls.receiver.test": ["127.0.0.1"]})
        with make_http_client(allow_hosts=allow, resolve=resolve) as http:
            report = deliver_due(
                session_factory, now=TEST_NOW, http=http, sms_gateway=RecordingSmsGateway()
            )
        thread.join(5)
        listener.close()
        assert report.retried == 1  # no TLS server there: the handshake fails, as it should
        assert b"tls.receiver.test" in hello[0]  # SNI: the URL's name, not the address
        (row,) = outbox_rows(session_factory)
        assert row.last_error is not None
        assert row.last_error.startswith("failed: ") or row.last_error == "could not connect"
