"""Labels in bulk (``POST /v1/labels``) through the whole HTTP stack, on both backends."""

from __future__ import annotations

import io
import itertools
import math

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from selpo.shipment.label import spaced
from tests.conftest import TEST_NOW
from tests.fixtures.builders import MarketplaceWithKey, marketplace_key, shipment_payload

_orders = itertools.count()


@pytest.fixture
def ozon_key(session: Session) -> MarketplaceWithKey:
    return marketplace_key(session, "OZON", now=TEST_NOW)


@pytest.fixture
def yandex_key(session: Session) -> MarketplaceWithKey:
    return marketplace_key(session, "YANDEX_MARKET", now=TEST_NOW)


def _create(client: TestClient, key: MarketplaceWithKey, count: int) -> list[str]:
    """``count`` shipments of this marketplace in one batch; their tracking numbers."""
    batch = next(_orders)
    payload = [
        shipment_payload(external_order_id=f"LBL-{batch}-{n}", parcel=_parcel(cod=n % 2 == 1))
        for n in range(count)
    ]
    response = client.post("/v1/shipments/batch", json=payload, headers=key.headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert all(r["status_code"] == 201 for r in results), results
    return [r["shipment"]["tracking_number"] for r in results]


def _parcel(*, cod: bool) -> dict[str, int]:
    parcel = dict(shipment_payload()["parcel"])
    parcel["cod_kop"] = 99000 if cod else 0
    return parcel


def _pages(pdf: bytes) -> list[str]:
    """The text of each page."""
    assert pdf.startswith(b"%PDF")
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _labels(
    client: TestClient, key: MarketplaceWithKey, numbers: list[str], label_format: str
) -> bytes:
    response = client.post(
        "/v1/labels",
        json={"tracking_numbers": numbers, "format": label_format},
        headers=key.headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    return response.content


@pytest.mark.parametrize("count", [1, 4, 5, 9])
def test_a6_is_one_label_a_page_and_a4_four(
    client: TestClient, ozon_key: MarketplaceWithKey, count: int
) -> None:
    numbers = _create(client, ozon_key, count)
    a6 = _pages(_labels(client, ozon_key, numbers, "a6"))
    assert len(a6) == count
    for number, text in zip(numbers, a6, strict=True):  # one a page, in the order asked
        assert spaced(number) in text
        assert "Получатель: И****** М. П." in text
    a4 = _pages(_labels(client, ozon_key, numbers, "a4"))
    assert len(a4) == math.ceil(count / 4)
    for page, text in enumerate(a4):
        for number in numbers[page * 4 : page * 4 + 4]:
            assert text.count(spaced(number)) == 1


def test_cod_is_printed_only_on_cod_parcels(
    client: TestClient, ozon_key: MarketplaceWithKey
) -> None:
    plain, cod = _create(client, ozon_key, 2)
    pages = _pages(_labels(client, ozon_key, [plain, cod], "a6"))
    assert "Наложенный платёж" not in pages[0]
    assert "Наложенный платёж" in pages[1]
    assert "990" in pages[1]


def test_format_defaults_to_a6(client: TestClient, ozon_key: MarketplaceWithKey) -> None:
    numbers = _create(client, ozon_key, 2)
    response = client.post(
        "/v1/labels", json={"tracking_numbers": numbers}, headers=ozon_key.headers
    )
    assert response.status_code == 200
    assert len(_pages(response.content)) == 2


def test_duplicates_are_printed_once(client: TestClient, ozon_key: MarketplaceWithKey) -> None:
    a, b, c = _create(client, ozon_key, 3)
    asked = [a, b, a, c, b, " ".join([b[:6], b[6:]])]  # spaces are ignored, as elsewhere
    a6 = _pages(_labels(client, ozon_key, asked, "a6"))
    assert [spaced(n) in t for n, t in zip([a, b, c], a6, strict=True)] == [True] * 3
    text = "".join(_pages(_labels(client, ozon_key, asked, "a4")))
    assert [text.count(spaced(n)) for n in (a, b, c)] == [1, 1, 1]


def test_another_marketplaces_or_unknown_numbers_refuse_the_whole_request(
    client: TestClient, ozon_key: MarketplaceWithKey, yandex_key: MarketplaceWithKey
) -> None:
    mine = _create(client, ozon_key, 2)
    theirs = _create(client, yandex_key, 1)[0]
    unknown = "15395026999998"  # a valid number no shipment has
    malformed = "12345"
    response = client.post(
        "/v1/labels",
        json={"tracking_numbers": [*mine, theirs, unknown, malformed], "format": "a4"},
        headers=ozon_key.headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert not response.content.startswith(b"%PDF")
    body = response.json()
    assert body["unknown"] == [theirs, unknown, malformed]  # another's looks like unknown
    assert body["errors"][0]["field"] == "tracking_numbers"
    # The other marketplace gets its own label all the same.
    assert len(_pages(_labels(client, yandex_key, [theirs], "a6"))) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"tracking_numbers": ["15395026000014"] * 501},
        {"tracking_numbers": []},
        {"tracking_numbers": ["15395026000014"], "format": "a5"},
        {"tracking_numbers": ["1" * 33]},
    ],
)
def test_bad_requests_are_422(
    client: TestClient, ozon_key: MarketplaceWithKey, body: dict[str, object]
) -> None:
    response = client.post("/v1/labels", json=body, headers=ozon_key.headers)
    assert response.status_code == 422, response.text
    assert not response.content.startswith(b"%PDF")


def test_500_labels_is_the_limit(client: TestClient, ozon_key: MarketplaceWithKey) -> None:
    numbers = _create(client, ozon_key, 500)
    pdf = _labels(client, ozon_key, numbers, "a4")
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 125


def test_no_key_is_401(client: TestClient) -> None:
    response = client.post("/v1/labels", json={"tracking_numbers": ["15395026000014"]})
    assert response.status_code == 401
