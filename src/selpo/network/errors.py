"""Refusals of the network domain."""

from __future__ import annotations

from selpo.errors import InvalidInput, NotFound


class PostOfficeNotFound(NotFound):
    """No office has this index."""

    def __init__(self, index: str) -> None:
        super().__init__(f"no post office has index {index}", field="index")


class UnknownMarketplace(InvalidInput):
    """The marketplace code is not known."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown marketplace {code!r}", field="marketplace")


class InvalidIndex(InvalidInput):
    """A postal index that is not six digits."""

    def __init__(self, value: str, field: str = "index") -> None:
        super().__init__(f"postal index {value!r} is not 6 digits", field=field)


class UnknownRegion(InvalidInput):
    """No region of the reference has this code, slug or name."""

    def __init__(self, value: str) -> None:
        super().__init__(f"unknown region {value!r}", field="region")


class NoDefaultRegion(InvalidInput):
    """No region was named and the package's curated manifests do not single one out."""

    def __init__(self, manifests: int, marked: list[str]) -> None:
        super().__init__(
            f"no default region: {manifests} curated region manifests ship in the package, "
            f"{len(marked)} marked default = true ({', '.join(marked) or 'none'}); "
            "name a region (SELPO_DEFAULT_REGION)",
            field="region",
        )
