"""The office clerk's workstation: Russian, server-rendered pages for keyboard and scanner.

A thin shell over ``selpo.office.service``: parse the form, call the service, render or
redirect (Post/Redirect/Get; the outcome travels in the session's flash message). One
transaction per request (``SessionDep``, committed before the response leaves, so a redirect
never outruns its change). A refusal raised by a service is rolled back to a savepoint and
shown; the wrong-code counts come back as outcomes, so they are committed.

Every page answers with ``Cache-Control: no-store`` (the next customer must not find the
previous one's name behind the Back button) and a Content-Security-Policy that allows only
this server's own scripts, styles and forms.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from selpo.config import Settings
from selpo.deps import ClockDep, RowId, SessionDep, SettingsDep
from selpo.errors import PROBLEM_JSON, DomainError, InvalidInput
from selpo.kit.clock import Clock
from selpo.kit.display import plural
from selpo.kit.moments import day_in_range
from selpo.kit.rate_limit import TokenBuckets
from selpo.logistics import return_legs
from selpo.models import PostOffice
from selpo.office import auth, service
from selpo.office.auth import Workstation
from selpo.office.errors import IssueRefused, SessionExpired
from selpo.office.rules import clean_barcode, parse_roubles
from selpo.office.schemas import NextStep
from selpo.shipment.service import PickupPolicy
from selpo.shipment.tracking import TRACKING_RE
from selpo.web import STATIC_DIR, static_url
from selpo.web.rendering import templates

SESSION_COOKIE = "selpo_session"
LOGIN_CSRF_COOKIE = "selpo_login_csrf"
PREFIX = "/office"
REGION = "/region"  # the regional dashboard (selpo.web.pages.region) shares the sign-in
SESSION_PATHS = (PREFIX, REGION)
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

T = TypeVar("T")


async def rollback_request(request: Request) -> None:
    """Roll back the request's session (a page refused: nothing it did may be committed)."""
    db: Session | None = getattr(request.state, "db", None)
    if db is not None:
        await run_in_threadpool(db.rollback)


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    """The session cookie, sent to the workstation's pages and to the regional dashboard only
    (one cookie per path: never to the marketplace API)."""
    for path in SESSION_PATHS:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(auth.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            path=path,
            secure=secure,
        )


def clear_session_cookie(response: Response) -> None:
    """Forget the session cookie on every path it was set for."""
    for path in SESSION_PATHS:
        response.delete_cookie(SESSION_COOKIE, path=path)


def _login_redirect(request: Request) -> Response:
    target = request.url.path if request.method == "GET" else PREFIX
    response = RedirectResponse(f"{PREFIX}/login?next={target}", status_code=303)
    clear_session_cookie(response)
    return response


def _error_page(request: Request, exc: DomainError) -> Response:
    response = templates.TemplateResponse(
        request,
        "office/error.html",
        {"message": exc.message, "status": exc.status_code},
        status_code=exc.status_code,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


class PageRoute(APIRoute):
    """Routes whose refusals become Russian pages (rolled back) instead of JSON problems."""

    writes_on_read = True  # a page shown clears the session's flash message (selpo.deps)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except SessionExpired:
                await rollback_request(request)
                return _login_redirect(request)
            except RequestValidationError:
                await rollback_request(request)
                refusal = InvalidInput("Неверный адрес или данные формы.", field="request")
                return _error_page(request, refusal)
            except DomainError as exc:
                await rollback_request(request)
                return _error_page(request, exc)

        return guarded


router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)


def _scan_problem(exc: DomainError) -> Response:
    response = JSONResponse(exc.problem(), status_code=exc.status_code, media_type=PROBLEM_JSON)
    response.headers.update(SECURITY_HEADERS)
    return response


UNREADABLE_SCAN = "Скан не принят: код длиннее 100 знаков или страница устарела — обновите её."


