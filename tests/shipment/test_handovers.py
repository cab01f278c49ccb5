"""Hand-over acts (``/v1/handovers``) and the hub's acceptance, through the whole HTTP stack on
both backends; numbering and the one-open-act rule under parallel clients on a database of
their own."""

from __future__ import annotations

import io
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.app import create_app
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.migrate import upgrade_to_head
from selpo.models import Handover, HandoverEntry, Hub, TrackingEvent
from selpo.network.importer import import_region
from selpo.shipment import handover
from selpo.shipment.handover_schemas import AcceptanceCreate, HandoverCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import (
    MarketplaceWithKey,
    admin_headers,
    make_shipment,
    marketplace_key,
    shipment_payload,
)
from tests.fixtures.regions import bundled_source

WAREHOUSE = "W-PODOLSK"
_orders = itertools.count()


@pytest.fixture
def ozon_key(session: Session) -> MarketplaceWithKey:
    return marketplace_key(session, "OZON", now=TEST_NOW)


@pytest.fixture
def yandex_key(session: Session) -> MarketplaceWithKey:
    return marketplace_key(session, "YANDEX_MARKET", now=TEST_NOW)


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    return admin_headers(session, now=TEST_NOW)


def _create(
    client: TestClient, key: MarketplaceWithKey, count: int, *, cod: bool = False
) -> list[str]:
    """``count`` new shipments of this marketplace (COD on every other one when ``cod``)."""
    batch = next(_orders)
    payload = []
    for n in range(count):
        body = shipment_payload(external_order_id=f"ACT-{batch}-{n}")
        body["parcel"] = {
            **body["parcel"],
            "weight_g": 1000 + n,
            "cod_kop": 150000 if cod and n % 2 == 0 else 0,
        }
        payload.append(body)
    response = client.post("/v1/shipments/batch", json=payload, headers=key.headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert all(r["status_code"] == 201 for r in results), results
    return [r["shipment"]["tracking_number"] for r in results]


def _act(
    client: TestClient, key: MarketplaceWithKey, numbers: list[str] | None, **headers: str
) -> Any:
    body: dict[str, Any] = {"warehouse": WAREHOUSE}
    if numbers is not None:
        body["tracking_numbers"] = numbers
    return client.post("/v1/handovers", json=body, headers={**key.headers, **headers})


def _status(client: TestClient, key: MarketplaceWithKey, number: str) -> str:
    response = client.get(f"/v1/shipments/{number}", headers=key.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def _acts(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Handover)) or 0)


