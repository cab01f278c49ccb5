"""The recipient's pages: a tracking form at ``/`` and a parcel's page at ``/t/{number}``.

Russian, server-rendered, no JavaScript at all (the form is a plain GET), one small
stylesheet from ``/static/recipient``; made for a 360 px phone. A thin shell over
``selpo.shipment.recipient_view``, whose view holds nothing personal: no name, no phone, no
pickup code. An unknown or malformed number answers a Russian "не найдено" page (404), the
same for both, so a page tells nothing about numbers that do not exist.

Lookups are limited per client address (``SELPO_RATE_LIMIT_TRACKING_PER_MINUTE``, a token
bucket of ``kit.rate_limit``), so tracking numbers cannot be enumerated: past the limit a
Russian page answers 429 with ``Retry-After``. Behind a proxy the address is the one uvicorn
takes from ``X-Forwarded-For`` (as for the sign-in's limit).
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from babel.dates import format_date
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from selpo.config import Settings
from selpo.deps import ClockDep, ReadSessionDep
from selpo.kit.display import LOCALE, local_day, plural
from selpo.kit.rate_limit import TokenBuckets
from selpo.office.rules import status_ru
from selpo.shipment.recipient_view import OfficeDay, RecipientView, clean_number, find
from selpo.web.rendering import templates

TRACK_PATH = "/t"
HEADERS = {"X-Robots-Tag": "noindex"}  # parcels' pages belong in no search engine

# The history in the recipient's words, by tracking event code (an unknown code is worded by
# the status it left the parcel in, ``office.rules.status_ru``).
EVENT_WORDS: dict[str, str] = {
    "created": "Заказ оформлен, ждёт передачи в доставку",
    "handed_over": "Передан в доставку",
    "arrived_at_sorting_centre": "Прибыл в сортировочный центр",
    "departed_sorting_centre": "Отправлен из сортировочного центра",
    "arrived_at_hub": "Прибыл в районный узел",
    "departed_hub": "Отправлен в отделение",
    "in_transit": "В пути",
    "missorted": "В пути",
    "arrived_at_office": "Прибыл в отделение",
    "ready_for_pickup": "Ждёт вас в отделении",
    "pickup_code_reissued": "Код получения отправлен ещё раз",
    "storage_extended": "Срок хранения продлён",
    "delivered": "Выдан",
    "partially_delivered": "Выдан частично",
    "refused": "Отказ от получения",
    "storage_expired": "Срок хранения истёк",
    "returning": "Возвращается отправителю",
    "recalled": "Отозван отправителем",
    "returned_to_sender": "Возвращён отправителю",
    "cancelled": "Заказ отменён",
    "lost": "Утерян",
}

router = APIRouter(include_in_schema=False)


def lookup_buckets(settings: Settings) -> TokenBuckets | None:
    """The per-address buckets of tracking lookups (``None``: the limit is off); a burst of
    a minute's worth."""
    per_minute = settings.rate_limit_tracking_per_minute
    if per_minute <= 0:
        return None
    return TokenBuckets(per_minute / 60, max(1.0, per_minute))


def event_words(code: str, status_after: str) -> str:
    """One step of the history in plain Russian."""
    if code in EVENT_WORDS:
        return EVENT_WORDS[code]
    words = status_ru(status_after)
    return words[:1].upper() + words[1:]


def _day_name(day: date, today: date) -> str:
    named = {today: "сегодня", today + timedelta(days=1): "завтра"}
    weekday = format_date(day, "EEE, d MMMM", locale=LOCALE)
    return f"{named[day]}, {weekday}" if day in named else weekday


def _days(view: RecipientView, today: date) -> list[dict[str, Any]]:
    def hours(office_day: OfficeDay) -> str:
        if office_day.holiday:
            return "праздник, закрыто"
        if not office_day.hours:
            return "выходной"
        return ", ".join(f"{start}–{end}" for start, end in office_day.hours)

    return [
        {"name": _day_name(d.day, today), "hours": hours(d), "open": bool(d.hours)}
        for d in view.days
    ]


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    response = templates.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(HEADERS)
    return response


def _not_found(request: Request, number: str) -> Response:
    return _page(request, "recipient/not_found.html", {"number": number[:40]}, status=404)


def _refused_lookup(request: Request) -> Response | None:
    """The 429 page when this address has looked up too many parcels, else ``None``."""
    buckets: TokenBuckets | None = getattr(request.app.state, "tracking_lookups", None)
    if buckets is None:
        return None
    address = request.client.host if request.client else "unknown"
    wait = buckets.take(address)
    if wait <= 0:
        return None
    seconds = max(1, math.ceil(wait))
    wait_words = f"{seconds} {plural(seconds, 'секунду', 'секунды', 'секунд')}"
    response = _page(request, "recipient/too_many.html", {"wait": wait_words}, status=429)
    response.headers["Retry-After"] = str(seconds)
    return response


@router.get("/")
def home(request: Request) -> Response:
    """Форма: номер отслеживания."""
    return _page(request, "recipient/home.html", {"number": ""})


@router.get(TRACK_PATH)
def track_form(number: Annotated[str, Query()] = "") -> Response:
    """The form's answer: to the parcel's own address (a link one can keep and share)."""
    cleaned = clean_number(number)[:40]
    if not cleaned:
        return RedirectResponse("/", status_code=303)
    return RedirectResponse(f"{TRACK_PATH}/{quote(cleaned, safe='')}", status_code=303)


@router.get(TRACK_PATH + "/{number}")
def parcel(request: Request, number: str, db: ReadSessionDep, clock: ClockDep) -> Response:
    """Статус и история посылки, отделение, срок хранения, сумма к оплате."""
    refused = _refused_lookup(request)
    if refused is not None:
        return refused
    now = clock.now()
    view = find(db, number, now=now)
    if view is None:
        return _not_found(request, number)
    history = [
        {"words": event_words(step.code, step.status_after), "at": step.at} for step in view.history
    ]
    return _page(
        request,
        "recipient/parcel.html",
        {
            "v": view,
            "status": status_ru(view.status),
            "history": history,
            "days": _days(view, local_day(now, view.timezone)),
            "tz": view.timezone,
            "number": view.tracking_number,
        },
    )
