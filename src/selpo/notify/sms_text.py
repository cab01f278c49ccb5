"""The recipient's SMS texts, each held to two segments, and the segment counter.

An SMS segment carries 140 bytes: 160 characters of the GSM 7-bit alphabet, or 70 UTF-16
units (UCS-2) as soon as one character lies outside that alphabet, and any Cyrillic letter
does. A longer message travels in parts that each give up 6 bytes to a header: 153 GSM
characters or 67 UCS-2 units a part, and a part never splits a GSM escape pair or a UTF-16
surrogate pair. Each part is paid, so a Russian text of 71 characters costs two SMS and one
of 135 costs three. The texts built here are held to ``MAX_SEGMENTS`` (two, so 134 Cyrillic
characters) by construction: the office's address is shortened until the message fits.

What a text holds, in this order of priority: the tracking number or a link to the
recipient's page (``<public base URL>/t/<number>``), the office's index and short address,
the last day of storage (``dd.mm``), the pickup code (only in the SMS that announces it), and
the amount to pay when cash on delivery is due. The link is used when a public base URL is
set and the address still gets ``MIN_ADDRESS`` characters beside it; otherwise the tracking
number stands alone. Shortening is deterministic: the index, region and district parts of
the address go (the index is in the text already), address words are abbreviated (улица →
ул.), and what still does not fit is cut at a word with "…".

Pure: no I/O, no database; the shipment service gives it plain values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal
from urllib.parse import urlsplit

from selpo.kit.display import format_number, format_roubles

MAX_SEGMENTS = 2
GSM_SINGLE, GSM_PART = 160, 153  # septets in one message, in each part of a long one
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 units likewise
MAX_UCS2_CHARACTERS = MAX_SEGMENTS * UCS2_PART  # 134: the budget of a Russian text
MIN_ADDRESS = 16  # characters of address a link may not squeeze out
MAX_AMOUNT_KOP = 100_000_000_00  # the API's ceiling on cash on delivery

# The GSM 03.38 default alphabet (one septet each; ESC, 0x1B, is not a character) and its
# extension table (two septets each: ESC and the character).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("\f^{}\\[~]|€")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsLength:
    """How a text travels: its encoding, its length in that encoding's units, its parts."""

    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def _parts(units: Sequence[int], single: int, part: int) -> int:
    """Parts of a text whose characters take ``units`` each; no character is split."""
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts


def measure(text: str) -> SmsLength:
    """The encoding a phone network would use for ``text``, its units and segments."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        septets = [2 if ch in GSM_EXTENDED else 1 for ch in text]
        return SmsLength("GSM-7", sum(septets), _parts(septets, GSM_SINGLE, GSM_PART))
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SmsLength("UCS-2", sum(units), _parts(units, UCS2_SINGLE, UCS2_PART))


def segments(text: str) -> int:
    """How many SMS ``text`` is sent (and paid) as; an empty text is still one."""
    return measure(text).segments


# ---------------------------------------------------------------------------- the address

_SPACE = re.compile(r"\s+")
_INDEX = re.compile(r"^\d{6}$")
# Parts naming the region or the municipality: the recipient knows them, the SMS does not
# need them (the subject's "… область", "… район", "городской округ …").
_REGIONAL = re.compile(
    r"(?<!\w)(?:область|обл\.?|край|республика|респ\.?|автономн\w*|район|р-н|округ"
    r"|г\.\s?о\.|м\.\s?о\.|поселение)(?!\w)",
    re.IGNORECASE,
)
# Address words and their abbreviations; lower case only, so that a name ("Красное Село")
# keeps its capitalised word.
_ABBREVIATIONS = {
    "улица": "ул.",
    "проспект": "пр-т",
    "переулок": "пер.",
    "площадь": "пл.",
    "шоссе": "ш.",
    "бульвар": "б-р",
    "набережная": "наб.",
    "микрорайон": "мкр",
    "квартал": "кв-л",
    "деревня": "д.",
    "село": "с.",
    "посёлок": "п.",
    "поселок": "п.",
    "город": "г.",
    "дом": "д.",
    "корпус": "к.",
    "строение": "стр.",
}
_ABBREVIATED = frozenset(_ABBREVIATIONS.values())
_WORD = re.compile(r"(?<!\w)(" + "|".join(_ABBREVIATIONS) + r")(?!\w)")


def short_address(address: str, index: str = "") -> str:
    """The part of an office's address that finds it on the spot, abbreviated.

    ``"101000, <область>, <район>, <посёлок>"`` → ``"<посёлок>"``;
    ``"…, село Ильинское, улица Ленина, дом 5"`` → ``"с. Ильинское, ул. Ленина, д. 5"``.
    """
    parts = [_SPACE.sub(" ", part).strip() for part in address.split(",")]
    parts = [part for part in parts if part and part != index and not _INDEX.match(part)]
    kept: list[str] = []
    for part in parts:
        if not _REGIONAL.search(part) and part not in kept:
            kept.append(part)
    if not kept and parts:
        kept = parts[-1:]
    return _WORD.sub(lambda match: _ABBREVIATIONS[match.group(1)], ", ".join(kept))


def clip(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: cut at a word and ended with "…" when
    longer (empty when not even a word and the "…" fit)."""
    if len(text) <= limit:
        return text
    if limit < 2:
        return ""
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space].rstrip(" ,")
        head, _, last = cut.rpartition(" ")
        if head and last in _ABBREVIATED:  # "ул." without its street says nothing
            cut = head
    cut = cut.rstrip(" ,.;:-(")
    return cut + "…" if cut else ""


