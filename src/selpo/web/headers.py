"""Security and caching headers on every answer (pages, API, static files, errors).

Pages get a Content-Security-Policy that allows only this server's scripts, styles and images
(``data:`` images for Leaflet), no inline script, no framing; every answer gets ``nosniff``,
``X-Frame-Options: DENY`` and a ``Referrer-Policy``. Dynamic answers are ``no-store`` (they
can hold personal data: the office pages, shipments, labels); static files may be cached an
hour and are revalidated by their ETag. A header a page sets itself (the dashboard's CSP
naming its tile server) is kept.

Answers are compressed (Starlette's ``GZipMiddleware``, wired in ``app.py`` with the
settings below): HTML, JSON, JS, CSS and CSV shrink four to eight times, which is what a page
costs on a village EDGE line; PDFs, PNGs and other already compressed kinds are left as they
are. Static files at their hashed names (``selpo.web.static_url``) are ``immutable`` for a
year; at their plain names they keep the short cache above.

The interactive API docs (``/docs``, ``/redoc``) load Swagger UI with an inline script and are
left without a CSP.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
STATIC_CACHE = "public, max-age=3600"  # plain names; hashed ones: selpo.web.IMMUTABLE
GZIP_MINIMUM_BYTES = 500  # below this, compression costs more than it saves
GZIP_LEVEL = 6
GZIP_EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf")
DOCS_PATHS = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Add the headers above to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        static = path.startswith("/static/")
        docs = path in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Cache-Control", STATIC_CACHE if static else "no-store")
                kind = headers.get("content-type", "")
                if kind.startswith("text/html") and not docs:
                    headers.setdefault("Content-Security-Policy", PAGE_CSP)
                elif "json" in kind:
                    headers.setdefault("Content-Security-Policy", DATA_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)
