"""A typed Python client of selpo's marketplace API.

    from selpo_client import SelpoClient, NewShipment

    with SelpoClient("https://selpo.example", api_key="sk_live_…") as selpo:
        shipment = selpo.create_shipment(NewShipment(...))
        pdf = selpo.labels([shipment.tracking_number], format="a4")

Refusals raise ``SelpoError`` (the problem details); webhooks are checked with
``verify_webhook_signature`` / ``parse_webhook``. See docs/api.md of the selpo repository.
"""

from selpo_client.client import SelpoClient
from selpo_client.errors import InvalidSignature, SelpoError, SelpoTransportError
from selpo_client.models import (
    BatchItemResult,
    BatchResult,
    CodReport,
    Handover,
    HandoverAcceptance,
    HandoverShipment,
    Item,
    ItemRead,
    NewPlace,
    NewShipment,
    Options,
    OptionsChange,
    Parcel,
    ParcelChange,
    ParcelRead,
    PayoutDay,
    Payouts,
    PayoutShipment,
    PayoutTotals,
    PickupPoint,
    PickupPointPage,
    Place,
    Quote,
    QuoteRequest,
    Recipient,
    RecipientChange,
    Shipment,
    ShipmentChange,
    ShipmentPage,
    ShipmentSummary,
    TrackingEvent,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventType,
    WebhookSubscription,
    WebhookSubscriptionCreated,
)
from selpo_client.webhooks import (
    SIGNATURE_HEADER,
    parse_webhook,
    sign_webhook,
    verify_webhook_signature,
)

__all__ = [
    "SIGNATURE_HEADER",
    "BatchItemResult",
    "BatchResult",
    "CodReport",
    "Handover",
    "HandoverAcceptance",
    "HandoverShipment",
    "InvalidSignature",
    "Item",
    "ItemRead",
    "NewPlace",
    "NewShipment",
    "Options",
    "OptionsChange",
    "Parcel",
    "ParcelChange",
    "ParcelRead",
    "PayoutDay",
    "PayoutShipment",
    "PayoutTotals",
    "Payouts",
    "PickupPoint",
    "PickupPointPage",
    "Place",
    "Quote",
    "QuoteRequest",
    "Recipient",
    "RecipientChange",
    "SelpoClient",
    "SelpoError",
    "SelpoTransportError",
    "Shipment",
    "ShipmentChange",
    "ShipmentPage",
    "ShipmentSummary",
    "TrackingEvent",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookSubscription",
    "WebhookSubscriptionCreated",
    "parse_webhook",
    "sign_webhook",
    "verify_webhook_signature",
]
