"""A partner's bag from the counter to the partner's act, through the real services and the
whole HTTP stack, on SQLite and PostgreSQL.

The return legs (loading on a run, the hub's acceptance) are the way-back engineer's; here
each step is taken as they take it: the row's fields set, then ``way_back.moved`` called in
the same transaction (the agreed contract).
"""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.collection import rules, service
from selpo.kit.clock import FrozenClock
from selpo.logistics import way_back
from selpo.models import CollectionBag, Region, ReturnLegItem
from selpo.office import auth
from selpo.reporting import collection as collection_report
from selpo.reporting.kpi import Period
from tests.collection.conftest import DEPOT, Partners
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key
from tests.office.world import PASSWORD, OfficeWorld

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
DAY = TEST_NOW.date().isoformat()


def _csrf(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def _sign_in(pages: TestClient, login: str = "pestyaki1") -> None:
    form = pages.get("/office/login")
    response = pages.post(
        "/office/login",
        data={"login": login, "password": PASSWORD, "csrf": _csrf(form.text), "next": ""},
    )
    assert response.status_code == 303, response.text


def _take(pages: TestClient, what: str, weight: str, index: str = "155650") -> str:
    """The clerk's form: returns where it led (the bag's page, or back to the form)."""
    form = pages.get(f"/office/{index}/collection")
    assert form.status_code == 200
    response = pages.post(
        f"/office/{index}/collection",
        data={"csrf": _csrf(form.text), "what": what, "weight": weight},
    )
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def _bags(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(CollectionBag)) or 0)


def _step(session: Session, code: str, step: way_back.Step, clock: FrozenClock) -> None:
    """What the return legs do: the row takes the step, then its domain hears of it."""
    session.expire_all()
    item = session.scalars(select(ReturnLegItem).where(ReturnLegItem.barcode == code)).one()
    clock.advance(timedelta(hours=3))
    now = clock.now()
    item.status = step
    if step == "loaded":
        item.route_code, item.departure, item.loaded_at = "DH-155650-R1", now, now
    elif step == "at_hub":
        item.hub_code, item.at_hub_at = DEPOT, now
    way_back.moved(session, item, step, now)
    session.flush()


def _bag(session: Session, code: str) -> CollectionBag:
    session.expire_all()
    return session.scalars(select(CollectionBag).where(CollectionBag.code == code)).one()


