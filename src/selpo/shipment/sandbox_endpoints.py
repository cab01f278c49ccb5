"""The sandbox's routes (test keys only): a thin shell over ``shipment.sandbox``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from selpo.deps import ClockDep, SessionDep, SettingsDep
from selpo.errors import PROBLEM_JSON, InvalidInput, problem_responses
from selpo.kit.openapi import keep_nulls
from selpo.marketplace.deps import SandboxMarketplaceDep
from selpo.network import regions
from selpo.shipment import sandbox, service
from selpo.shipment.lifecycle import Status
from selpo.shipment.schemas import SandboxAdvance, ShipmentRead
from selpo.shipment.tracking import InvalidTrackingNumber, parse_tracking_number

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"])

ADVANCE_EXAMPLES: dict[str, Any] = {
    "delivered": {
        "summary": "All the way: handed over, in transit, arrived, ready, delivered (COD in cash)",
        "value": {"status": "delivered"},
    },
    "ready": {
        "summary": "On the shelf: shipment.ready_for_pickup (with the pickup code if opted in)",
        "value": {"status": "ready_for_pickup"},
    },
    "partly": {
        "summary": "Partly delivered: one unit of line 0 refused",
        "value": {
            "status": "partially_delivered",
            "refused_items": [{"position": 0, "quantity": 1}],
        },
    },
    "refused_then_returned": {
        "summary": "A refusal (then advance again to `returned`)",
        "value": {"status": "refused"},
    },
}


def _example_numbers() -> tuple[str, str]:
    numbers = regions.data_example("tracking_numbers")
    index = regions.data_example("office_index")
    number = numbers[0] if isinstance(numbers, list) and numbers else "10100005000177"
    return str(number), str(index or "101000")


def _delivered_example() -> dict[str, Any]:
    number, index = _example_numbers()
    at = "2026-11-25T09:00:00Z"
    walked = ["handed_over", "in_transit", "arrived_at_office", "ready_for_pickup", "delivered"]
    return {
        "tracking_number": number,
        "external_order_id": "ORD-1001",
        "status": "delivered",
        "destination_index": index,
        "recipient": {"name": "И****** М. П.", "phone": "+7******4567"},
        "parcel": {
            "weight_g": 1200,
            "length_mm": 300,
            "width_mm": 200,
            "height_mm": 100,
            "declared_value_kop": 150000,
            "cod_kop": 150000,
        },
        "items": [
            {
                "sku": "SKU-1",
                "name": "Чайник",
                "quantity": 1,
                "price_kop": 150000,
                "refused_quantity": 0,
            }
        ],
        "options": {"fitting": False, "contents_check": False, "partial_redemption": False},
        "promised_date": "2026-11-27",
        "ready_at": at,
        "storage_deadline": "2026-12-02T20:59:59Z",
        "storage_extended": False,
        "cod_collected_kop": 150000,
        "cod_method": "cash",
        "created_at": "2026-11-25T08:55:00Z",
        "updated_at": at,
        "places": [
            {
                "number": 1,
                "tracking_number": number,
                "weight_g": 1200,
                "length_mm": 300,
                "width_mm": 200,
                "height_mm": 100,
                "external_place_id": None,
                "status": "delivered",
                "arrived_at": at,
            }
        ],
        "events": [
            {
                "code": "created",
                "status": "created",
                "applied": True,
                "occurred_at": "2026-11-25T08:55:00Z",
                "office_index": None,
                "actor": "marketplace-api",
                "changed": None,
            },
            *(
                {
                    "code": step,
                    "status": step,
                    "applied": True,
                    "occurred_at": at,
                    "office_index": index if step not in ("handed_over", "in_transit") else None,
                    "actor": "sandbox",
                    "changed": None,
                }
                for step in walked
            ),
        ],
    }


def _refusal_example() -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "a delivered shipment cannot reach returned; it can reach: nothing (final)",
        "errors": [
            {
                "field": "status",
                "reason": "a delivered shipment cannot reach returned; it can reach: "
                "nothing (final)",
            }
        ],
        "current_status": "delivered",
        "allowed": [],
    }


def _test_key_example() -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": "this route is the sandbox's: call it with a test key (sk_test_...)",
        "errors": [
            {
                "field": "Authorization",
                "reason": "this route is the sandbox's: call it with a test key (sk_test_...)",
            }
        ],
    }


def _responses() -> dict[int | str, dict[str, Any]]:
    responses = problem_responses(400, 401, 403, 404, 409, 413, 422, 429)
    responses[200] = {
        "description": "The shipment at the status asked, with the events of every step",
        "content": {"application/json": {"example": keep_nulls(_delivered_example())}},
    }
    examples = {403: _test_key_example(), 409: _refusal_example()}
    for status, example in examples.items():
        responses[status] = {
            **responses[status],
            "content": {
                PROBLEM_JSON: {**responses[status]["content"][PROBLEM_JSON], "example": example}
            },
        }
    return responses


@router.post(
    "/shipments/{tracking_number}/advance",
    response_model=ShipmentRead,
    responses=_responses(),
)
def advance_shipment(
    tracking_number: str,
    body: Annotated[SandboxAdvance, Body(openapi_examples=ADVANCE_EXAMPLES)],
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: SandboxMarketplaceDep,
) -> ShipmentRead:
    """Move a sandbox shipment (made with a test key) to a status, through every status on
    the way, with the webhooks a real parcel's life sends (`shipment.status_changed` at each
    step, `shipment.ready_for_pickup`, ...). Delivery takes the COD in cash; nobody is
    texted. A live key gets 403; a status the lifecycle does not lead to, 409 with the
    current status and the ones it can reach."""
    try:
        number = parse_tracking_number(tracking_number)
    except InvalidTrackingNumber as exc:
        raise InvalidInput(str(exc), field="tracking_number") from None
    assert principal.marketplace_id is not None
    refused = (
        None
        if body.refused_items is None
        else {item.position: item.quantity for item in body.refused_items}
    )
    shipment = sandbox.advance(
        session,
        marketplace_id=principal.marketplace_id,
        tracking_number=number,
        status=Status(body.status),
        now=clock.now(),
        policy=service.PickupPolicy(pepper=settings.pickup_code_pepper),
        refused_items=refused,
    )
    return service.read_shipment(session, shipment)
