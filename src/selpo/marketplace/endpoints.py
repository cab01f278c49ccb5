"""The operator's marketplace API (admin key): marketplaces, keys, connected offices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from selpo.deps import ClockDep, SessionDep
from selpo.errors import InvalidInput, problem_responses
from selpo.kit.openapi import example_answer, example_body
from selpo.marketplace import service
from selpo.marketplace.deps import AdminDep
from selpo.marketplace.schemas import (
    ApiKeyCreated,
    ConnectionsChanged,
    ConnectionsUpdate,
    MarketplaceCreate,
    MarketplaceRead,
)
from selpo.models import Marketplace
from selpo.network import regions

router = APIRouter(prefix="/v1/marketplaces", tags=["marketplaces (operator)"])
MARKETPLACE_EXAMPLE = {"code": "WILDBERRIES", "name": "Wildberries", "storage_days": 7}


def _example_numbers() -> list[str]:
    found = regions.data_example("tracking_numbers")
    return [str(n) for n in found] if isinstance(found, list) and found else ["00000000000000"]


# The default region's data: an office, and the accepting index its tracking numbers open with.
_OFFICE_INDEX = str(regions.data_example("office_index") or "000000")
_ACCEPTING_INDEX = _example_numbers()[0][:6]


def _read(marketplace: Marketplace) -> MarketplaceRead:
    return MarketplaceRead(
        code=marketplace.code,
        name=marketplace.name,
        storage_days=marketplace.storage_days,
        storage_extension_days=marketplace.storage_extension_days,
        accepting_index=marketplace.accepting_index,
    )


@router.post(
    "",
    status_code=201,
    response_model=MarketplaceRead,
    responses={
        **example_answer(
            {
                **MARKETPLACE_EXAMPLE,
                "storage_extension_days": 7,
                "accepting_index": _ACCEPTING_INDEX,
            },
            status=201,
        ),
        **problem_responses(401, 403, 413, 422, 429),
    },
    openapi_extra=example_body(MARKETPLACE_EXAMPLE),
)
def create_marketplace(
    marketplace_in: MarketplaceCreate, session: SessionDep, _admin: AdminDep
) -> MarketplaceRead:
    """Create a marketplace (or return the one with this code)."""
    marketplace = service.add_marketplace(
        session,
        code=marketplace_in.code,
        name=marketplace_in.name,
        storage_days=marketplace_in.storage_days,
    )
    return _read(marketplace)


@router.post(
    "/{code}/keys",
    status_code=201,
    response_model=ApiKeyCreated,
    responses={
        **example_answer(
            {
                "prefix": "f4e160e5aee9",
                "key": "selpo_f4e160e5aee9_pztmHOpZ0hrUvOjDyyF-0mykILCnrfszIXdLhMfEo0I",
            },
            status=201,
        ),
        **problem_responses(401, 403, 404, 422, 429),
    },
)
def create_key(
    code: str,
    session: SessionDep,
    clock: ClockDep,
    _admin: AdminDep,
    sandbox: Annotated[
        bool, Query(description="A test key (`sk_test_...`): sandbox shipments only")
    ] = False,
) -> ApiKeyCreated:
    """Issue a marketplace a new API key (shown once); `?sandbox=true` a test key."""
    marketplace = service.get_by_code(session, code.upper())
    issued = service.issue_key(session, now=clock.now(), marketplace=marketplace, sandbox=sandbox)
    return ApiKeyCreated(prefix=issued.prefix, key=issued.secret)


@router.post(
    "/{code}/connections",
    response_model=ConnectionsChanged,
    responses={**example_answer({"changed": 2}), **problem_responses(401, 403, 404, 413, 422, 429)},
    openapi_extra=example_body(
        named={
            "some": {"summary": "These offices", "value": {"indexes": [_OFFICE_INDEX]}},
            "all": {"summary": "Every open office", "value": {"all": True}},
        }
    ),
)
def connect_offices(
    code: str,
    update: ConnectionsUpdate,
    session: SessionDep,
    clock: ClockDep,
    _admin: AdminDep,
) -> ConnectionsChanged:
    """Connect offices to a marketplace: they become its pickup points."""
    if not update.all and not update.indexes:
        raise InvalidInput("give office indexes or all=true", field="indexes")
    marketplace = service.get_by_code(session, code.upper())
    now = clock.now()
    changed = service.connect_offices(
        session,
        marketplace=marketplace,
        indexes=None if update.all else update.indexes,
        today=now.date(),
        now=now,
    )
    return ConnectionsChanged(changed=changed)
