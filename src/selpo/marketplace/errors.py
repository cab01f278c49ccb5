"""Refusals of the marketplace domain."""

from __future__ import annotations

from selpo.errors import Forbidden, NotFound, Unauthorized


class MissingApiKey(Unauthorized):
    """No bearer key, or one that is unknown or revoked."""

    def __init__(self, message: str = "an API key is needed: Authorization: Bearer KEY") -> None:
        super().__init__(message, field="Authorization")


class AdminOnly(Forbidden):
    """The route needs the operator's admin key."""

    def __init__(self) -> None:
        super().__init__("this needs an admin key", field="Authorization")


class MarketplaceNotFound(NotFound):
    """No marketplace has this code."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no marketplace has code {code!r}", field="code")


class SandboxOnly(Forbidden):
    """The route is the sandbox's: it needs a test key (``sk_test_...``)."""

    def __init__(self) -> None:
        super().__init__(
            "this route is the sandbox's: call it with a test key (sk_test_...)",
            field="Authorization",
        )
