"""Refusals of the collection domain."""

from __future__ import annotations

from selpo.errors import Conflict, NotFound, Unauthorized


class MissingPartnerKey(Unauthorized):
    """No partner key, or one that is malformed, unknown or replaced."""

    def __init__(
        self, message: str = "a collection partner's key is needed: Authorization: Bearer KEY"
    ) -> None:
        super().__init__(message, field="Authorization")


class PartnerNotFound(NotFound):
    """No collection partner has this code."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no collection partner has code {code!r}", field="code")


class BagNotFound(NotFound):
    """No bag of this code (at this office, or of this partner)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"Мешка {code} нет.", field="code")


class ActNotFound(NotFound):
    """No collection act of this number for this partner."""

    def __init__(self, number: str) -> None:
        super().__init__(f"no collection act {number!r}", field="number")


class NothingToCollect(Conflict):
    """No bag of the partner waits at the hub (or the bags named are not there)."""

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message, field="bags", **extra)
