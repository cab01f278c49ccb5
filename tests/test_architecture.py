"""The pure kernels stay pure: no database, no web framework, no ORM models."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "selpo"
FORBIDDEN = ("sqlalchemy", "fastapi", "selpo.models", "selpo.db", "starlette")
SHELLS = {"service.py", "endpoints.py", "repository.py", "schemas.py", "cli.py", "__init__.py"}
KERNELS = [
    "network/geo.py",
    "network/rules.py",
    "network/sources.py",
    "network/localities.py",
    *sorted(f"planning/{p.name}" for p in (SRC / "planning").glob("*.py") if p.name not in SHELLS),
]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("relative", KERNELS)
def test_kernel_imports_no_database_or_web_code(relative: str) -> None:
    path = SRC / relative
    bad = {n for n in _imports(path) if n.startswith(FORBIDDEN)}
    assert not bad, f"{relative} imports {sorted(bad)}"


# The HTTP shells of a domain (`endpoints.py`, `<topic>_endpoints.py`, `deps.py`); every other
# module of a domain package (services, use cases, repositories, kernels) is called the same
# way from the API, the pages, the CLI and the worker.
def _http_shell(path: Path) -> bool:
    return path.name == "deps.py" or path.name.endswith("endpoints.py")


def test_services_never_import_fastapi() -> None:
    for path in SRC.glob("*/*.py"):
        if _http_shell(path) or _package(path) in {"web", "kit"}:
            continue
        bad = {n for n in _imports(path) if n.startswith(("fastapi", "starlette"))}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_only_config_reads_the_environment() -> None:
    for path in SRC.rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "os.environ" not in text, path.relative_to(SRC)
        assert "getenv" not in text, path.relative_to(SRC)


def _selpo_imports(path: Path) -> set[str]:
    """The selpo packages a module imports (``selpo.shipment.lifecycle`` -> ``shipment``)."""
    return {n.split(".")[1] for n in _imports(path) if n.startswith("selpo.") and n.count(".")}


def _package(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


# network is the bottom domain: it may use the shared base (config, db, deps, errors, kit,
# models) and nothing of another domain. Marketplace is not below it: marketplace imports
# network (pickup points for connections), so an import back would make a cycle.
ABOVE_NETWORK = (
    "marketplace",
    "shipment",
    "logistics",
    "planning",
    "simulation",
    "reporting",
    "office",
    "notify",
    "web",
    "app",
    "cli",
    "worker",
)
# reporting reads every domain; only the entry points read it.
READERS_OF_REPORTING = {"web", "cli", "app", "reporting"}


def test_network_imports_nothing_above_it() -> None:
    for path in (SRC / "network").rglob("*.py"):
        bad = _selpo_imports(path) & set(ABOVE_NETWORK)
        assert not bad, f"{path.relative_to(SRC)} imports selpo.{sorted(bad)}"


def test_reporting_is_imported_only_by_entry_points() -> None:
    for path in SRC.rglob("*.py"):
        if _package(path) in READERS_OF_REPORTING:
            continue
        assert "reporting" not in _selpo_imports(path), path.relative_to(SRC)