class ScanRoute(APIRoute):
    """The counter's scan queue (plain JS in the page): one small JSON request per scan, and
    a refusal as a small problem+json whose ``detail`` is the Russian sentence to show (a
    lapsed session too: the queue keeps its scans and asks the clerk to sign in again)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except RequestValidationError:
                await rollback_request(request)
                return _scan_problem(InvalidInput(UNREADABLE_SCAN))
            except DomainError as exc:
                await rollback_request(request)
                return _scan_problem(exc)
            response.headers.update(SECURITY_HEADERS)
            return response

        return guarded


scan_router = APIRouter(prefix=PREFIX, route_class=ScanRoute, include_in_schema=False)
"""The scan endpoints beside the form posts (``app.py`` includes it before ``router``)."""


# ---------------------------------------------------------------------------- dependencies


async def _db(request: Request, session: SessionDep) -> Session:  # no I/O: inline
    request.state.db = session  # for the rollback of a refused request
    return session


DbDep = Annotated[Session, Depends(_db)]


def _signed_in(request: Request, db: Session, clock: Clock) -> Workstation:
    workstation = auth.resolve(db, request.cookies.get(SESSION_COOKIE), now=clock.now())
    if workstation is None:
        raise SessionExpired()
    return workstation


def _workstation(request: Request, db: DbDep, clock: ClockDep) -> Workstation:
    return _signed_in(request, db, clock)


WorkstationDep = Annotated[Workstation, Depends(_workstation)]


@dataclass
class Desk:
    """One request at an office's workstation: who, where, when, on which transaction."""

    request: Request
    db: Session
    workstation: Workstation
    office: PostOffice
    now: datetime
    settings: Settings

    @property
    def base(self) -> str:
        return f"{PREFIX}/{self.office.index}"

    @property
    def policy(self) -> PickupPolicy:
        return service.pickup_policy(self.settings)


def _desk(request: Request, index: str, db: DbDep, clock: ClockDep, settings: SettingsDep) -> Desk:
    # The session and the office in one trip to the thread pool (not one dependency each).
    workstation = _signed_in(request, db, clock)
    office = auth.office_for(db, workstation, index)
    return Desk(request, db, workstation, office, clock.now(), settings)


DeskDep = Annotated[Desk, Depends(_desk)]


async def _posted(desk: DeskDep, csrf: Annotated[str, Form()] = "") -> Desk:  # no I/O
    auth.check_csrf(desk.workstation, csrf)
    return desk


PostDeskDep = Annotated[Desk, Depends(_posted)]


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


# ---------------------------------------------------------------------------- helpers


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _flash(desk: Desk, message: str, tone: str = "ok") -> None:
    desk.workstation.session.flash = message[:500]
    desk.workstation.session.flash_tone = tone


def _attempt(desk: Desk, action: Callable[[], T]) -> T | None:
    """Run a service call in a savepoint; a refusal is rolled back and flashed."""
    try:
        with desk.db.begin_nested():
            return action()
    except DomainError as exc:
        _flash(desk, exc.message, "error")
        return None


def _page(
    desk: Desk,
    template: str,
    *,
    active: str = "",
    status_code: int = 200,
    message: str | None = None,
    tone: str = "error",
    **context: Any,
) -> Response:
    session_row = desk.workstation.session
    flash, flash_tone = session_row.flash, session_row.flash_tone
    if flash is not None:
        session_row.flash = None
        session_row.flash_tone = None
    if message is not None:
        flash, flash_tone = message, tone
    response = templates.TemplateResponse(
        desk.request,
        template,
        {
            "office": service.office_ref(desk.office),
            "tz": desk.office.timezone,
            "clerk": desk.workstation.clerk,
            "csrf": desk.workstation.csrf_token,
            "now": desk.now,
            "base": desk.base,
            "active": active,
            "flash": flash,
            "flash_tone": flash_tone or "ok",
            **context,
        },
        status_code=status_code,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _safe_next(target: str) -> str:
    if "\\" in target or target.startswith("//"):
        return PREFIX
    if target.startswith(PREFIX + "/") or target == REGION or target.startswith(REGION + "/"):
        return target
    return PREFIX


# ---------------------------------------------------------------------------- sign-in


def _login_page(
    request: Request, *, next_url: str, message: str | None, status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "office/login.html",
        {"csrf": token, "next": next_url, "message": message},
        status_code=status_code,
    )
    response.headers.update(SECURITY_HEADERS)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path=f"{PREFIX}/login",
        secure=_secure(request),
    )
    return response


@router.get("/login")
def login_page(request: Request, db: DbDep, clock: ClockDep, next: str = "") -> Response:
    """The sign-in form."""
    if auth.resolve(db, request.cookies.get(SESSION_COOKIE), now=clock.now()) is not None:
        return _redirect(_safe_next(next))
    return _login_page(request, next_url=next, message=None)


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    clock: ClockDep,
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password; a wrong one is counted against this login from this client
    address (five in a row lock that address out; see ``auth.sign_in``)."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not csrf or not expected or not hmac.compare_digest(csrf, expected):
        return _login_page(
            request,
            next_url=next,
            message="Форма входа устарела: введите логин и пароль ещё раз.",
            status_code=403,
        )
    result = auth.sign_in(
        db,
        login=login,
        password=password,
        now=clock.now(),
        address=request.client.host if request.client else "unknown",
    )
    if result.token is None:
        message = result.refusal.message if result.refusal else "Вход не выполнен."
        return _login_page(request, next_url=next, message=message, status_code=401)
    response = _redirect(_safe_next(next))
    set_session_cookie(response, result.token, secure=_secure(request))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PREFIX}/login")
    return response


