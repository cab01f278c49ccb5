"""«Приём вторсырья» at the counter: the clerk weighs a resident's bag for a collection
partner, prints its label, and hands over the receipt (with the partner's coupon code, if it
gives them). On the workstation's page framework (``office.PageRoute``, the sign-in, the
CSRF token, a clerk only at their office); a thin shell over ``collection.service``.

Keyboard and scanner first: the weight field has the focus (a scale that types its reading
and Enter works as a keyboard), Enter takes the bag, the receipt page's Enter prints, Esc
goes on to the next bag.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response

from selpo.collection import printing, rules
from selpo.collection import service as collection
from selpo.kit.display import format_number
from selpo.office.rules import clean_barcode
from selpo.web.pages.office import (
    PREFIX,
    DeskDep,
    PageRoute,
    PostDeskDep,
    _attempt,
    _flash,
    _page,
    _redirect,
)

router = APIRouter(prefix=PREFIX, route_class=PageRoute, include_in_schema=False)


def kilograms(grams: int) -> str:
    """``2450`` -> ``2,45 кг`` (to the gram, as weighed)."""
    return format_number(grams / 1000, 3).rstrip("0").rstrip(",") + "\u00a0кг"


@router.get("/{index}/collection")
def collection_page(desk: DeskDep, choice: str = "") -> Response:
    """The form: what (partner and material), the weight; and the day's bags so far."""
    partners = collection.partners_for_office(desk.db, desk.office)
    choices = [
        (f"{p.code}:{m}", f"{rules.material_ru(m).capitalize()} — {p.name}")
        for p in partners
        for m in p.takes
    ]
    return _page(
        desk,
        "office/collection.html",
        active="collection",
        choices=choices,
        chosen=choice if any(value == choice for value, _ in choices) else "",
        today=collection.today_at_office(desk.db, office=desk.office, now=desk.now),
        kilograms=kilograms,
        min_g=rules.MIN_BAG_G,
        max_g=rules.MAX_BAG_G,
    )


@router.post("/{index}/collection")
def collection_take(
    desk: PostDeskDep,
    what: Annotated[str, Form(max_length=80)] = "",
    weight: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Take the bag: on to its receipt and label (a refusal stays on the form)."""
    partner_code, _, material = what.partition(":")
    bag = _attempt(
        desk,
        lambda: collection.take_bag(
            desk.db,
            office=desk.office,
            clerk=desk.workstation.clerk,
            partner_code=partner_code,
            material=material,
            weight=weight,
            now=desk.now,
        ),
    )
    if bag is None:
        return _redirect(f"{desk.base}/collection?choice={what}")
    _flash(desk, f"Мешок {rules.spaced_bag_code(bag.code)} принят: {kilograms(bag.weight_g)}.")
    return _redirect(f"{desk.base}/collection/{bag.code}")


@router.get("/{index}/collection/{code}")
def bag_page(desk: DeskDep, code: str) -> Response:
    """The resident's receipt (to print) and the bag's label."""
    receipt = collection.bag_receipt(desk.db, office=desk.office, code=clean_barcode(code)[:16])
    return _page(
        desk,
        "office/collection_receipt.html",
        active="collection",
        bag=receipt,
        kilograms=kilograms,
    )


@router.get("/{index}/collection/{code}/label.pdf")
def bag_label(desk: DeskDep, code: str) -> Response:
    """The bag's label (A6, the bag code in Code 128)."""
    receipt = collection.bag_receipt(desk.db, office=desk.office, code=clean_barcode(code)[:16])
    return Response(
        printing.render_bag_label(receipt),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="bag-{receipt.code}.pdf"',
            "Cache-Control": "no-store",
        },
    )
