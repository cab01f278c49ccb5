"""Pickup points as integrators need them: filters, a paged listing without a point, the CSV.

Through the whole HTTP stack on both backends; every filter is checked against a direct
query of the database, so "removes exactly what does not fit" means the same set of indexes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.models import District, Marketplace, MarketplaceConnection, PostOffice, Region
from selpo.network import repository
from selpo.network.rules import OfficeCapacity, ParcelSize, is_public_holiday, parcel_fits
from tests.conftest import TEST_NOW

URL = "/v1/pickup-points"
HEAVY = {"weight_g": 17_000, "length_mm": 300, "width_mm": 200, "height_mm": 100}
MONDAY = date(2026, 11, 23)  # village offices rest on Mondays
NEW_YEAR = date(2027, 1, 1)  # a public holiday: every office is closed


def _listing(client: TestClient, params: dict[str, Any], limit: int = 1_000) -> list[str]:
    """Every index of the listing without a point, page after page."""
    indexes: list[str] = []
    cursor: str | None = None
    for _ in range(1_000):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(URL, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        indexes.extend(item["index"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return indexes
    raise AssertionError("the cursor never ended")


def _open_offices(session: Session, keep: Callable[[PostOffice], bool]) -> list[str]:
    """The indexes of the open offices the predicate keeps, straight from the database."""
    offices = session.scalars(select(PostOffice).where(PostOffice.status == "open"))
    return sorted(o.index for o in offices if keep(o))


def _served_by(session: Session, code: str) -> set[str]:
    query = (
        select(PostOffice.index)
        .join(MarketplaceConnection, MarketplaceConnection.post_office_id == PostOffice.id)
        .join(Marketplace, MarketplaceConnection.marketplace_id == Marketplace.id)
        .where(Marketplace.code == code, MarketplaceConnection.status == "active")
    )
    return set(session.scalars(query))


def _region_of(session: Session) -> dict[str, str]:
    query = (
        select(PostOffice.index, Region.code)
        .join(District, PostOffice.district_id == District.id)
        .join(Region, District.region_id == Region.id)
    )
    return {str(index): str(code) for index, code in session.execute(query)}


def _add_office(session: Session, index: str, *, region_code: str | None = None) -> None:
    """A copy of an existing office under a new index (in a new region if a code is given),
    committed as an import would, with the network version bumped."""
    model = session.scalars(select(PostOffice).order_by(PostOffice.index)).first()
    assert model is not None
    district_id = model.district_id
    if region_code is not None:
        region = Region(code=region_code, name="Test region", timezone="Europe/Moscow")
        session.add(region)
        session.flush()
        district = District(region_id=region.id, name="Test district", kind="municipal_district")
        session.add(district)
        session.flush()
        district_id = district.id
    skip = {"id", "index", "district_id", "settlement_id"}
    columns = {
        c.key: getattr(model, c.key)
        for c in PostOffice.__mapper__.column_attrs
        if c.key not in skip
    }
    session.add(PostOffice(index=index, district_id=district_id, settlement_id=None, **columns))
    session.flush()
    repository.bump_network_version(session, TEST_NOW)
    session.commit()


class TestFilters:
    def test_without_filters_the_listing_is_every_open_office_by_index(
        self, client: TestClient, session: Session
    ) -> None:
        listed = _listing(client, {})
        assert listed == _open_offices(session, lambda o: True)

    @pytest.mark.parametrize(
        ("params", "keep"),
        [
            ({"payment": "cash"}, lambda o: o.accepts_cash),
            ({"payment": "card"}, lambda o: o.accepts_card),
            ({"fitting": "true"}, lambda o: not o.rural),
            ({"fitting": "false"}, lambda o: o.rural),
            (
                {**HEAVY, "fits_only": "true"},
                lambda o: parcel_fits(ParcelSize(**HEAVY), OfficeCapacity.of(o)),
            ),
            (
                {"open_on": MONDAY.isoformat()},
                lambda o: bool(o.opening_hours[MONDAY.weekday()]),
            ),
            ({"open_on": NEW_YEAR.isoformat()}, lambda o: False),
        ],
        ids=["cash", "card", "fitting", "no-fitting", "parcel", "monday", "new-year"],
    )
    def test_a_filter_removes_exactly_what_does_not_fit(
        self,
        client: TestClient,
        session: Session,
        params: dict[str, Any],
        keep: Callable[[PostOffice], bool],
    ) -> None:
        everything = _open_offices(session, lambda o: True)
        expected = _open_offices(session, keep)
        assert 0 <= len(expected) < len(everything) or params.get("payment") == "cash"
        assert _listing(client, params) == expected

    def test_the_filters_hold_around_a_point_too(
        self, client: TestClient, session: Session
    ) -> None:
        near = {"lat": 56.7086, "lon": 42.6695, "radius_km": 500, "limit": 1_000}
        items = client.get(URL, params={**near, **HEAVY, "fits_only": "true"}).json()["items"]
        fitting = _open_offices(
            session, lambda o: parcel_fits(ParcelSize(**HEAVY), OfficeCapacity.of(o))
        )
        assert sorted(i["index"] for i in items) == fitting
        assert {i["fits"] for i in items} == {True}
        distances = [i["distance_m"] for i in items]
        assert distances == sorted(distances)
        # By default a parcel's size removes; fits_only=false only marks the offices.
        assert client.get(URL, params={**near, **HEAVY}).json()["items"] == items
        marked = client.get(URL, params={**near, **HEAVY, "fits_only": "false"}).json()["items"]
        assert {i["fits"] for i in marked} == {True, False}

    def test_marketplace_filter(self, client: TestClient, session: Session) -> None:
        served = _served_by(session, "OZON")
        expected = _open_offices(session, lambda o: o.index in served)
        assert expected
        assert _listing(client, {"marketplace": "OZON"}) == expected

    def test_region_filter(self, client: TestClient, session: Session) -> None:
        _add_office(session, "990001", region_code="99")
        regions = _region_of(session)
        assert _listing(client, {"region": "99"}) == ["990001"]
        assert _listing(client, {"region": "37"}) == _open_offices(
            session, lambda o: regions[o.index] == "37"
        )

    def test_filters_combine(self, client: TestClient, session: Session) -> None:
        served = _served_by(session, "OZON")
        expected = _open_offices(
            session,
            lambda o: o.index in served and o.accepts_card and not o.rural,
        )
        params = {"marketplace": "OZON", "payment": "card", "fitting": "true"}
        assert _listing(client, params) == expected

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"region": "98"}, "region"),
            ({"marketplace": "WILDBERRIES"}, "marketplace"),
            ({"lat": 56.7, "lon": 42.6, "region": "98"}, "region"),
            ({"payment": "crypto"}, "payment"),
            ({"lat": 56.7}, "lon"),
            ({"cursor": "not-a-cursor"}, "cursor"),
            ({"open_on": "2026-13-01"}, "open_on"),
        ],
    )
    def test_unknown_values_are_problems(
        self, client: TestClient, params: dict[str, Any], field: str
    ) -> None:
        response = client.get(URL, params=params)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {error["field"] for error in response.json()["errors"]}


class TestAnswer:
    def test_an_item_carries_what_an_integrator_syncs(self, client: TestClient) -> None:
        item = client.get(URL, params={"limit": 1}).json()["items"][0]
        assert item["region"] == "37"
        assert item["distance_m"] is None
        assert item["fitting"] is (not item["rural"])
        assert item["fitting_is_default"] is True
        assert set(item["cell_limits_mm"]) <= {"S", "M", "L"}
        assert item["accepts_cash"] is ("cash" in item["payment_methods"])
        assert item["updated_at"].startswith("2026-")
        holidays_ahead = [date.fromisoformat(d) for d in item["next_holidays"]]
        assert len(holidays_ahead) == 3
        assert holidays_ahead == sorted(holidays_ahead)
        assert all(is_public_holiday(d) and d >= TEST_NOW.date() for d in holidays_ahead)
        # None in between was skipped.
        day = TEST_NOW.date()
        while day < holidays_ahead[0]:
            assert not is_public_holiday(day)
            day += timedelta(days=1)


class TestPagination:
    def test_pages_cover_the_list_once_in_order(self, client: TestClient) -> None:
        whole = _listing(client, {})
        paged = _listing(client, {}, limit=7)
        assert paged == whole
        assert len(set(paged)) == len(paged)

    def test_an_office_added_between_pages_repeats_and_shifts_nothing(
        self, client: TestClient, session: Session
    ) -> None:
        before = _listing(client, {})
        first = client.get(URL, params={"limit": 10}).json()
        seen = [i["index"] for i in first["items"]]
        # One office lands before the cursor, one after it.
        _add_office(session, "000001")
        _add_office(session, "999998")
        cursor = first["next_cursor"]
        while cursor:
            page = client.get(URL, params={"limit": 10, "cursor": cursor}).json()
            seen.extend(i["index"] for i in page["items"])
            cursor = page["next_cursor"]
        assert seen == [*before, "999998"]
        assert _listing(client, {}) == ["000001", *before, "999998"]

    @settings(
        max_examples=12,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        limit=st.integers(min_value=1, max_value=60),
        payment=st.sampled_from([None, "cash", "card"]),
        fitting=st.sampled_from([None, True, False]),
        marketplace=st.sampled_from([None, "OZON", "YANDEX_MARKET"]),
    )
    def test_any_page_size_and_filters_give_the_database_set(
        self,
        client: TestClient,
        session: Session,
        limit: int,
        payment: str | None,
        fitting: bool | None,
        marketplace: str | None,
    ) -> None:
        served = _served_by(session, marketplace) if marketplace else None
        expected = _open_offices(
            session,
            lambda o: (
                (served is None or o.index in served)
                and (payment is None or (o.accepts_cash if payment == "cash" else o.accepts_card))
                and (fitting is None or fitting is not o.rural)
            ),
        )
        params: dict[str, Any] = {
            k: v
            for k, v in {"payment": payment, "marketplace": marketplace}.items()
            if v is not None
        }
        if fitting is not None:
            params["fitting"] = str(fitting).lower()
        assert _listing(client, params, limit=limit) == expected

    @pytest.mark.parametrize("limit", [0, 1_001])
    @pytest.mark.parametrize("point", [{}, {"lat": 56.7, "lon": 42.6}], ids=["list", "near"])
    def test_limit_bounds(self, client: TestClient, point: dict[str, float], limit: int) -> None:
        response = client.get(URL, params={**point, "limit": limit})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")

    def test_a_thousand_is_allowed_both_ways(self, client: TestClient) -> None:
        near = {"lat": 56.7086, "lon": 42.6695, "radius_km": 500, "limit": 1_000}
        assert client.get(URL, params=near).status_code == 200
        assert client.get(URL, params={"limit": 1_000}).status_code == 200


class TestCsv:
    @pytest.mark.parametrize(
        "params",
        [{}, {"marketplace": "OZON", "payment": "card"}, {**HEAVY, "fits_only": "true"}],
        ids=["all", "ozon-card", "parcel"],
    )
    def test_one_row_per_office_of_the_json(
        self, client: TestClient, params: dict[str, Any]
    ) -> None:
        response = client.get(URL, params=params, headers={"Accept": "text/csv"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"].startswith("attachment")
        assert not response.content.startswith(b"\xef\xbb\xbf")  # no BOM
        rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
        assert [r["index"] for r in rows] == _listing(client, params)
        assert rows, "the region has offices"
        row = rows[0]
        for column in ("region", "coord_precision", "hours_mon", "hours_sun", "cells_l"):
            assert column in row
        assert row["region"] == "37"
        assert row["updated_at"]

    def test_hours_and_flags_match_the_json(self, client: TestClient) -> None:
        response = client.get(URL, params={"limit": 1}, headers={"Accept": "text/csv"})
        first = next(csv.DictReader(io.StringIO(response.text)))
        item = client.get(URL, params={"limit": 1}).json()["items"][0]
        assert first["index"] == item["index"]
        days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        for day, intervals in zip(days, item["opening_hours"], strict=True):
            assert first[f"hours_{day}"] == ",".join(f"{a}-{b}" for a, b in intervals)
        assert first["cash"] == str(int(item["accepts_cash"]))
        assert first["fitting"] == str(int(item["fitting"]))
        assert first["next_holidays"].split() == item["next_holidays"]
        assert first["marketplaces"].split() == item["marketplaces"]
        assert float(first["lat"]) == item["lat"]

    def test_csv_around_a_point_is_nearest_first(self, client: TestClient) -> None:
        near = {"lat": 56.7086, "lon": 42.6695, "radius_km": 30}
        rows = list(
            csv.DictReader(
                io.StringIO(client.get(URL, params=near, headers={"Accept": "text/csv"}).text)
            )
        )
        items = client.get(URL, params={**near, "limit": 1_000}).json()["items"]
        assert [r["index"] for r in rows] == [i["index"] for i in items]
