"""The clerk's flows at service level on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from selpo.kit.display import format_local_time
from selpo.models import AcceptanceScan, CodeSearchGuard, OutboxMessage, TrackingEvent
from selpo.office import service as office
from selpo.office.errors import (
    BadBarcode,
    CellRefused,
    CodeRefused,
    IssueRefused,
    NoFreeCell,
    ParcelNotFound,
    ParcelNotHere,
)
from selpo.shipment import service as shipment_service
from selpo.shipment.rules import hash_pickup_code
from selpo.shipment.service import PickupPolicy
from selpo.shipment.tracking import make_tracking_number
from tests.office.world import ALEKHINO, POLICY, OfficeWorld, sms_code

BIG = {
    "parcel": {
        "weight_g": 3000,
        "length_mm": 380,
        "width_mm": 280,
        "height_mm": 250,
        "declared_value_kop": 150000,
        "cod_kop": 0,
    }
}


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


class TestAcceptance:
    def test_a_delivery_outside_a_run_with_every_kind_of_scan(self, world: OfficeWorld) -> None:
        """No route run arrives (no timetable here): nothing is expected, every scan is
        judged on its own (acceptance by a run's manifest: ``test_acceptance_by_run.py``)."""
        s = world.session
        arrives = world.parcel()
        damaged = world.parcel(walk=("handed_over",))
        missing = world.parcel()
        foreign = world.parcel(to=ALEKHINO)
        unknown = make_tracking_number("153950", "11", 99_999)
        acceptance = office.start_acceptance(
            s, office=world.pestyaki, workstation=world.clerk, now=world.clock.now()
        )
        view = office.acceptance_view(s, office=world.pestyaki, acceptance=acceptance)
        assert (view.run, view.expected) == (None, [])

        def scan(barcode: str, *, hurt: bool = False) -> AcceptanceScan:
            return office.scan_for_acceptance(
                s,
                acceptance=acceptance,
                office=world.pestyaki,
                workstation=world.clerk,
                barcode=barcode,
                damaged=hurt,
                now=world.clock.now(),
            )

        assert scan(arrives.tracking_number).result == "accepted"
        assert scan(" " + arrives.tracking_number).result == "duplicate"
        assert scan(damaged.tracking_number, hurt=True).result == "accepted"
        assert scan(foreign.tracking_number).result == "other_office"
        s.refresh(foreign)
        assert foreign.status == "in_transit"  # recorded as mis-sorted, never arrived here
        last = s.scalars(
            select(TrackingEvent)
            .where(TrackingEvent.shipment_id == foreign.id)
            .order_by(TrackingEvent.id.desc())
        ).first()
        assert last is not None
        assert (last.code, last.office_index) == ("missorted", world.pestyaki.index)
        assert scan(unknown).result == "unknown"
        assert (
            scan(
                arrives.tracking_number[:13] + "0"
                if arrives.tracking_number[13] != "0"
                else arrives.tracking_number[:13] + "1"
            ).result
            == "bad_check_digit"
        )
        assert scan("OZON-12345").result == "not_a_tracking_number"
        with pytest.raises(BadBarcode):
            scan("   ")

        assert arrives.status == "arrived_at_office"
        assert damaged.status == "arrived_at_office"
        assert foreign.status == "in_transit"  # another office's parcel is not moved
        event = s.scalars(
            select(TrackingEvent)
            .where(TrackingEvent.shipment_id == arrives.id)
            .order_by(TrackingEvent.id.desc())
        ).first()
        assert event is not None
        assert (event.code, event.office_index, event.actor) == (
            "arrived_at_office",
            "155650",
            "clerk:pestyaki1",
        )

        open_view = office.acceptance_view(s, office=world.pestyaki, acceptance=acceptance)
        messages = {r.result: r.message for r in open_view.scans}
        assert messages["other_office"] == (
            "Чужая посылка — вернуть в доставку. Её отделение: 155654 Алехино."
        )
        assert messages["unknown"].startswith("Неизвестный штрихкод")
        assert "контрольная цифра" in messages["bad_check_digit"]
        assert "не трек-номер" in messages["not_a_tracking_number"]
        assert {r.tone for r in open_view.scans if r.result == "accepted"} == {"ok"}
        counts = office.acceptance_counts(s, office=world.pestyaki, acceptance=acceptance)
        assert counts == {
            "accepted": open_view.accepted_count,
            "expected": 0,
            "extra": 0,
            "missorted": open_view.missorted_count,
            "unexpected": open_view.unexpected_count,
            "damaged": open_view.damaged_count,
            "errors": open_view.error_count,
        }
        assert (counts["accepted"], counts["missorted"], counts["errors"]) == (2, 1, 2)

        office.close_acceptance(
            s,
            acceptance=acceptance,
            office=world.pestyaki,
            workstation=world.clerk,
            now=world.clock.now(),
        )
        report = office.acceptance_view(s, office=world.pestyaki, acceptance=acceptance).report
        assert report is not None
        assert [r.parcel.tracking_number for r in report.accepted if r.parcel] == [
            arrives.tracking_number,
            damaged.tracking_number,
        ]
        assert report.missing == []  # nothing was expected outside a run
        assert [r.barcode for r in report.missorted] == [foreign.tracking_number]
        assert {r.result for r in report.unexpected} == {"unknown"}
        assert [r.barcode for r in report.damaged] == [damaged.tracking_number]
        assert {r.result for r in report.unreadable} == {"bad_check_digit", "not_a_tracking_number"}
        assert missing.status == "in_transit"

    def test_a_closed_acceptance_takes_no_more_scans(self, world: OfficeWorld) -> None:
        s = world.session
        parcel = world.parcel()
        acceptance = office.start_acceptance(
            s, office=world.pestyaki, workstation=world.clerk, now=world.clock.now()
        )
        assert (
            office.start_acceptance(
                s, office=world.pestyaki, workstation=world.clerk, now=world.clock.now()
            )
            is acceptance
        )  # one open acceptance per office
        office.close_acceptance(
            s,
            acceptance=acceptance,
            office=world.pestyaki,
            workstation=world.clerk,
            now=world.clock.now(),
        )
        with pytest.raises(ParcelNotHere, match="уже закрыта"):
            office.scan_for_acceptance(
                s,
                acceptance=acceptance,
                office=world.pestyaki,
                workstation=world.clerk,
                barcode=parcel.tracking_number,
                damaged=False,
                now=world.clock.now(),
            )
        with pytest.raises(ParcelNotFound):
            office.get_acceptance(s, office=world.alekhino, acceptance_id=acceptance.id)

    def test_a_damage_mark_can_be_set_after_the_scan(self, world: OfficeWorld) -> None:
        s = world.session
        parcel = world.parcel()
        acceptance = office.start_acceptance(
            s, office=world.pestyaki, workstation=world.clerk, now=world.clock.now()
        )
        row = office.scan_for_acceptance(
            s,
            acceptance=acceptance,
            office=world.pestyaki,
            workstation=world.clerk,
            barcode=parcel.tracking_number,
            damaged=False,
            now=world.clock.now(),
        )
        office.mark_damaged(s, acceptance=acceptance, scan_id=row.id, damaged=True)
        view = office.acceptance_view(s, office=world.pestyaki, acceptance=acceptance)
        assert view.damaged_count == 1


class TestShelving:
    def test_cells_are_proposed_by_size_and_the_recipient_gets_an_sms(
        self, world: OfficeWorld
    ) -> None:
        s = world.session
        small = world.accepted()
        big = world.accepted(**BIG)
        view = office.shelving_view(s, office=world.pestyaki)
        proposals = {p.parcel.tracking_number: p.proposed_cell for p in view.pending}
        assert proposals == {small.tracking_number: "S-01", big.tracking_number: "M-01"}
        assert view.total_by_class == {"S": 30, "M": 20, "L": 8}
        shelved = office.shelve(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=small.tracking_number,
            cell_input="",
            policy=POLICY,
            now=world.clock.now(),
        )
        assert shelved.cell == "S-01"
        assert small.status == "ready_for_pickup"
        assert small.cell_code == "S-01"
        assert len(sms_code(s, small.tracking_number)) == 6
        after = office.shelving_view(s, office=world.pestyaki)
        assert after.free_by_class["S"] == 29
        assert next(c for c in after.cells if c.code == "S-01").state == "ready"

    def test_a_scanned_cell_label_is_checked(self, world: OfficeWorld) -> None:
        s = world.session
        first, _ = world.shelved()
        big = world.accepted(**BIG)

        def put(cell: str) -> str:
            return office.shelve(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=big.tracking_number,
                cell_input=cell,
                policy=POLICY,
                now=world.clock.now(),
            ).cell

        with pytest.raises(CellRefused, match="не поместится в ячейку S-05: нужна M"):
            put("S-05")
        with pytest.raises(CellRefused, match="нет ячейки M-99"):
            put("M-99")
        with pytest.raises(CellRefused, match="не ячейка"):
            put("shelf")
        first_cell = first.cell_code
        assert first_cell == "S-01"
        small = world.accepted()
        with pytest.raises(CellRefused, match="занята"):
            office.shelve(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=small.tracking_number,
                cell_input="S-01",
                policy=POLICY,
                now=world.clock.now(),
            )
        assert big.status == "arrived_at_office"  # nothing changed
        assert put("ь-03") == "M-03"  # typed through the Russian layout

    def test_a_full_class_overflows_to_the_next_and_then_refuses(self, world: OfficeWorld) -> None:
        s = world.session
        world.pestyaki.cells_s, world.pestyaki.cells_m, world.pestyaki.cells_l = 1, 1, 0
        world.shelved()
        second = world.accepted()
        assert (
            office.find_for_shelving(
                s, office=world.pestyaki, barcode=second.tracking_number
            ).proposed_cell
            == "M-01"
        )
        world.shelved()
        third = world.accepted()
        found = office.find_for_shelving(s, office=world.pestyaki, barcode=third.tracking_number)
        assert found.proposed_cell is None
        assert found.problem is not None
        with pytest.raises(NoFreeCell, match="Нет свободных ячеек размера S и больше"):
            office.shelve(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=third.tracking_number,
                cell_input="",
                policy=POLICY,
                now=world.clock.now(),
            )

    def test_only_arrived_parcels_of_this_office_are_shelved(self, world: OfficeWorld) -> None:
        s = world.session
        on_the_way = world.parcel()
        foreign = world.parcel(to=ALEKHINO)
        shelved, _ = world.shelved()
        with pytest.raises(ParcelNotHere, match="ещё не принята"):
            office.find_for_shelving(s, office=world.pestyaki, barcode=on_the_way.tracking_number)
        with pytest.raises(ParcelNotHere, match="отправьте в 155654 Алехино"):
            office.find_for_shelving(s, office=world.pestyaki, barcode=foreign.tracking_number)
        with pytest.raises(ParcelNotHere, match="уже на полке: ячейка S-01"):
            office.find_for_shelving(s, office=world.pestyaki, barcode=shelved.tracking_number)


class TestIssueByCode:
    def test_the_code_alone_finds_the_parcel_and_opens_its_issue(self, world: OfficeWorld) -> None:
        s = world.session
        world.shelved()
        parcel, code = world.shelved()
        outcome = office.find_by_code(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            code=code,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert outcome.tracking_number == parcel.tracking_number
        view = office.issue_view(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert view.verified
        assert view.recipient_full == "Иванова Мария Петровна"
        assert view.parcel.cell == "S-02"
        office.complete_issue(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            refused={},
            method=None,
            received_kop=None,
            now=world.clock.now(),
        )
        assert parcel.status == "delivered"
        with pytest.raises(ParcelNotHere, match="Уже выдано"):
            office.find_by_tracking(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=parcel.tracking_number,
                phone_last4="4567",
            )

    def test_wrong_codes_close_the_code_search_not_a_neighbours_parcel(
        self, world: OfficeWorld
    ) -> None:
        s = world.session
        parcel, code = world.shelved()
        wrong = _wrong(code)
        for left in (4, 3, 2, 1):
            outcome = office.find_by_code(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                code=wrong,
                policy=POLICY,
                now=world.clock.now(),
            )
            assert outcome.tracking_number is None
            assert (
                outcome.message
                == f"Посылки с таким кодом в отделении нет. Осталось попыток: {left}."
            )
        closing = office.find_by_code(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            code=wrong,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert closing.message is not None
        assert "Поиск по коду закрыт до" in closing.message
        closed = office.find_by_code(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            code=code,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert closed.tracking_number is None  # even the right code waits
        assert parcel.pickup_code_failures == 0  # the parcel itself was never blamed
        assert parcel.pickup_code_locked_until is None
        guard = s.get(CodeSearchGuard, world.pestyaki.id)
        assert guard is not None
        assert guard.locked_until is not None
        # the other way in still works
        office.find_by_tracking(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            phone_last4="4567",
        )
        world.clock.advance(timedelta(minutes=15, seconds=1))
        reopened = office.find_by_code(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            code=code,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert reopened.tracking_number == parcel.tracking_number

    def test_the_code_search_locks_by_the_configured_rule_and_says_so(
        self, world: OfficeWorld
    ) -> None:
        strict = PickupPolicy(pepper=POLICY.pepper, max_failures=3, lock_minutes=40)
        _, code = world.shelved()
        answers = [
            office.find_by_code(
                world.session,
                office=world.pestyaki,
                workstation=world.clerk,
                code=_wrong(code),
                policy=strict,
                now=world.clock.now(),
            ).message
            for _ in range(4)
        ]
        locked_until = world.clock.now() + timedelta(minutes=40)
        until = format_local_time(locked_until, world.pestyaki.timezone)
        assert answers[:3] == [
            "Посылки с таким кодом в отделении нет. Осталось попыток: 2.",
            "Посылки с таким кодом в отделении нет. Осталось попыток: 1.",
            f"Неверный код. Поиск по коду закрыт до {until}: найдите посылку по трек-номеру "
            "и телефону.",
        ]
        assert answers[3] == (
            f"Поиск по коду закрыт до {until}: 3 неверных кода подряд. "
            "Найдите посылку по трек-номеру и телефону."
        )

    def test_a_code_two_parcels_share_opens_neither(self, world: OfficeWorld) -> None:
        first, code = world.shelved()
        second, _ = world.shelved()
        second.pickup_code_hash = hash_pickup_code(
            code, tracking_number=second.tracking_number, pepper=POLICY.pepper
        )
        outcome = office.find_by_code(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            code=code,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert outcome.tracking_number is None
        assert outcome.message is not None
        assert "подходит к нескольким посылкам" in outcome.message
        guard = world.session.get(CodeSearchGuard, world.pestyaki.id)
        assert guard is not None
        assert guard.failures == 0
        assert first.pickup_code_failures == 0

    def test_codes_of_another_office_are_not_found(self, world: OfficeWorld) -> None:
        _, code = world.shelved()
        outcome = office.find_by_code(
            world.session,
            office=world.alekhino,
            workstation=world.village_clerk,
            code=code,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert outcome.tracking_number is None

    def test_a_code_is_six_digits(self, world: OfficeWorld) -> None:
        with pytest.raises(CodeRefused, match="6 цифр"):
            office.find_by_code(
                world.session,
                office=world.pestyaki,
                workstation=world.clerk,
                code="12a",
                policy=POLICY,
                now=world.clock.now(),
            )


class TestIssueByTrackingNumber:
    def test_the_phone_digits_find_it_and_wrong_codes_count_against_it(
        self, world: OfficeWorld
    ) -> None:
        s = world.session
        parcel, code = world.shelved()
        with pytest.raises(ParcelNotFound, match="проверьте цифры"):
            office.find_by_tracking(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=parcel.tracking_number,
                phone_last4="0000",
            )
        office.find_by_tracking(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            phone_last4="4567",
        )
        view = office.issue_view(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert not view.verified
        assert view.recipient_full is None  # the full name only after the code
        with pytest.raises(CodeRefused, match="Сначала проверьте код"):
            office.prepare_issue(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=parcel.tracking_number,
                refused={},
                now=world.clock.now(),
            )
        for left in (4, 3, 2, 1):
            outcome = office.verify_code(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=parcel.tracking_number,
                code=_wrong(code),
                policy=POLICY,
                now=world.clock.now(),
            )
            assert outcome.message == f"Неверный код. Осталось попыток: {left}."
            assert parcel.pickup_code_failures == 5 - left
        locked = office.verify_code(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            code=_wrong(code),
            policy=POLICY,
            now=world.clock.now(),
        )
        assert locked.message is not None
        assert locked.message.startswith("Код заблокирован до ")
        with pytest.raises(CodeRefused, match="новый код можно выслать после"):
            office.reissue_code(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=parcel.tracking_number,
                policy=POLICY,
                now=world.clock.now(),
            )
        world.clock.advance(timedelta(minutes=16))
        office.reissue_code(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            policy=POLICY,
            now=world.clock.now(),
        )
        new_code = sms_code(s, parcel.tracking_number)
        ok = office.verify_code(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=parcel.tracking_number,
            code=new_code,
            policy=POLICY,
            now=world.clock.now(),
        )
        assert ok.tone == "ok"

    def test_another_offices_parcel_is_refused_with_where_it_belongs(
        self, world: OfficeWorld
    ) -> None:
        parcel, _ = world.shelved()
        with pytest.raises(ParcelNotHere) as refused:
            office.find_by_tracking(
                world.session,
                office=world.alekhino,
                workstation=world.village_clerk,
                tracking_number=parcel.tracking_number,
                phone_last4="4567",
            )
        assert refused.value.message == "Посылка другого отделения — отправьте в 155650 Пестяки."

    def test_an_unfound_parcel_cannot_be_opened_by_its_number(self, world: OfficeWorld) -> None:
        parcel, _ = world.shelved()
        with pytest.raises(ParcelNotFound, match="Сначала найдите посылку"):
            office.issue_view(
                world.session,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=parcel.tracking_number,
                policy=POLICY,
                now=world.clock.now(),
            )


class TestIssueAndCash:
    def _open(self, world: OfficeWorld, *, cod: bool = True) -> tuple[str, str]:
        parcel, code = world.shelved(two_items=True, cod=cod)
        office.find_by_code(
            world.session,
            office=world.pestyaki,
            workstation=world.clerk,
            code=code,
            policy=POLICY,
            now=world.clock.now(),
        )
        return parcel.tracking_number, code

    def test_partial_issue_with_cash_and_change(self, world: OfficeWorld) -> None:
        s = world.session
        number, _ = self._open(world)
        payment = office.prepare_issue(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=number,
            refused={1: 1},
            now=world.clock.now(),
        )
        assert payment.due_kop == 35000
        assert [(i.name, i.refused_quantity) for i in payment.refused] == [("Тарелка", 1)]
        with pytest.raises(IssueRefused, match="Получено 300,00"):
            office.complete_issue(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=number,
                refused={1: 1},
                method="cash",
                received_kop=30000,
                now=world.clock.now(),
            )
        received = office.complete_issue(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=number,
            refused={1: 1},
            method="cash",
            received_kop=50000,
            now=world.clock.now(),
        )
        assert received == 50000
        receipt = office.receipt(
            s, office=world.pestyaki, tracking_number=number, received_kop=received
        )
        assert receipt.due_kop == 35000
        assert receipt.change_kop == 15000
        assert receipt.method == "cash"
        assert receipt.clerk == "pestyaki1"
        assert [i.name for i in receipt.refused] == ["Тарелка"]
        shipment = shipment_service.get_shipment(s, marketplace_id=None, tracking_number=number)
        assert shipment.status == "partially_delivered"
        assert shipment.cod_collected_kop == 35000
        assert shipment.cod_collected_by == "clerk:pestyaki1"

    def test_payment_is_checked_before_anything_changes(self, world: OfficeWorld) -> None:
        s = world.session
        number, _ = self._open(world)
        with pytest.raises(IssueRefused, match="способ оплаты"):
            office.complete_issue(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=number,
                refused={},
                method=None,
                received_kop=None,
                now=world.clock.now(),
            )
        with pytest.raises(IssueRefused, match="полный отказ"):
            office.prepare_issue(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=number,
                refused={0: 1, 1: 2},
                now=world.clock.now(),
            )
        with pytest.raises(IssueRefused, match="от 0 до 2"):
            office.prepare_issue(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                tracking_number=number,
                refused={1: 3},
                now=world.clock.now(),
            )
        shipment = shipment_service.get_shipment(s, marketplace_id=None, tracking_number=number)
        assert shipment.status == "ready_for_pickup"
        office.complete_issue(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=number,
            refused={},
            method="card",
            received_kop=None,
            now=world.clock.now(),
        )
        assert shipment.cod_method == "card"
        assert shipment.cod_collected_kop == 60000

    def test_a_village_office_without_a_terminal_takes_cash_only(self, world: OfficeWorld) -> None:
        s = world.session
        parcel = world.parcel(to=ALEKHINO, two_items=True, cod=True)
        acceptance = office.start_acceptance(
            s, office=world.alekhino, workstation=world.village_clerk, now=world.clock.now()
        )
        office.scan_for_acceptance(
            s,
            acceptance=acceptance,
            office=world.alekhino,
            workstation=world.village_clerk,
            barcode=parcel.tracking_number,
            damaged=False,
            now=world.clock.now(),
        )
        office.shelve(
            s,
            office=world.alekhino,
            workstation=world.village_clerk,
            tracking_number=parcel.tracking_number,
            cell_input="",
            policy=POLICY,
            now=world.clock.now(),
        )
        office.find_by_code(
            s,
            office=world.alekhino,
            workstation=world.village_clerk,
            code=sms_code(s, parcel.tracking_number),
            policy=POLICY,
            now=world.clock.now(),
        )
        with pytest.raises(IssueRefused, match="нет терминала"):
            office.complete_issue(
                s,
                office=world.alekhino,
                workstation=world.village_clerk,
                tracking_number=parcel.tracking_number,
                refused={},
                method="card",
                received_kop=None,
                now=world.clock.now(),
            )

    def test_a_refusal_sends_the_parcel_to_the_returns(self, world: OfficeWorld) -> None:
        s = world.session
        number, _ = self._open(world, cod=False)
        line = office.refuse_parcel(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=number,
            now=world.clock.now(),
        )
        assert line.status == "refused"
        returns = office.returns_view(s, office=world.pestyaki)
        assert [p.tracking_number for p in returns.to_return] == [number]


class TestReturns:
    def test_expired_refused_and_partly_taken_parcels_go_back(self, world: OfficeWorld) -> None:
        s = world.session
        expired, _ = world.shelved()
        waiting, _ = world.shelved()
        waiting.storage_deadline = world.clock.now() + timedelta(days=30)
        world.clock.advance(timedelta(days=8))
        assert shipment_service.expire_storage(s, world.clock.now()) == 1
        view = office.returns_view(s, office=world.pestyaki)
        assert [p.tracking_number for p in view.to_return] == [expired.tracking_number]
        assert view.to_return[0].cell == "S-01"
        with pytest.raises(ParcelNotHere, match="возвращать рано"):
            office.scan_return(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                barcode=waiting.tracking_number,
                now=world.clock.now(),
            )
        line = office.scan_return(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            barcode=expired.tracking_number,
            now=world.clock.now(),
        )
        assert line.status == "returning"
        assert line.cell == "S-01"
        assert expired.status == "returning"
        with pytest.raises(ParcelNotHere, match="Уже оформлена в возврат"):
            office.scan_return(
                s,
                office=world.pestyaki,
                workstation=world.clerk,
                barcode=expired.tracking_number,
                now=world.clock.now(),
            )
        # The parcel keeps its cell until a return run's van loads it.
        cells = office.shelving_view(s, office=world.pestyaki).cells
        assert next(c for c in cells if c.code == "S-01").state == "expired"
        assert [
            p.tracking_number for p in office.returns_view(s, office=world.pestyaki).returning
        ] == [expired.tracking_number]


class TestDayReport:
    def test_the_day_in_figures(self, world: OfficeWorld) -> None:
        s = world.session
        full, code = world.shelved(two_items=True, cod=True)
        world.shelved()
        office.find_by_code(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            code=code,
            policy=POLICY,
            now=world.clock.now(),
        )
        office.complete_issue(
            s,
            office=world.pestyaki,
            workstation=world.clerk,
            tracking_number=full.tracking_number,
            refused={},
            method="cash",
            received_kop=None,
            now=world.clock.now(),
        )
        report = office.day_report(
            s,
            office=world.pestyaki,
            day=office.local_today(world.pestyaki, world.clock.now()),
            now=world.clock.now(),
        )
        assert report.received == 2
        assert report.issued == 1
        assert report.waiting == 1
        assert [(c.marketplace, c.method, c.parcels, c.total_kop) for c in report.cash] == [
            ("OZON", "cash", 1, 60000)
        ]
        assert report.cash_total_kop == 60000
        assert report.card_total_kop == 0
        assert report.free_by_class["S"] == 29
        assert len(report.acceptances) == 1
        sms = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sms")).all()
        assert len(sms) >= 2