# ---------------------------------------------------------------------------- the texts


def tracking_link(base_url: str | None, tracking_number: str) -> str | None:
    """``https://selpo.example/`` → ``selpo.example/t/<number>`` (phones make a link of a
    bare host; an http URL keeps its ``http://``). ``None`` when there is no public URL: none
    set, not http(s), or a loopback host (the development default), which no phone reaches."""
    if not base_url:
        return None
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or _local(host):
        return None
    where = parts.netloc + parts.path.rstrip("/")
    prefix = where if parts.scheme == "https" else f"http://{where}"
    return f"{prefix}/t/{tracking_number}"


def _local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def format_amount(kopecks: int) -> str:
    """Money as short as it reads: ``1 500 ₽``, ``1 500,50 ₽``."""
    if kopecks % 100 == 0:
        return format_number(kopecks // 100) + "\u00a0₽"
    return format_roubles(kopecks)


@dataclass(frozen=True)
class ParcelFacts:
    """What an SMS about a waiting parcel says, as plain values."""

    tracking_number: str
    office_index: str
    address: str  # the office's address as stored; shortened here
    deadline: date  # the last local day of storage
    to_pay_kop: int = 0  # cash on delivery still due (0: nothing to pay)
    base_url: str | None = None  # the recipient's page (Settings.public_base_url)

    def __post_init__(self) -> None:
        if not 0 <= self.to_pay_kop <= MAX_AMOUNT_KOP:
            raise ValueError(f"an amount to pay of {self.to_pay_kop} kopecks is out of range")


Compose = Callable[[str | None, str], str]  # (link or None, address) -> the text


def _sentences(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _place(facts: ParcelFacts, address: str) -> str:
    """The index and address, ended as a sentence (a clipped address ends with "…")."""
    place = f"{facts.office_index}, {address}" if address else facts.office_index
    return place if place.endswith(("…", ".")) else place + "."


def _to_pay(facts: ParcelFacts) -> str | None:
    return f"К оплате {format_amount(facts.to_pay_kop)}." if facts.to_pay_kop > 0 else None


def _longest_fitting(build: Callable[[str], str], address: str, floor: int) -> str | None:
    """The text with the longest clip of ``address`` (at least ``floor`` characters of it)
    that fits in ``MAX_SEGMENTS``; ``None`` when not even the floor fits."""
    room = MAX_UCS2_CHARACTERS - measure(build("")).units
    start = max(floor, min(len(address), room))
    for limit in range(start, floor - 1, -1):
        text = build(clip(address, limit))
        if segments(text) <= MAX_SEGMENTS:
            return text
    return None


def _fit(facts: ParcelFacts, compose: Compose) -> str:
    address = short_address(facts.address, facts.office_index)
    link = tracking_link(facts.base_url, facts.tracking_number)
    if link is not None:
        floor = min(len(address), MIN_ADDRESS)
        text = _longest_fitting(lambda clipped: compose(link, clipped), address, floor)
        if text is not None:
            return text
    text = _longest_fitting(lambda clipped: compose(None, clipped), address, 0)
    if text is None:  # the fixed words alone fit: amounts and numbers are bounded
        raise ValueError("an SMS text does not fit in two segments even without the address")
    return text


def _day(value: date) -> str:
    return f"{value:%d.%m}"


def _order(link: str | None, facts: ParcelFacts, word: str = "Заказ") -> str:
    return word if link else f"{word} {facts.tracking_number}"


def ready_text(facts: ParcelFacts, code: str) -> str:
    """The parcel waits at the office: where, the pickup code, until when, what to pay.

    ``Заказ 10100005000177 ждёт вас: 101000, Сосновка. Код получения: 123456. Хранение до
    14.12. К оплате 1 500 ₽.``
    """

    def compose(link: str | None, address: str) -> str:
        return _sentences(
            f"{_order(link, facts)} ждёт вас: {_place(facts, address)}",
            f"Код получения: {code}.",
            f"Хранение до {_day(facts.deadline)}.",
            _to_pay(facts),
            link,
        )

    return _fit(facts, compose)


def reminder_text(facts: ParcelFacts) -> str:
    """Storage ends soon (the code is not kept, only its hash: the first SMS has it).

    ``Заказ 10100005000177 ждёт вас до 14.12: 101000, Сосновка. Код получения прислан
    ранее. К оплате 1 500 ₽.``
    """

    def compose(link: str | None, address: str) -> str:
        return _sentences(
            f"{_order(link, facts)} ждёт вас до {_day(facts.deadline)}: {_place(facts, address)}",
            "Код получения прислан ранее.",
            _to_pay(facts),
            link,
        )

    return _fit(facts, compose)


def extension_text(facts: ParcelFacts) -> str:
    """The marketplace extended the storage: the new last day.

    ``Хранение заказа 10100005000177 продлено до 21.12: 101000, Сосновка. К оплате 1 500 ₽.``
    """

    def compose(link: str | None, address: str) -> str:
        return _sentences(
            f"Хранение {_order(link, facts, 'заказа')} продлено до {_day(facts.deadline)}: "
            f"{_place(facts, address)}",
            _to_pay(facts),
            link,
        )

    return _fit(facts, compose)


def recalled_text(tracking_number: str, base_url: str | None = None) -> str:
    """The sender recalled the parcel: it will not be issued.

    ``Заказ 10100005000177 отозван отправителем и не будет выдан в отделении.`` (with the
    recipient's page when there is one)
    """
    link = tracking_link(base_url, tracking_number)
    return _sentences(
        f"Заказ {tracking_number} отозван отправителем и не будет выдан в отделении.", link
    )
