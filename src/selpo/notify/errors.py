"""Refusals of the notify domain."""

from __future__ import annotations

from selpo.errors import NotFound


class WebhookSubscriptionNotFound(NotFound):
    """No active subscription of this marketplace has this id."""

    def __init__(self, subscription_id: int) -> None:
        super().__init__(f"no webhook subscription has id {subscription_id}", field="id")
