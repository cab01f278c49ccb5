"""The HTTP composition root: ``create_app(settings)`` wires routers, errors and state."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import cookie_parser
from starlette.types import Scope

from selpo.collection import endpoints as collection_endpoints
from selpo.config import Settings, check_production_secrets
from selpo.db import (
    create_db_engine,
    database_switching,
    make_session_factory,
    read_connection,
)
from selpo.errors import PROBLEM_JSON, DomainError, Problem, problem_body, status_title
from selpo.kit.body_limit import BodyLimitMiddleware
from selpo.kit.clock import Clock, SystemClock
from selpo.kit.database_switch import RETRY_AFTER_S, DatabaseSwitchMiddleware
from selpo.kit.openapi import restore_example_nulls
from selpo.kit.rate_limit import (
    FailureLimitMiddleware,
    Limit,
    RateLimitMiddleware,
    TokenBuckets,
)
from selpo.kit.request_id import HEADER as REQUEST_ID_HEADER
from selpo.kit.request_id import RequestIdMiddleware, request_id_of
from selpo.logistics import endpoints as logistics_endpoints
from selpo.logistics import return_leg_endpoints
from selpo.logistics.promises import promised_dates
from selpo.marketplace import endpoints as marketplace_endpoints
from selpo.marketplace.service import KeyUsage
from selpo.network import endpoints as network_endpoints
from selpo.network.service import CatalogueCache
from selpo.notify import endpoints as notify_endpoints
from selpo.payout import endpoints as payout_endpoints
from selpo.planning import endpoints as planning_endpoints
from selpo.returns import endpoints as returns_endpoints
from selpo.shipment import endpoints as shipment_endpoints
from selpo.shipment import handover_endpoints, label_endpoints, sandbox_endpoints
from selpo.staff_jobs import StaffJobs
from selpo.web import mount_static
from selpo.web.headers import (
    GZIP_EXCLUDED,
    GZIP_LEVEL,
    GZIP_MINIMUM_BYTES,
    SecurityHeadersMiddleware,
)
from selpo.web.pages import collection as collection_pages
from selpo.web.pages import counter_returns as counter_returns_pages
from selpo.web.pages import dispatch as dispatch_pages
from selpo.web.pages import office as office_pages
from selpo.web.pages import recipient as recipient_pages
from selpo.web.pages import region as region_pages


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = []
    for error in exc.errors():
        location = [
            str(part)
            for part in error.get("loc", ())
            if part not in ("query", "body", "path", "header", "cookie")
        ]
        errors.append({"field": ".".join(location) or "request", "reason": error.get("msg", "")})
    return errors


def _problem(
    request: Request,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(
        status, detail, title=title, errors=errors, request_id=request_id_of(request)
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


error_log = logging.getLogger("selpo.error")
HEALTHY = {"status": "ok", "database": "postgresql"}  # /healthz's OpenAPI example

_PLAIN_DETAILS = {
    404: "nothing is at this path",
    405: "this method is not allowed at this path",
}


def _install_error_handlers(app: FastAPI) -> None:
    """Every error, 401 to 500, as problem details carrying the request id."""

    @app.exception_handler(DomainError)
    def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        body = exc.problem()
        if exc.status_code == 422 and "errors" not in body:
            body["errors"] = [{"field": "request", "reason": exc.message}]
        body["request_id"] = request_id_of(request)
        return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM_JSON)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return _problem(request, 422, detail, title="Invalid input", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and request.method in ("POST", "PUT", "PATCH"):
            # FastAPI's "error parsing the body" (not UTF-8, say): the body is the field at fault.
            reason = "the body could not be read as the declared content type"
            errors = [{"field": "body", "reason": reason}]
            return _problem(request, 422, reason, title="Invalid input", errors=errors)
        detail = exc.detail
        if detail == status_title(exc.status_code):
            detail = _PLAIN_DETAILS.get(exc.status_code, detail)
        return _problem(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(Exception)
    def _server_error(request: Request, exc: Exception) -> JSONResponse:
        if database_switching(exc):  # outside DatabaseSwitchMiddleware's reach: still not a 500
            return _problem(
                request,
                503,
                f"the database is switching to its standby; try again in {RETRY_AFTER_S} s",
                headers={
                    REQUEST_ID_HEADER: request_id_of(request) or "",
                    "Retry-After": str(RETRY_AFTER_S),
                    "Cache-Control": "no-store",
                },
            )
        # The traceback goes to the log under the request's id, never to the client.
        error_log.error(
            "unhandled %s on %s %s request_id=%s",
            type(exc).__name__,
            request.method,
            request.url.path,
            request_id_of(request),
            exc_info=exc,
        )
        # Sent by Starlette's outermost middleware, past ours: add what they would have.
        return _problem(
            request,
            500,
            "the server failed to answer this request; quote its request_id when reporting it",
            headers={
                REQUEST_ID_HEADER: request_id_of(request) or "",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )


def _bearer_key(scope: Scope) -> str | None:
    """The API key's bucket: a digest of the whole secret, so that knowing a key's prefix is
    not enough to spend its owner's requests."""
    if not scope["path"].startswith("/v1/"):
        return None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, secret = value.partition(b" ")
            if scheme.lower() == b"bearer" and secret.strip():
                return hashlib.sha256(secret.strip()).hexdigest()[:32]
            return None
    return None


def _clerk_session(scope: Scope) -> str | None:
    path: str = scope["path"]
    if not path.startswith(office_pages.SESSION_PATHS):
        return None
    for name, value in scope["headers"]:
        if name == b"cookie":
            token = cookie_parser(value.decode("latin-1")).get(office_pages.SESSION_COOKIE)
            if token:
                return hashlib.sha256(token.encode()).hexdigest()[:32]
    return None


