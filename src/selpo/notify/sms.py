"""The SMS gateway: a Protocol any provider adapter implements, and the default log gateway."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger("selpo.sms")

DEFAULT_SMS_LOG = Path("var/sms.log")


class SmsGateway(Protocol):
    """Sends one text message to one phone; raises on failure (the outbox retries)."""

    def send(self, phone: str, text: str) -> None: ...


def mask_phone(phone: str) -> str:
    """Hide all digits of a phone number but the last four (personal data in logs)."""
    digits = sum(ch.isdigit() for ch in phone)
    seen = 0
    masked = []
    for ch in phone:
        if ch.isdigit():
            seen += 1
            masked.append(ch if seen > digits - 4 else "*")
        else:
            masked.append(ch)
    return "".join(masked)


class LogSmsGateway:
    """The default gateway: no provider, each message goes to the Python log and a file.

    Both are logs, so the phone is masked in both; a real provider adapter gets the full number.
    """

    def __init__(self, path: Path = DEFAULT_SMS_LOG) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        """Log the message with the phone masked and append it to the file."""
        masked = mask_phone(phone)
        log.info("SMS to %s: %s", masked, text)
        line = f"{datetime.now(UTC).isoformat()}\t{masked}\t{text.replace(chr(10), ' ')}\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line)
