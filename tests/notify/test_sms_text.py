"""The recipient's SMS: the segment counter (GSM-7 and UCS-2 rules) and texts that always fit
in two segments, for the longest addresses of real regions, the longest amounts, any address;
and the texts the shipment services actually queue."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from selpo.models import Marketplace, OutboxMessage, PostOffice, Shipment
from selpo.network import regions
from selpo.notify import sms_text
from selpo.notify.sms_text import (
    MAX_AMOUNT_KOP,
    ParcelFacts,
    clip,
    extension_text,
    format_amount,
    measure,
    ready_text,
    reminder_text,
    segments,
    short_address,
    tracking_link,
)
from selpo.shipment import service
from selpo.shipment.schemas import ShipmentCreate
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key, shipment_payload

NUMBER = "15395026000014"
CODE = "048213"
LONGEST_AMOUNT = MAX_AMOUNT_KOP - 1  # 99 999 999,99 ₽: the longest written amount
LONG_URL = "https://track.selpo-logistics.example.ru/"
# Regions imported from the national reference: the bundled one and a few far apart, with
# long names (Саха (Якутия) Республика, Ханты-Мансийский автономный округ - Югра).
REFERENCE_REGIONS = ["37", "14", "05", "86", "25"]

GSM_PLAIN = sorted(sms_text.GSM_BASIC)
CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"


def _facts(address: str, to_pay_kop: int = 0, base_url: str | None = None) -> ParcelFacts:
    return ParcelFacts(NUMBER, "155650", address, date(2026, 12, 14), to_pay_kop, base_url)


def _all_texts(facts: ParcelFacts) -> list[str]:
    return [ready_text(facts, CODE), reminder_text(facts), extension_text(facts)]


class TestSegments:
    @pytest.mark.parametrize(
        ("text", "encoding", "units", "count"),
        [
            ("", "GSM-7", 0, 1),
            ("a" * 160, "GSM-7", 160, 1),
            ("a" * 161, "GSM-7", 161, 2),
            ("a" * 306, "GSM-7", 306, 2),
            ("a" * 307, "GSM-7", 307, 3),
            ("€" * 80, "GSM-7", 160, 1),  # the extension table takes two septets
            ("€" * 81, "GSM-7", 162, 2),
            ("a" * 152 + "€" + "a" * 10, "GSM-7", 164, 2),  # the pair moves whole
            ("я" * 70, "UCS-2", 70, 1),
            ("я" * 71, "UCS-2", 71, 2),
            ("я" * 134, "UCS-2", 134, 2),
            ("я" * 135, "UCS-2", 135, 3),
            ("a" * 159 + "я", "UCS-2", 160, 3),  # one Cyrillic letter makes it all UCS-2
            ("😀" * 35, "UCS-2", 70, 1),  # a surrogate pair is two units
            ("я" * 66 + "😀" + "я" * 66, "UCS-2", 134, 3),  # the pair is not split
        ],
    )
    def test_known_lengths(self, text: str, encoding: str, units: int, count: int) -> None:
        length = measure(text)
        assert (length.encoding, length.units, length.segments) == (encoding, units, count)

    @given(st.text(alphabet=GSM_PLAIN, max_size=700))
    def test_plain_gsm_texts(self, text: str) -> None:
        expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
        assert measure(text).encoding == "GSM-7"
        assert segments(text) == expected

    @given(st.text(alphabet=CYRILLIC + " .,:0123456789", min_size=1, max_size=400))
    def test_cyrillic_texts(self, text: str) -> None:
        has_cyrillic = any(ch in CYRILLIC for ch in text)
        limit, part = (70, 67) if has_cyrillic else (160, 153)
        expected = 1 if len(text) <= limit else math.ceil(len(text) / part)
        assert segments(text) == expected

    @given(st.text(max_size=300), st.characters())
    def test_a_longer_text_never_costs_less(self, text: str, extra: str) -> None:
        assert segments(text + extra) >= segments(text) >= 1


class TestAddress:
    @pytest.mark.parametrize(
        ("address", "short"),
        [
            (
                "155000, Ивановская область, Гаврилово-Посадский район, Гаврилов Посад",
                "Гаврилов Посад",
            ),
            (
                "678094, Саха (Якутия) Республика, Мегино-Кангаласский район, Суола",
                "Суола",
            ),
            (
                "628000, Ханты-Мансийский автономный округ - Югра, Кондинский район, Леуши",
                "Леуши",
            ),
            (
                "155650, Ивановская обл., Пестяковский р-н, село Нижний Ландех, улица Советская,"
                " дом 15",
                "с. Нижний Ландех, ул. Советская, д. 15",
            ),
            ("Красное Село, улица Окружная, дом 3", "Красное Село, ул. Окружная, д. 3"),
            ("155650, Пестяковский район", "Пестяковский район"),  # nothing else: kept
        ],
    )
    def test_the_short_address(self, address: str, short: str) -> None:
        assert short_address(address, address[:6]) == short

    @pytest.mark.parametrize(
        ("text", "limit", "clipped"),
        [
            (
                "с. Нижний Ландех, ул. Советская, д. 15",
                100,
                "с. Нижний Ландех, ул. Советская, д. 15",
            ),
            ("с. Нижний Ландех, ул. Советская, д. 15", 30, "с. Нижний Ландех…"),
            ("с. Нижний Ландех, ул. Советская, д. 15", 20, "с. Нижний Ландех…"),
            ("Суола", 3, "Су…"),
            ("Суола", 1, ""),
        ],
    )
    def test_clipping_at_a_word(self, text: str, limit: int, clipped: str) -> None:
        assert clip(text, limit) == clipped

    @given(st.text(max_size=200), st.integers(min_value=0, max_value=250))
    def test_a_clip_never_exceeds_its_limit(self, text: str, limit: int) -> None:
        assert len(clip(text, limit)) <= limit


class TestLinkAndAmount:
    @pytest.mark.parametrize(
        ("base", "link"),
        [
            ("https://selpo.example/", f"selpo.example/t/{NUMBER}"),
            ("https://example.ru/track", f"example.ru/track/t/{NUMBER}"),
            ("http://selpo.example:8080", f"http://selpo.example:8080/t/{NUMBER}"),
            ("http://127.0.0.1:8000", None),  # the development default: no phone reaches it
            ("http://localhost:8000", None),
            ("http://[::1]:8000", None),
            ("ftp://selpo.example", None),
            ("", None),
            (None, None),
        ],
    )
    def test_the_link(self, base: str | None, link: str | None) -> None:
        assert tracking_link(base, NUMBER) == link

    @pytest.mark.parametrize(
        ("kopecks", "shown"),
        [(150000, "1\u00a0500\u00a0₽"), (150050, "1\u00a0500,50\u00a0₽"), (5, "0,05\u00a0₽")],
    )
    def test_amounts_are_short(self, kopecks: int, shown: str) -> None:
        assert format_amount(kopecks) == shown

    def test_an_amount_out_of_range_is_refused(self) -> None:
        with pytest.raises(ValueError, match="out of range"):
            _facts("Пестяки", MAX_AMOUNT_KOP + 1)


class TestTheTexts:
    def test_the_ready_text_says_everything(self) -> None:
        text = ready_text(
            _facts("155650, Ивановская область, Пестяковский район, Пестяки", 150000), CODE
        )
        assert text == (
            f"Заказ {NUMBER} ждёт вас: 155650, Пестяки. Код получения: {CODE}. "
            "Хранение до 14.12. К оплате 1\u00a0500\u00a0₽."
        )

    def test_a_link_replaces_the_number(self) -> None:
        text = ready_text(_facts("Пестяки", 0, "https://selpo.example"), CODE)
        assert text == (
            f"Заказ ждёт вас: 155650, Пестяки. Код получения: {CODE}. Хранение до 14.12. "
            f"selpo.example/t/{NUMBER}"
        )

    def test_reminder_and_extension(self) -> None:
        facts = _facts("Пестяки", 60000)
        assert reminder_text(facts) == (
            f"Заказ {NUMBER} ждёт вас до 14.12: 155650, Пестяки. Код получения прислан ранее. "
            "К оплате 600\u00a0₽."
        )
        assert extension_text(facts) == (
            f"Хранение заказа {NUMBER} продлено до 14.12: 155650, Пестяки. К оплате 600\u00a0₽."
        )

    def test_the_longest_address_of_the_bundled_region(self, session: Session) -> None:
        longest = session.scalars(
            select(PostOffice).order_by(func.length(PostOffice.address).desc()).limit(1)
        ).one()
        for to_pay in (0, 1_234_567, LONGEST_AMOUNT):
            for base in (None, LONG_URL):
                facts = ParcelFacts(
                    NUMBER, longest.index, longest.address, date(2026, 12, 31), to_pay, base
                )
                for text in _all_texts(facts):
                    assert segments(text) <= 2, text
                    assert longest.index in text
                    assert NUMBER in text
                    assert "31.12" in text
                    if to_pay:
                        assert format_amount(to_pay) in text
                ready = ready_text(facts, CODE)
                assert f"Код получения: {CODE}." in ready
                if to_pay <= 1_234_567:  # an ordinary amount: the whole short address fits
                    assert short_address(longest.address, longest.index) in ready

    @pytest.mark.parametrize("code", REFERENCE_REGIONS)
    def test_the_longest_addresses_of_imported_regions(self, code: str) -> None:
        offices = sorted(regions.load_source(code).offices, key=lambda o: len(o.address))
        for office in offices[-3:]:
            for base in (None, LONG_URL):
                facts = ParcelFacts(
                    NUMBER, office.index, office.address, date(2027, 1, 9), LONGEST_AMOUNT, base
                )
                for text in _all_texts(facts):
                    assert segments(text) <= 2, text
                    assert office.index in text
                    assert "99\u00a0999\u00a0999,99\u00a0₽" in text

    @settings(max_examples=300, deadline=None)
    @given(
        address=st.text(max_size=600),
        to_pay=st.integers(min_value=0, max_value=MAX_AMOUNT_KOP),
        code=st.from_regex(r"\A\d{6}\Z"),
        base=st.one_of(st.none(), st.just(LONG_URL), st.from_regex(r"\Ahttps://[a-z]{1,80}\.ru\Z")),
        day=st.dates(min_value=date(2026, 1, 1), max_value=date(2035, 12, 31)),
    )
    def test_every_text_fits_in_two_segments(
        self, address: str, to_pay: int, code: str, base: str | None, day: date
    ) -> None:
        facts = ParcelFacts(NUMBER, "155650", address, day, to_pay, base)
        texts = [ready_text(facts, code), reminder_text(facts), extension_text(facts)]
        for text in texts:
            assert segments(text) <= 2
            assert NUMBER in text
            assert f"{day:%d.%m}" in text
        assert code in texts[0]

    @given(address=st.text(alphabet=CYRILLIC + " ,.-", max_size=300))
    def test_the_address_shortens_deterministically(self, address: str) -> None:
        facts = _facts(address, 1_000_000)
        first = ready_text(facts, CODE)
        assert first == ready_text(_facts(address, 1_000_000), CODE)
        assert segments(first) <= 2


# ---------------------------------------------------------------------------- the services


@pytest.fixture
def ozon(session: Session) -> Marketplace:
    return marketplace_key(session, "OZON", now=TEST_NOW).marketplace


def _waiting(
    session: Session, marketplace: Marketplace, clock: FrozenClock, policy: service.PickupPolicy
) -> tuple[Shipment, str]:
    payload = shipment_payload(external_order_id="SMS-1")
    payload["parcel"]["cod_kop"] = 123456
    outcome = service.create_shipments(
        session,
        marketplace=marketplace,
        shipments_in=[ShipmentCreate.model_validate(payload)],
        now=clock.now(),
    )[0]
    assert outcome.shipment is not None, outcome.error
    number = outcome.shipment.tracking_number
    for event in ("handed_over", "departed_hub", "arrived_at_office"):
        clock.advance(timedelta(hours=4))
        service.record_scan(
            session,
            tracking_number=number,
            code=event,
            occurred_at=clock.now(),
            now=clock.now(),
            office_index="155650",
        )
    shipment = service.get_shipment(session, marketplace_id=marketplace.id, tracking_number=number)
    code = service.make_ready_for_pickup(
        session, shipment=shipment, now=clock.now(), policy=policy, cell_code="S-01"
    )
    return shipment, code


def _texts(session: Session, number: str) -> list[str]:
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "sms", OutboxMessage.reference == number)
        .order_by(OutboxMessage.id)
    )
    return [str(row.payload["text"]) for row in rows]


class TestTheServicesSendThem:
    def test_ready_reminder_and_extension_fit_and_link_the_page(
        self, session: Session, ozon: Marketplace, clock: FrozenClock
    ) -> None:
        policy = service.PickupPolicy(pepper="sms-pepper", base_url="https://selpo.example")
        shipment, code = _waiting(session, ozon, clock, policy)
        service.extend_storage(
            session, shipment=shipment, now=clock.now(), base_url="https://selpo.example"
        )
        assert shipment.storage_deadline is not None
        service.send_storage_reminders(
            session, shipment.storage_deadline - timedelta(days=1), base_url=None
        )
        ready, extended, reminded = _texts(session, shipment.tracking_number)
        link = f"selpo.example/t/{shipment.tracking_number}"
        assert f"Код получения: {code}." in ready
        assert ready.endswith(link)
        assert "К оплате 1\u00a0234,56\u00a0₽." in ready
        assert extended.startswith("Хранение заказа продлено до ")
        assert extended.endswith(link)
        assert reminded.startswith(f"Заказ {shipment.tracking_number} ждёт вас до ")
        for text in (ready, extended, reminded):
            assert segments(text) <= 2, text
            assert "155650" in text
            assert shipment.external_order_id not in text
        assert code not in reminded
        assert code not in extended