@router.post("/logout")
def logout(
    workstation: WorkstationDep, clock: ClockDep, csrf: Annotated[str, Form()] = ""
) -> Response:
    """End the session."""
    auth.check_csrf(workstation, csrf)
    auth.sign_out(workstation, now=clock.now())
    response = _redirect(f"{PREFIX}/login")
    clear_session_cookie(response)
    return response


@router.get("")
def root(request: Request, db: DbDep, workstation: WorkstationDep) -> Response:
    """A clerk goes to their office; a supervisor chooses one of the district's; a manager,
    who does no counter work, goes to the regional dashboard, a dispatcher to the hubs' runs."""
    if workstation.clerk.role == "manager":
        return _redirect(REGION)
    if workstation.clerk.role == "dispatcher":
        return _redirect(f"{PREFIX}/dispatch")
    offices = auth.offices_of(db, workstation)
    if workstation.clerk.role == "clerk" and offices:
        return _redirect(f"{PREFIX}/{offices[0].index}")
    response = templates.TemplateResponse(
        request,
        "office/choose.html",
        {"offices": offices, "clerk": workstation.clerk, "csrf": workstation.csrf_token},
    )
    response.headers.update(SECURITY_HEADERS)
    return response


# ---------------------------------------------------------------------------- home


@router.get("/{index}")
def home(desk: DeskDep) -> Response:
    """The start screen: what waits for the clerk, and the keys to each task."""
    return _page(desk, "office/home.html", active="home", view=service.home(desk.db, desk.office))


# ---------------------------------------------------------------------------- acceptance


@router.get("/{index}/acceptance")
def acceptance_start_page(desk: DeskDep) -> Response:
    """The open acceptance, or the button that starts one, and the latest acceptances."""
    view = service.home(desk.db, desk.office)
    if view.open_acceptance_id is not None:
        return _redirect(f"{desk.base}/acceptance/{view.open_acceptance_id}")
    runs = service.arriving_runs(desk.db, office=desk.office, now=desk.now)
    return _page(
        desk,
        "office/acceptance_start.html",
        active="acceptance",
        expected=view.expected,
        runs=runs,
        waiting=[r for r in runs if r.acceptance_id is None],
        no_run=service.NO_RUN,
        recent=service.recent_acceptances(desk.db, desk.office),
    )


@router.post("/{index}/acceptance")
def acceptance_start(desk: PostDeskDep, run: Annotated[str, Form()] = "") -> Response:
    """Start accepting a delivery: the route run chosen (``run``: its id, or ``none`` for a
    delivery outside any run; empty: the only run arriving today, if there is one)."""
    acceptance = _attempt(
        desk,
        lambda: service.start_acceptance(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            now=desk.now,
            run=run or None,
        ),
    )
    if acceptance is None:
        return _redirect(f"{desk.base}/acceptance")
    return _redirect(f"{desk.base}/acceptance/{acceptance.id}")


@router.get("/{index}/acceptance/{acceptance_id}")
def acceptance_page(desk: DeskDep, acceptance_id: RowId) -> Response:
    """Scanning (open) or the discrepancy report (closed)."""
    acceptance = service.get_acceptance(desk.db, office=desk.office, acceptance_id=acceptance_id)
    view = service.acceptance_view(desk.db, office=desk.office, acceptance=acceptance)
    template = (
        "office/acceptance.html" if view.status == "open" else "office/acceptance_report.html"
    )
    return _page(desk, template, active="acceptance", view=view)


@router.post("/{index}/acceptance/{acceptance_id}/scan")
def acceptance_scan(
    desk: PostDeskDep,
    acceptance_id: RowId,
    barcode: Annotated[str, Form()] = "",
    damaged: Annotated[str, Form()] = "",
) -> Response:
    """One scan: the result comes back as the page's coloured message."""
    acceptance = service.get_acceptance(desk.db, office=desk.office, acceptance_id=acceptance_id)

    def scan() -> None:
        row = service.scan_for_acceptance(
            desk.db,
            acceptance=acceptance,
            office=desk.office,
            workstation=desk.workstation,
            barcode=barcode,
            damaged=bool(damaged),
            now=desk.now,
        )
        shown = service.describe_scan(desk.db, office=desk.office, scan=row)
        mark = " Отмечена как повреждённая." if row.damaged else ""
        prefix = "" if row.barcode in shown.message else f"{row.barcode}: "
        _flash(desk, f"{prefix}{shown.message}{mark}", shown.tone)

    _attempt(desk, scan)
    return _redirect(f"{desk.base}/acceptance/{acceptance_id}")


