"""The SMS gateway: the development sink masks the phone; no code reaches any log."""

from __future__ import annotations

import logging
import stat
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import session_scope
from selpo.kit.phone import mask_phone
from selpo.notify import service
from selpo.notify.delivery import deliver_due
from selpo.notify.sms import LogSmsGateway, SmsGateway
from selpo.worker import JobScheduler, TimedJob
from tests.conftest import TEST_NOW
from tests.notify.conftest import outbox_rows


class TestMaskPhone:
    @pytest.mark.parametrize(
        ("phone", "masked"),
        [
            ("+79161234567", "+7******4567"),
            ("89161234567", "+7******4567"),
            ("+7 (916) 123-45-67", "+7******4567"),
            ("123", "123"),
        ],
    )
    def test_only_the_last_four_digits_show(self, phone: str, masked: str) -> None:
        assert mask_phone(phone) == masked


class TestLogSmsGateway:
    def test_is_an_sms_gateway(self, tmp_path: Path) -> None:
        gateway: SmsGateway = LogSmsGateway(tmp_path / "sms.log")
        assert gateway is not None

    def test_appends_to_the_file_with_the_phone_masked(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "var" / "sms.log"
        gateway = LogSmsGateway(path)
        with caplog.at_level(logging.INFO, logger="selpo.sms"):
            gateway.send("+79161234567", "Посылка ждёт вас\nкод 1234")
            gateway.send("+79160000001", "second")
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 2
        assert lines[0].endswith("\t+7******4567\tПосылка ждёт вас код 1234")
        assert "+79161234567" not in path.read_text(encoding="utf-8")
        assert "+79161234567" not in caplog.text
        assert "+7******4567" in caplog.text


class TestSecretsStayOutOfLogs:
    CODE = "739214"

    def test_a_delivered_code_is_in_the_sink_file_only(
        self,
        session_factory: sessionmaker[Session],
        http: httpx.Client,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        text = f"Заказ ждёт вас в отделении 155650. Код получения: {self.CODE}"
        with session_scope(session_factory) as session:
            service.queue_sms(session, phone="+79161234567", text=text, now=TEST_NOW)
        sink = tmp_path / "var" / "sms.log"
        with caplog.at_level(logging.DEBUG):
            report = deliver_due(
                session_factory, now=TEST_NOW, http=http, sms_gateway=LogSmsGateway(sink)
            )
        assert report.sent == 1
        assert "SMS to +7******4567" in caplog.text  # the log does say something went out
        assert self.CODE not in caplog.text
        assert self.CODE in sink.read_text(encoding="utf-8")  # the stand-in phone has it
        assert stat.S_IMODE(sink.stat().st_mode) == 0o600
        (row,) = outbox_rows(session_factory)
        assert self.CODE not in str(row.payload)

    def test_a_sink_file_made_loose_is_narrowed(self, tmp_path: Path) -> None:
        sink = tmp_path / "sms.log"
        sink.write_text("")
        sink.chmod(0o644)
        LogSmsGateway(sink).send("+79161234567", "hello")
        assert stat.S_IMODE(sink.stat().st_mode) == 0o600

    def test_a_gateway_error_quoting_the_text_is_not_stored_or_logged(
        self,
        session_factory: sessionmaker[Session],
        http: httpx.Client,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        class EchoingGateway:
            def send(self, phone: str, text: str) -> None:
                raise ValueError(f"provider rejected {phone}: {text!r}")

        with session_scope(session_factory) as session:
            service.queue_sms(session, phone="+79161234567", text=f"Код {self.CODE}", now=TEST_NOW)
        with caplog.at_level(logging.DEBUG):
            report = deliver_due(
                session_factory, now=TEST_NOW, http=http, sms_gateway=EchoingGateway()
            )
        assert report.retried == 1
        (row,) = outbox_rows(session_factory)
        assert row.last_error == "the gateway failed: ValueError"
        assert self.CODE not in caplog.text
        assert self.CODE not in " ".join(report.errors)

    def test_a_failing_job_logs_no_values(
        self, session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
    ) -> None:
        def leaky(session: Session, now: datetime, limit: int) -> int:
            raise RuntimeError(f"could not store the text 'Код {self.CODE}'")

        scheduler = JobScheduler([TimedJob("leaky", timedelta(minutes=1), leaky)])
        with caplog.at_level(logging.DEBUG):
            assert scheduler.run_due(session_factory, TEST_NOW) == {}
        assert "timed job leaky failed (RuntimeError)" in caplog.text
        assert self.CODE not in caplog.text
