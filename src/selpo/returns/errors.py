"""Refusals of customer returns and recalls."""

from __future__ import annotations

from selpo.errors import Conflict, InvalidInput, NotFound


class ReturnNotFound(NotFound):
    """No return of this marketplace has this id."""

    def __init__(self, return_id: int) -> None:
        super().__init__(f"no return with id {return_id}", field="return_id")


class DuplicateReturn(Conflict):
    """The marketplace already registered a return under this id."""

    def __init__(self, external_return_id: str, return_id: int) -> None:
        super().__init__(
            f"return {external_return_id!r} is already registered (id {return_id})",
            field="external_return_id",
            return_id=return_id,
        )


class ReturnRefused(Conflict):
    """The order or the return is not in a state that allows this."""

    def __init__(self, message: str, *, field: str = "status") -> None:
        super().__init__(message, field=field)


class CounterRefusal(InvalidInput):
    """A refusal at the counter, in Russian for the clerk (422)."""
