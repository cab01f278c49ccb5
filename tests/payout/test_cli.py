"""``selpo marketplace set-fee``, as the operator runs it, on a database of its own."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from selpo.cli import app
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.models import Marketplace

runner = CliRunner()


@pytest.fixture
def database(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SELPO_DATABASE_URL", scratch_url)
    return scratch_url


def _fee(url: str, code: str) -> int:
    engine = create_db_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        bp = session.scalars(select(Marketplace.fee_rate_bp).where(Marketplace.code == code)).one()
    engine.dispose()
    return bp


def test_set_fee_sets_the_rate_and_refuses_a_bad_one(database: str) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(app, ["marketplace", "add", "FEEMP", "Fee Market"])
    assert added.exit_code == 0, added.output
    assert _fee(database, "FEEMP") == 0

    result = runner.invoke(app, ["marketplace", "set-fee", "feemp", "1.5%"])
    assert result.exit_code == 0, result.output
    assert "FEEMP: fee 1.50%" in result.output
    assert _fee(database, "FEEMP") == 150

    bad = runner.invoke(app, ["marketplace", "set-fee", "FEEMP", "1.005%"])
    assert bad.exit_code == 2
    assert "basis points" in bad.output
    assert _fee(database, "FEEMP") == 150

    unknown = runner.invoke(app, ["marketplace", "set-fee", "NOPE", "1%"])
    assert unknown.exit_code == 2
