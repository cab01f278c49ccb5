"""Docs that can be checked are checked: every setting is documented, the README opens right."""

from __future__ import annotations

import json
import re
from pathlib import Path

from selpo.config import Settings
from selpo.notify.events import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations.md"
NOTIFY = ROOT / "docs" / "notify.md"


def _settings_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in OPERATIONS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(SELPO_[A-Z0-9_]+)` \| (.+?) \|", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


def test_every_setting_is_in_the_operations_guide_with_a_default() -> None:
    rows = _settings_rows()
    for name in Settings.model_fields:
        variable = f"SELPO_{name.upper()}"
        assert variable in rows, f"{variable} is not in docs/operations.md's settings"
        assert rows[variable].strip(), f"{variable} has no default in docs/operations.md"


def test_the_operations_guide_names_no_setting_that_does_not_exist() -> None:
    known = {f"SELPO_{name.upper()}" for name in Settings.model_fields}
    assert set(_settings_rows()) <= known


def test_numeric_defaults_in_the_guide_match_the_code() -> None:
    rows = _settings_rows()
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, bool) or not isinstance(default, int | float):
            continue
        shown = rows[f"SELPO_{name.upper()}"].strip("` ").split("`")[0].replace(",", "")
        assert float(shown) == float(default), f"SELPO_{name.upper()}: docs say {shown}"


def test_readme_points_to_the_settings() -> None:
    assert "docs/operations.md" in README.read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    head = README.read_text(encoding="utf-8")[:600]
    assert "make run" in head
    assert "make test" in head


def test_every_webhook_event_of_the_catalogue_is_in_the_notify_guide_with_its_example() -> None:
    guide = NOTIFY.read_text(encoding="utf-8")
    for kind in CATALOGUE.values():
        assert f"| `{kind.event_type}` |" in guide, (
            f"{kind.event_type} is not in docs/notify.md's table"
        )
        example = json.dumps(kind.example, indent=2, ensure_ascii=False)
        assert f"`{kind.event_type}`: {kind.description}.\n\n```json\n{example}\n```" in guide, (
            f"docs/notify.md does not show {kind.event_type}'s example as the catalogue has it"
        )
