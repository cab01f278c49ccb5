"""ORM tables, one module per table; importing this package registers them all on ``Base``."""

from selpo.models.acceptance import Acceptance
from selpo.models.acceptance_scan import AcceptanceScan
from selpo.models.api_key import ApiKey
from selpo.models.clerk import Clerk
from selpo.models.clerk_session import ClerkSession
from selpo.models.clerk_sign_in_guard import ClerkSignInGuard
from selpo.models.code_search_guard import CodeSearchGuard
from selpo.models.collection_act import CollectionAct, CollectionActSerial
from selpo.models.collection_bag import CollectionBag
from selpo.models.collection_partner import CollectionPartner, CollectionPartnerOffice
from selpo.models.customer_return import CustomerReturn, CustomerReturnItem, ReturnCodeGuard
from selpo.models.district import District
from selpo.models.handover import Handover
from selpo.models.handover_entry import HandoverEntry
from selpo.models.handover_serial import HandoverSerial
from selpo.models.hub import Hub
from selpo.models.idempotency_record import IdempotencyRecord
from selpo.models.issue_receipt import IssueReceipt
from selpo.models.line_haul import LineHaul
from selpo.models.manifest_entry import ManifestEntry
from selpo.models.marketplace import Marketplace
from selpo.models.marketplace_connection import MarketplaceConnection
from selpo.models.network_version import NetworkVersion
from selpo.models.outbox_message import OutboxMessage
from selpo.models.payout_day import PayoutDay
from selpo.models.plan import Plan
from selpo.models.plan_region import PlanRegion
from selpo.models.post_office import PostOffice
from selpo.models.receipt_serial import ReceiptSerial
from selpo.models.region import Region
from selpo.models.return_leg import ReturnLeg
from selpo.models.return_leg_item import ReturnLegItem
from selpo.models.route import Route
from selpo.models.route_stop import RouteStop
from selpo.models.settlement import Settlement
from selpo.models.shelving_scan import ShelvingScan
from selpo.models.shipment import Shipment
from selpo.models.shipment_item import ShipmentItem
from selpo.models.shipment_place import ShipmentPlace
from selpo.models.simulation_run import SimulationRun
from selpo.models.staff_job import StaffJob
from selpo.models.staff_region import StaffRegion
from selpo.models.timetable_version import TimetableVersion
from selpo.models.tracking_event import TrackingEvent
from selpo.models.tracking_serial import TrackingSerial
from selpo.models.warehouse import Warehouse
from selpo.models.warehouse_act import WarehouseAct, WarehouseActSerial
from selpo.models.webhook_subscription import WebhookSubscription

__all__ = [
    "Acceptance",
    "AcceptanceScan",
    "ApiKey",
    "Clerk",
    "ClerkSession",
    "ClerkSignInGuard",
    "CodeSearchGuard",
    "CollectionAct",
    "CollectionActSerial",
    "CollectionBag",
    "CollectionPartner",
    "CollectionPartnerOffice",
    "CustomerReturn",
    "CustomerReturnItem",
    "District",
    "Handover",
    "HandoverEntry",
    "HandoverSerial",
    "Hub",
    "IdempotencyRecord",
    "IssueReceipt",
    "LineHaul",
    "ManifestEntry",
    "Marketplace",
    "MarketplaceConnection",
    "NetworkVersion",
    "OutboxMessage",
    "PayoutDay",
    "Plan",
    "PlanRegion",
    "PostOffice",
    "ReceiptSerial",
    "Region",
    "ReturnCodeGuard",
    "ReturnLeg",
    "ReturnLegItem",
    "Route",
    "RouteStop",
    "Settlement",
    "ShelvingScan",
    "Shipment",
    "SimulationRun",
    "StaffJob",
    "StaffRegion",
    "ShipmentItem",
    "ShipmentPlace",
    "TimetableVersion",
    "TrackingEvent",
    "TrackingSerial",
    "Warehouse",
    "WarehouseAct",
    "WarehouseActSerial",
    "WebhookSubscription",
]
