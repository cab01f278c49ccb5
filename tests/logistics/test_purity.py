"""The logistics kernels import only the standard library, numpy, scipy, holidays and kernels."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

LOGISTICS = Path(__file__).resolve().parents[2] / "src" / "selpo" / "logistics"
MODULES = [
    "calendar.py",
    "distance.py",
    "eta.py",
    "return_loading.py",
    "routing.py",
    "timetable.py",
]
ALLOWED_THIRD_PARTY = ("numpy", "scipy", "holidays")
ALLOWED_SELPO = ("selpo.logistics", "selpo.network.geo", "selpo.network.rules")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", MODULES)
def test_kernel_imports_are_pure(module: str) -> None:
    bad = set()
    for name in _imports(LOGISTICS / module):
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
            continue
        if name.startswith(ALLOWED_SELPO):
            continue
        bad.add(name)
    assert not bad, f"logistics/{module} imports {sorted(bad)}"
