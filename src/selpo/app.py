"""The HTTP composition root: ``create_app(settings)`` wires routers, errors and state."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text

from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, read_connection
from selpo.errors import DomainError
from selpo.kit.clock import Clock, SystemClock
from selpo.logistics import endpoints as logistics_endpoints
from selpo.marketplace import endpoints as marketplace_endpoints
from selpo.network import endpoints as network_endpoints
from selpo.network.service import CatalogueCache
from selpo.notify import endpoints as notify_endpoints
from selpo.planning import endpoints as planning_endpoints
from selpo.shipment import endpoints as shipment_endpoints
from selpo.web import mount_static
from selpo.web.pages import dispatch as dispatch_pages
from selpo.web.pages import office as office_pages
from selpo.web.pages import region as region_pages

PROBLEM_JSON = "application/problem+json"


def _validation_problem(exc: RequestValidationError) -> dict[str, Any]:
    errors = []
    for error in exc.errors():
        location = [
            str(part)
            for part in error.get("loc", ())
            if part not in ("query", "body", "path", "header")
        ]
        errors.append({"field": ".".join(location) or "request", "reason": error.get("msg", "")})
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    return {
        "type": "about:blank",
        "title": "Invalid input",
        "status": 422,
        "detail": detail,
        "errors": errors,
    }


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """Build the application for these settings (nothing is created at import time)."""
    app = FastAPI(
        title="selpo",
        version="0.1.0",
        description=(
            "Marketplace orders to village post offices: pickup points, shipments, tracking. "
            "Errors are RFC 9457 problem details naming the field at fault."
        ),
    )
    engine = create_db_engine(settings.database_url, echo=settings.database_echo)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.clock = clock or SystemClock()
    app.state.catalogue_cache = CatalogueCache()

    @app.exception_handler(DomainError)
    def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(exc.problem(), status_code=exc.status_code, media_type=PROBLEM_JSON)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_validation_problem(exc), status_code=422, media_type=PROBLEM_JSON)

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, str]:
        """Say whether the service and its database answer."""
        with read_connection(engine) as connection:
            connection.execute(text("SELECT 1"))
        return {"status": "ok", "database": engine.dialect.name}

    app.include_router(network_endpoints.router)
    app.include_router(shipment_endpoints.router)
    app.include_router(notify_endpoints.router)
    app.include_router(marketplace_endpoints.router)
    app.include_router(planning_endpoints.router)
    app.include_router(logistics_endpoints.router)
    # The dispatcher's pages first: /office/dispatch would otherwise read as an office index.
    app.include_router(dispatch_pages.router)
    app.include_router(office_pages.router)
    app.include_router(region_pages.router)
    mount_static(app)  # /static and Leaflet at /static/leaflet
    return app
