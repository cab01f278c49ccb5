"""Shipments sit below the delivery model: they use its pure calendar, never its services.

The promised date comes in through ``shipment.service.PromiseProvider`` (ARCHITECTURE.md,
"Use cases that span domains"), so creation never reaches up into logistics."""

from __future__ import annotations

import ast
from pathlib import Path

import selpo.shipment

SHIPMENT = Path(selpo.shipment.__file__).parent
# Pure kernels of logistics that hold no state and import no shipment code.
KERNELS = {"selpo.logistics.calendar"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_shipment_imports_no_logistics_service() -> None:
    for path in sorted(SHIPMENT.glob("*.py")):
        upward = {
            name
            for name in _imports(path)
            if name.startswith("selpo.logistics")
            and not any(name == k or name.startswith(k + ".") for k in KERNELS)
        }
        assert not upward, f"{path.name} imports {sorted(upward)}"
