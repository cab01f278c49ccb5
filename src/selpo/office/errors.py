"""Refusals of the office workstation, each a clear Russian sentence for the clerk."""

from __future__ import annotations

import math
from datetime import timedelta

from selpo.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthorized
from selpo.kit.display import plural


class LoginFailed(Unauthorized):
    """Wrong login or password (which of the two is not said)."""

    def __init__(self) -> None:
        super().__init__("Неверный логин или пароль.", field="login")


class LoginLocked(Unauthorized):
    """Too many wrong passwords in a row."""

    def __init__(self, remaining: timedelta, max_failures: int) -> None:
        # How long, not until when: the sign-in page knows no office, so no local zone.
        minutes = max(1, math.ceil(remaining.total_seconds() / 60))
        wrong = plural(max_failures, "неверный пароль", "неверных пароля", "неверных паролей")
        super().__init__(
            f"Вход заблокирован на {minutes} мин.: {max_failures} {wrong} подряд.",
            field="login",
        )


class SessionExpired(Unauthorized):
    """No session, or an expired or ended one."""

    def __init__(self) -> None:
        super().__init__("Сеанс завершён: войдите снова.")


class CsrfRefused(Forbidden):
    """A form without this session's CSRF token."""

    def __init__(self) -> None:
        super().__init__("Форма устарела или пришла не с этого рабочего места: обновите страницу.")


class OfficeForbidden(Forbidden):
    """Another office's pages."""

    def __init__(self, index: str) -> None:
        super().__init__(
            f"Нет доступа: отделение {index} не ваше. Работать можно только в своём отделении.",
            field="index",
        )


class OfficeNotFound(NotFound):
    """No office with this index."""

    def __init__(self, index: str) -> None:
        super().__init__(f"Отделения с индексом {index} нет.", field="index")


class ClerkInvalid(InvalidInput):
    """A clerk account that cannot be created as asked."""


class ParcelNotHere(DomainError):
    """A parcel this step cannot take here (another office's, already issued, unknown...)."""

    status_code = 409
    title = "Conflict"


class ParcelNotFound(NotFound):
    """No parcel with this number (or not with these phone digits)."""


class BadBarcode(InvalidInput):
    """A barcode that is not a tracking number, or has a wrong check digit."""


class NoFreeCell(Conflict):
    """No free cell fits the parcel."""


class CellRefused(InvalidInput):
    """A cell that is unknown, taken or too small."""


class CodeRefused(InvalidInput):
    """A wrong or locked pickup code."""


class IssueRefused(InvalidInput):
    """An issue the clerk asked for that cannot be done (bad amounts, refused items...)."""


class ScanTimeRefused(InvalidInput):
    """A scan time the counter's queue sent that cannot be true (ahead of the server's clock,
    or before the acceptance began / the parcel arrived)."""


class RunRefused(InvalidInput):
    """A route run an acceptance cannot take: not arriving at the office today, or several
    arrive and the clerk has not said which."""
