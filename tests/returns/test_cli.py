"""The operator sets a marketplace's return period and cash refunds from the command line."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from selpo.cli import app
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.marketplace import service as marketplace_service


def test_return_days_and_cash_refunds_from_the_command_line(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["marketplace", "add", "CLI_RET", "Cli Returns"]).exit_code == 0
    shown = runner.invoke(
        app, ["marketplace", "set", "CLI_RET", "--return-days", "30", "--refund-cash"]
    )
    assert shown.exit_code == 0, shown.output
    assert "returns within 30 days; cash refunds at the counter on" in shown.stdout
    refused = runner.invoke(app, ["marketplace", "set", "CLI_RET", "--return-days", "0"])
    assert refused.exit_code == 2
    assert "1 to 365 days" in refused.output
    engine = create_db_engine(scratch_url)
    with session_scope(make_session_factory(engine)) as session:
        marketplace = marketplace_service.get_by_code(session, "CLI_RET")
        assert marketplace.return_days == 30
        assert marketplace.refund_cash_at_counter
    engine.dispose()
    off = runner.invoke(app, ["marketplace", "set", "CLI_RET", "--no-refund-cash"])
    assert "cash refunds at the counter off" in off.stdout
