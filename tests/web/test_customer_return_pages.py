"""«Возврат от покупателя» through the whole HTTP stack: a wrong code is counted and kept, the
right one opens the return, the clerk takes it with a cash refund, and the label and receipt
are there; the opened return cannot be accepted from another workstation without finding it."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from selpo.config import Settings
from selpo.marketplace import service as marketplace_service
from selpo.models import CustomerReturn, ReturnCodeGuard
from selpo.returns import service as returns
from selpo.returns.schemas import ReturnCreate, ReturnItemIn
from selpo.shipment import service as shipment_service
from tests.office.world import OfficeWorld
from tests.web.test_pages import _sign_in

BASE = "/office/155650/customer-returns"


def _registered(world: OfficeWorld) -> tuple[int, str]:
    """A two-line COD order issued at Pestyaki (600 ₽ in cash) and a return of one plate."""
    marketplace_service.set_returns(world.ozon, refund_cash=True)
    parcel, _ = world.shelved(two_items=True, cod=True)
    shipment_service.issue_to_recipient(
        world.session, shipment=parcel, now=world.clock.now(), cod_method="cash"
    )
    world.clock.advance(timedelta(days=2))
    registered = returns.register_return(
        world.session,
        marketplace=world.ozon,
        return_in=ReturnCreate(
            tracking_number=parcel.tracking_number,
            external_return_id="RET-PAGE",
            reason="трещина",
            items=[ReturnItemIn(position=1, quantity=1)],
        ),
        now=world.clock.now(),
        pepper=Settings().pickup_code_pepper,
    )
    world.session.flush()
    return registered.id, registered.return_code


def test_the_counter_takes_a_return_with_a_cash_refund(
    pages: TestClient, world: OfficeWorld
) -> None:
    return_id, code = _registered(world)
    csrf = _sign_in(pages)
    assert "По коду возврата" in pages.get(BASE).text
    wrong = "0000000000" if code != "0000000000" else "1111111111"
    refused = pages.post(f"{BASE}/code", data={"csrf": csrf, "code": wrong})
    assert refused.headers["location"] == BASE
    assert "Осталось попыток: 4" in pages.get(BASE).text
    world.session.expire_all()
    guard = world.session.get(ReturnCodeGuard, world.pestyaki.id)
    assert guard is not None
    assert guard.failures == 1  # kept, though the answer was a refusal

    found = pages.post(f"{BASE}/code", data={"csrf": csrf, "code": code})
    location = found.headers["location"]
    assert location.startswith(f"{BASE}/{return_id}?ticket=")
    page = pages.get(location)
    assert page.status_code == 200
    assert "Тарелка" in page.text
    assert "250,00" in page.text  # the plate's share of the cash collected
    ticket = re.search(r'name="ticket" value="([0-9a-f]+)"', page.text)
    assert ticket is not None
    # Without the ticket (another workstation that did not find it) nothing is accepted.
    forged = pages.post(
        f"{BASE}/{return_id}/accept", data={"csrf": csrf, "ticket": "0" * 64, "take_1": "1"}
    )
    assert forged.status_code == 303
    world.session.expire_all()
    stored = world.session.get(CustomerReturn, return_id)
    assert stored is not None
    assert stored.status == "registered"

    taken = pages.post(
        f"{BASE}/{return_id}/accept",
        data={"csrf": csrf, "ticket": ticket.group(1), "take_1": "1", "weight_g": "450"},
    )
    assert taken.headers["location"] == f"{BASE}/{return_id}/receipt"
    receipt = pages.get(taken.headers["location"])
    assert "Выдайте покупателю 250,00" in receipt.text
    assert "Возвращено наличными" in receipt.text
    label = pages.get(f"{BASE}/{return_id}/label.pdf")
    assert label.status_code == 200
    assert label.content.startswith(b"%PDF")
    world.session.expire_all()
    stored = world.session.get(CustomerReturn, return_id)
    assert stored is not None
    assert stored.status == "accepted"
    assert stored.refund_kop == 25000
    assert stored.weight_g == 450
    # The day's report shows the cash that left the drawer.
    day = pages.get("/office/155650/day")
    assert "Возвратов от покупателей: 1" in day.text
    assert "выдано наличными" in day.text
    # Alekhino's clerk cannot print Pestyaki's label.
    assert pages.get(f"/office/155654/customer-returns/{return_id}/label.pdf").status_code in (
        403,
        422,
    )
