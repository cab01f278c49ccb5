"""The sandbox through the real HTTP stack and database: test keys make and see sandbox
shipments only, live keys never see them, no counter, van, job or report meets them, and
``POST /v1/sandbox/shipments/{n}/advance`` walks them through their life with the real
webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from selpo.cli import app
from selpo.db import (
    create_db_engine,
    enter_sandbox,
    in_sandbox,
    make_session_factory,
    see_every_partition,
    session_scope,
)
from selpo.errors import PROBLEM_JSON
from selpo.kit.clock import FrozenClock
from selpo.logistics import repository as logistics_repository
from selpo.marketplace import service as marketplace_service
from selpo.marketplace.errors import MissingApiKey
from selpo.models import Marketplace, OutboxMessage, Shipment
from selpo.notify import service as notify_service
from selpo.notify.events import CATALOGUE
from selpo.office import service as office
from selpo.office.errors import ParcelNotFound
from selpo.shipment import service as shipment_service
from selpo.shipment.schemas import ShipmentCreate
from selpo.shipment.tracking import is_valid_tracking_number
from tests.conftest import TEST_NOW
from tests.fixtures.builders import (
    PESTYAKI_INDEX,
    admin_headers,
    marketplace_key,
    shipment_payload,
    two_item_payload,
)
from tests.office.world import POLICY, cheap_password_hashing, make_world


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _test_key(session: Session, marketplace: Marketplace) -> dict[str, str]:
    issued = marketplace_service.issue_key(
        session, now=TEST_NOW, marketplace=marketplace, sandbox=True
    )
    session.flush()
    return _bearer(issued.secret)


def _create(client: TestClient, headers: dict[str, str], **overrides: Any) -> str:
    answer = client.post("/v1/shipments", json=shipment_payload(**overrides), headers=headers)
    assert answer.status_code == 201, answer.text
    number: str = answer.json()["tracking_number"]
    return number


def _advance(client: TestClient, headers: dict[str, str], number: str, **body: Any) -> Any:
    return client.post(f"/v1/sandbox/shipments/{number}/advance", json=body, headers=headers)


def _sandbox_flag(session: Session, number: str) -> bool:
    """The stored flag, read past the ORM's partitions."""
    flag = session.execute(
        text("SELECT sandbox FROM shipment WHERE tracking_number = :n"), {"n": number}
    ).scalar_one()
    return bool(flag)


