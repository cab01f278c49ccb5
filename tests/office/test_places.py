"""An order of several places at the counter: each place is scanned in, the order is shelved
once it is complete (or at its first place where the marketplace allows), issued only whole,
and goes back whole: every place scanned into the return."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from selpo.models import Shipment
from selpo.office import service as office
from selpo.office.errors import IssueRefused
from selpo.shipment import service as shipment_service
from tests.office.world import POLICY, OfficeWorld, sms_code

BOXES = [
    {"weight_g": 600, "length_mm": 300, "width_mm": 200, "height_mm": 100},
    {"weight_g": 400, "length_mm": 200, "width_mm": 150, "height_mm": 100},
    {"weight_g": 200, "length_mm": 150, "width_mm": 100, "height_mm": 50},
]


def _order(world: OfficeWorld) -> tuple[Shipment, list[str]]:
    """An order of three places, every place handed over and in transit to Pestyaki."""
    parcel: dict[str, Any] = {"declared_value_kop": 150000, "cod_kop": 0}
    shipment = world.parcel(walk=(), places=BOXES, parcel=parcel)
    numbers = [p.tracking_number for p in shipment_service.places_of(world.session, shipment)]
    for code in ("handed_over", "departed_hub"):
        for number in numbers:
            shipment_service.record_scan(
                world.session,
                tracking_number=number,
                code=code,
                occurred_at=world.clock.now(),
                now=world.clock.now(),
            )
    return shipment, numbers


def _accept(world: OfficeWorld, acceptance_id: int, barcode: str) -> tuple[str, str]:
    acceptance = office.get_acceptance(
        world.session, office=world.pestyaki, acceptance_id=acceptance_id
    )
    scan = office.scan_for_acceptance(
        world.session,
        acceptance=acceptance,
        office=world.pestyaki,
        workstation=world.clerk,
        barcode=barcode,
        damaged=False,
        now=world.clock.now(),
    )
    row = office.describe_scan(world.session, office=world.pestyaki, scan=scan)
    return scan.result, row.message


def _open(world: OfficeWorld) -> int:
    return office.start_acceptance(
        world.session, office=world.pestyaki, workstation=world.clerk, now=world.clock.now()
    ).id


def _shelve(world: OfficeWorld, barcode: str) -> str:
    shelved = office.shelve(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        tracking_number=barcode,
        cell_input="",
        policy=POLICY,
        now=world.clock.now(),
    )
    return shelved.cell


def _verify(world: OfficeWorld, shipment: Shipment) -> None:
    code = sms_code(world.session, shipment.tracking_number)
    found = office.find_by_code(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        code=code,
        policy=POLICY,
        now=world.clock.now(),
    )
    assert found.message == "Код верный.", found.message


def _issue(world: OfficeWorld, barcode: str) -> None:
    office.complete_issue(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        tracking_number=barcode,
        refused={},
        method=None,
        received_kop=None,
        now=world.clock.now(),
    )


def test_each_place_is_scanned_in_and_the_order_arrives_with_the_last(
    world: OfficeWorld,
) -> None:
    shipment, numbers = _order(world)
    acceptance = _open(world)
    result, message = _accept(world, acceptance, numbers[1])
    assert result == "accepted"
    assert "место 2 из 3" in message
    assert shipment.status == "in_transit"  # two places still to come
    assert _accept(world, acceptance, numbers[1])[0] == "duplicate"
    assert _accept(world, acceptance, numbers[0])[0] == "accepted"
    assert shipment.status == "in_transit"
    assert _accept(world, acceptance, numbers[2])[0] == "accepted"
    assert shipment.status == "arrived_at_office"
    # shelved, issued and handed over as one: any place's barcode finds the order
    cell = _shelve(world, numbers[2])
    assert shipment.status == "ready_for_pickup"
    assert shipment.cell_code == cell
    places = shipment_service.places_of(world.session, shipment)
    assert {p.status for p in places} == {"ready_for_pickup"}
    _verify(world, shipment)
    _issue(world, shipment.tracking_number)
    assert shipment.status == "delivered"
    assert {p.status for p in shipment_service.places_of(world.session, shipment)} == {"delivered"}


def test_ready_on_first_place_shelves_early_but_issues_only_whole(
    world: OfficeWorld, session: Session
) -> None:
    world.ozon.ready_on_first_place = True
    session.flush()
    shipment, numbers = _order(world)
    acceptance = _open(world)
    assert _accept(world, acceptance, numbers[0])[0] == "accepted"
    assert shipment.status == "arrived_at_office"
    cell = _shelve(world, numbers[0])
    assert shipment.status == "ready_for_pickup"
    statuses = [p.status for p in shipment_service.places_of(session, shipment)]
    assert statuses == ["ready_for_pickup", "in_transit", "in_transit"]
    _verify(world, shipment)
    with pytest.raises(IssueRefused) as refused:
        _issue(world, shipment.tracking_number)
    assert "Ещё в пути: 2 места" in refused.value.message
    assert shipment.status == "ready_for_pickup"
    # the rest come in on a later acceptance and join the order in its cell
    assert _accept(world, acceptance, numbers[1])[0] == "accepted"
    assert _accept(world, acceptance, numbers[2])[0] == "accepted"
    assert shipment.status == "ready_for_pickup"
    assert shipment.cell_code == cell
    _issue(world, numbers[2])
    assert shipment.status == "delivered"


def test_a_refused_order_goes_back_once_every_place_is_scanned(world: OfficeWorld) -> None:
    shipment, numbers = _order(world)
    acceptance = _open(world)
    for number in numbers:
        _accept(world, acceptance, number)
    _shelve(world, numbers[0])
    _verify(world, shipment)
    office.refuse_parcel(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        tracking_number=shipment.tracking_number,
        now=world.clock.now(),
    )
    assert shipment.status == "refused"
    first = office.scan_return(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        barcode=numbers[1],
        now=world.clock.now(),
    )
    assert first.note is not None
    assert "Место 2 из 3" in first.note
    assert numbers[0][-4:] in first.note
    assert numbers[2][-4:] in first.note
    assert shipment.status == "refused"  # not yet: two places still on the shelf
    office.scan_return(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        barcode=numbers[0],
        now=world.clock.now(),
    )
    assert shipment.status == "refused"
    last = office.scan_return(
        world.session,
        office=world.pestyaki,
        workstation=world.clerk,
        barcode=numbers[2],
        now=world.clock.now(),
    )
    assert last.note is None
    assert shipment.status == "returning"
