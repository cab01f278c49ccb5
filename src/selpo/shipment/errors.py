"""Refusals of the shipment domain."""

from __future__ import annotations

from selpo.errors import Conflict, DomainError, InvalidInput, NotFound


class ShipmentNotFound(NotFound):
    """No shipment of this marketplace has this tracking number."""

    def __init__(self, tracking_number: str) -> None:
        super().__init__(
            f"no shipment with tracking number {tracking_number}", field="tracking_number"
        )


class DuplicateOrder(Conflict):
    """The marketplace already sent a shipment for this order."""

    def __init__(self, external_order_id: str, tracking_number: str) -> None:
        super().__init__(
            f"order {external_order_id!r} already has shipment {tracking_number}",
            field="external_order_id",
            tracking_number=tracking_number,
        )


class TransitionRefused(Conflict):
    """The lifecycle does not allow this change now."""

    def __init__(self, message: str, *, current: str, allowed: list[str]) -> None:
        super().__init__(message, field="status", current_status=current, allowed=allowed)


class IdempotencyKeyReused(InvalidInput):
    """The same Idempotency-Key came with another request body."""

    def __init__(self) -> None:
        super().__init__(
            "this Idempotency-Key was used with a different request body",
            field="Idempotency-Key",
        )


class PickupCodeLocked(Conflict):
    """Too many wrong codes: the code is locked for a while."""

    def __init__(self, until: str) -> None:
        super().__init__(f"the pickup code is locked until {until}", field="code")


class WrongPickupCode(InvalidInput):
    """The code does not match."""

    def __init__(self, attempts_left: int) -> None:
        super().__init__(
            f"wrong pickup code; {attempts_left} attempts left",
            field="code",
            attempts_left=attempts_left,
        )


class SerialsExhausted(DomainError):
    """The month's 99,999 serials of an accepting index are used up."""

    status_code = 503
    title = "Tracking numbers exhausted"


class CreationRaced(DomainError):
    """A concurrent creation clashed in a way no order explains: nothing was kept, retry."""

    status_code = 503
    title = "Try again"

    def __init__(self) -> None:
        super().__init__("a concurrent request got in the way; nothing was created, retry")


class UnknownLabels(InvalidInput):
    """Labels asked for numbers that are not the caller's shipments: none is printed."""

    def __init__(self, tracking_numbers: list[str]) -> None:
        super().__init__(
            f"{len(tracking_numbers)} tracking numbers are not shipments of yours; "
            "no label was printed",
            field="tracking_numbers",
            unknown=tracking_numbers,
        )


class ChangeRefused(Conflict):
    """The shipment's status no longer lets these fields change."""

    def __init__(self, *, current: str, refused: list[str], changeable: list[str]) -> None:
        still = ", ".join(changeable) if changeable else "nothing"
        super().__init__(
            f"the shipment is {current}: {', '.join(refused)} can no longer change; "
            f"what may still change: {still}",
            field=refused[0],
            current_status=current,
            refused=refused,
            changeable=changeable,
        )
