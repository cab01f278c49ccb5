"""OpenAPI examples of the webhook API: a subscription, its deliveries, a replay."""

from __future__ import annotations

from typing import Any

SUBSCRIPTION_CREATE: dict[str, Any] = {
    "url": "https://market.example/selpo/webhooks",
    "events": ["shipment.status_changed", "shipment.cancelled"],
}

# A high-volume integrator's: up to 50 events per POST.
SUBSCRIPTION_CREATE_BATCHED: dict[str, Any] = {
    "url": "https://market.example/selpo/webhooks/batch",
    "events": ["*"],
    "batch_max": 50,
}

SUBSCRIPTION_CREATE_EXAMPLES: dict[str, Any] = {
    "one_event_per_post": {
        "summary": "Two event types, one event per POST (batch_max left at 1)",
        "value": SUBSCRIPTION_CREATE,
    },
    "batched": {
        "summary": "Every event, up to 50 per POST (a high-volume receiver)",
        "value": SUBSCRIPTION_CREATE_BATCHED,
    },
}

SUBSCRIPTION: dict[str, Any] = {
    "id": 7,
    **SUBSCRIPTION_CREATE,
    "active": True,
    "created_at": "2026-11-25T09:00:00Z",
    "batch_max": 1,
    "held_until": None,
}

SUBSCRIPTION_BATCHED: dict[str, Any] = {
    **SUBSCRIPTION,
    "id": 8,
    **SUBSCRIPTION_CREATE_BATCHED,
}

SUBSCRIPTION_PATCH_EXAMPLES: dict[str, Any] = {
    "batch": {"summary": "Up to 50 events per POST from now on", "value": {"batch_max": 50}},
    "unbatch": {"summary": "Back to one event per POST", "value": {"batch_max": 1}},
    "events": {
        "summary": "Every event type, for events published from now on",
        "value": {"events": ["*"]},
    },
}

SUBSCRIPTION_CREATED: dict[str, Any] = {
    **SUBSCRIPTION,
    "secret": "whsec_9usa-2Ajec-rqPk-EvhZrmK6b00sZVTINp1pTI5KWqo",
}

SUBSCRIPTION_PATCHED: dict[str, Any] = {**SUBSCRIPTION, "batch_max": 50}

SUBSCRIPTION_PAGE: dict[str, Any] = {"items": [SUBSCRIPTION, SUBSCRIPTION_BATCHED]}

DELIVERY_PAGE: dict[str, Any] = {
    "items": [
        {
            "id": 42,
            "event_id": "7573e0ba-48ad-4865-9411-5d2d79abdda2",
            "event_type": "shipment.cancelled",
            "status": "sent",
            "attempts": 1,
            "created_at": "2026-11-25T10:00:00Z",
            "available_at": "2026-11-25T10:00:00Z",
            "sent_at": "2026-11-25T10:00:01Z",
            "last_error": None,
            "last_attempt_at": "2026-11-25T10:00:01Z",
            "last_status_code": 200,
            "last_duration_ms": 84,
        },
        {
            "id": 41,
            "event_id": "0b9f3c1e-2f6d-4a57-9d38-55f1c2f0a1b4",
            "event_type": "shipment.status_changed",
            "status": "pending",
            "attempts": 2,
            "created_at": "2026-11-25T09:40:00Z",
            "available_at": "2026-11-25T09:45:00Z",
            "sent_at": None,
            "last_error": "HTTP 503",
            "last_attempt_at": "2026-11-25T09:41:00Z",
            "last_status_code": 503,
            "last_duration_ms": 120,
        },
    ]
}

REPLAY_RESULT: dict[str, Any] = {"requeued": 2}
