"""The SMS gateway: the default one logs, masking the phone."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from selpo.notify.sms import LogSmsGateway, SmsGateway, mask_phone


class TestMaskPhone:
    @pytest.mark.parametrize(
        ("phone", "masked"),
        [
            ("+79161234567", "+*******4567"),
            ("89161234567", "*******4567"),
            ("+7 (916) 123-45-67", "+* (***) ***-45-67"),
            ("123", "123"),
        ],
    )
    def test_only_the_last_four_digits_show(self, phone: str, masked: str) -> None:
        assert mask_phone(phone) == masked


class TestLogSmsGateway:
    def test_is_an_sms_gateway(self, tmp_path: Path) -> None:
        gateway: SmsGateway = LogSmsGateway(tmp_path / "sms.log")
        assert gateway is not None

    def test_appends_to_the_file_and_logs_with_the_phone_masked(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "var" / "sms.log"
        gateway = LogSmsGateway(path)
        with caplog.at_level(logging.INFO, logger="selpo.sms"):
            gateway.send("+79161234567", "Посылка ждёт вас\nкод 1234")
            gateway.send("+79160000001", "second")
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == 2
        assert lines[0].endswith("\t+*******4567\tПосылка ждёт вас код 1234")
        assert "+79161234567" not in path.read_text(encoding="utf-8")
        assert "+79161234567" not in caplog.text
        assert "+*******4567" in caplog.text
