"""A scan anywhere, «Поиск», the issue by identity document and numbered receipts, at service
level on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from threading import Barrier

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from selpo.cli import app
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.marketplace import service as marketplace_service
from selpo.migrate import upgrade_to_head
from selpo.models import IssueReceipt, OutboxMessage, PostOffice, Shipment, TrackingEvent
from selpo.network.importer import import_region
from selpo.notify import service as notify_service
from selpo.office import auth
from selpo.office import service as office
from selpo.office.errors import BadBarcode, IssueRefused, ParcelNotFound, ParcelNotHere
from selpo.office.rules import read_search, surname_and_initial, surname_matches
from selpo.office.schemas import IssueOutcome, IssueView, NextStep, SearchView
from selpo.shipment.tracking import make_tracking_number
from tests.conftest import TEST_NOW, create_scratch_database, drop_scratch_database
from tests.fixtures.regions import bundled_source
from tests.office.world import (
    ALEKHINO,
    PASSWORD,
    POLICY,
    OfficeWorld,
    cheap_password_hashing,
    make_world,
    sign_in,
)


def _found(world: OfficeWorld, shipment: Shipment, *, clerk: str = "clerk") -> None:
    """The parcel found at the counter by its number and the phone digits."""
    office.find_by_tracking(
        world.session,
        office=world.pestyaki,
        workstation=getattr(world, clerk),
        tracking_number=shipment.tracking_number,
        phone_last4="4567",
    )


def _issue(world: OfficeWorld, shipment: Shipment, method: str | None = None) -> int | None:
    return office.complete_issue(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        tracking_number=shipment.tracking_number,
        refused={},
        method=method,
        received_kop=None,
        now=world.clock.now(),
    )


def _by_code(world: OfficeWorld, code: str) -> None:
    outcome = office.find_by_code(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        code=code,
        policy=POLICY,
        now=world.clock.now(),
    )
    assert outcome.message == "Код верный."


# ---------------------------------------------------------------------------- a scan anywhere


class TestAScanAnywhere:
    def _open(self, world: OfficeWorld, barcode: str) -> NextStep:
        return office.open_scanned(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            barcode=barcode,
            now=world.clock.now(),
        )

    def test_a_parcel_on_its_way_asks_for_an_acceptance_then_is_scanned_into_it(
        self, world: OfficeWorld
    ) -> None:
        parcel = world.parcel()
        step = self._open(world, parcel.tracking_number)
        assert step.step == "acceptance_start"
        assert "начните приёмку" in (step.message or "")
        assert parcel.status == "in_transit"  # nothing recorded without an acceptance
        acceptance = office.start_acceptance(
            world.session, office=world.pestyaki, workstation=world.clerk, now=world.clock.now()
        )
        step = self._open(world, parcel.tracking_number)
        assert (step.step, step.acceptance_id, step.tone) == ("acceptance", acceptance.id, "ok")
        assert "Принята" in (step.message or "")
        assert parcel.status == "arrived_at_office"

    def test_each_status_opens_its_own_step(self, world: OfficeWorld) -> None:
        arrived = world.accepted()
        ready, code = world.shelved()
        refused, refused_code = world.shelved()
        assert self._open(world, arrived.tracking_number).step == "shelving"
        step = self._open(world, ready.tracking_number)
        assert step.step == "issue"
        assert "последние 4 цифры" in (step.message or "")
        # A scan of the parcel proves nothing about who is at the counter: no issue opened.
        assert world.clerk.session.issue_shipment_id is None
        _by_code(world, refused_code)
        office.refuse_parcel(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=refused.tracking_number,
            now=world.clock.now(),
        )
        assert self._open(world, refused.tracking_number).step == "returns"
        _by_code(world, code)
        _issue(world, ready)
        step = self._open(world, ready.tracking_number)
        assert step.step == "parcel"
        assert "выдана" in (step.message or "")

    def test_another_offices_unknown_and_unreadable_codes_are_refused(
        self, world: OfficeWorld
    ) -> None:
        foreign = world.parcel(to=ALEKHINO)
        with pytest.raises(ParcelNotHere, match="другого отделения"):
            self._open(world, foreign.tracking_number)
        with pytest.raises(ParcelNotFound, match="Неизвестный штрихкод"):
            self._open(world, make_tracking_number("153950", "11", 99_999))
        with pytest.raises(BadBarcode, match="не трек-номер"):
            self._open(world, "S-03")


# ---------------------------------------------------------------------------- «Поиск»


class TestSearch:
    def _search(self, world: OfficeWorld, query: str) -> SearchView:
        return office.search_parcels(world.session, office=world.pestyaki, query=query)

    def test_phone_digits_find_this_offices_parcels_only_masked(self, world: OfficeWorld) -> None:
        mine = world.parcel()
        ready, _ = world.shelved()
        world.parcel(to=ALEKHINO)  # the same phone, another office
        view = self._search(world, "4567")
        assert view.kind == "phone"
        assert {r.tracking_number for r in view.results} == {
            mine.tracking_number,
            ready.tracking_number,
        }
        row = next(r for r in view.results if r.tracking_number == ready.tracking_number)
        assert row.recipient == "Иванова М."
        assert row.phone == "+7******4567"
        assert (row.step, row.step_text, row.cell) == ("issue", "выдать", ready.cell_code)
        assert "Мария" not in row.model_dump_json()
        assert "1234567" not in row.model_dump_json()

    def test_another_offices_tracking_number_finds_nothing(self, world: OfficeWorld) -> None:
        foreign = world.parcel(to=ALEKHINO)
        view = self._search(world, foreign.tracking_number)
        assert view.kind == "tracking"
        assert view.results == []
        assert view.message == "В отделении таких посылок нет."
        mine = world.parcel()
        spaced = " ".join([mine.tracking_number[:6], mine.tracking_number[6:]])
        assert [r.tracking_number for r in self._search(world, spaced).results] == [
            mine.tracking_number
        ]

    def test_the_marketplaces_order_number(self, world: OfficeWorld) -> None:
        parcel = world.parcel()
        world.parcel(to=ALEKHINO)
        view = self._search(world, parcel.external_order_id)
        assert view.kind == "order"
        assert [r.tracking_number for r in view.results] == [parcel.tracking_number]
        assert view.results[0].step == "acceptance"

    def test_surname_any_case_yo_as_ye_and_never_another_offices(self, world: OfficeWorld) -> None:
        ivanova = world.parcel()
        shelekhova = world.parcel(recipient={"name": "Шелёхова Анна", "phone": "+79161110022"})
        world.parcel(to=ALEKHINO, recipient={"name": "Шелехова Вера", "phone": "+79161110033"})
        assert [r.tracking_number for r in self._search(world, "иванова").results] == [
            ivanova.tracking_number
        ]
        assert [r.tracking_number for r in self._search(world, "ИВАНОВ").results] == [
            ivanova.tracking_number
        ]
        found = self._search(world, "шелехова")
        assert found.kind == "surname"
        assert [(r.tracking_number, r.recipient) for r in found.results] == [
            (shelekhova.tracking_number, "Шелёхова А.")
        ]
        short = self._search(world, "Ив")
        assert (short.kind, short.results) == (None, [])
        assert "от 3 букв" in (short.message or "")

    def test_an_issued_parcel_is_found_by_its_numbers_not_by_the_name(
        self, world: OfficeWorld
    ) -> None:
        parcel, code = world.shelved()
        _by_code(world, code)
        _issue(world, parcel)
        assert self._search(world, "Иванова").results == []
        found = self._search(world, parcel.tracking_number).results
        assert [(r.status, r.step, r.cell) for r in found] == [("delivered", None, None)]


@given(st.text(max_size=30))
def test_a_search_query_is_read_as_one_kind_or_refused(raw: str) -> None:
    read = read_search(raw)
    if read is None:
        return
    assert read.kind in ("tracking", "phone", "surname", "order")
    assert read.text == read.text.strip()
    if read.kind == "tracking":
        assert len(read.text) == 14
        assert read.text.isdigit()
    if read.kind == "phone":
        assert len(read.text) == 4
        assert read.text.isdigit()


def test_surnames_match_from_three_letters_and_show_an_initial() -> None:
    assert surname_matches("Иванова Мария Петровна", "ИВАН")
    assert surname_matches("Шелёхова Анна", "шелех")
    assert not surname_matches("Иванова Мария", "Ив")
    assert not surname_matches("Петрова Иванна", "Иван")  # the surname, not any name
    assert not surname_matches(None, "Иванова")
    assert surname_and_initial("Иванова Мария Петровна") == "Иванова М."
    assert surname_and_initial("Иванова") == "Иванова"
    assert surname_and_initial(None) == "—"


# ---------------------------------------------------------------------------- identity documents


class TestIssueByDocument:
    def _document(
        self,
        world: OfficeWorld,
        shipment: Shipment,
        *,
        document_type: str = "passport_ru",
        last4: str = "1234",
        surname: str = "ИВАНОВА",
    ) -> IssueOutcome:
        return office.verify_document(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=shipment.tracking_number,
            document_type=document_type,
            document_last4=last4,
            surname=surname,
            now=world.clock.now(),
        )

    def _view(self, world: OfficeWorld, shipment: Shipment) -> IssueView:
        return office.issue_view(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=shipment.tracking_number,
            policy=POLICY,
            now=world.clock.now(),
        )

    def test_refused_where_the_marketplace_does_not_allow_it(self, world: OfficeWorld) -> None:
        parcel, _ = world.shelved()
        _found(world, parcel)
        assert self._view(world, parcel).document_allowed is False
        with pytest.raises(IssueRefused, match="не разрешает выдачу по документу"):
            self._document(world, parcel)
        assert self._view(world, parcel).verified is False
        assert world.clerk.session.issue_document is None

    def test_a_document_identifies_the_recipient_and_is_recorded(self, world: OfficeWorld) -> None:
        world.ozon.issue_by_document = True
        notify_service.create_subscription(
            world.session,
            marketplace_id=world.ozon.id,
            url="http://hooks.test/selpo",
            events=["shipment.delivered"],
            now=world.clock.now(),
            allow_hosts=frozenset({"hooks.test"}),
        )
        parcel, _ = world.shelved()
        _found(world, parcel)
        view = self._view(world, parcel)
        assert view.document_allowed is True
        assert view.document_types["passport_ru"] == "паспорт РФ"
        with pytest.raises(IssueRefused, match="не совпадает"):
            self._document(world, parcel, surname="Петрова")
        with pytest.raises(IssueRefused, match="последние 4"):
            self._document(world, parcel, last4="12")
        with pytest.raises(IssueRefused, match="вид документа"):
            self._document(world, parcel, document_type="library_card")
        assert self._view(world, parcel).verified is False
        outcome = self._document(world, parcel, surname=" иванова ", last4="12 34")
        assert outcome.message == "Документ проверен: паспорт РФ …1234."
        view = self._view(world, parcel)
        assert view.verified is True
        assert view.recipient_full == "Иванова Мария Петровна"
        assert view.identified_by_document == "паспорт РФ …1234"
        _issue(world, parcel)
        receipt = office.receipt(
            world.session,
            office=world.pestyaki,
            tracking_number=parcel.tracking_number,
            received_kop=None,
        )
        assert receipt.identification == "паспорт РФ …1234"
        row = world.session.scalars(
            select(IssueReceipt).where(IssueReceipt.shipment_id == parcel.id)
        ).one()
        assert (row.identified_by, row.document_type, row.document_last4) == (
            "document",
            "passport_ru",
            "1234",
        )
        delivered = world.session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "webhook",
                OutboxMessage.event_type == "shipment.delivered",
            )
        ).all()
        data = [m.payload["data"] for m in delivered]
        assert len(data) == 1
        assert data[0]["tracking_number"] == parcel.tracking_number
        assert data[0]["identified_by"] == "document"
        assert data[0]["document_type"] == "passport_ru"
        assert "1234" not in str(data[0])
        event = world.session.scalars(
            select(TrackingEvent).where(
                TrackingEvent.shipment_id == parcel.id, TrackingEvent.code == "delivered"
            )
        ).one()
        assert event.source == {"identified_by": "document", "document_type": "passport_ru"}

    def test_cash_on_delivery_is_still_due(self, world: OfficeWorld) -> None:
        world.ozon.issue_by_document = True
        parcel, _ = world.shelved(two_items=True, cod=True)
        _found(world, parcel)
        self._document(world, parcel)
        with pytest.raises(IssueRefused, match="способ оплаты"):
            _issue(world, parcel)
        assert _issue(world, parcel, "cash") is not None
        assert parcel.cod_collected_kop > 0

    def test_a_code_check_forgets_a_document(self, world: OfficeWorld) -> None:
        world.ozon.issue_by_document = True
        parcel, code = world.shelved()
        _found(world, parcel)
        self._document(world, parcel)
        office.verify_code(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            code=code,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert self._view(world, parcel).identified_by_document is None
        _issue(world, parcel)
        row = world.session.scalars(
            select(IssueReceipt).where(IssueReceipt.shipment_id == parcel.id)
        ).one()
        assert (row.identified_by, row.document_type) == ("code", None)


# ---------------------------------------------------------------------------- receipts


class TestReceipts:
    def test_numbered_per_office_and_year_naming_the_clerk_and_the_office(
        self, world: OfficeWorld
    ) -> None:
        world.clerk.clerk.full_name = "Смирнова Ольга Ивановна"
        numbers = []
        for _ in range(3):
            parcel, code = world.shelved()
            _by_code(world, code)
            _issue(world, parcel)
            receipt = office.receipt(
                world.session,
                office=world.pestyaki,
                tracking_number=parcel.tracking_number,
                received_kop=None,
            )
            numbers.append(receipt.number)
            assert receipt.clerk == "Смирнова Ольга Ивановна"
            assert receipt.office.index == world.pestyaki.index
            assert receipt.office.address == world.pestyaki.address
            assert receipt.identification is None
        year = office.local_today(world.pestyaki, world.clock.now()).year
        assert numbers == [f"{world.pestyaki.index}-{year}-{n:06d}" for n in (1, 2, 3)]

    def test_a_refused_issue_gives_its_number_back(self, world: OfficeWorld) -> None:
        first, first_code = world.shelved()
        second, second_code = world.shelved()
        _by_code(world, first_code)
        issuing = world.session.begin_nested()
        _issue(world, first)  # numbered, then its transaction rolls back: nothing is kept
        issuing.rollback()
        _by_code(world, second_code)
        _issue(world, second)
        numbers = world.session.scalars(
            select(IssueReceipt.number).where(IssueReceipt.post_office_id == world.pestyaki.id)
        ).all()
        assert list(numbers) == [1]


PARALLEL = 12


@pytest.fixture
def counter_day(backend: str, tmp_path: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A committed scratch database: Pestyaki with ``PARALLEL`` parcels waiting and as many
    clerks; yields its URL and (tracking number, code) of each parcel. PostgreSQL only:
    parallel writers are its (SQLite takes one writer at a time)."""
    if backend != "postgresql":
        pytest.skip("parallel writers are PostgreSQL's (SQLite takes one writer at a time)")
    scratch_url = create_scratch_database(backend, tmp_path)
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    clock = FrozenClock(TEST_NOW)
    with cheap_password_hashing(), session_scope(make_session_factory(engine)) as session:
        import_region(session, bundled_source(), clock=clock)
        world = make_world(session, clock)
        parcels = []
        for n in range(PARALLEL):
            auth.add_clerk(
                session,
                office_index=world.pestyaki.index,
                login=f"desk{n}",
                password=PASSWORD,
                now=TEST_NOW,
            )
            shipment, code = world.shelved()
            parcels.append((shipment.tracking_number, code))
    engine.dispose()
    yield scratch_url, parcels
    drop_scratch_database(scratch_url)