@pytest.fixture
def keys(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    """A marketplace serving Pestyaki: (live key, test key)."""
    live = marketplace_key(session, "SANDBOXED", now=TEST_NOW)
    return live.headers, _test_key(session, live.marketplace)


class TestTestKeys:
    def test_a_test_key_has_its_own_form_and_authenticates_as_the_sandbox(
        self, session: Session
    ) -> None:
        marketplace = marketplace_service.add_marketplace(session, code="KEYS", name="Keys")
        live = marketplace_service.issue_key(session, now=TEST_NOW, marketplace=marketplace)
        test = marketplace_service.issue_key(
            session, now=TEST_NOW, marketplace=marketplace, sandbox=True
        )
        assert live.secret.startswith("selpo_")
        assert test.secret.startswith("sk_test_")
        assert test.secret.split("_")[2] == test.prefix
        assert not marketplace_service.authenticate(
            session, secret=live.secret, now=TEST_NOW
        ).sandbox
        principal = marketplace_service.authenticate(session, secret=test.secret, now=TEST_NOW)
        assert principal.sandbox
        assert principal.marketplace_id == marketplace.id
        # The same secret under the other form is not a key.
        swapped = test.secret.replace("sk_test_", "selpo_", 1)
        with pytest.raises(MissingApiKey):
            marketplace_service.authenticate(session, secret=swapped, now=TEST_NOW)
        assert [
            k.sandbox for k in marketplace_service.list_keys(session, marketplace=marketplace)
        ] == [
            False,
            True,
        ]

    def test_the_operator_has_no_test_key(self, session: Session) -> None:
        with pytest.raises(Exception, match="test keys are a marketplace's"):
            marketplace_service.issue_key(session, now=TEST_NOW, marketplace=None, sandbox=True)

    def test_the_operator_issues_a_test_key_over_the_api(
        self, client: TestClient, session: Session
    ) -> None:
        marketplace_key(session, "API_SANDBOX", now=TEST_NOW)
        admin = admin_headers(session, now=TEST_NOW)
        issued = client.post("/v1/marketplaces/API_SANDBOX/keys?sandbox=true", headers=admin)
        assert issued.status_code == 201, issued.text
        key = issued.json()["key"]
        assert key.startswith("sk_test_")
        number = _create(client, _bearer(key))
        assert _sandbox_flag(session, number)


class TestKeptApart:
    def test_each_side_sees_only_its_own_shipments(
        self, client: TestClient, session: Session, keys: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        live, test = keys
        # The same order id on both sides: an integrator may test with real ones.
        real = _create(client, live, external_order_id="ORD-7")
        trial = _create(client, test, external_order_id="ORD-7")
        assert real != trial
        assert is_valid_tracking_number(trial)
        assert not _sandbox_flag(session, real)
        assert _sandbox_flag(session, trial)

        assert client.get(f"/v1/shipments/{trial}", headers=test).status_code == 200
        assert client.get(f"/v1/shipments/{real}", headers=live).status_code == 200
        assert client.get(f"/v1/shipments/{trial}", headers=live).status_code == 404
        assert client.get(f"/v1/shipments/{real}", headers=test).status_code == 404
        listed = {
            who: [
                s["tracking_number"] for s in client.get("/v1/shipments", headers=h).json()["items"]
            ]
            for who, h in (("live", live), ("test", test))
        }
        assert listed == {"live": [real], "test": [trial]}
        # Every route on the other side's number: not found, changing nothing.
        assert client.post(f"/v1/shipments/{real}/cancel", headers=test).status_code == 404
        assert client.post(f"/v1/shipments/{trial}/cancel", headers=live).status_code == 404
        patched = client.patch(
            f"/v1/shipments/{trial}", json={"options": {"fitting": True}}, headers=live
        )
        assert patched.status_code == 404
        labels = client.post("/v1/labels", json={"tracking_numbers": [trial]}, headers=live)
        assert labels.status_code == 422
        assert client.get(f"/v1/shipments/{trial}", headers=test).json()["status"] == "created"
        # A second order with the same id on the same side is still refused.
        again = client.post(
            "/v1/shipments", json=shipment_payload(external_order_id="ORD-7"), headers=test
        )
        assert again.status_code == 409
        assert again.json()["tracking_number"] == trial

    def test_an_idempotency_key_is_per_side(
        self, client: TestClient, keys: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        live, test = keys
        body = shipment_payload(external_order_id="ORD-IDEM")
        first = client.post("/v1/shipments", json=body, headers={**test, "Idempotency-Key": "k-1"})
        other = client.post("/v1/shipments", json=body, headers={**live, "Idempotency-Key": "k-1"})
        replay = client.post("/v1/shipments", json=body, headers={**test, "Idempotency-Key": "k-1"})
        assert first.status_code == other.status_code == replay.status_code == 201
        assert first.json()["tracking_number"] != other.json()["tracking_number"]
        assert replay.json() == first.json()

    def test_what_a_sandbox_session_inserts_is_sandbox_data(
        self, session_factory: sessionmaker[Session], session: Session
    ) -> None:
        ozon = session.scalars(select(Marketplace).where(Marketplace.code == "OZON")).one()
        marketplace_service.connect_offices(
            session, marketplace=ozon, indexes=[PESTYAKI_INDEX], today=TEST_NOW.date(), now=TEST_NOW
        )
        session.flush()
        with session_scope(session_factory) as trial:
            enter_sandbox(trial)
            assert in_sandbox(trial)
            made = shipment_service.create_shipments(
                trial,
                marketplace=trial.get(Marketplace, ozon.id) or ozon,
                shipments_in=[
                    ShipmentCreate.model_validate(shipment_payload(external_order_id="ORD-ROWS"))
                ],
                now=TEST_NOW,
            )[0]
            assert made.shipment is not None
            number = made.shipment.tracking_number
            trial.flush()
            assert trial.scalars(
                select(Shipment.tracking_number).where(Shipment.tracking_number == number)
            ).all() == [number]
        assert _sandbox_flag(session, number)
        assert (
            session.scalars(select(Shipment).where(Shipment.tracking_number == number)).all() == []
        )
        see_every_partition(session)
        assert (
            len(session.scalars(select(Shipment).where(Shipment.tracking_number == number)).all())
            == 1
        )


class TestAdvance:
    def test_delivered_walks_every_status_with_the_real_webhooks_and_takes_cash(
        self, client: TestClient, session: Session, keys: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        _, test = keys
        marketplace = session.scalars(
            select(Marketplace).where(Marketplace.code == "SANDBOXED")
        ).one()
        marketplace.pickup_code_in_webhook = True
        notify_service.create_subscription(
            session,
            marketplace_id=marketplace.id,
            url="https://hooks.example/sandbox",
            events=["*"],
            now=TEST_NOW,
        )
        session.flush()
        payload = shipment_payload(external_order_id="ORD-COD")
        payload["parcel"] = {**payload["parcel"], "cod_kop": 150000}
        number = client.post("/v1/shipments", json=payload, headers=test).json()["tracking_number"]

        answer = _advance(client, test, number, status="delivered")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "delivered"
        assert [e["code"] for e in body["events"]] == [
            "created",
            "handed_over",
            "in_transit",
            "arrived_at_office",
            "ready_for_pickup",
            "delivered",
        ]
        assert {e["actor"] for e in body["events"][1:]} == {"sandbox"}
        assert body["cod_collected_kop"] == 150000
        assert body["cod_method"] == "cash"

        rows = [
            m
            for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if m.kind == "sms" or m.payload["data"].get("tracking_number") == number
        ]
        assert [m.kind for m in rows if m.kind == "sms"] == []  # nobody is texted
        for message in rows:
            assert message.event_type is not None
            CATALOGUE[message.event_type].model.model_validate(message.payload["data"])
            assert message.payload["sandbox"] is True
        assert [m.event_type for m in rows] == [
            "shipment.created",
            "shipment.status_changed",
            "shipment.status_changed",
            "shipment.status_changed",
            "shipment.status_changed",
            "shipment.ready_for_pickup",
            "shipment.status_changed",
            "shipment.cod_collected",
            "shipment.delivered",
        ]
        moved = [
            m.payload["data"]["status"] for m in rows if m.event_type == "shipment.status_changed"
        ]
        assert moved == [
            "handed_over",
            "in_transit",
            "arrived_at_office",
            "ready_for_pickup",
            "delivered",
        ]
        ready = next(m for m in rows if m.event_type == "shipment.ready_for_pickup")
        assert ready.payload["data"]["office_index"] == PESTYAKI_INDEX
        assert ready.payload["data"]["pickup_code"] is not None  # opted in, https

    def test_steps_in_turn_and_the_branches(
        self, client: TestClient, keys: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        _, test = keys
        number = _create(client, test, external_order_id="ORD-STEPS")
        assert (
            _advance(client, test, number, status="handed_over").json()["status"] == "handed_over"
        )
        arrived = _advance(client, test, number, status="arrived_at_office").json()
        assert [e["code"] for e in arrived["events"]][-2:] == ["in_transit", "arrived_at_office"]
        assert _advance(client, test, number, status="refused").json()["status"] == "refused"
        back = _advance(client, test, number, status="returned").json()
        assert [e["code"] for e in back["events"]][-3:] == [
            "refused",
            "returning",
            "returned_to_sender",
        ]
        for status, walked in (
            ("cancelled", ["cancelled"]),
            ("lost", ["handed_over", "lost"]),
            (
                "storage_expired",
                [
                    "handed_over",
                    "in_transit",
                    "arrived_at_office",
                    "ready_for_pickup",
                    "storage_expired",
                ],
            ),
        ):
            fresh = _create(client, test, external_order_id=f"ORD-{status}")
            answer = _advance(client, test, fresh, status=status)
            assert answer.status_code == 200, answer.text
            assert [e["code"] for e in answer.json()["events"]][1:] == walked

    def test_a_partial_delivery_refuses_what_is_asked_or_one_unit(
        self, client: TestClient, keys: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        _, test = keys
        chosen = client.post(
            "/v1/shipments", json=two_item_payload("ORD-PART-1", cod=True), headers=test
        ).json()["tracking_number"]
        answer = _advance(
            client,
            test,
            chosen,
            status="partially_delivered",
            refused_items=[{"position": 0, "quantity": 1}],
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "partially_delivered"
        assert [i["refused_quantity"] for i in body["items"]] == [1, 0]
        assert body["cod_collected_kop"] == 50000  # the two plates, in cash
        default = client.post(
            "/v1/shipments", json=two_item_payload("ORD-PART-2", cod=False), headers=test
        ).json()["tracking_number"]
        body = _advance(client, test, default, status="partially_delivered").json()
        assert [i["refused_quantity"] for i in body["items"]] == [0, 1]

    def test_refusals_change_nothing(
        self, client: TestClient, keys: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        live, test = keys
        number = _create(client, test, external_order_id="ORD-REFUSALS")
        real = _create(client, live, external_order_id="ORD-REFUSALS")

        by_live = _advance(client, live, number, status="delivered")
        assert by_live.status_code == 403
        assert by_live.headers["content-type"].startswith(PROBLEM_JSON)
        assert by_live.json()["errors"][0]["field"] == "Authorization"
        assert _advance(client, test, real, status="delivered").status_code == 404
        assert _advance(client, test, number, status="created").status_code == 422
        assert _advance(client, test, "12345", status="delivered").status_code == 422
        wrong_items = _advance(
            client, test, number, status="delivered", refused_items=[{"position": 0, "quantity": 1}]
        )
        assert wrong_items.status_code == 422
        # A single-item order cannot be partly delivered: 409, and the walk did not start.
        single = _advance(client, test, number, status="partially_delivered")
        assert single.status_code == 409
        assert client.get(f"/v1/shipments/{number}", headers=test).json()["status"] == "created"

        assert _advance(client, test, number, status="delivered").status_code == 200
        final = _advance(client, test, number, status="returned")
        assert final.status_code == 409
        assert final.headers["content-type"].startswith(PROBLEM_JSON)
        assert final.json()["current_status"] == "delivered"
        assert final.json()["allowed"] == []
        ready = _create(client, test, external_order_id="ORD-READY")
        _advance(client, test, ready, status="ready_for_pickup")
        back = _advance(client, test, ready, status="in_transit")
        assert back.status_code == 409
        assert back.json()["allowed"] == [
            "delivered",
            "partially_delivered",
            "refused",
            "storage_expired",
            "returning",
            "returned",
            "recalled",
            "lost",
        ]

    def test_the_openapi_documents_the_route_with_examples(self, client: TestClient) -> None:
        operation = client.get("/openapi.json").json()["paths"][
            "/v1/sandbox/shipments/{tracking_number}/advance"
        ]["post"]
        examples = operation["requestBody"]["content"]["application/json"]["examples"]
        assert {e["value"]["status"] for e in examples.values()} >= {"delivered", "refused"}
        for status in ("200", "403", "409"):
            content = operation["responses"][status]["content"]
            assert any("example" in media for media in content.values()), status


class TestNeverOnTheRealSide:
    @pytest.fixture(autouse=True)
    def _cheap_passwords(self) -> Iterator[None]:
        with cheap_password_hashing():
            yield

    def test_no_counter_van_job_or_report_meets_a_sandbox_parcel(
        self, client: TestClient, session: Session, clock: FrozenClock
    ) -> None:
        world = make_world(session, clock)
        world.ozon.pickup_code_in_webhook = True
        notify_service.create_subscription(
            session,
            marketplace_id=world.ozon.id,
            url="https://hooks.example/app",
            events=["shipment.ready_for_pickup"],
            now=TEST_NOW,
        )
        test = _test_key(session, world.ozon)
        admin = admin_headers(session, now=TEST_NOW)
        live = marketplace_service.issue_key(session, now=TEST_NOW, marketplace=world.ozon)
        session.flush()
        before = office.home(session, world.pestyaki)
        waiting = _create(client, test, external_order_id="SB-WAIT")
        shelved = _create(client, test, external_order_id="SB-SHELF")
        paid = client.post(
            "/v1/shipments", json=two_item_payload("SB-PAID", cod=True), headers=test
        ).json()["tracking_number"]
        assert _advance(client, test, waiting, status="handed_over").status_code == 200
        assert _advance(client, test, shelved, status="ready_for_pickup").status_code == 200
        assert _advance(client, test, paid, status="delivered").status_code == 200

        # The counter: its counts, the code from the app's webhook and its QR find nothing.
        assert office.home(session, world.pestyaki) == before
        ready = session.scalars(
            select(OutboxMessage).where(OutboxMessage.event_type == "shipment.ready_for_pickup")
        ).all()
        data = next(
            m.payload["data"] for m in ready if m.payload["data"]["tracking_number"] == shelved
        )
        code = data["pickup_code"]
        assert code is not None
        found = office.find_by_code(
            session,
            office=world.pestyaki,
            workstation=world.clerk,
            code=code,
            policy=POLICY,
            now=TEST_NOW,
        )
        assert found.tracking_number is None
        with pytest.raises(ParcelNotFound):
            office.find_by_code(
                session,
                office=world.pestyaki,
                workstation=world.clerk,
                code=data["pickup_qr"],
                policy=POLICY,
                now=TEST_NOW,
            )
        # Vans: a handed-over sandbox parcel waits for no route run.
        assert waiting not in {
            r.tracking_number for r in logistics_repository.waiting_parcels(session)
        }
        # A hub's scan (operator key) does not find it.
        scan = client.post(
            "/v1/tracking-events",
            json={
                "tracking_number": waiting,
                "code": "departed_hub",
                "occurred_at": TEST_NOW.isoformat(),
            },
            headers=admin,
        )
        assert scan.status_code == 404
        # The storage job, long after the deadline, leaves it on its (sandbox) shelf.
        assert shipment_service.expire_storage(session, TEST_NOW + timedelta(days=60)) == 0
        assert (
            client.get(f"/v1/shipments/{shelved}", headers=test).json()["status"]
            == "ready_for_pickup"
        )
        # The COD report: the live key's has no sandbox cash; the test key's has it.
        day = TEST_NOW.date().isoformat()
        real_report = client.get(f"/v1/reports/cod?date={day}", headers=_bearer(live.secret)).json()
        test_report = client.get(f"/v1/reports/cod?date={day}", headers=test).json()
        assert paid not in real_report["tracking_numbers"]
        assert test_report["tracking_numbers"] == [paid]
        assert test_report["collected_cash_kop"] == 60000


def test_the_operator_issues_test_keys_and_opts_in_from_the_command_line(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(app, ["marketplace", "add", "CLI_SB", "Cli Sandbox", "--sandbox"])
    assert added.exit_code == 0, added.output
    first = added.stdout.strip().splitlines()[-1]
    assert first.startswith("sk_test_")
    another = runner.invoke(app, ["marketplace", "key", "CLI_SB", "--sandbox"])
    live = runner.invoke(app, ["marketplace", "key", "cli_sb"])
    assert another.stdout.strip().splitlines()[-1].startswith("sk_test_")
    assert live.stdout.strip().splitlines()[-1].startswith("selpo_")
    assert runner.invoke(app, ["marketplace", "key", "NOBODY", "--sandbox"]).exit_code == 2
    opted = runner.invoke(app, ["marketplace", "set", "CLI_SB", "--pickup-code-webhook"])
    assert opted.exit_code == 0, opted.output
    assert "on" in opted.stdout
    listed = runner.invoke(app, ["marketplace", "keys", "CLI_SB"], terminal_width=200)
    assert listed.stdout.count("test") == 2
    assert listed.stdout.count("live") == 1
    engine = create_db_engine(scratch_url)
    with session_scope(make_session_factory(engine)) as session:
        marketplace = marketplace_service.get_by_code(session, "CLI_SB")
        assert marketplace.pickup_code_in_webhook
        principal = marketplace_service.authenticate(session, secret=first, now=TEST_NOW)
        assert principal.sandbox
    engine.dispose()
    off = runner.invoke(app, ["marketplace", "set", "CLI_SB", "--no-pickup-code-webhook"])
    assert "off" in off.stdout


class TestWhatTheSandboxTouchesBeyondShipments:
    """Acts, orders of several places and payouts made with a test key stay the sandbox's."""

    def test_a_test_keys_act_is_numbered_apart_and_unseen_by_the_live_key(
        self, client: TestClient, keys: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        live, test = keys
        tried = _create(client, test, external_order_id="SBX-ACT-1")
        real = _create(client, live, external_order_id="LIVE-ACT-1")

        sandbox_act = client.post("/v1/handovers", json={"warehouse": "W-PODOLSK"}, headers=test)
        assert sandbox_act.status_code == 201, sandbox_act.text
        assert [s["tracking_number"] for s in sandbox_act.json()["shipments"]] == [tried]
        live_act = client.post("/v1/handovers", json={"warehouse": "W-PODOLSK"}, headers=live)
        assert live_act.status_code == 201, live_act.text
        assert [s["tracking_number"] for s in live_act.json()["shipments"]] == [real]
        # Each side counts its own acts from one: trying the sandbox leaves no gap in live.
        assert sandbox_act.json()["number"].endswith("-000001")
        assert live_act.json()["number"].endswith("-000001")

        sandbox_id, live_id = sandbox_act.json()["id"], live_act.json()["id"]
        assert client.get(f"/v1/handovers/{sandbox_id}", headers=live).status_code == 404
        assert client.get(f"/v1/handovers/{live_id}", headers=test).status_code == 404
        listed = client.get("/v1/handovers", headers=live).json()["handovers"]
        assert [a["id"] for a in listed] == [live_id]

    def test_an_order_of_several_places_advances_to_the_counter_whole(
        self, client: TestClient, keys: tuple[dict[str, str], dict[str, str]]
    ) -> None:
        _, test = keys
        body = shipment_payload(external_order_id="SBX-PLACES")
        body["places"] = [
            {"weight_g": 900, "length_mm": 300, "width_mm": 200, "height_mm": 100},
            {"weight_g": 600, "length_mm": 200, "width_mm": 200, "height_mm": 100},
        ]
        created = client.post("/v1/shipments", json=body, headers=test)
        assert created.status_code == 201, created.text
        number = created.json()["tracking_number"]
        answer = _advance(client, test, number, status="ready_for_pickup")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "ready_for_pickup"
        assert {p["status"] for p in answer.json()["places"]} == {"ready_for_pickup"}