class TestAtTheCounter:
    def test_the_form_offers_what_the_office_s_partners_take(
        self, pages: TestClient, world: OfficeWorld, partners: Partners
    ) -> None:
        _sign_in(pages)
        page = pages.get("/office/155650/collection")
        assert page.status_code == 200
        assert "Приём вторсырья" in page.text
        for value in ("ECOTEX:textile", "ECOTEX:knitwear", "CHARITY:clothes"):
            assert f'value="{value}"' in page.text
        assert 'id="weight"' in page.text
        assert "autofocus" in page.text

    def test_a_village_office_sees_only_the_partners_that_serve_it(
        self, pages: TestClient, world: OfficeWorld, partners: Partners
    ) -> None:
        _sign_in(pages, "alekhino1")
        page = pages.get("/office/155654/collection")
        assert 'value="CHARITY:clothes"' in page.text
        assert "ECOTEX" not in page.text
        assert _take(pages, "ECOTEX:textile", "2000", index="155654").endswith(
            "/collection?choice=ECOTEX:textile"
        )
        assert _bags(world.session) == 0

    def test_a_bag_is_weighed_labelled_and_receipted_with_the_coupon(
        self, pages: TestClient, world: OfficeWorld, partners: Partners, session: Session
    ) -> None:
        _sign_in(pages)
        target = _take(pages, "ECOTEX:textile", "2 450")
        code = target.rsplit("/", 1)[1]
        assert rules.is_bag_code(code)
        assert code[2:8] == "155650"
        receipt = pages.get(target)
        assert receipt.status_code == 200
        assert "Квитанция о приёме вторсырья" in receipt.text
        assert rules.spaced_bag_code(code) in receipt.text
        assert "2,45\u00a0кг" in receipt.text
        coupon = re.search(r'id="coupon">(ECO-[A-Z0-9]{8})<', receipt.text)
        assert coupon, "a 2.45 kg bag earns ECOTEX's coupon"
        assert "Скидка 10 %" in receipt.text
        label = pages.get(f"{target}/label.pdf")
        assert label.status_code == 200
        assert label.headers["content-type"] == "application/pdf"
        assert label.content.startswith(b"%PDF")

        bag = _bag(session, code)
        assert (bag.weight_g, bag.material, bag.status) == (2450, "textile", "at_office")
        assert bag.coupon_code == coupon.group(1)
        item = session.scalars(select(ReturnLegItem).where(ReturnLegItem.barcode == code)).one()
        assert (item.kind, item.ref_id, item.partner_code) == ("partner_bag", bag.id, "ECOTEX")
        assert (item.status, item.weight_g, item.litres) == ("waiting", 2450, 60.0)
        assert item.warehouse_id is None
        assert item.office_id == world.pestyaki.id

        again = pages.get("/office/155650/collection")
        assert "Сегодня: 1 мешок" in again.text
        assert rules.spaced_bag_code(code) in again.text

    def test_a_light_bag_gets_no_coupon_and_a_partner_without_coupons_gives_none(
        self, pages: TestClient, world: OfficeWorld, partners: Partners
    ) -> None:
        _sign_in(pages)
        light = pages.get(_take(pages, "ECOTEX:knitwear", "900"))
        assert 'id="coupon"' not in light.text
        clothes = pages.get(_take(pages, "CHARITY:clothes", "5000"))
        assert 'id="coupon"' not in clothes.text

    def test_a_wrong_weight_or_material_is_refused_and_changes_nothing(
        self, pages: TestClient, world: OfficeWorld, partners: Partners
    ) -> None:
        _sign_in(pages)
        for what, weight, message in (
            ("ECOTEX:textile", "2,5", "целое число граммов"),
            ("ECOTEX:textile", "50", "легче 100 г"),
            ("ECOTEX:textile", "45000", "тяжелее 30 кг"),
            ("ECOTEX:glass", "2000", "не принимает «стекло»"),
            ("NOBODY:textile", "2000", "не принимает вторсырьё"),
        ):
            back = _take(pages, what, weight)
            assert back.startswith("/office/155650/collection?choice="), back
            assert message in pages.get(back).text
        assert _bags(world.session) == 0

    def test_a_clerk_sees_no_bag_of_another_office(
        self, pages: TestClient, world: OfficeWorld, partners: Partners
    ) -> None:
        _sign_in(pages)
        code = _take(pages, "CHARITY:clothes", "3000").rsplit("/", 1)[1]
        pages.cookies.clear()
        _sign_in(pages, "alekhino1")
        assert pages.get(f"/office/155654/collection/{code}").status_code == 404
        assert pages.get(f"/office/155650/collection/{code}").status_code == 403


