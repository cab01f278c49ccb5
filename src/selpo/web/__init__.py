"""Server-rendered pages (Jinja2 templates, plain CSS and a little plain JS, no CDN).

Everything a page needs ships inside the package: ``templates/`` and ``static/``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"


def mount_static(app: FastAPI) -> None:
    """Serve ``selpo/web/static`` at ``/static`` (once, however often it is called)."""
    if any(getattr(route, "name", None) == "static" for route in app.routes):
        return
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
