"""The SMS gateway: a Protocol any provider adapter implements, and the default log gateway."""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from selpo.kit.phone import mask_phone
from selpo.notify.sms_text import segments

log = logging.getLogger("selpo.sms")

DEFAULT_SMS_LOG = Path("var/sms.log")


class SmsGateway(Protocol):
    """Sends one text message to one phone; raises on failure (the outbox retries)."""

    def send(self, phone: str, text: str) -> None: ...


class LogSmsGateway:
    """The development gateway: no provider, each message is appended to a file.

    The file stands in for the recipient's phone, so it holds the text as sent (pickup codes
    included) with the phone masked; it is created readable by its owner only (0600). The
    Python log says only that a message went out, never its text.
    """

    def __init__(self, path: Path = DEFAULT_SMS_LOG) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        """Append the message to the file with the phone masked; log that it was written."""
        masked = mask_phone(phone)
        line = f"{datetime.now(UTC).isoformat()}\t{masked}\t{text.replace(chr(10), ' ')}\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "a", encoding="utf-8") as file:
                # A file made before this rule (or under a loose umask) is narrowed too.
                os.fchmod(file.fileno(), 0o600)
                file.write(line)
        log.info(
            "SMS to %s written to %s (%d characters, %d segments)",
            masked,
            self.path,
            len(text),
            segments(text),
        )
