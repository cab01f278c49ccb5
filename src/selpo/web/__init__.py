"""Server-rendered pages (Jinja2 templates, plain CSS and a little plain JS, no CDN).

Everything a page needs ships inside the package: ``templates/`` and ``static/``, plus Leaflet
for the dashboard's map from the installed ``XStatic-Leaflet`` package at ``/static/leaflet``.
"""

from __future__ import annotations

from pathlib import Path

import xstatic.pkg.leaflet  # type: ignore[import-untyped]
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)


def mount_static(app: FastAPI) -> None:
    """Serve Leaflet at ``/static/leaflet`` and ``selpo/web/static`` at ``/static`` (once,
    however often it is called; Leaflet first, or ``/static`` would answer for it)."""
    if any(getattr(route, "name", None) == "static" for route in app.routes):
        return
    app.mount("/static/leaflet", StaticFiles(directory=LEAFLET_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