def test_receipt_numbers_stay_gap_free_under_parallel_issues(
    counter_day: tuple[str, list[tuple[str, str]]],
) -> None:
    """Twelve counters of one office issue at the same moment, each in its own transaction;
    every third one is cancelled after taking its number: the numbers kept are 1..n."""
    url, parcels = counter_day
    engine = create_db_engine(url)
    factory = make_session_factory(engine)
    barrier = Barrier(PARALLEL)
    clock = FrozenClock(TEST_NOW + timedelta(hours=6))

    def counter(n: int) -> bool:
        number, code = parcels[n]
        session: Session = factory()
        try:
            with cheap_password_hashing():
                workstation = sign_in(session, f"desk{n}", clock)
            pestyaki = session.get(PostOffice, workstation.clerk.post_office_id)
            assert pestyaki is not None
            session.commit()
            office.find_by_tracking(
                session,
                office=pestyaki,
                workstation=workstation,
                tracking_number=number,
                phone_last4="4567",
            )
            office.verify_code(
                session,
                office=pestyaki,
                workstation=workstation,
                tracking_number=number,
                code=code,
                policy=POLICY,
                now=clock.now(),
            )
            barrier.wait()
            office.complete_issue(
                session,
                office=pestyaki,
                workstation=workstation,
                tracking_number=number,
                refused={},
                method=None,
                received_kop=None,
                now=clock.now(),
            )
            if n % 3 == 0:
                session.rollback()
                return False
            session.commit()
            return True
        finally:
            session.close()

    with ThreadPoolExecutor(PARALLEL) as pool:
        kept = sum(pool.map(counter, range(PARALLEL)))
    with session_scope(factory) as session:
        numbers = sorted(session.scalars(select(IssueReceipt.number)))
    engine.dispose()
    assert kept == PARALLEL - len(range(0, PARALLEL, 3))
    assert numbers == list(range(1, kept + 1))


def test_the_operator_allows_the_issue_by_document_from_the_command_line(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["marketplace", "add", "DOCS", "Docs Market"]).exit_code == 0
    allowed = runner.invoke(app, ["marketplace", "set", "docs", "--issue-by-document"])
    assert allowed.exit_code == 0, allowed.output
    assert "issue by identity document allowed" in allowed.stdout
    engine = create_db_engine(scratch_url)
    with session_scope(make_session_factory(engine)) as session:
        assert marketplace_service.get_by_code(session, "DOCS").issue_by_document
    engine.dispose()
    off = runner.invoke(app, ["marketplace", "set", "DOCS", "--no-issue-by-document"])
    assert "issue by identity document not allowed" in off.stdout
    assert (
        runner.invoke(app, ["marketplace", "set", "NOBODY", "--issue-by-document"]).exit_code == 2
    )