@router.post("/{index}/acceptance/{acceptance_id}/damaged/{scan_id}")
def acceptance_damaged(
    desk: PostDeskDep,
    acceptance_id: RowId,
    scan_id: RowId,
    damaged: Annotated[str, Form()] = "",
) -> Response:
    """Set or clear the damage mark of a scanned parcel."""
    acceptance = service.get_acceptance(desk.db, office=desk.office, acceptance_id=acceptance_id)
    row = _attempt(
        desk,
        lambda: service.mark_damaged(
            desk.db, acceptance=acceptance, scan_id=scan_id, damaged=damaged == "1"
        ),
    )
    if row is not None:
        state = "повреждена" if row.damaged else "без повреждений"
        _flash(desk, f"{row.barcode}: отмечена как {state}.", "warn" if row.damaged else "ok")
    return _redirect(f"{desk.base}/acceptance/{acceptance_id}")


@router.post("/{index}/acceptance/{acceptance_id}/close")
def acceptance_close(desk: PostDeskDep, acceptance_id: RowId) -> Response:
    """Close the acceptance and show its discrepancy report."""
    acceptance = service.get_acceptance(desk.db, office=desk.office, acceptance_id=acceptance_id)
    _attempt(
        desk,
        lambda: service.close_acceptance(
            desk.db,
            acceptance=acceptance,
            office=desk.office,
            workstation=desk.workstation,
            now=desk.now,
        ),
    )
    return _redirect(f"{desk.base}/acceptance/{acceptance_id}")


# ---------------------------------------------------------------------------- shelving


@router.get("/{index}/shelving")
def shelving_page(desk: DeskDep) -> Response:
    """Parcels to shelve with their proposed cells, and the cell map."""
    return _page(
        desk,
        "office/shelving.html",
        active="shelving",
        view=service.shelving_view(desk.db, office=desk.office),
    )


@router.post("/{index}/shelving/find")
def shelving_find(desk: PostDeskDep, barcode: Annotated[str, Form()] = "") -> Response:
    """A scanned parcel: on to its cell."""
    found = _attempt(
        desk, lambda: service.find_for_shelving(desk.db, office=desk.office, barcode=barcode)
    )
    if found is None:
        return _redirect(f"{desk.base}/shelving")
    return _redirect(f"{desk.base}/shelving/{found.parcel.tracking_number}")


@router.get("/{index}/shelving/{tracking_number}")
def shelving_parcel(desk: DeskDep, tracking_number: str) -> Response:
    """One parcel: the proposed cell, and the field for the cell label."""
    found = _attempt(
        desk,
        lambda: service.find_for_shelving(desk.db, office=desk.office, barcode=tracking_number),
    )
    if found is None:
        return _redirect(f"{desk.base}/shelving")
    return _page(desk, "office/shelve_parcel.html", active="shelving", found=found)


@router.post("/{index}/shelving/{tracking_number}")
def shelving_put(
    desk: PostDeskDep, tracking_number: str, cell: Annotated[str, Form()] = ""
) -> Response:
    """Put the parcel in the scanned cell (or the proposed one): it is ready for pickup."""
    shelved = _attempt(
        desk,
        lambda: service.shelve(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            tracking_number=tracking_number,
            cell_input=cell,
            policy=desk.policy,
            now=desk.now,
        ),
    )
    if shelved is None:
        return _redirect(f"{desk.base}/shelving/{tracking_number}")
    sms = " SMS с кодом получения отправлено." if shelved.sms_queued else ""
    _flash(desk, f"Посылка …{shelved.tracking_number[-4:]} — в ячейке {shelved.cell}.{sms}")
    return _redirect(f"{desk.base}/shelving")


# ---------------------------------------------------------------------------- issue


@router.get("/{index}/issue")
def issue_search(desk: DeskDep, tracking: str = "") -> Response:
    """Find a parcel by its pickup code, or by tracking number and phone digits."""
    return _page(
        desk, "office/issue_search.html", active="issue", tracking=clean_barcode(tracking)[:14]
    )


@router.post("/{index}/issue/code")
def issue_by_code(desk: PostDeskDep, code: Annotated[str, Form()] = "") -> Response:
    """A code from the recipient's SMS (a scanned tracking number asks for the phone digits)."""
    cleaned = clean_barcode(code)
    if TRACKING_RE.match(cleaned):
        _flash(desk, "Это трек-номер: введите последние 4 цифры телефона получателя.", "warn")
        return _redirect(f"{desk.base}/issue?tracking={cleaned}")
    outcome = _attempt(
        desk,
        lambda: service.find_by_code(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            code=code,
            policy=desk.policy,
            now=desk.now,
        ),
    )
    if outcome is None:
        return _redirect(f"{desk.base}/issue")
    if outcome.message:
        _flash(desk, outcome.message, outcome.tone)
    if outcome.tracking_number is None:
        return _redirect(f"{desk.base}/issue")
    return _redirect(f"{desk.base}/issue/{outcome.tracking_number}")


