"""A scan on the start screen, «Поиск», the issue by document, the receipt and the payment page
through the whole HTTP stack."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from selpo.kit.rate_limit import TokenBuckets
from tests.office.world import ALEKHINO, OfficeWorld
from tests.web.test_pages import _csrf, _sign_in

HOME = "/office/155650"


def _found(pages: TestClient, csrf: str, number: str) -> None:
    found = pages.post(
        f"{HOME}/issue/tracking", data={"csrf": csrf, "tracking": number, "phone_last4": "4567"}
    )
    assert found.headers["location"] == f"{HOME}/issue/{number}"


class TestAScanOnTheStartScreen:
    def test_the_start_screen_has_the_scan_field_and_a_keyboard_sign_out(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        _sign_in(pages)
        home = pages.get(HOME).text
        assert 'action="/office/155650/open"' in home
        assert "data-open" in home
        assert 'id="sign-out"' in home
        assert 'tabindex="-1"' not in home  # every control is reachable by Tab
        assert "Alt</kbd>+<kbd>Q</kbd> — выйти" in home
        assert 'href="/office/155650/search"' in home

    def test_each_scan_goes_to_the_parcels_next_step(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        arrived = world.accepted()
        ready, _ = world.shelved()
        travelling = world.parcel()
        csrf = _sign_in(pages)
        opened = pages.post(f"{HOME}/open", data={"csrf": csrf, "barcode": arrived.tracking_number})
        assert opened.headers["location"] == f"{HOME}/shelving/{arrived.tracking_number}"
        opened = pages.post(f"{HOME}/open", data={"csrf": csrf, "barcode": ready.tracking_number})
        assert opened.headers["location"] == f"{HOME}/issue?tracking={ready.tracking_number}"
        issue = pages.get(opened.headers["location"]).text
        assert "ждёт получателя в ячейке" in issue
        assert f'value="{ready.tracking_number}"' in issue
        # The acceptance is open (world.accepted): the scan is recorded in it.
        opened = pages.post(
            f"{HOME}/open", data={"csrf": csrf, "barcode": travelling.tracking_number}
        )
        assert "/acceptance/" in opened.headers["location"]
        assert "Принята: " in pages.get(opened.headers["location"]).text
        world.session.refresh(travelling)
        assert travelling.status == "arrived_at_office"

    def test_another_offices_parcel_is_refused_on_the_start_screen(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        foreign = world.parcel(to=ALEKHINO)
        csrf = _sign_in(pages)
        opened = pages.post(f"{HOME}/open", data={"csrf": csrf, "barcode": foreign.tracking_number})
        assert opened.headers["location"] == HOME
        assert "Посылка другого отделения" in pages.get(HOME).text


class TestSearch:
    def test_phone_digits_find_this_offices_parcels_masked(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        mine, _ = world.shelved()
        foreign = world.parcel(to=ALEKHINO)
        _sign_in(pages)
        page = pages.get(f"{HOME}/search", params={"q": "4567"})
        assert page.status_code == 200
        assert f'data-tracking="{mine.tracking_number}"' in page.text
        assert foreign.tracking_number not in page.text
        assert "Иванова М." in page.text
        assert "+7******4567" in page.text
        assert "Мария" not in page.text
        assert "9161234567" not in page.text
        assert f'href="/office/155650/issue?tracking={mine.tracking_number}"' in page.text

    def test_too_many_searches_wait(
        self, app: FastAPI, pages: TestClient, world: OfficeWorld
    ) -> None:
        app.state.counter_searches = TokenBuckets(1 / 60, 2)
        _sign_in(pages)
        for _ in range(2):
            assert pages.get(f"{HOME}/search", params={"q": "Иванова"}).status_code == 200
        refused = pages.get(f"{HOME}/search", params={"q": "Петрова"})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert "Слишком много поисков подряд" in refused.text
        assert pages.get(f"{HOME}/search").status_code == 200  # the empty form costs nothing


class TestIssueByDocument:
    def test_not_offered_where_the_marketplace_does_not_allow_it(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        parcel, _ = world.shelved()
        csrf = _sign_in(pages)
        _found(pages, csrf, parcel.tracking_number)
        page = pages.get(f"{HOME}/issue/{parcel.tracking_number}").text
        assert 'id="document-form"' not in page
        assert "Выдача по документу для этого маркетплейса не разрешена" in page
        pages.post(
            f"{HOME}/issue/{parcel.tracking_number}/document",
            data={
                "csrf": csrf,
                "document_type": "passport_ru",
                "document_last4": "1234",
                "surname": "Иванова",
            },
        )
        page = pages.get(f"{HOME}/issue/{parcel.tracking_number}").text
        assert "не разрешает выдачу по документу" in page
        assert 'id="recipient"' not in page

    def test_a_document_then_a_numbered_receipt_naming_clerk_office_and_document(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        world.ozon.issue_by_document = True
        world.clerk.clerk.full_name = "Смирнова Ольга Ивановна"
        parcel, _ = world.shelved()
        number = parcel.tracking_number
        csrf = _sign_in(pages)
        _found(pages, csrf, number)
        assert 'id="document-form"' in pages.get(f"{HOME}/issue/{number}").text
        pages.post(
            f"{HOME}/issue/{number}/document",
            data={
                "csrf": csrf,
                "document_type": "passport_ru",
                "document_last4": "9876",
                "surname": "иванова",
            },
        )
        page = pages.get(f"{HOME}/issue/{number}").text
        assert "Документ проверен (паспорт РФ …9876)" in page
        assert "Иванова Мария Петровна" in page
        payment = pages.post(f"{HOME}/issue/{number}/prepare", data={"csrf": csrf})
        assert payment.status_code == 200
        done = pages.post(
            f"{HOME}/issue/{number}/complete", data={"csrf": _csrf(payment.text), "refused": ""}
        )
        assert done.headers["location"] == f"{HOME}/receipt/{number}"
        receipt = pages.get(done.headers["location"]).text
        assert 'id="receipt-number">155650-' in receipt
        assert "-000001</span>" in receipt
        assert 'id="clerk-name">Смирнова Ольга Ивановна' in receipt
        assert f'id="office-address">{world.pestyaki.address}' in receipt
        assert 'id="identification">паспорт РФ …9876' in receipt


class TestPayment:
    def test_an_office_with_a_terminal_only_shows_no_cash_fields(
        self, pages: TestClient, world: OfficeWorld
    ) -> None:
        world.pestyaki.accepts_card = True
        world.pestyaki.accepts_cash = False
        world.ozon.issue_by_document = True
        parcel, _ = world.shelved(two_items=True, cod=True)
        csrf = _sign_in(pages)
        _found(pages, csrf, parcel.tracking_number)
        pages.post(
            f"{HOME}/issue/{parcel.tracking_number}/document",
            data={
                "csrf": csrf,
                "document_type": "driving_licence",
                "document_last4": "AB12",
                "surname": "Иванова",
            },
        )
        payment = pages.post(f"{HOME}/issue/{parcel.tracking_number}/prepare", data={"csrf": csrf})
        assert payment.status_code == 200
        assert 'id="card-fields"' in payment.text
        assert 'id="received"' not in payment.text
        assert "Сдача" not in payment.text
