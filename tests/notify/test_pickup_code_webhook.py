"""The pickup code in ``shipment.ready_for_pickup``: only for an opted-in marketplace, only
over https, in clear only in its one outbox message until that is finished; the counter's
scanner reads its QR payload. Real database, real delivery to loopback receivers (one of them
https, with a certificate made for the test), the wipe checked in the stored rows."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.kit.clock import FrozenClock
from selpo.marketplace import service as marketplace_service
from selpo.models import Marketplace, OutboxMessage, Shipment, WebhookSubscription
from selpo.notify import service as notify_service
from selpo.notify.delivery import DELIVERY_WINDOW, deliver_due, expire_held
from selpo.notify.events import CATALOGUE
from selpo.notify.transport import make_http_client
from selpo.office import service as office
from selpo.shipment import service as shipment_service
from selpo.shipment.rules import pickup_code_matches, pickup_qr, read_pickup_qr
from selpo.shipment.schemas import ShipmentCreate, ShipmentPatch
from selpo.shipment.tracking import is_valid_tracking_number, make_tracking_number
from tests.conftest import TEST_NOW
from tests.fixtures.builders import PESTYAKI_INDEX, shipment_payload
from tests.fixtures.receiver import Receiver
from tests.notify.conftest import LOOPBACK, RecordingSmsGateway
from tests.office.world import POLICY, cheap_password_hashing, make_world, sms_code

READY = "shipment.ready_for_pickup"
SECRETS = ("pickup_code", "pickup_qr")


# ---------------------------------------------------------------------------- https receiver


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and the contexts that serve and trust it."""

    cert: Path
    key: Path

    def server(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    openssl = shutil.which("openssl")
    assert openssl is not None, "the https receiver's certificate is made with openssl"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


@pytest.fixture
def secure(certificate: Certificate) -> Iterator[Receiver]:
    """An https receiver on loopback answering 200."""
    server = Receiver(tls=certificate.server())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def plain() -> Iterator[Receiver]:
    """A plain-http receiver on loopback (on the development allow list) answering 200."""
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def trusting(certificate: Certificate) -> Iterator[httpx.Client]:
    """The worker's HTTP client, trusting the test certificate."""
    with make_http_client(allow_hosts=LOOPBACK, ssl_context=certificate.client()) as client:
        yield client


# ---------------------------------------------------------------------------- the flow


@dataclass
class Shelf:
    """A marketplace with subscriptions, and a parcel of it shelved at Pestyaki."""

    marketplace_id: int
    tracking_number: str
    code: str  # the code the shelving made (what the SMS says)
    shelved_at: datetime


def _subscribe(
    session: Session, marketplace_id: int, url: str, batch_max: int = 1
) -> WebhookSubscription:
    return notify_service.create_subscription(
        session,
        marketplace_id=marketplace_id,
        url=url,
        events=[READY],
        now=TEST_NOW,
        allow_hosts=LOOPBACK,
        batch_max=batch_max,
    )


def _shelve(
    factory: sessionmaker[Session],
    *,
    code: str,
    opted_in: bool,
    urls: list[str],
    batch_max: int = 1,
) -> Shelf:
    """Commit a marketplace (opted in or not) subscribed at ``urls``, and a parcel of it made,
    scanned to the office and shelved through the real services."""
    with session_scope(factory) as session:
        marketplace = marketplace_service.add_marketplace(session, code=code, name=code.title())
        marketplace_service.connect_offices(
            session,
            marketplace=marketplace,
            indexes=[PESTYAKI_INDEX],
            today=TEST_NOW.date(),
            now=TEST_NOW,
        )
        marketplace_service.set_pickup_code_in_webhook(marketplace, enabled=opted_in)
        for url in urls:
            _subscribe(session, marketplace.id, url, batch_max)
        outcome = shipment_service.create_shipments(
            session,
            marketplace=marketplace,
            shipments_in=[ShipmentCreate.model_validate(shipment_payload())],
            now=TEST_NOW,
        )[0]
        assert outcome.shipment is not None, outcome.error
        number = outcome.shipment.tracking_number
        moment = TEST_NOW
        for scan in ("handed_over", "departed_hub", "arrived_at_office"):
            moment += timedelta(minutes=10)
            shipment_service.record_scan(
                session,
                tracking_number=number,
                code=scan,
                occurred_at=moment,
                now=moment,
                office_index=PESTYAKI_INDEX if scan == "arrived_at_office" else None,
            )
        shipment = shipment_service.get_shipment(
            session, marketplace_id=marketplace.id, tracking_number=number
        )
        moment += timedelta(minutes=10)
        made = shipment_service.make_ready_for_pickup(
            session, shipment=shipment, now=moment, policy=POLICY, cell_code="S-07"
        )
        return Shelf(marketplace.id, number, made, moment)


def _rows(factory: sessionmaker[Session], marketplace_id: int) -> dict[str, OutboxMessage]:
    """The marketplace's ready_for_pickup rows by subscription URL, read afresh."""
    with session_scope(factory) as session:
        rows = session.execute(
            select(OutboxMessage, WebhookSubscription.url)
            .join(WebhookSubscription, OutboxMessage.subscription_id == WebhookSubscription.id)
            .where(
                WebhookSubscription.marketplace_id == marketplace_id,
                OutboxMessage.event_type == READY,
            )
        ).all()
        return {url: row for row, url in rows}


def _in_clear(factory: sessionmaker[Session]) -> list[int]:
    """The outbox rows that still hold a pickup code: a webhook's secret fields, an SMS text."""
    with session_scope(factory) as session:
        rows = session.scalars(select(OutboxMessage))
        return [
            m.id
            for m in rows
            if (m.kind == "sms" and m.payload.get("text"))
            or any((m.payload.get("data") or {}).get(f) for f in SECRETS)
        ]


def _deliver(
    factory: sessionmaker[Session], http: httpx.Client, now: datetime
) -> RecordingSmsGateway:
    gateway = RecordingSmsGateway()
    deliver_due(factory, now=now, http=http, sms_gateway=gateway, limit=50)
    return gateway


class TestTheCodeGoesOverHttpsOnly:
    def test_the_https_subscriber_gets_the_code_and_the_qr_the_http_one_nulls(
        self,
        session_factory: sessionmaker[Session],
        secure: Receiver,
        plain: Receiver,
        trusting: httpx.Client,
    ) -> None:
        shelf = _shelve(
            session_factory, code="PICKUP_APP", opted_in=True, urls=[secure.url, plain.url]
        )
        before = _rows(session_factory, shelf.marketplace_id)
        # Before delivery: the https row alone holds the code, and names what to wipe.
        assert before[secure.url].payload["data"]["pickup_code"] == shelf.code
        assert before[secure.url].secret_fields == ["pickup_code", "pickup_qr"]
        assert before[plain.url].payload["data"]["pickup_code"] is None
        assert before[plain.url].secret_fields is None
        assert before[secure.url].event_id == before[plain.url].event_id

        _deliver(session_factory, trusting, shelf.shelved_at + timedelta(seconds=1))

        [got] = secure.accepted
        event = json.loads(got.body)
        data = event["data"]
        CATALOGUE[READY].model.model_validate(data)
        assert got.headers["x-selpo-event-type"] == READY
        assert "sandbox" not in event
        assert data["tracking_number"] == shelf.tracking_number
        assert data["status"] == "ready_for_pickup"
        assert data["office_index"] == PESTYAKI_INDEX
        assert data["cell"] == "S-07"
        assert data["storage_deadline"] is not None
        assert data["pickup_code"] == shelf.code
        assert data["pickup_qr"] == pickup_qr(shelf.tracking_number, shelf.code)
        assert read_pickup_qr(data["pickup_qr"]) == (shelf.tracking_number, shelf.code)
        with session_scope(session_factory) as session:
            stored = session.scalars(
                select(Shipment).where(Shipment.tracking_number == shelf.tracking_number)
            ).one()
            assert stored.pickup_code_hash is not None
            assert pickup_code_matches(
                data["pickup_code"],
                stored.pickup_code_hash,
                tracking_number=shelf.tracking_number,
                pepper=POLICY.pepper,
            )
        [over_http] = plain.accepted
        http_data = json.loads(over_http.body)["data"]
        assert http_data["pickup_code"] is None
        assert http_data["pickup_qr"] is None
        assert http_data["cell"] == "S-07"

        # Delivered: the stored row is wiped, and the code is nowhere in the outbox (the
        # SMS that carried it was wiped when it was sent, in the same pass).
        after = _rows(session_factory, shelf.marketplace_id)
        assert after[secure.url].status == "sent"
        assert after[secure.url].payload["data"]["pickup_code"] is None
        assert after[secure.url].payload["data"]["pickup_qr"] is None
        assert after[secure.url].payload["data"]["cell"] == "S-07"
        assert after[secure.url].secret_fields is None
        assert _in_clear(session_factory) == []

    def test_a_batching_subscriber_gets_the_code_in_its_batch_kept_until_sent(
        self,
        session_factory: sessionmaker[Session],
        secure: Receiver,
        trusting: httpx.Client,
    ) -> None:
        shelf = _shelve(
            session_factory, code="BATCH_APP", opted_in=True, urls=[secure.url], batch_max=20
        )
        secure.answer = 503
        first_try = shelf.shelved_at + timedelta(seconds=1)
        _deliver(session_factory, trusting, first_try)
        # Failed: still pending, so the code stays for the next attempt.
        pending = _rows(session_factory, shelf.marketplace_id)[secure.url]
        assert (pending.status, pending.last_error) == ("pending", "HTTP 503")
        assert pending.payload["data"]["pickup_code"] == shelf.code
        assert pending.secret_fields == ["pickup_code", "pickup_qr"]

        secure.answer = 200
        _deliver(session_factory, trusting, first_try + timedelta(minutes=1))
        [got] = secure.accepted
        assert got.headers["x-selpo-event-type"] == "batch"
        [event] = json.loads(got.body)["events"]
        assert event["type"] == READY
        assert event["data"]["pickup_code"] == shelf.code
        assert event["data"]["pickup_qr"] == pickup_qr(shelf.tracking_number, shelf.code)
        sent = _rows(session_factory, shelf.marketplace_id)[secure.url]
        assert sent.status == "sent"
        assert (sent.payload["data"]["pickup_code"], sent.payload["data"]["pickup_qr"]) == (
            None,
            None,
        )
        assert sent.payload["data"]["cell"] == "S-07"
        assert sent.secret_fields is None
        assert _in_clear(session_factory) == []

    def test_a_marketplace_that_did_not_opt_in_never_gets_the_code(
        self,
        session_factory: sessionmaker[Session],
        secure: Receiver,
        trusting: httpx.Client,
    ) -> None:
        shelf = _shelve(session_factory, code="NO_APP", opted_in=False, urls=[secure.url])
        row = _rows(session_factory, shelf.marketplace_id)[secure.url]
        assert row.secret_fields is None
        assert row.payload["data"]["pickup_code"] is None
        _deliver(session_factory, trusting, shelf.shelved_at + timedelta(seconds=1))
        [got] = secure.accepted
        data = json.loads(got.body)["data"]
        assert data["pickup_code"] is None
        assert data["pickup_qr"] is None
        assert data["tracking_number"] == shelf.tracking_number

    def test_a_replay_sends_the_wiped_body(
        self,
        session_factory: sessionmaker[Session],
        secure: Receiver,
        trusting: httpx.Client,
    ) -> None:
        shelf = _shelve(session_factory, code="REPLAYED", opted_in=True, urls=[secure.url])
        _deliver(session_factory, trusting, shelf.shelved_at + timedelta(seconds=1))
        with session_scope(session_factory) as session:
            subscription_id = _rows(session_factory, shelf.marketplace_id)[
                secure.url
            ].subscription_id
            assert subscription_id is not None
            requeued = notify_service.replay_events(
                session,
                marketplace_id=shelf.marketplace_id,
                subscription_id=subscription_id,
                since=TEST_NOW,
                now=shelf.shelved_at + timedelta(minutes=1),
            )
        assert requeued == 1
        _deliver(session_factory, trusting, shelf.shelved_at + timedelta(minutes=2))
        first, again = secure.accepted
        assert json.loads(first.body)["data"]["pickup_code"] == shelf.code
        assert json.loads(again.body)["data"]["pickup_code"] is None
        assert first.event_id == again.event_id


class TestTheWipeWhenNotDelivered:
    def test_a_dead_letter_is_wiped(
        self,
        session_factory: sessionmaker[Session],
        secure: Receiver,
        trusting: httpx.Client,
    ) -> None:
        shelf = _shelve(session_factory, code="DEAD_END", opted_in=True, urls=[secure.url])
        secure.answer = 400  # refuses this message; past the window, it is given up
        _deliver(session_factory, trusting, shelf.shelved_at + DELIVERY_WINDOW)
        assert len(secure.requests) == 1
        row = _rows(session_factory, shelf.marketplace_id)[secure.url]
        assert row.status == "dead"
        assert row.payload["data"]["pickup_code"] is None
        assert row.payload["data"]["pickup_qr"] is None
        assert row.secret_fields is None

    def test_a_cancelled_message_is_wiped(
        self, session_factory: sessionmaker[Session], secure: Receiver
    ) -> None:
        shelf = _shelve(session_factory, code="STOPPED", opted_in=True, urls=[secure.url])
        row = _rows(session_factory, shelf.marketplace_id)[secure.url]
        assert row.payload["data"]["pickup_code"] == shelf.code
        assert row.subscription_id is not None
        with session_scope(session_factory) as session:
            notify_service.deactivate_subscription(
                session,
                marketplace_id=shelf.marketplace_id,
                subscription_id=row.subscription_id,
                now=shelf.shelved_at,
            )
        row = _rows(session_factory, shelf.marketplace_id)[secure.url]
        assert row.status == "cancelled"
        assert row.payload["data"]["pickup_code"] is None
        assert row.secret_fields is None
        assert secure.requests == []

    def test_a_message_expired_behind_a_held_endpoint_is_wiped(
        self, session_factory: sessionmaker[Session], secure: Receiver
    ) -> None:
        shelf = _shelve(session_factory, code="HELD", opted_in=True, urls=[secure.url])
        row = _rows(session_factory, shelf.marketplace_id)[secure.url]
        later = shelf.shelved_at + DELIVERY_WINDOW + timedelta(minutes=1)
        with session_scope(session_factory) as session:
            session.execute(
                update(WebhookSubscription)
                .where(WebhookSubscription.id == row.subscription_id)
                .values(held_until=later + timedelta(minutes=5), consecutive_failures=3)
            )
            assert expire_held(session, now=later) == 1
        row = _rows(session_factory, shelf.marketplace_id)[secure.url]
        assert row.status == "dead"
        assert row.payload["data"]["pickup_code"] is None
        assert row.secret_fields is None


def test_a_reissued_code_is_sent_again_to_an_opted_in_marketplace(
    session_factory: sessionmaker[Session], secure: Receiver, trusting: httpx.Client
) -> None:
    shelf = _shelve(session_factory, code="NEW_PHONE", opted_in=True, urls=[secure.url])
    with session_scope(session_factory) as session:
        shipment_service.update_shipment(
            session,
            marketplace_id=shelf.marketplace_id,
            tracking_number=shelf.tracking_number,
            patch=ShipmentPatch.model_validate({"recipient": {"phone": "+79161234568"}}),
            now=shelf.shelved_at + timedelta(minutes=5),
            promises=shipment_service.no_promise,
            policy=POLICY,
        )
    _deliver(session_factory, trusting, shelf.shelved_at + timedelta(minutes=6))
    # Both events went out (in either order: delivery is parallel), the second with the new
    # code, the one that now opens the parcel.
    codes = [json.loads(r.body)["data"]["pickup_code"] for r in secure.accepted]
    assert len(codes) == 2
    assert shelf.code in codes
    codes.remove(shelf.code)
    with session_scope(session_factory) as session:
        stored = session.scalars(
            select(Shipment).where(Shipment.tracking_number == shelf.tracking_number)
        ).one()
        assert stored.pickup_code_hash is not None
        assert pickup_code_matches(
            codes[0],
            stored.pickup_code_hash,
            tracking_number=shelf.tracking_number,
            pepper=POLICY.pepper,
        )
    assert _in_clear(session_factory) == []


# ---------------------------------------------------------------------------- the counter


class TestTheCounterReadsTheQr:
    @pytest.fixture(autouse=True)
    def _cheap_passwords(self) -> Iterator[None]:
        with cheap_password_hashing():
            yield

    def test_the_scanned_qr_opens_the_parcel_and_a_wrong_one_counts_on_its_lock(
        self, session: Session, clock: FrozenClock
    ) -> None:
        world = make_world(session, clock)
        ozon: Marketplace = world.ozon
        ozon.pickup_code_in_webhook = True
        notify_service.create_subscription(
            session,
            marketplace_id=ozon.id,
            url="https://hooks.example/app",
            events=[READY],
            now=TEST_NOW,
        )
        parcel, code = world.shelved()
        row = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.event_type == READY,
                OutboxMessage.subscription_id.is_not(None),
            )
        ).one()
        qr = row.payload["data"]["pickup_qr"]
        assert qr == pickup_qr(parcel.tracking_number, sms_code(session, parcel.tracking_number))
        assert code == sms_code(session, parcel.tracking_number)

        wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
        refused = office.find_by_code(
            session,
            office=world.pestyaki,
            workstation=world.clerk,
            code=pickup_qr(parcel.tracking_number, wrong_code),
            policy=POLICY,
            now=clock.now(),
        )
        assert refused.tone == "error"
        assert refused.tracking_number == parcel.tracking_number
        assert parcel.pickup_code_failures == 1  # the parcel's own count, not the office's

        # A scanner typing through the keyboard may add spaces: still the same payload.
        opened = office.find_by_code(
            session,
            office=world.pestyaki,
            workstation=world.clerk,
            code=f" {qr[:14]} {qr[14:]} ",
            policy=POLICY,
            now=clock.now(),
        )
        assert opened.tracking_number == parcel.tracking_number
        assert opened.tone != "error"
        view = office.issue_view(
            session,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            policy=POLICY,
            now=clock.now(),
        )
        assert view.verified

    def test_only_a_qr_with_a_valid_tracking_number_is_one(self) -> None:
        assert read_pickup_qr("10100005000177482913") == ("10100005000177", "482913")
        assert read_pickup_qr("10100005000178482913") is None  # a wrong check digit
        assert read_pickup_qr("482913") is None
        assert read_pickup_qr("10100005000177") is None
        assert read_pickup_qr("1010000500017748291") is None


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


@given(_digits(6), _digits(2), st.integers(1, 99_999), _digits(6))
def test_a_qr_reads_back_as_its_parcel_and_code(
    index: str, month: str, serial: int, code: str
) -> None:
    number = make_tracking_number(index, month, serial)
    assert read_pickup_qr(pickup_qr(number, code)) == (number, code)


@given(st.text(max_size=40))
def test_anything_else_scanned_is_no_qr_or_a_valid_one(text: str) -> None:
    read = read_pickup_qr(text)
    if read is not None:
        number, code = read
        assert is_valid_tracking_number(number)
        assert len(code) == 6
        assert code.isascii()
        assert code.isdigit()
        assert number + code == text.strip().replace(" ", "").replace("-", "")