@router.post("/{index}/issue/tracking")
def issue_by_tracking(
    desk: PostDeskDep,
    tracking: Annotated[str, Form()] = "",
    phone_last4: Annotated[str, Form()] = "",
) -> Response:
    """A tracking number and the last four digits of the recipient's phone."""
    outcome = _attempt(
        desk,
        lambda: service.find_by_tracking(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            tracking_number=tracking,
            phone_last4=phone_last4,
        ),
    )
    if outcome is None or outcome.tracking_number is None:
        return _redirect(f"{desk.base}/issue?tracking={clean_barcode(tracking)[:14]}")
    return _redirect(f"{desk.base}/issue/{outcome.tracking_number}")


@router.get("/{index}/issue/{tracking_number}")
def issue_parcel(desk: DeskDep, tracking_number: str) -> Response:
    """The parcel at the counter: the code check, then the items to hand over."""
    view = _attempt(
        desk,
        lambda: service.issue_view(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            tracking_number=tracking_number,
            policy=desk.policy,
            now=desk.now,
        ),
    )
    if view is None:
        return _redirect(f"{desk.base}/issue")
    return _page(desk, "office/issue_parcel.html", active="issue", view=view)


@router.post("/{index}/issue/{tracking_number}/verify")
def issue_verify(
    desk: PostDeskDep, tracking_number: str, code: Annotated[str, Form()] = ""
) -> Response:
    """Check the pickup code of the parcel found by number and phone."""
    outcome = _attempt(
        desk,
        lambda: service.verify_code(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            tracking_number=tracking_number,
            code=code,
            policy=desk.policy,
            now=desk.now,
        ),
    )
    if outcome is not None and outcome.message:
        _flash(desk, outcome.message, outcome.tone)
    return _redirect(f"{desk.base}/issue/{tracking_number}")


@router.post("/{index}/issue/{tracking_number}/reissue")
def issue_reissue(desk: PostDeskDep, tracking_number: str) -> Response:
    """Send the recipient a new code by SMS."""
    outcome = _attempt(
        desk,
        lambda: service.reissue_code(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            tracking_number=tracking_number,
            policy=desk.policy,
            now=desk.now,
        ),
    )
    if outcome is not None and outcome.message:
        _flash(desk, outcome.message, outcome.tone)
    return _redirect(f"{desk.base}/issue/{tracking_number}")


def _refused_from_form(form: FormData) -> dict[int, int]:
    refused: dict[int, int] = {}
    for key, value in form.multi_items():
        if not key.startswith("refuse_") or not isinstance(value, str):
            continue
        try:
            position, quantity = int(key.removeprefix("refuse_")), int(value or "0")
        except ValueError:
            raise IssueRefused("Количество возвращаемых товаров — целое число.") from None
        refused[position] = refused.get(position, 0) + quantity
    return refused


def _refused_from_field(value: str) -> dict[int, int]:
    refused: dict[int, int] = {}
    for part in filter(None, value.split(",")):
        position, _, quantity = part.partition(":")
        try:
            refused[int(position)] = int(quantity)
        except ValueError:
            raise IssueRefused("Список возвращаемых товаров повреждён: начните снова.") from None
    return refused


def _payment_page(
    desk: Desk,
    tracking_number: str,
    refused: dict[int, int],
    *,
    message: str | None = None,
    method: str | None = None,
    received: str = "",
) -> Response:
    payment = service.prepare_issue(
        desk.db,
        office=desk.office,
        workstation=desk.workstation,
        tracking_number=tracking_number,
        refused=refused,
        now=desk.now,
    )
    default_method = method or ("cash" if payment.accepts_cash else "card")
    return _page(
        desk,
        "office/issue_payment.html",
        active="issue",
        payment=payment,
        method=default_method,
        received=received,
        message=message,
        status_code=422 if message else 200,
    )


@router.post("/{index}/issue/{tracking_number}/prepare")
def issue_prepare(desk: PostDeskDep, tracking_number: str, form: FormDep) -> Response:
    """What is taken and what is due (nothing changes yet)."""
    try:
        with desk.db.begin_nested():
            return _payment_page(desk, tracking_number, _refused_from_form(form))
    except DomainError as exc:
        _flash(desk, exc.message, "error")
        return _redirect(f"{desk.base}/issue/{tracking_number}")


