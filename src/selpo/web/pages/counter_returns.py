"""«Возврат от покупателя»: the counter takes a buyer's return (``selpo.returns.service``).

The clerk finds the return by the code the buyer shows (or by the order's tracking number and
the phone's last four digits), checks the units, accepts it — the label is printed, the cash
paid back where the marketplace asks, with a receipt. A thin shell over the returns service,
on the workstation's desk (``web.pages.office``): one transaction per request, refusals
rolled back and flashed, wrong attempts kept (they come back as outcomes).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Response
from starlette.datastructures import FormData

from selpo.deps import RowId
from selpo.kit.display import format_roubles
from selpo.returns import service as returns
from selpo.returns.errors import CounterRefusal
from selpo.web.pages.office import (
    PREFIX,
    Desk,
    DeskDep,
    FormDep,
    PageRoute,
    PostDeskDep,
    _attempt,
    _flash,
    _page,
    _redirect,
)

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)
_TICKET = re.compile(r"[0-9a-f]{64}")


def _policy(desk: Desk) -> returns.CodePolicy:
    policy = desk.policy
    return returns.CodePolicy(pepper=policy.pepper, lockout=policy.lockout)


def _seat(desk: Desk) -> str:
    return str(desk.workstation.session.id)


def _ticket(value: str) -> str | None:
    return value if _TICKET.fullmatch(value) else None


def _found(desk: Desk, found: returns.Found | None) -> Response:
    base = f"{desk.base}/customer-returns"
    if found is None:
        return _redirect(base)
    if found.return_id is None:
        _flash(desk, found.message, found.tone)
        return _redirect(base)
    return _redirect(f"{base}/{found.return_id}?ticket={found.ticket}")


@router.get("/{index}/customer-returns")
def search_page(desk: DeskDep) -> Response:
    """Find a buyer's return: by its code, or by the order's number and phone digits."""
    return _page(desk, "office/customer_return_search.html", active="customer-returns")


@router.post("/{index}/customer-returns/code")
def by_code(desk: PostDeskDep, code: Annotated[str, Form()] = "") -> Response:
    """The return code the buyer shows (typed or scanned)."""
    found = _attempt(
        desk,
        lambda: returns.find_by_code(
            desk.db,
            office=desk.office,
            code=code,
            seat=_seat(desk),
            policy=_policy(desk),
            now=desk.now,
        ),
    )
    return _found(desk, found)


@router.post("/{index}/customer-returns/order")
def by_order(
    desk: PostDeskDep,
    tracking: Annotated[str, Form()] = "",
    phone_last4: Annotated[str, Form()] = "",
) -> Response:
    """The order's tracking number and the last four digits of the buyer's phone."""
    found = _attempt(
        desk,
        lambda: returns.find_by_order(
            desk.db,
            office=desk.office,
            tracking_number=tracking,
            phone_last4=phone_last4,
            seat=_seat(desk),
            policy=_policy(desk),
            now=desk.now,
        ),
    )
    return _found(desk, found)


@router.get("/{index}/customer-returns/{return_id}")
def return_page(desk: DeskDep, return_id: RowId, ticket: str = "") -> Response:
    """The return at the counter: its lines to check, the refund, the accept button."""
    view = _attempt(
        desk,
        lambda: returns.counter_view(
            desk.db,
            office=desk.office,
            return_id=return_id,
            ticket=_ticket(ticket),
            seat=_seat(desk),
            pepper=desk.policy.pepper,
            now=desk.now,
        ),
    )
    if view is None:
        return _redirect(f"{desk.base}/customer-returns")
    if view.status != "registered":
        return _redirect(f"{desk.base}/customer-returns/{return_id}/receipt")
    return _page(
        desk,
        "office/customer_return.html",
        active="customer-returns",
        view=view,
        ticket=_ticket(ticket) or "",
    )


def _accepted_units(form: FormData) -> dict[int, int]:
    units: dict[int, int] = {}
    for key, value in form.multi_items():
        if not key.startswith("take_") or not isinstance(value, str):
            continue
        try:
            units[int(key.removeprefix("take_"))] = int(value or "0")
        except ValueError:
            raise CounterRefusal("Количество товара — целое число.", field="accepted") from None
    return units


def _grams(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise CounterRefusal("Вес — целое число граммов.", field="weight_g")
    return int(value)


@router.post("/{index}/customer-returns/{return_id}/accept")
def accept(desk: PostDeskDep, return_id: RowId, form: FormDep) -> Response:
    """Take the return (and pay the cash back where asked): on to its label and receipt."""
    ticket = _ticket(str(form.get("ticket") or ""))
    ret = _attempt(
        desk,
        lambda: returns.accept_at_counter(
            desk.db,
            office=desk.office,
            return_id=return_id,
            ticket=ticket,
            seat=_seat(desk),
            pepper=desk.policy.pepper,
            accepted=_accepted_units(form),
            weight_g=_grams(str(form.get("weight_g") or "")),
            actor=desk.workstation.actor,
            now=desk.now,
        ),
    )
    if ret is None:
        suffix = f"?ticket={ticket}" if ticket else ""
        return _redirect(f"{desk.base}/customer-returns/{return_id}{suffix}")
    paid = f" Выдайте покупателю {format_roubles(ret.refund_kop)}." if ret.refund_kop else ""
    _flash(desk, f"Возврат принят: наклейте ярлык.{paid}")
    return _redirect(f"{desk.base}/customer-returns/{return_id}/receipt")


@router.get("/{index}/customer-returns/{return_id}/receipt")
def receipt_page(desk: DeskDep, return_id: RowId) -> Response:
    """The accepted return: its label to print and the buyer's receipt."""
    view = _attempt(desk, lambda: returns.receipt(desk.db, office=desk.office, return_id=return_id))
    if view is None:
        return _redirect(f"{desk.base}/customer-returns")
    return _page(
        desk,
        "office/customer_return_receipt.html",
        active="customer-returns",
        view=view,
        return_id=return_id,
    )


@router.get("/{index}/customer-returns/{return_id}/label.pdf")
def label(desk: DeskDep, return_id: RowId) -> Response:
    """The return label (PDF, A6) of a return accepted here."""
    pdf = returns.label_pdf(desk.db, office=desk.office, return_id=return_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="return-{return_id}.pdf"'},
    )