def _client_address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _api_address(scope: Scope) -> str | None:
    return _client_address(scope) if scope["path"].startswith("/v1/") else None


def _sign_in_address(scope: Scope) -> str | None:
    if scope["method"] != "POST" or scope["path"] != f"{office_pages.PREFIX}/login":
        return None
    return _client_address(scope)


def _buckets(count: float, *, per_s: float = 1.0) -> TokenBuckets:
    """Buckets allowing ``count`` requests per ``per_s`` seconds, with a burst of twice that."""
    return TokenBuckets(count / per_s, max(1.0, 2 * count))


def rate_limits(settings: Settings) -> list[Limit]:
    """The limits these settings turn on (a rate of 0 turns one off)."""
    limits = []
    if settings.rate_limit_per_key > 0:
        limits.append(Limit("api key", _buckets(settings.rate_limit_per_key), _bearer_key))
    if settings.rate_limit_signin_per_minute > 0:
        buckets = _buckets(settings.rate_limit_signin_per_minute, per_s=60)
        limits.append(Limit("sign-in", buckets, _sign_in_address))
    if settings.rate_limit_per_session > 0:
        buckets = _buckets(settings.rate_limit_per_session)
        limits.append(Limit("clerk session", buckets, _clerk_session))
    return limits


def _document_problems(app: FastAPI) -> None:
    """Put the Problem schema the operations' error responses refer to into the OpenAPI."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        restore_example_nulls(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """Build the application for these settings (nothing is created at import time)."""
    app = FastAPI(
        title="selpo",
        version="0.1.0",
        description=(
            "Marketplace orders to village post offices: pickup points, shipments, tracking. "
            "Errors are RFC 9457 problem details (`application/problem+json`) naming the field "
            "at fault and carrying the request's id, which every answer also sends as "
            "`X-Request-Id` (send your own, up to 64 of `A-Z a-z 0-9 . _ : -`, to follow a "
            "request). An API key has a request rate (a token bucket, burst twice the rate): "
            "beyond it, 429 with `Retry-After`. Bodies over the size limit answer 413."
        ),
    )
    check_production_secrets(settings)
    engine = create_db_engine(settings.database_url, echo=settings.database_echo)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    # Lag-tolerant reads (dashboard, pickup-point search, the recipient's page) may go to the
    # standby; unset, they share the primary's sessions (deps.get_read_session).
    read_engine = None
    app.state.read_session_factory = None
    if settings.read_database_url:
        read_engine = create_db_engine(
            settings.read_database_url, echo=settings.database_echo, read_only=True
        )
        app.state.read_session_factory = make_session_factory(read_engine)
    app.state.read_engine = read_engine
    app.state.clock = clock or SystemClock()
    app.state.catalogue_cache = CatalogueCache()
    app.state.key_usage = KeyUsage()
    app.state.promises = promised_dates  # shipment.service.PromiseProvider: the delivery model
    # The dashboard's plans and simulations run in background threads (selpo.staff_jobs).
    app.state.staff_jobs = StaffJobs(lambda: app.state.session_factory, app.state.clock)

    _install_error_handlers(app)
    # Outermost last: the request id, then the headers, the rate limits, the body's size,
    # compression (selpo.web.headers says what is compressed), and innermost the retry of safe
    # requests while the database switches to its standby (503 for the others).
    app.add_middleware(
        DatabaseSwitchMiddleware,
        switching=database_switching,
        budget_s=settings.database_switch_retry_s,
    )
    app.add_middleware(
        GZipMiddleware,
        minimum_size=GZIP_MINIMUM_BYTES,
        compresslevel=GZIP_LEVEL,
        exclude_content_types=GZIP_EXCLUDED,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, limits=rate_limits(settings))
    if settings.rate_limit_auth_failures_per_minute > 0:
        app.add_middleware(
            FailureLimitMiddleware,
            name="failed API authentication",
            status=401,
            buckets=_buckets(settings.rate_limit_auth_failures_per_minute, per_s=60),
            key_of=_api_address,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestIdMiddleware)
    _document_problems(app)

    @app.get(
        "/healthz",
        tags=["operations"],
        responses={200: {"content": {"application/json": {"example": HEALTHY}}}},
    )
    def healthz() -> dict[str, str]:
        """Say whether the service and its database answer."""
        with read_connection(engine) as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    app.include_router(network_endpoints.router)
    app.include_router(shipment_endpoints.router)
    app.include_router(label_endpoints.router)
    app.include_router(handover_endpoints.router)
    app.include_router(sandbox_endpoints.router)
    app.include_router(returns_endpoints.router)
    app.include_router(notify_endpoints.router)
    app.include_router(marketplace_endpoints.router)
    app.include_router(payout_endpoints.router)
    app.include_router(collection_endpoints.router)
    app.include_router(planning_endpoints.router)
    app.include_router(logistics_endpoints.router)
    app.include_router(return_leg_endpoints.router)
    # The dispatcher's pages first: /office/dispatch would otherwise read as an office index.
    app.include_router(dispatch_pages.router)
    app.include_router(office_pages.scan_router)  # the counter's scan queue and its worker
    app.include_router(collection_pages.router)  # «Приём вторсырья» at the counter
    app.include_router(counter_returns_pages.router)  # /office/{index}/customer-returns
    app.include_router(office_pages.router)
    app.include_router(region_pages.router)
    app.include_router(recipient_pages.router)  # / and /t/{number}: the recipient's pages
    app.state.tracking_lookups = recipient_pages.lookup_buckets(settings)
    app.state.counter_searches = office_pages.search_buckets(settings)
    mount_static(app)  # /static and Leaflet at /static/leaflet
    return app