@router.post("/{index}/issue/{tracking_number}/complete")
def issue_complete(
    desk: PostDeskDep,
    tracking_number: str,
    refused: Annotated[str, Form()] = "",
    method: Annotated[str, Form()] = "",
    received: Annotated[str, Form()] = "",
) -> Response:
    """Hand the parcel over and take the money: on to the receipt."""
    items = _refused_from_field(refused)
    received_kop: int | None = None
    if received.strip():
        received_kop = parse_roubles(received)
        if received_kop is None:
            return _payment_page(
                desk,
                tracking_number,
                items,
                message=f"«{received.strip()[:20]}» — не сумма: введите рубли, например 1500 "
                "или 1500,50.",
                method=method,
                received=received,
            )
    try:
        with desk.db.begin_nested():
            taken = service.complete_issue(
                desk.db,
                office=desk.office,
                workstation=desk.workstation,
                tracking_number=tracking_number,
                refused=items,
                method=method or None,
                received_kop=received_kop,
                now=desk.now,
            )
    except IssueRefused as exc:
        return _payment_page(
            desk, tracking_number, items, message=exc.message, method=method, received=received
        )
    except DomainError as exc:
        _flash(desk, exc.message, "error")
        return _redirect(f"{desk.base}/issue")
    suffix = f"?received={taken}" if taken is not None else ""
    _flash(desk, "Выдано.")
    return _redirect(f"{desk.base}/receipt/{tracking_number}{suffix}")


@router.post("/{index}/issue/{tracking_number}/refuse")
def issue_refuse(desk: PostDeskDep, tracking_number: str) -> Response:
    """The recipient refuses the whole parcel: it goes to the returns."""
    line = _attempt(
        desk,
        lambda: service.refuse_parcel(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            tracking_number=tracking_number,
            now=desk.now,
        ),
    )
    if line is None:
        return _redirect(f"{desk.base}/issue/{tracking_number}")
    cell = f" из ячейки {line.cell}" if line.cell else ""
    _flash(desk, f"Отказ оформлен: посылку …{tracking_number[-4:]}{cell} — в возвраты.", "warn")
    return _redirect(f"{desk.base}/issue")


@router.get("/{index}/receipt/{tracking_number}")
def receipt_page(desk: DeskDep, tracking_number: str, received: str = "") -> Response:
    """The printable receipt (``received``: the cash given, in kopecks, for the change)."""
    view = service.receipt(
        desk.db,
        office=desk.office,
        tracking_number=tracking_number,
        received_kop=int(received) if re.fullmatch(r"[0-9]{1,12}", received) else None,
    )
    return _page(desk, "office/receipt.html", active="issue", view=view)


@router.post("/{index}/issue/{tracking_number}/document")
def issue_by_document(
    desk: PostDeskDep,
    tracking_number: str,
    document_type: Annotated[str, Form()] = "",
    document_last4: Annotated[str, Form()] = "",
    surname: Annotated[str, Form()] = "",
) -> Response:
    """The recipient has no code: identify them by an identity document (where the
    marketplace allows it)."""
    outcome = _attempt(
        desk,
        lambda: service.verify_document(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            tracking_number=tracking_number,
            document_type=document_type,
            document_last4=document_last4,
            surname=surname,
            now=desk.now,
        ),
    )
    if outcome is not None and outcome.message:
        _flash(desk, outcome.message, outcome.tone)
    return _redirect(f"{desk.base}/issue/{tracking_number}")


# ---------------------------------------------------------------------------- a scan anywhere


def _step_url(desk: Desk, step: NextStep) -> str:
    """The page of a parcel's next step."""
    number = step.tracking_number
    if step.step == "acceptance" and step.acceptance_id is not None:
        return f"{desk.base}/acceptance/{step.acceptance_id}"
    if step.step == "acceptance_start":
        return f"{desk.base}/acceptance"
    if step.step == "shelving":
        return f"{desk.base}/shelving/{number}"
    if step.step == "issue":
        return f"{desk.base}/issue?tracking={number}"
    if step.step == "returns":
        return f"{desk.base}/returns"
    return f"{desk.base}/search?q={number}"


