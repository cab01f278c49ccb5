"""Orders of several places: the readiness rule as a pure kernel (property tests), and the
API on the real database: creation, GET by any place's number, scans place by place, the
``shipment.place_arrived`` webhook and a label per place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.models import OutboxMessage, ShipmentPlace
from selpo.notify import service as notify_service
from selpo.notify.events import CATALOGUE
from selpo.shipment.lifecycle import IllegalTransition, Status, decide
from selpo.shipment.places import (
    HERE,
    PLACE_ARRIVED,
    TRAVELLING,
    advanced,
    arrival_complete,
    arrival_event,
    holds,
    shown_status,
)
from selpo.shipment.tracking import is_valid_tracking_number
from tests.conftest import TEST_NOW
from tests.fixtures.builders import (
    MarketplaceWithKey,
    admin_headers,
    marketplace_key,
    shipment_payload,
)

S = Status
PESTYAKI = "155650"

# ---------------------------------------------------------------------------- the kernel


def _walk(places: int, order: list[int], *, ready_on_first: bool) -> list[Status]:
    """The order's status after each arrival, places arriving in ``order`` (an order in
    transit), judged exactly as the service judges them."""
    status = S.IN_TRANSIT
    own = [str(S.IN_TRANSIT)] * places
    seen: list[Status] = []
    for place in order:
        before = [o == HERE for o in own]
        own[place] = advanced(own[place], S.ARRIVED_AT_OFFICE)
        after = [o == HERE for o in own]
        _, target = arrival_event(before, after, ready_on_first=ready_on_first)
        if not holds(status, target, places=places):
            status = decide(status, target, late=False).status_after
        seen.append(status)
    return seen


@settings(deadline=None)
@given(
    st.integers(min_value=2, max_value=20).flatmap(
        lambda n: st.tuples(st.just(n), st.permutations(range(n)))
    ),
    st.booleans(),
)
def test_an_order_arrives_with_its_last_place_or_its_first_where_allowed(
    case: tuple[int, list[int]], ready_on_first: bool
) -> None:
    places, order = case
    seen = _walk(places, list(order), ready_on_first=ready_on_first)
    first_here = 1 if ready_on_first else places
    assert seen[: first_here - 1] == [S.IN_TRANSIT] * (first_here - 1)
    assert seen[first_here - 1 :] == [S.ARRIVED_AT_OFFICE] * (places - first_here + 1)


@settings(deadline=None)
@given(
    st.integers(min_value=2, max_value=20).flatmap(
        lambda n: st.tuples(
            st.just(n), st.lists(st.integers(min_value=0, max_value=n - 1), max_size=40)
        )
    ),
    st.booleans(),
)
def test_repeated_arrivals_never_refuse_and_exactly_one_makes_the_order_arrive(
    case: tuple[int, list[int]], ready_on_first: bool
) -> None:
    places, order = case
    status = S.IN_TRANSIT
    own = [str(S.IN_TRANSIT)] * places
    arrivals = 0
    for place in order:
        before = [o == HERE for o in own]
        own[place] = advanced(own[place], S.ARRIVED_AT_OFFICE)
        code, target = arrival_event(
            before, [o == HERE for o in own], ready_on_first=ready_on_first
        )
        arrivals += code == "arrived_at_office"
        if not holds(status, target, places=places):
            try:
                status = decide(status, target, late=False).status_after
            except IllegalTransition:  # pragma: no cover - the property says it never is
                pytest.fail(f"place {place} refused at {status}")
    complete = arrival_complete([o == HERE for o in own], ready_on_first=ready_on_first)
    assert arrivals == (1 if complete else 0)
    assert status == (S.ARRIVED_AT_OFFICE if complete else S.IN_TRANSIT)


@settings(deadline=None)
@given(st.lists(st.booleans(), max_size=20), st.booleans())
def test_arrival_complete_is_all_or_any(flags: list[bool], ready_on_first: bool) -> None:
    expected = bool(flags) and (any(flags) if ready_on_first else all(flags))
    assert arrival_complete(flags, ready_on_first=ready_on_first) is expected


@settings(deadline=None)
@given(st.sampled_from(list(S)), st.sampled_from(list(S)))
def test_a_single_place_never_holds_and_always_shows_its_order(
    current: Status, target: Status
) -> None:
    assert not holds(current, target, places=1)
    assert shown_status(current, str(target), places=1) == current


@settings(deadline=None)
@given(st.sampled_from([S.CREATED, S.HANDED_OVER, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE]))
def test_a_place_only_moves_forward(own: Status) -> None:
    for target in (S.HANDED_OVER, S.IN_TRANSIT, S.ARRIVED_AT_OFFICE):
        after = advanced(own, target)
        assert after in (own, target)
        assert [s.value for s in S].index(after) >= [s.value for s in S].index(own)
    assert advanced(own, S.READY_FOR_PICKUP) == own  # the office's statuses are the order's


def test_a_travelling_place_shows_its_own_status_beside_a_ready_order() -> None:
    assert shown_status("ready_for_pickup", "in_transit", places=3) == "in_transit"
    assert shown_status("ready_for_pickup", HERE, places=3) == "ready_for_pickup"
    assert shown_status("in_transit", HERE, places=3) == HERE
    assert shown_status("cancelled", "created", places=3) == "cancelled"
    assert TRAVELLING == {"created", "handed_over", "in_transit"}


# ---------------------------------------------------------------------------- the API


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


BOXES: list[dict[str, Any]] = [
    {
        "weight_g": 2000,
        "length_mm": 400,
        "width_mm": 300,
        "height_mm": 200,
        "external_place_id": "B1",
    },
    {"weight_g": 1500, "length_mm": 300, "width_mm": 200, "height_mm": 100},
    {"weight_g": 500, "length_mm": 200, "width_mm": 200, "height_mm": 100},
]


def _multi(order: str = "MULTI-1", boxes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body = shipment_payload(external_order_id=order, places=boxes or BOXES)
    body["parcel"] = {"declared_value_kop": 150000, "cod_kop": 0}
    return body


def _create(client: TestClient, key: MarketplaceWithKey, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/v1/shipments", json=body, headers=key.headers)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _scan(client: TestClient, admin: dict[str, str], number: str, code: str, minutes: int) -> Any:
    body = {
        "tracking_number": number,
        "code": code,
        "occurred_at": (TEST_NOW + timedelta(minutes=minutes)).isoformat(),
        "office_index": PESTYAKI,
    }
    return client.post("/v1/tracking-events", json=body, headers=admin)


def _statuses(body: dict[str, Any]) -> list[str]:
    return [p["status"] for p in body["places"]]


class TestCreation:
    def test_places_get_their_own_numbers_and_size_the_parcel(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        created = _create(client, ozon_key, _multi())
        places = created["places"]
        numbers = [p["tracking_number"] for p in places]
        assert [p["number"] for p in places] == [1, 2, 3]
        assert numbers[0] == created["tracking_number"]
        assert len(set(numbers)) == 3
        assert all(is_valid_tracking_number(n) for n in numbers)
        # consecutive serials of one accepting point and month
        assert [int(n[8:13]) for n in numbers] == [int(numbers[0][8:13]) + i for i in range(3)]
        assert created["parcel"]["weight_g"] == 4000
        dims = [created["parcel"][f] for f in ("length_mm", "width_mm", "height_mm")]
        assert dims == [400, 300, 200]
        assert places[0]["external_place_id"] == "B1"
        assert places[1]["external_place_id"] is None
        assert _statuses(created) == ["created"] * 3
        assert [p["weight_g"] for p in places] == [2000, 1500, 500]

    def test_a_place_number_finds_the_order_and_another_marketplace_gets_404(
        self, client: TestClient, session: Session, ozon_key: MarketplaceWithKey
    ) -> None:
        created = _create(client, ozon_key, _multi())
        third = created["places"][2]["tracking_number"]
        shown = client.get(f"/v1/shipments/{third}", headers=ozon_key.headers)
        assert shown.status_code == 200
        assert shown.json()["tracking_number"] == created["tracking_number"]
        assert shown.json()["places"] == created["places"]
        other = marketplace_key(session, "WB", now=TEST_NOW)
        foreign = client.get(f"/v1/shipments/{third}", headers=other.headers)
        assert foreign.status_code == 404
        assert foreign.headers["content-type"].startswith("application/problem+json")

    def test_an_ordinary_shipment_is_one_place_with_its_own_number(
        self, client: TestClient, ozon_key: MarketplaceWithKey, session: Session
    ) -> None:
        created = _create(client, ozon_key, shipment_payload(external_order_id="ONE-1"))
        assert created["places"] == [
            {
                "number": 1,
                "tracking_number": created["tracking_number"],
                "weight_g": 1200,
                "length_mm": 300,
                "width_mm": 200,
                "height_mm": 100,
                "external_place_id": None,
                "status": "created",
                "arrived_at": None,
            }
        ]
        rows = session.scalars(select(ShipmentPlace)).all()
        assert [r.tracking_number for r in rows] == [created["tracking_number"]]

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"places": []}, "places"),
            ({"places": [BOXES[1]] * 21}, "places"),
            ({"places": [{**BOXES[1], "weight_g": 0}]}, "places.0.weight_g"),
            ({"places": [{**BOXES[1], "colour": "red"}]}, "places.0.colour"),
            ({"places": None}, "parcel.weight_g"),  # no places: the parcel needs its weight
        ],
    )
    def test_bad_places_are_422_naming_the_field_and_create_nothing(
        self,
        client: TestClient,
        session: Session,
        ozon_key: MarketplaceWithKey,
        change: dict[str, Any],
        field: str,
    ) -> None:
        body = {**_multi(), **change}
        answer = client.post("/v1/shipments", json=body, headers=ozon_key.headers)
        assert answer.status_code == 422, answer.text
        assert field in {e["field"] for e in answer.json()["errors"]}
        assert session.scalars(select(ShipmentPlace)).first() is None

    def test_a_batch_mixes_orders_of_one_and_several_places_and_the_list_shows_them(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        bodies = [
            shipment_payload(external_order_id="B-1"),
            _multi("B-2"),
            shipment_payload(external_order_id="B-3"),
        ]
        answer = client.post("/v1/shipments/batch", json=bodies, headers=ozon_key.headers)
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert [len(r["shipment"]["places"]) for r in results] == [1, 3, 1]
        numbers = [p["tracking_number"] for r in results for p in r["shipment"]["places"]]
        assert len(set(numbers)) == 5
        listed = client.get("/v1/shipments", headers=ozon_key.headers).json()["items"]
        assert [len(s["places"]) for s in listed] == [1, 3, 1]
        assert listed[1]["places"] == results[1]["shipment"]["places"]


class TestTravel:
    def test_places_travel_apart_and_the_order_arrives_with_the_last(
        self,
        client: TestClient,
        session: Session,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        created = _create(client, ozon_key, _multi())
        one, two, three = (p["tracking_number"] for p in created["places"])
        clock.advance(timedelta(hours=6))
        handed = _scan(client, admin, two, "handed_over", 10)
        assert handed.status_code == 201, handed.text
        assert handed.json()["status"] == "handed_over"
        assert _statuses(handed.json()) == ["created", "handed_over", "created"]
        # the other places follow: recorded, never a 409
        for minute, number in ((11, one), (12, three)):
            again = _scan(client, admin, number, "handed_over", minute)
            assert again.status_code == 201, again.text
            assert again.json()["events"][-1]["applied"] is False
        assert _statuses(again.json()) == ["handed_over"] * 3
        first = _scan(client, admin, three, "arrived_at_office", 60)
        body = first.json()
        assert body["status"] == "in_transit"
        assert body["events"][-1]["code"] == PLACE_ARRIVED
        assert _statuses(body) == ["handed_over", "handed_over", "arrived_at_office"]
        assert body["places"][2]["arrived_at"] is not None
        _scan(client, admin, one, "arrived_at_office", 70)
        last = _scan(client, admin, two, "arrived_at_office", 80).json()
        assert last["status"] == "arrived_at_office"
        assert last["events"][-1]["code"] == "arrived_at_office"
        assert [e["code"] for e in last["events"]].count("arrived_at_office") == 1
        assert _statuses(last) == ["arrived_at_office"] * 3
        hooks = [
            m.payload
            for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if m.event_type == "shipment.place_arrived"
        ]
        assert [h["data"]["arrived"] for h in hooks] == [1, 2, 3]
        assert [h["data"]["place"] for h in hooks] == [3, 1, 2]
        assert [h["data"]["status"] for h in hooks] == ["in_transit"] * 2 + ["arrived_at_office"]
        model = CATALOGUE["shipment.place_arrived"].model
        for hook in hooks:
            model.model_validate(hook["data"])  # the catalogue says what is sent

    def test_where_the_marketplace_allows_the_first_place_makes_the_order_arrive(
        self,
        client: TestClient,
        session: Session,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        ozon_key.marketplace.ready_on_first_place = True
        session.flush()
        created = _create(client, ozon_key, _multi())
        one, two, three = (p["tracking_number"] for p in created["places"])
        clock.advance(timedelta(hours=6))
        for minute, number in enumerate((one, two, three), start=1):
            _scan(client, admin, number, "handed_over", minute)
        first = _scan(client, admin, two, "arrived_at_office", 60).json()
        assert first["status"] == "arrived_at_office"
        assert _statuses(first) == ["handed_over", "arrived_at_office", "handed_over"]
        later = _scan(client, admin, one, "arrived_at_office", 70)
        assert later.status_code == 201
        assert later.json()["status"] == "arrived_at_office"
        assert later.json()["events"][-1]["code"] == PLACE_ARRIVED

    def test_an_ordinary_parcel_scans_exactly_as_before(
        self,
        client: TestClient,
        admin: dict[str, str],
        ozon_key: MarketplaceWithKey,
        clock: FrozenClock,
    ) -> None:
        number = _create(client, ozon_key, shipment_payload(external_order_id="ONE"))[
            "tracking_number"
        ]
        clock.advance(timedelta(hours=6))
        assert _scan(client, admin, number, "handed_over", 10).status_code == 201
        twice = _scan(client, admin, number, "handed_over", 20)
        assert twice.status_code == 409  # the lifecycle table alone judges it
        arrived = _scan(client, admin, number, "arrived_at_office", 60).json()
        assert arrived["places"][0]["status"] == "arrived_at_office"
        assert arrived["places"][0]["arrived_at"] is not None


def _pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page>>") + pdf.count(b"/Type /Page ")


class TestLabels:
    def test_every_place_of_an_order_gets_a_label(
        self, client: TestClient, ozon_key: MarketplaceWithKey
    ) -> None:
        created = _create(client, ozon_key, _multi())
        single = _create(client, ozon_key, shipment_payload(external_order_id="ONE"))
        second = created["places"][1]["tracking_number"]
        label = client.get(f"/v1/shipments/{second}/label", headers=ozon_key.headers)
        assert label.status_code == 200
        assert label.headers["content-type"] == "application/pdf"
        one = client.get(
            f"/v1/shipments/{single['tracking_number']}/label", headers=ozon_key.headers
        )
        assert _pages(label.content) == 3 * _pages(one.content) > 0
        bulk = client.post(
            "/v1/labels",
            json={
                "tracking_numbers": [created["tracking_number"], second, single["tracking_number"]],
                "format": "a6",
            },
            headers=ozon_key.headers,
        )
        assert bulk.status_code == 200, bulk.text
        assert _pages(bulk.content) == 4 * _pages(one.content)  # the order once, every place


def test_the_openapi_examples_of_creation_create_what_they_say(
    client: TestClient, ozon_key: MarketplaceWithKey
) -> None:
    from selpo.shipment.endpoints import CREATE_EXAMPLES

    operation = client.get("/openapi.json").json()["paths"]["/v1/shipments"]["post"]
    shown = operation["requestBody"]["content"]["application/json"]["examples"]
    assert shown.keys() == CREATE_EXAMPLES.keys()
    for name, example in CREATE_EXAMPLES.items():
        created = _create(client, ozon_key, example["value"])
        assert len(created["places"]) == len(example["value"].get("places", [None])), name


def test_place_counts_and_order_numbers_for_the_hand_over_acts(
    client: TestClient, session: Session, ozon_key: MarketplaceWithKey
) -> None:
    from selpo.shipment import repository

    multi = _create(client, ozon_key, _multi())
    single = _create(client, ozon_key, shipment_payload(external_order_id="ONE"))
    numbers = [p["tracking_number"] for p in multi["places"]]
    order = numbers[0]
    ids = {
        s.tracking_number: s.id
        for s in repository.by_tracking_numbers(
            session, [order, single["tracking_number"]]
        ).values()
    }
    counts = repository.place_counts(session, ids.values())
    assert counts == {ids[order]: 3, ids[single["tracking_number"]]: 1}
    unknown = "00000000000000"
    mapped = repository.order_numbers(session, [*numbers, single["tracking_number"], unknown])
    assert mapped == {
        **dict.fromkeys(numbers, order),
        single["tracking_number"]: single["tracking_number"],
        unknown: unknown,
    }
