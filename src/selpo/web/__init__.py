"""Server-rendered pages (Jinja2 templates, plain CSS and a little plain JS, no CDN).

Everything a page needs ships inside the package: ``templates/`` and ``static/``, plus Leaflet
for the dashboard's map from the installed ``XStatic-Leaflet`` package at ``/static/leaflet``.

Templates name static files through ``static_url``: ``/static/office/office.<hash>.css``,
the hash being the first 10 hex digits of the file's SHA-256. Such a name never changes its
content, so it is served ``Cache-Control: public, max-age=31536000, immutable`` (a village
line fetches it once per release); the plain name (``/static/office/office.css``) keeps
working with the short cache ``selpo.web.headers`` gives it.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import xstatic.pkg.leaflet  # type: ignore[import-untyped]
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)
LEAFLET_PREFIX = "leaflet/"
IMMUTABLE = "public, max-age=31536000, immutable"
HASH_LENGTH = 10
_HASHED = re.compile(
    rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<suffix>\.[A-Za-z0-9]+)$"
)


@lru_cache(maxsize=256)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]


def content_hash(path: Path) -> str:
    """The first hex digits of the file's SHA-256 (recomputed when the file changes)."""
    stat = path.stat()
    return _digest(path, stat.st_mtime_ns, stat.st_size)


def _file_of(name: str) -> Path:
    if name.startswith(LEAFLET_PREFIX):
        return LEAFLET_DIR / name.removeprefix(LEAFLET_PREFIX)
    return STATIC_DIR / name


def static_url(name: str) -> str:
    """``office/office.css`` → ``/static/office/office.3f2a9c01bd.css`` (a missing file is a
    bug in the template, and raises)."""
    path = _file_of(name)
    if not path.is_file():
        raise FileNotFoundError(f"no static file {name!r}")
    stem, dot, suffix = name.rpartition(".")
    if not dot or "/" in suffix:
        return f"/static/{name}.{content_hash(path)}"
    return f"/static/{stem}.{content_hash(path)}.{suffix}"


class HashedStaticFiles(StaticFiles):
    """Static files that also answer at their hashed names, as immutable."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        match = _HASHED.match(path)
        if match is not None and self.directory is not None:
            plain = match["stem"] + match["suffix"]
            file = Path(self.directory) / plain
            if file.is_file():
                response = await super().get_response(plain, scope)
                if content_hash(file) == match["hash"] and response.status_code in (200, 304):
                    response.headers["Cache-Control"] = IMMUTABLE
                return response
        return await super().get_response(path, scope)


def mount_static(app: FastAPI) -> None:
    """Serve Leaflet at ``/static/leaflet`` and ``selpo/web/static`` at ``/static`` (once,
    however often it is called; Leaflet first, or ``/static`` would answer for it)."""
    if any(getattr(route, "name", None) == "static" for route in app.routes):
        return
    app.mount("/static/leaflet", HashedStaticFiles(directory=LEAFLET_DIR), name="leaflet")
    app.mount("/static", HashedStaticFiles(directory=STATIC_DIR), name="static")