class TestToThePartnersAct:
    def test_a_bag_from_the_counter_to_the_partners_act(
        self,
        pages: TestClient,
        world: OfficeWorld,
        partners: Partners,
        session: Session,
        clock: FrozenClock,
    ) -> None:
        _sign_in(pages)
        code = _take(pages, "ECOTEX:textile", "2450").rsplit("/", 1)[1]
        other = _take(pages, "ECOTEX:knitwear", "1200").rsplit("/", 1)[1]
        headers = partners.ecotex.headers

        # Not at the hub yet: nothing to collect.
        early = pages.post("/v1/collections/acts", json={"bags": [code]}, headers=headers)
        assert early.status_code == 409
        assert early.json()["bags"] == [code]

        _step(session, code, "loaded", clock)
        assert _bag(session, code).status == "loaded"
        _step(session, code, "at_hub", clock)
        assert _bag(session, code).status == "at_hub"

        act = pages.post("/v1/collections/acts", json={"bags": [code]}, headers=headers)
        assert act.status_code == 201, act.text
        body = act.json()
        assert body["number"] == f"CA-{TEST_NOW.year}-000001"
        assert (body["partner"], body["hub"], body["bags"], body["weight_g"]) == (
            "ECOTEX",
            DEPOT,
            1,
            2450,
        )
        assert [i["code"] for i in body["items"]] == [code]
        bag = _bag(session, code)
        assert bag.status == "delivered"
        assert bag.act_id is not None
        item = session.scalars(select(ReturnLegItem).where(ReturnLegItem.barcode == code)).one()
        assert (item.status, item.act_number) == ("delivered", body["number"])
        assert _bag(session, other).status == "at_office"  # still waiting at the office

        # Sent again (a lost answer): the same act, nothing made twice.
        again = pages.post("/v1/collections/acts", json={"bags": [code]}, headers=headers)
        assert again.status_code == 200
        assert again.json()["number"] == body["number"]
        assert pages.post("/v1/collections/acts", json={}, headers=headers).status_code == 409

        # The second bag's act is the next number.
        _step(session, other, "loaded", clock)
        _step(session, other, "at_hub", clock)
        second = pages.post("/v1/collections/acts", json={}, headers=headers)
        assert second.status_code == 201
        assert second.json()["number"] == f"CA-{TEST_NOW.year}-000002"

        read = pages.get(f"/v1/collections/acts/{body['number']}", headers=headers)
        assert read.status_code == 200
        assert read.json() == body
        pdf = pages.get(f"/v1/collections/acts/{body['number']}/pdf", headers=headers)
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        theirs = partners.charity.headers
        assert (
            pages.get(f"/v1/collections/acts/{body['number']}", headers=theirs).status_code == 404
        )

    def test_a_bag_never_moves_back(
        self,
        pages: TestClient,
        world: OfficeWorld,
        partners: Partners,
        session: Session,
        clock: FrozenClock,
    ) -> None:
        _sign_in(pages)
        code = _take(pages, "CHARITY:clothes", "2000").rsplit("/", 1)[1]
        _step(session, code, "at_hub", clock)
        _step(session, code, "loaded", clock)
        assert _bag(session, code).status == "at_hub"

    def test_bad_bag_codes_are_refused(self, pages: TestClient, partners: Partners) -> None:
        headers = partners.ecotex.headers
        bad = pages.post(
            "/v1/collections/acts", json={"bags": ["PB1556504829134"]}, headers=headers
        )
        assert bad.status_code == 422
        assert (
            pages.post("/v1/collections/acts", json={"bags": []}, headers=headers).status_code
            == 422
        )


