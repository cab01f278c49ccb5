"""Webhook subscriptions of the calling marketplace: a thin shell over the notify service."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Response, status

from selpo.deps import ClockDep, RowId, SessionDep, SettingsDep
from selpo.errors import InvalidInput, problem_responses
from selpo.kit.moments import Moment
from selpo.kit.openapi import example_answer, example_body
from selpo.marketplace.deps import MarketplaceDep
from selpo.marketplace.errors import MissingApiKey
from selpo.marketplace.service import Principal
from selpo.notify import service
from selpo.notify.destination import parse_allow_hosts
from selpo.notify.events import CATALOGUE
from selpo.notify.examples import (
    DELIVERY_PAGE,
    REPLAY_RESULT,
    SUBSCRIPTION_CREATE_EXAMPLES,
    SUBSCRIPTION_CREATED,
    SUBSCRIPTION_PAGE,
    SUBSCRIPTION_PATCH_EXAMPLES,
    SUBSCRIPTION_PATCHED,
)
from selpo.notify.schemas import (
    ReplayResult,
    WebhookDeliveryPage,
    WebhookDeliveryRead,
    WebhookEventCatalogue,
    WebhookEventType,
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionPage,
    WebhookSubscriptionPatch,
    WebhookSubscriptionRead,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _marketplace_id(principal: Principal) -> int:
    # MarketplaceDep already refuses keys without a marketplace; this narrows the type.
    if principal.marketplace_id is None:
        raise MissingApiKey("this route needs a marketplace's API key")
    return principal.marketplace_id


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookSubscriptionCreated,
    responses={
        **example_answer(SUBSCRIPTION_CREATED, status=201),
        **problem_responses(401, 413, 422, 429),
    },
    openapi_extra=example_body(named=SUBSCRIPTION_CREATE_EXAMPLES),
)
def create_webhook(
    subscription_in: WebhookSubscriptionCreate,
    session: SessionDep,
    clock: ClockDep,
    principal: MarketplaceDep,
    settings: SettingsDep,
) -> WebhookSubscriptionCreated:
    """Subscribe an https URL to events; the answer holds the signing secret, shown this once.

    The URL's host must resolve to public addresses only (no loopback, private, link-local
    or metadata addresses): 422 naming `url` otherwise. `batch_max` (1 to 100, default 1)
    above 1 has the events come up to that many per POST, as
    `{"batch_id": "<uuid>", "events": [<event>, ...]}` with `X-Selpo-Event-Type: batch`;
    422 naming `batch_max` outside 1-100.
    """
    subscription = service.create_subscription(
        session,
        marketplace_id=_marketplace_id(principal),
        url=subscription_in.url,
        events=subscription_in.events,
        now=clock.now(),
        allow_hosts=parse_allow_hosts(settings.webhook_allow_hosts),
        batch_max=subscription_in.batch_max,
    )
    return WebhookSubscriptionCreated.model_validate(subscription)


@router.get(
    "",
    response_model=WebhookSubscriptionPage,
    responses={**example_answer(SUBSCRIPTION_PAGE), **problem_responses(401, 429)},
)
def list_webhooks(session: SessionDep, principal: MarketplaceDep) -> WebhookSubscriptionPage:
    """List the marketplace's active subscriptions (without secrets)."""
    rows = service.list_subscriptions(session, marketplace_id=_marketplace_id(principal))
    return WebhookSubscriptionPage(items=[WebhookSubscriptionRead.model_validate(r) for r in rows])


@router.get(
    "/events",
    response_model=WebhookEventCatalogue,
    responses=problem_responses(429),
)
def list_webhook_events() -> WebhookEventCatalogue:
    """List every webhook event type: what it means, the JSON Schema of its `data` and an
    example. Public documentation: no API key needed."""
    return WebhookEventCatalogue(
        items=[
            WebhookEventType(
                type=kind.event_type,
                description=kind.description,
                payload_schema=kind.payload_schema(),
                example=kind.example,
            )
            for kind in CATALOGUE.values()
        ]
    )


@router.patch(
    "/{subscription_id}",
    response_model=WebhookSubscriptionRead,
    responses={
        **example_answer(SUBSCRIPTION_PATCHED),
        **problem_responses(401, 404, 413, 422, 429),
    },
)
def update_webhook(
    subscription_id: RowId,
    patch: Annotated[WebhookSubscriptionPatch, Body(openapi_examples=SUBSCRIPTION_PATCH_EXAMPLES)],
    session: SessionDep,
    principal: MarketplaceDep,
) -> WebhookSubscriptionRead:
    """Change a subscription: `batch_max` (1 to 100: events per POST, from the next delivery
    on) and/or `events` (the whole new list, for events published from now on). Only the
    fields sent change; sending the same change again gives the same answer. Another
    marketplace's subscription answers 404, like an unknown one; 422 names a bad field."""
    subscription = service.update_subscription(
        session,
        marketplace_id=_marketplace_id(principal),
        subscription_id=subscription_id,
        batch_max=patch.batch_max,
        events=patch.events,
    )
    return WebhookSubscriptionRead.model_validate(subscription)


@router.delete(
    "/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422, 429),
)
def delete_webhook(
    subscription_id: RowId, session: SessionDep, clock: ClockDep, principal: MarketplaceDep
) -> Response:
    """Stop a subscription; its undelivered events are dropped."""
    service.deactivate_subscription(
        session,
        marketplace_id=_marketplace_id(principal),
        subscription_id=subscription_id,
        now=clock.now(),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=WebhookDeliveryPage,
    responses={**example_answer(DELIVERY_PAGE), **problem_responses(401, 404, 422, 429)},
)
def list_webhook_deliveries(
    subscription_id: RowId,
    session: SessionDep,
    principal: MarketplaceDep,
    status_filter: Annotated[
        Literal["pending", "sent", "dead", "cancelled"] | None,
        Query(alias="status", description="Only deliveries in this status (dead: gave up)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Most deliveries to return")] = 100,
) -> WebhookDeliveryPage:
    """List a subscription's latest deliveries, newest first, dead letters included."""
    rows = service.list_deliveries(
        session,
        marketplace_id=_marketplace_id(principal),
        subscription_id=subscription_id,
        status=status_filter,
        limit=limit,
    )
    return WebhookDeliveryPage(items=[WebhookDeliveryRead.model_validate(r) for r in rows])


@router.post(
    "/{subscription_id}/replay",
    response_model=ReplayResult,
    responses={**example_answer(REPLAY_RESULT), **problem_responses(401, 404, 422, 429)},
)
def replay_webhook_events(
    subscription_id: RowId,
    session: SessionDep,
    clock: ClockDep,
    principal: MarketplaceDep,
    since: Annotated[Moment, Query(description="ISO 8601 with offset: events from then on")],
) -> ReplayResult:
    """Queue again every event of the subscription created since then, with the same ids."""
    if since.tzinfo is None:
        raise InvalidInput(
            "since needs a UTC offset, e.g. 2026-11-25T10:00:00+03:00", field="since"
        )
    requeued = service.replay_events(
        session,
        marketplace_id=_marketplace_id(principal),
        subscription_id=subscription_id,
        since=since,
        now=clock.now(),
    )
    return ReplayResult(requeued=requeued)
