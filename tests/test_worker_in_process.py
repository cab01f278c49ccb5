"""The worker as `selpo serve --worker` runs it (a thread of the server) and as `selpo worker`."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from selpo.cli import app
from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.migrate import upgrade_to_head
from selpo.models import OutboxMessage
from selpo.notify import service as notify_service
from selpo.notify.delivery import DeliveryReport
from selpo.worker import OutboxLog, start_background_worker
from tests.conftest import TEST_NOW
from tests.notify.conftest import RecordingSmsGateway


@pytest.fixture
def migrated(scratch_url: str) -> str:
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    engine.dispose()
    return scratch_url


def _queue_sms(url: str) -> None:
    engine = create_db_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        notify_service.queue_sms(session, phone="+79161234567", text="Код 4321", now=TEST_NOW)
    engine.dispose()


def _statuses(url: str) -> list[str]:
    engine = create_db_engine(url)
    with session_scope(make_session_factory(engine)) as session:
        statuses = list(session.scalars(select(OutboxMessage.status)))
    engine.dispose()
    return statuses


def test_the_background_worker_sends_then_stops(migrated: str) -> None:
    _queue_sms(migrated)
    gateway = RecordingSmsGateway()
    background = start_background_worker(Settings(database_url=migrated), sms_gateway=gateway)
    try:
        deadline = time.monotonic() + 10
        while not gateway.sent and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        background.stop()
    assert gateway.sent == [("+79161234567", "Код 4321")]
    assert not background.thread.is_alive()
    assert _statuses(migrated) == ["sent"]


def test_worker_command_makes_one_pass(
    migrated: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SELPO_DATABASE_URL", migrated)
    monkeypatch.setenv("SELPO_SMS_LOG_PATH", str(tmp_path / "sms.log"))
    _queue_sms(migrated)
    result = CliRunner().invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert _statuses(migrated) == ["sent"]


def test_the_outbox_counts_are_logged_once_per_interval_not_per_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outbox_log = OutboxLog(every_s=3600)
    with caplog.at_level(logging.INFO, logger="selpo.worker"):
        for _ in range(50):
            outbox_log.add(DeliveryReport(claimed=1, sent=1))
        assert not [r for r in caplog.records if r.getMessage().startswith("outbox:")]
        outbox_log.add(DeliveryReport(claimed=2, sent=1, retried=1), flush=True)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("outbox:")]
    assert lines == ["outbox: 51 sent, 1 to retry, 0 dead, 0 cancelled"]