class TestCollectionsReport:
    def test_bags_and_kilograms_per_office_and_day_for_the_partner_only(
        self,
        pages: TestClient,
        world: OfficeWorld,
        partners: Partners,
        clock: FrozenClock,
    ) -> None:
        _sign_in(pages)
        _take(pages, "ECOTEX:textile", "2450")
        _take(pages, "ECOTEX:knitwear", "1050")
        _take(pages, "CHARITY:clothes", "4000")
        pages.cookies.clear()
        _sign_in(pages, "alekhino1")
        _take(pages, "CHARITY:clothes", "3000", index="155654")

        query = {"from": DAY, "to": DAY}
        mine = pages.get("/v1/collections", params=query, headers=partners.ecotex.headers)
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert body["partner"] == "ECOTEX"
        assert [(r["date"], r["office_index"], r["bags"], r["weight_g"]) for r in body["rows"]] == [
            (DAY, "155650", 2, 3500)
        ]
        assert body["totals"] == {"bags": 2, "weight_g": 3500, "kilograms": 3.5}

        theirs = pages.get("/v1/collections", params=query, headers=partners.charity.headers)
        assert [(r["office_index"], r["bags"], r["weight_g"]) for r in theirs.json()["rows"]] == [
            ("155650", 1, 4000),
            ("155654", 1, 3000),
        ]

        by_accept = pages.get(
            "/v1/collections",
            params=query,
            headers={**partners.ecotex.headers, "Accept": "text/csv"},
        )
        assert by_accept.headers["content-type"].startswith("text/csv")
        lines = by_accept.text.splitlines()
        assert lines[0] == "date,office_index,office_name,bags,weight_g,kilograms"
        assert lines[1].startswith(f"{DAY},155650,")
        assert lines[1].endswith(",2,3500,3.500")
        by_format = pages.get(
            "/v1/collections", params={**query, "format": "csv"}, headers=partners.ecotex.headers
        )
        assert by_format.text == by_accept.text

        next_day = pages.get(
            "/v1/collections",
            params={"from": (TEST_NOW + timedelta(days=1)).date().isoformat(), "to": "2026-11-30"},
            headers=partners.ecotex.headers,
        )
        assert next_day.json()["rows"] == []

    def test_a_range_too_long_or_backwards_is_refused(
        self, pages: TestClient, partners: Partners
    ) -> None:
        headers = partners.ecotex.headers
        backwards = pages.get("/v1/collections?from=2026-11-25&to=2026-11-24", headers=headers)
        assert backwards.status_code == 422
        assert backwards.headers["content-type"].startswith("application/problem+json")
        long = pages.get("/v1/collections?from=2026-01-01&to=2026-12-31", headers=headers)
        assert long.status_code == 422

    def test_keys_open_their_own_routes_only(
        self, pages: TestClient, session: Session, partners: Partners
    ) -> None:
        market = marketplace_key(session, "WB", now=TEST_NOW)
        query = "/v1/collections?from=2026-11-25&to=2026-11-25"
        refused = pages.get(query, headers=market.headers)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert pages.get(query).status_code == 401
        assert pages.get(query, headers={"Authorization": "Bearer cp_nope_nope"}).status_code == 401
        shipments = pages.get("/v1/shipments", headers=partners.ecotex.headers)
        assert shipments.status_code == 401
        assert (
            pages.get(
                "/v1/payouts?from=2026-11-25&to=2026-11-25", headers=partners.ecotex.headers
            ).status_code
            == 401
        )

    def test_a_new_key_replaces_the_old_one(
        self, pages: TestClient, session: Session, partners: Partners
    ) -> None:
        query = "/v1/collections?from=2026-11-25&to=2026-11-25"
        fresh = service.issue_key(session, partner=partners.ecotex.row, now=TEST_NOW)
        session.flush()
        assert pages.get(query, headers=partners.ecotex.headers).status_code == 401
        assert pages.get(query, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


class TestDashboard:
    def test_collection_per_office_and_per_district(
        self, pages: TestClient, world: OfficeWorld, partners: Partners, session: Session
    ) -> None:
        _sign_in(pages)
        _take(pages, "ECOTEX:textile", "2450")
        _take(pages, "CHARITY:clothes", "4000")
        region_id = session.scalars(select(Region.id).where(Region.code == "37")).one()
        period = Period(TEST_NOW.date(), TEST_NOW.date())
        districts = collection_report.collection_figures(session, period, region_id=region_id)
        assert not districts.by_office
        assert [(r.bags, r.weight_g) for r in districts.rows] == [(2, 6450)]
        district_id = int(districts.rows[0].key)
        offices = collection_report.collection_figures(
            session, period, region_id=region_id, district_id=district_id
        )
        assert [(r.key, r.bags, r.weight_g) for r in offices.rows] == [("155650", 2, 6450)]
        assert (offices.total.bags, offices.total.weight_g) == (2, 6450)
        before = collection_report.collection_figures(
            session,
            Period(TEST_NOW.date() - timedelta(days=3), TEST_NOW.date() - timedelta(days=1)),
            region_id=region_id,
        )
        assert before.rows == []
        assert before.total.bags == 0

    def test_the_dashboard_shows_collection_per_district_and_office(
        self, pages: TestClient, world: OfficeWorld, partners: Partners, session: Session
    ) -> None:
        _sign_in(pages)
        _take(pages, "ECOTEX:textile", "2450")
        _take(pages, "CHARITY:clothes", "4000")
        pages.cookies.clear()
        auth.add_manager(session, login="boss", password=PASSWORD, now=TEST_NOW)
        session.flush()
        _sign_in(pages, "boss")
        region = pages.get(f"/region/kpi?from={DAY}&to={DAY}")
        assert region.status_code == 200, region.text
        assert "Приём вторсырья" in region.text
        total = re.search(r'<tr id="collection-total">(.*?)</tr>', region.text, re.S)
        assert total
        assert ">2<" in total.group(1)
        assert "6,45" in total.group(1)
        district = world.pestyaki.district_id
        offices = pages.get(f"/region/kpi?district={district}&from={DAY}&to={DAY}")
        row = re.search(r'<tr id="collection-155650">(.*?)</tr>', offices.text, re.S)
        assert row
        assert "Пестяки" in row.group(1)
        assert "6,45" in row.group(1)
        empty = pages.get("/region/kpi?from=2026-11-01&to=2026-11-07")
        assert 'id="collection-none"' in empty.text
