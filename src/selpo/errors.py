"""Domain errors: services raise them, the HTTP, web and CLI shells render them in one place."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the user can act on: a status code, a message, and the field at fault."""

    status_code: int = 400
    title: str = "Bad request"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """Render as an RFC 9457 problem-details body."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status_code,
            "detail": self.message,
        }
        if self.field is not None:
            body["errors"] = [{"field": self.field, "reason": self.message}]
        body.update(self.extra)
        return body


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class InvalidInput(DomainError):
    status_code = 422
    title = "Invalid input"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class Unauthorized(DomainError):
    status_code = 401
    title = "Unauthorized"


class Forbidden(DomainError):
    status_code = 403
    title = "Forbidden"