@router.post("/{index}/open")
def open_scanned(
    desk: PostDeskDep,
    barcode: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    """A parcel scanned on the start screen or in «Поиск»: on to the step it needs next."""
    step = _attempt(
        desk,
        lambda: service.open_scanned(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            barcode=barcode,
            now=desk.now,
        ),
    )
    if step is None:
        return _redirect(f"{desk.base}/search" if back == "search" else desk.base)
    if step.message:
        _flash(desk, step.message, step.tone)
    return _redirect(_step_url(desk, step))


def search_buckets(settings: Settings) -> TokenBuckets | None:
    """Per-clerk buckets of «Поиск» searches (``None``: the limit is off); a burst of a
    minute's worth. In memory: no row is written per search."""
    per_minute = settings.rate_limit_counter_search_per_minute
    if per_minute <= 0:
        return None
    return TokenBuckets(per_minute / 60, max(1.0, per_minute))


def _search_wait(desk: Desk) -> int:
    """Seconds this clerk must wait before searching again (0: search now)."""
    buckets: TokenBuckets | None = getattr(desk.request.app.state, "counter_searches", None)
    if buckets is None:
        return 0
    wait = buckets.take(f"clerk:{desk.workstation.clerk.id}")
    return max(1, math.ceil(wait)) if wait > 0 else 0


@router.get("/{index}/search")
def search_page(desk: DeskDep, q: str = "") -> Response:
    """«Поиск»: the office's parcels by tracking number, order number, the phone's last four
    digits or the surname; each with the step it needs next. Limited per clerk
    (``SELPO_RATE_LIMIT_COUNTER_SEARCH_PER_MINUTE``): past it, 429 and when to try again."""
    query = q.strip()[:100]
    if query and (wait := _search_wait(desk)):
        words = f"{wait} {plural(wait, 'секунду', 'секунды', 'секунд')}"
        response = _page(
            desk,
            "office/search.html",
            active="search",
            view=None,
            q=query,
            status_code=429,
            message=f"Слишком много поисков подряд: повторите через {words}.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    view = service.search_parcels(desk.db, office=desk.office, query=query) if query else None
    return _page(desk, "office/search.html", active="search", view=view, q=query)


# ---------------------------------------------------------------------------- returns


@router.get("/{index}/returns")
def returns_page(desk: DeskDep) -> Response:
    """Parcels to send back, the scan that sends them, and what leaves on the next run."""
    view = service.returns_view(desk.db, office=desk.office)
    return _page(
        desk,
        "office/returns.html",
        active="returns",
        view=view,
        cells={p.tracking_number: p.cell for p in view.returning if p.cell},
        outlook=return_legs.office_outlook(desk.db, office_index=desk.office.index, now=desk.now),
    )


@router.post("/{index}/returns/scan")
def returns_scan(desk: PostDeskDep, barcode: Annotated[str, Form()] = "") -> Response:
    """Scan a parcel into the returns."""
    line = _attempt(
        desk,
        lambda: service.scan_return(
            desk.db,
            office=desk.office,
            workstation=desk.workstation,
            barcode=barcode,
            now=desk.now,
        ),
    )
    if line is not None and line.note:
        _flash(desk, line.note)  # an order of several places: the other places still to scan
    elif line is not None:
        cell = f" Ячейка {line.cell} занята до обратного рейса." if line.cell else ""
        _flash(desk, f"Посылка …{line.tracking_number[-4:]} оформлена в возврат.{cell}")
    return _redirect(f"{desk.base}/returns")


# ---------------------------------------------------------------------------- the day


@router.get("/{index}/day")
def day_page(desk: DeskDep, day: str = "") -> Response:
    """The end-of-day report (printable)."""
    chosen: date = service.local_today(desk.office, desk.now)
    if day:
        try:
            chosen = day_in_range(date.fromisoformat(day))
        except ValueError:
            raise InvalidInput("Дата — в виде ГГГГ-ММ-ДД.", field="day") from None
    report = service.day_report(desk.db, office=desk.office, day=chosen, now=desk.now)
    return _page(desk, "office/day.html", active="day", report=report)


# ---------------------------------------------------------------------------- the scan queue

SCAN_ID = r"^[A-Za-z0-9_-]{8,64}$"


class ScanIn(BaseModel):
    """One scan from the counter's queue: the code, and, when the queue kept it while the line
    was down, the moment it was scanned and the id the browser gave it."""

    model_config = ConfigDict(extra="forbid")

    barcode: str = Field(max_length=100)
    damaged: bool = False
    cell: str = Field(default="", max_length=40)
    scan_id: str | None = Field(default=None, pattern=SCAN_ID)
    scanned_at: AwareDatetime | None = None


class ScanOut(BaseModel):
    """What a scan became: ``recorded`` now, or ``replayed`` (recorded before under this id)."""

    scan_id: str | None
    outcome: str
    tone: str
    message: str
    tracking_number: str | None = None
    cell: str | None = None
    scanned_at: datetime | None = None
    server_now: datetime
    counts: dict[str, int] | None = None


def _scan_desk(
    request: Request,
    index: str,
    db: DbDep,
    clock: ClockDep,
    settings: SettingsDep,
    x_csrf_token: Annotated[str, Header()] = "",
) -> Desk:
    workstation = _signed_in(request, db, clock)
    auth.check_csrf(workstation, x_csrf_token)
    office = auth.office_for(db, workstation, index)
    return Desk(request, db, workstation, office, clock.now(), settings)


ScanDeskDep = Annotated[Desk, Depends(_scan_desk)]


@scan_router.get("/sw.js")
def service_worker() -> Response:
    """The counter's service worker (its scope is /office/): the counter's pages and their
    hashed static files, kept for a reload while the line is down."""
    return Response(service_worker_script(), media_type="text/javascript")


# What the service worker keeps for a reload without the line (hashed names: immutable).
OFFLINE_ASSETS = ("office/office.css", "office/office.js", "office/counter.js")


def service_worker_script() -> str:
    """``static/office/sw.js`` with the hashed names of the assets it keeps; its cache is named
    after them, so a new release replaces the old cache."""
    assets = [static_url(path) for path in OFFLINE_ASSETS]
    source = (STATIC_DIR / "office" / "sw.js").read_text(encoding="utf-8")
    version = "-".join(url.rsplit(".", 2)[-2] for url in assets)
    return source.replace("__ASSETS__", json.dumps(assets)).replace("__VERSION__", version)


@scan_router.post("/{index}/acceptance/{acceptance_id}/scans")
def acceptance_scan_json(desk: ScanDeskDep, acceptance_id: RowId, scan: ScanIn) -> ScanOut:
    """One acceptance scan from the queue (``POST .../scan`` is the form's)."""
    acceptance = service.get_acceptance(desk.db, office=desk.office, acceptance_id=acceptance_id)
    earlier = (
        service.find_acceptance_scan(desk.db, client_scan_id=scan.scan_id) if scan.scan_id else None
    )
    row = service.scan_for_acceptance(
        desk.db,
        acceptance=acceptance,
        office=desk.office,
        workstation=desk.workstation,
        barcode=scan.barcode,
        damaged=scan.damaged,
        now=desk.now,
        scanned_at=scan.scanned_at,
        client_scan_id=scan.scan_id,
    )
    shown = service.describe_scan(desk.db, office=desk.office, scan=row)
    counts = service.acceptance_counts(desk.db, office=desk.office, acceptance=acceptance)
    mark = " Отмечена как повреждённая." if row.damaged else ""
    prefix = "" if row.barcode in shown.message else f"{row.barcode}: "
    return ScanOut(
        scan_id=scan.scan_id,
        outcome="replayed" if earlier is not None else "recorded",
        tone=shown.tone,
        message=f"{prefix}{shown.message}{mark}",
        tracking_number=shown.parcel.tracking_number if shown.parcel else None,
        scanned_at=row.scanned_at,
        server_now=desk.now,
        counts=counts,
    )


@scan_router.post("/{index}/shelving/scans")
def shelving_scan_json(desk: ScanDeskDep, scan: ScanIn) -> ScanOut:
    """A parcel and its cell from the queue (empty cell: the proposed one)."""
    earlier = (
        service.find_shelving_scan(desk.db, client_scan_id=scan.scan_id) if scan.scan_id else None
    )
    shelved = service.shelve(
        desk.db,
        office=desk.office,
        workstation=desk.workstation,
        tracking_number=clean_barcode(scan.barcode),
        cell_input=scan.cell,
        policy=desk.policy,
        now=desk.now,
        scanned_at=scan.scanned_at,
        client_scan_id=scan.scan_id,
    )
    sms = " SMS с кодом получения отправлено." if shelved.sms_queued else ""
    return ScanOut(
        scan_id=scan.scan_id,
        outcome="replayed" if earlier is not None else "recorded",
        tone="ok",
        message=f"Посылка …{shelved.tracking_number[-4:]} — в ячейке {shelved.cell}.{sms}",
        tracking_number=shelved.tracking_number,
        cell=shelved.cell,
        server_now=desk.now,
    )


@scan_router.post("/{index}/returns/scans")
def returns_scan_json(desk: ScanDeskDep, scan: ScanIn) -> ScanOut:
    """A parcel scanned into the returns from the queue."""
    line = service.scan_return(
        desk.db,
        office=desk.office,
        workstation=desk.workstation,
        barcode=scan.barcode,
        now=desk.now,
    )
    cell = f" Ячейка {line.cell} свободна." if line.cell else ""
    return ScanOut(
        scan_id=scan.scan_id,
        outcome="recorded",
        tone="ok",
        message=f"Посылка …{line.tracking_number[-4:]} оформлена в возврат.{cell}",
        tracking_number=line.tracking_number,
        cell=line.cell,
        server_now=desk.now,
    )