class TestMakingAnAct:
    def test_the_act_lists_the_shipments_with_totals_and_hands_them_over(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        numbers = _create(client, ozon_key, 3, cod=True)
        response = _act(client, ozon_key, numbers)
        assert response.status_code == 201, response.text
        act = response.json()
        assert act["number"] == "H-2026-000001"
        assert act["warehouse"] == WAREHOUSE
        assert act["status"] == "open"
        assert act["acceptance"] is None
        assert (act["count"], act["places"]) == (3, 3)
        assert act["weight_g"] == 1000 + 1001 + 1002
        assert act["declared_value_kop"] == 3 * 150000
        assert act["cod_kop"] == 2 * 150000
        assert [line["tracking_number"] for line in act["shipments"]] == numbers
        assert [line["line"] for line in act["shipments"]] == [1, 2, 3]
        assert act["shipments"][0]["external_order_id"].startswith("ACT-")
        assert {_status(client, ozon_key, n) for n in numbers} == {"handed_over"}
        # Handed over: the marketplace can no longer cancel it.
        cancel = client.post(f"/v1/shipments/{numbers[0]}/cancel", headers=ozon_key.headers)
        assert cancel.status_code == 409
        again = client.get(f"/v1/handovers/{act['id']}", headers=ozon_key.headers)
        assert again.json() == act

    def test_without_numbers_the_act_takes_every_created_shipment_and_then_none(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        numbers = _create(client, ozon_key, 4)
        cancelled = numbers.pop()
        assert (
            client.post(f"/v1/shipments/{cancelled}/cancel", headers=ozon_key.headers).status_code
            == 200
        )
        response = _act(client, ozon_key, None)
        assert response.status_code == 201, response.text
        assert [line["tracking_number"] for line in response.json()["shipments"]] == numbers
        nothing = _act(client, ozon_key, None)
        assert nothing.status_code == 409
        assert nothing.headers["content-type"].startswith("application/problem+json")

    def test_a_shipment_on_an_open_act_is_refused_naming_the_act(
        self, client: TestClient, session: Session, ozon_key: MarketplaceWithKey
    ) -> None:
        first, second = _create(client, ozon_key, 2)
        act = _act(client, ozon_key, [first]).json()
        refused = _act(client, ozon_key, [second, first])
        assert refused.status_code == 409
        problem = refused.json()
        assert problem["refused"] == [
            {
                "tracking_number": first,
                "status": "handed_over",
                "reason": f"on open act {act['number']}",
                "handover_id": act["id"],
            }
        ]
        assert _acts(session) == 1
        assert _status(client, ozon_key, second) == "created"  # nothing changed

    def test_cancelled_and_further_along_shipments_are_refused(
        self, client: TestClient, ozon_key: MarketplaceWithKey, admin: dict[str, str]
    ) -> None:
        cancelled, moving = _create(client, ozon_key, 2)
        client.post(f"/v1/shipments/{cancelled}/cancel", headers=ozon_key.headers)
        for code in ("handed_over", "arrived_at_sorting_centre"):
            scan = {"tracking_number": moving, "code": code, "occurred_at": TEST_NOW.isoformat()}
            assert client.post("/v1/tracking-events", json=scan, headers=admin).status_code == 201
        refused = _act(client, ozon_key, [cancelled, moving])
        assert refused.status_code == 409
        reasons = {r["tracking_number"]: r["reason"] for r in refused.json()["refused"]}
        assert reasons == {cancelled: "cancelled", moving: "already in_transit"}

    def test_another_marketplaces_shipment_is_404_like_an_unknown_one(
        self,
        client: TestClient,
        session: Session,
        ozon_key: MarketplaceWithKey,
        yandex_key: MarketplaceWithKey,
    ) -> None:
        (mine,) = _create(client, ozon_key, 1)
        (theirs,) = _create(client, yandex_key, 1)
        refused = _act(client, ozon_key, [mine, theirs])
        assert refused.status_code == 404
        assert refused.json()["unknown"] == [theirs]
        assert _acts(session) == 0
        assert _status(client, ozon_key, mine) == "created"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"warehouse": "W-NOWHERE"}, "warehouse"),
            ({"warehouse": WAREHOUSE, "tracking_numbers": ["12345"]}, "tracking_numbers"),
            ({"warehouse": WAREHOUSE, "tracking_numbers": []}, "tracking_numbers"),
            ({"warehouse": WAREHOUSE, "extra": 1}, "extra"),
        ],
    )
    def test_bad_input_is_422_and_changes_nothing(
        self,
        client: TestClient,
        session: Session,
        ozon_key: MarketplaceWithKey,
        body: dict[str, Any],
        field: str,
    ) -> None:
        (number,) = _create(client, ozon_key, 1)
        response = client.post("/v1/handovers", json=body, headers=ozon_key.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"].startswith(field)
        assert _acts(session) == 0
        assert _status(client, ozon_key, number) == "created"

    def test_numbers_have_no_gaps_a_refused_act_gives_its_number_back(
        self, client: TestClient, ozon_key: MarketplaceWithKey, yandex_key: MarketplaceWithKey
    ) -> None:
        a, b, c = _create(client, ozon_key, 3)
        assert _act(client, ozon_key, [a]).json()["number"] == "H-2026-000001"
        assert _act(client, ozon_key, [b, a]).status_code == 409
        assert _act(client, ozon_key, [b]).json()["number"] == "H-2026-000002"
        # Each marketplace counts its own acts.
        (y,) = _create(client, yandex_key, 1)
        assert _act(client, yandex_key, [y]).json()["number"] == "H-2026-000001"
        assert _act(client, ozon_key, [c]).json()["number"] == "H-2026-000003"

    def test_the_year_is_the_warehouses_and_restarts_the_count(
        self, session: Session, ozon_key: MarketplaceWithKey
    ) -> None:
        marketplace = ozon_key.marketplace
        before = make_shipment(session, marketplace, now=TEST_NOW, external_order_id="Y-1")
        after = make_shipment(session, marketplace, now=TEST_NOW, external_order_id="Y-2")
        # 31 December 21:30 UTC is already 1 January in Moscow.
        eve = TEST_NOW.replace(month=12, day=31, hour=20, minute=30)
        first = handover.create_handover(
            session,
            marketplace=marketplace,
            request=HandoverCreate(warehouse=WAREHOUSE, tracking_numbers=[before.tracking_number]),
            now=eve,
        )
        second = handover.create_handover(
            session,
            marketplace=marketplace,
            request=HandoverCreate(warehouse=WAREHOUSE, tracking_numbers=[after.tracking_number]),
            now=eve + timedelta(hours=1),
        )
        assert (first.number, second.number) == ("H-2026-000001", "H-2027-000001")

    def test_a_retry_with_the_idempotency_key_gets_the_first_act(
        self, client: TestClient, session: Session, ozon_key: MarketplaceWithKey
    ) -> None:
        numbers = _create(client, ozon_key, 2)
        first = _act(client, ozon_key, numbers, **{"Idempotency-Key": "act-1"})
        retry = _act(client, ozon_key, numbers, **{"Idempotency-Key": "act-1"})
        assert first.status_code == retry.status_code == 201
        assert retry.json() == first.json()
        assert _acts(session) == 1
        other = _act(client, ozon_key, numbers[:1], **{"Idempotency-Key": "act-1"})
        assert other.status_code == 422
        assert other.json()["errors"][0]["field"] == "Idempotency-Key"


class TestReading:
    def test_another_marketplace_sees_404_and_the_operator_sees_it(
        self,
        client: TestClient,
        ozon_key: MarketplaceWithKey,
        yandex_key: MarketplaceWithKey,
        admin: dict[str, str],
    ) -> None:
        act = _act(client, ozon_key, _create(client, ozon_key, 1)).json()
        assert (
            client.get(f"/v1/handovers/{act['id']}", headers=yandex_key.headers).status_code == 404
        )
        assert (
            client.get(f"/v1/handovers/{act['id']}/pdf", headers=yandex_key.headers).status_code
            == 404
        )
        assert client.get(f"/v1/handovers/{act['id']}", headers=admin).json() == act
        assert client.get("/v1/handovers/0", headers=ozon_key.headers).status_code == 422

    def test_the_list_holds_the_acts_of_the_days_asked(
        self,
        client: TestClient,
        ozon_key: MarketplaceWithKey,
        yandex_key: MarketplaceWithKey,
    ) -> None:
        act = _act(client, ozon_key, _create(client, ozon_key, 2)).json()
        _act(client, yandex_key, _create(client, yandex_key, 1))
        day = TEST_NOW.date().isoformat()
        listed = client.get(f"/v1/handovers?from={day}&to={day}", headers=ozon_key.headers)
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert (page["from"], page["to"]) == (day, day)
        assert [h["number"] for h in page["handovers"]] == [act["number"]]
        assert page["handovers"][0]["count"] == 2
        assert "shipments" not in page["handovers"][0]
        by_default = client.get("/v1/handovers", headers=ozon_key.headers).json()
        assert [h["id"] for h in by_default["handovers"]] == [act["id"]]
        later = (TEST_NOW.date() + timedelta(days=1)).isoformat()
        empty = client.get(f"/v1/handovers?from={later}&to={later}", headers=ozon_key.headers)
        assert empty.json()["handovers"] == []
        backwards = client.get(f"/v1/handovers?from={later}&to={day}", headers=ozon_key.headers)
        assert backwards.status_code == 422

    def test_the_pdf_is_the_act_in_russian_with_totals_and_signatures(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        numbers = _create(client, ozon_key, 3, cod=True)
        act = _act(client, ozon_key, numbers).json()
        response = client.get(f"/v1/handovers/{act['id']}/pdf", headers=ozon_key.headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        pages = PdfReader(io.BytesIO(response.content)).pages
        assert len(pages) == 1
        assert pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4 portrait
        text = pages[0].extract_text()
        assert f"Акт приёма-передачи отправлений № {act['number']}" in text
        for number in numbers:
            assert number in text
        assert "Итого" in text
        assert "3 000,00" in text  # the COD total of two parcels, 1 500 roubles each
        assert "Сдал (представитель склада)" in text
        assert "Принял (водитель)" in text


def _hub_scan(client: TestClient, admin: dict[str, str], number: str, code: str) -> None:
    body = {"tracking_number": number, "code": code, "occurred_at": TEST_NOW.isoformat()}
    response = client.post("/v1/tracking-events", json=body, headers=admin)
    assert response.status_code == 201, response.text


class TestTheHubsAcceptance:
    def test_hub_scans_mark_the_act_and_closing_answers_missing_and_extra(
        self,
        client: TestClient,
        session: Session,
        ozon_key: MarketplaceWithKey,
        admin: dict[str, str],
        clock: FrozenClock,
    ) -> None:
        scanned, listed, lost = _create(client, ozon_key, 3)
        (stranger,) = _create(client, ozon_key, 1)
        act = _act(client, ozon_key, [scanned, listed, lost]).json()
        _hub_scan(client, admin, scanned, "arrived_at_sorting_centre")
        marked = client.get(f"/v1/handovers/{act['id']}", headers=ozon_key.headers).json()
        assert marked["scanned"] == 1
        assert marked["shipments"][0]["scanned_at"] is not None
        assert marked["shipments"][1]["scanned_at"] is None

        clock.advance(timedelta(hours=2))
        hub = session.scalars(select(Hub).where(Hub.index.is_not(None))).first()
        assert hub is not None
        closed = client.post(
            f"/v1/handovers/{act['id']}/acceptance",
            json={"tracking_numbers": [listed, stranger], "hub": hub.code},
            headers=admin,
        )
        assert closed.status_code == 200, closed.text
        body = closed.json()
        assert body["status"] == "accepted_with_discrepancies"
        assert body["acceptance"]["missing"] == [lost]
        assert body["acceptance"]["extra"] == [stranger]
        assert body["acceptance"]["hub"] == hub.code
        assert body["scanned"] == 2
        # The acceptance's own scan is the parcel's hub arrival.
        assert _status(client, ozon_key, listed) == "in_transit"
        assert _status(client, ozon_key, lost) == "handed_over"
        arrivals = session.scalars(
            select(TrackingEvent.actor).where(TrackingEvent.code == "arrived_at_sorting_centre")
        ).all()
        assert sorted(arrivals) == ["hub-acceptance", "hub-scan"]
        # Once only; and the missing parcel may go on the next act.
        again = client.post(
            f"/v1/handovers/{act['id']}/acceptance", json={"tracking_numbers": []}, headers=admin
        )
        assert again.status_code == 409
        assert _act(client, ozon_key, [lost]).status_code == 201

    def test_every_parcel_seen_is_accepted(
        self, client: TestClient, ozon_key: MarketplaceWithKey, admin: dict[str, str]
    ) -> None:
        numbers = _create(client, ozon_key, 2)
        act = _act(client, ozon_key, numbers).json()
        _hub_scan(client, admin, numbers[0], "arrived_at_hub")
        closed = client.post(
            f"/v1/handovers/{act['id']}/acceptance",
            json={"tracking_numbers": [numbers[1], numbers[1]]},
            headers=admin,
        ).json()
        assert closed["status"] == "accepted"
        assert closed["acceptance"]["missing"] == closed["acceptance"]["extra"] == []
        listed = client.get("/v1/handovers", headers=ozon_key.headers).json()["handovers"]
        assert listed[0]["status"] == "accepted"

    def test_only_the_operator_closes_and_bad_input_changes_nothing(
        self,
        client: TestClient,
        session: Session,
        ozon_key: MarketplaceWithKey,
        admin: dict[str, str],
    ) -> None:
        numbers = _create(client, ozon_key, 1)
        act = _act(client, ozon_key, numbers).json()
        url = f"/v1/handovers/{act['id']}/acceptance"
        assert (
            client.post(
                url, json={"tracking_numbers": numbers}, headers=ozon_key.headers
            ).status_code
            == 403
        )
        for body, field in (
            ({"tracking_numbers": ["nonsense"]}, "tracking_numbers"),
            ({"tracking_numbers": [], "hub": "NO-SUCH-HUB"}, "hub"),
            ({"tracking_numbers": [], "accepted_at": "2030-01-01T00:00:00+00:00"}, "accepted_at"),
            ({"tracking_numbers": [], "accepted_at": "2020-01-01T00:00:00+00:00"}, "accepted_at"),
        ):
            refused = client.post(url, json=body, headers=admin)
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == field
        assert (
            client.post(
                "/v1/handovers/999999/acceptance", json={"tracking_numbers": []}, headers=admin
            ).status_code
            == 404
        )
        assert session.scalar(select(Handover.status).where(Handover.id == act["id"])) == "open"


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seen=st.lists(st.booleans(), min_size=1, max_size=6),
    extra=st.integers(min_value=0, max_value=2),
)
def test_acceptance_splits_the_act_into_seen_and_missing(
    session: Session, ozon_key: MarketplaceWithKey, seen: list[bool], extra: int
) -> None:
    """For any act and any scans: missing ∪ scanned is the act, extra is what is not on it,
    and the status is ``accepted`` exactly when both lists are empty."""
    with session.begin_nested() as nested:
        marketplace = ozon_key.marketplace
        batch = next(_orders)
        shipments = [
            make_shipment(session, marketplace, now=TEST_NOW, external_order_id=f"P-{batch}-{n}")
            for n in range(len(seen) + extra)
        ]
        on_act, strangers = shipments[: len(seen)], shipments[len(seen) :]
        act = handover.create_handover(
            session,
            marketplace=marketplace,
            request=HandoverCreate(
                warehouse=WAREHOUSE, tracking_numbers=[s.tracking_number for s in on_act]
            ),
            now=TEST_NOW,
        )
        scanned = [s.tracking_number for s, hit in zip(on_act, seen, strict=True) if hit]
        scanned += [s.tracking_number for s in strangers]
        handover.accept_handover(
            session,
            handover_id=act.id,
            acceptance=AcceptanceCreate(tracking_numbers=scanned),
            now=TEST_NOW,
        )
        read = handover.read_handover(session, act)
        assert read.acceptance is not None
        missing = {s.tracking_number for s, hit in zip(on_act, seen, strict=True) if not hit}
        assert set(read.acceptance.missing) == missing
        assert read.acceptance.extra == [s.tracking_number for s in strangers]
        assert read.scanned + len(missing) == read.count == len(seen)
        assert (read.status == "accepted") == (not missing and not strangers)
        open_left = session.scalar(
            select(func.count())
            .select_from(HandoverEntry)
            .where(HandoverEntry.handover_id == act.id, HandoverEntry.on_open_act.is_(True))
        )
        assert open_left == 0
        nested.rollback()


# ---------------------------------------------------------------------------- parallel clients

THREADS = 8


@pytest.fixture
def live(scratch_url: str) -> tuple[Settings, dict[str, str]]:
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    with session_scope(make_session_factory(engine)) as session:
        import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
        headers = marketplace_key(session, "OZON", now=TEST_NOW).headers
    engine.dispose()
    return Settings(database_url=scratch_url, rate_limit_per_key=0), headers


def _parallel(app: Any, bodies: list[dict[str, Any]], headers: dict[str, str]) -> list[Any]:
    barrier = threading.Barrier(len(bodies))

    def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with TestClient(app) as client:
            barrier.wait()
            response = client.post("/v1/handovers", json=body, headers=headers)
            return response.status_code, response.json()

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_parallel_acts_are_numbered_without_gaps_or_repeats(
    live: tuple[Settings, dict[str, str]],
) -> None:
    settings_, headers = live
    app = create_app(settings_, clock=FrozenClock(TEST_NOW))
    with TestClient(app) as client:
        payload = [shipment_payload(external_order_id=f"PAR-{n}") for n in range(THREADS * 2)]
        results = client.post("/v1/shipments/batch", json=payload, headers=headers).json()
    numbers = [r["shipment"]["tracking_number"] for r in results["results"]]
    bodies = [
        {"warehouse": WAREHOUSE, "tracking_numbers": numbers[2 * n : 2 * n + 2]}
        for n in range(THREADS)
    ]
    answers = _parallel(app, bodies, headers)
    app.state.engine.dispose()
    assert {status for status, _ in answers} == {201}
    assert sorted(body["number"] for _, body in answers) == [
        f"H-2026-{n:06d}" for n in range(1, THREADS + 1)
    ]


def test_parallel_acts_of_the_same_shipments_make_exactly_one(
    live: tuple[Settings, dict[str, str]],
) -> None:
    settings_, headers = live
    app = create_app(settings_, clock=FrozenClock(TEST_NOW))
    with TestClient(app) as client:
        payload = [shipment_payload(external_order_id=f"SAME-{n}") for n in range(3)]
        results = client.post("/v1/shipments/batch", json=payload, headers=headers).json()
    numbers = [r["shipment"]["tracking_number"] for r in results["results"]]
    # Half name the shipments (in two orders), half take "everything waiting".
    bodies: list[dict[str, Any]] = []
    for n in range(THREADS):
        if n % 2:
            bodies.append({"warehouse": WAREHOUSE})
        else:
            bodies.append(
                {"warehouse": WAREHOUSE, "tracking_numbers": numbers[:: 1 if n % 4 else -1]}
            )
    answers = _parallel(app, bodies, headers)
    engine = app.state.engine
    with engine.connect() as connection:
        acts = connection.execute(select(func.count()).select_from(Handover)).scalar_one()
        entries = connection.execute(select(func.count()).select_from(HandoverEntry)).scalar_one()
    engine.dispose()
    assert sorted(status for status, _ in answers) == [201] + [409] * (THREADS - 1)
    assert (acts, entries) == (1, 3)
    (made,) = [body for status, body in answers if status == 201]
    assert made["number"] == "H-2026-000001"


class TestAnOrderOfSeveralPlaces:
    def test_the_act_counts_its_places_and_a_place_scanned_at_the_hub_is_its_order(
        self, client: TestClient, ozon_key: MarketplaceWithKey, admin: dict[str, str]
    ) -> None:
        body = shipment_payload(external_order_id=f"ACT-PLACES-{next(_orders)}")
        body["places"] = [
            {"weight_g": 800, "length_mm": 300, "width_mm": 200, "height_mm": 100},
            {"weight_g": 1200, "length_mm": 400, "width_mm": 300, "height_mm": 200},
            {"weight_g": 500, "length_mm": 200, "width_mm": 200, "height_mm": 100},
        ]
        created = client.post("/v1/shipments", json=body, headers=ozon_key.headers)
        assert created.status_code == 201, created.text
        order = created.json()
        third = order["places"][2]["tracking_number"]
        assert third != order["tracking_number"]
        (single,) = _create(client, ozon_key, 1)

        act = _act(client, ozon_key, [order["tracking_number"], single])
        assert act.status_code == 201, act.text
        assert act.json()["count"] == 2
        assert act.json()["places"] == 4
        assert act.json()["shipments"][0]["places"] == 3
        # Every place went to the driver, not only the first.
        shown = client.get(f"/v1/shipments/{order['tracking_number']}", headers=ozon_key.headers)
        assert [p["status"] for p in shown.json()["places"]] == ["handed_over"] * 3

        closed = client.post(
            f"/v1/handovers/{act.json()['id']}/acceptance",
            json={"tracking_numbers": [third]},
            headers=admin,
        )
        assert closed.status_code == 200, closed.text
        assert closed.json()["acceptance"]["missing"] == [single]
        assert closed.json()["acceptance"]["extra"] == []
