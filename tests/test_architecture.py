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
    "network/population.py",
    "network/rules.py",
    "network/bundle.py",
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


def test_services_never_import_fastapi() -> None:
    for path in SRC.glob("*/service.py"):
        bad = {n for n in _imports(path) if n.startswith(("fastapi", "starlette"))}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_only_config_reads_the_environment() -> None:
    for path in SRC.rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "os.environ" not in text, path.relative_to(SRC)
        assert "getenv" not in text, path.relative_to(SRC)
