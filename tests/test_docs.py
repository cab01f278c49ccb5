"""Docs that can be checked are checked: every setting is documented in the README."""

from __future__ import annotations

from pathlib import Path

from selpo.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"SELPO_{name.upper()}" in text, f"SELPO_{name.upper()} is not documented"


def test_readme_opens_with_the_two_commands() -> None:
    head = README.read_text(encoding="utf-8")[:600]
    assert "make run" in head
    assert "make test" in head
