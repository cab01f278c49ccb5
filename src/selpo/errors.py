"""Domain errors: services raise them, the HTTP, web and CLI shells render them in one place."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


# ---------------------------------------------------------------------------- HTTP rendering

PROBLEM_JSON = "application/problem+json"


def status_title(status: int) -> str:
    """The standard reason phrase of an HTTP status (``Not Found``), or ``Error``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    request_id: str | None = None,
    errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """An RFC 9457 problem-details body; ``request_id`` is the request's ``X-Request-Id``."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or status_title(status),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    if request_id is not None:
        body["request_id"] = request_id
    return body


class FieldProblem(BaseModel):
    """One field at fault."""

    field: str = Field(description="Dotted path of the field (`parcel.weight_g`), or `body`")
    reason: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="A URI naming the kind of problem")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong, for a person")
    errors: list[FieldProblem] | None = Field(
        default=None, description="The fields at fault (always for 422)"
    )
    request_id: str | None = Field(
        default=None, description="The request's X-Request-Id: quote it when reporting a problem"
    )


PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"

_DESCRIPTIONS = {
    400: "Bad request",
    401: "No API key, or the key is not valid",
    403: "The key may not use this operation",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request body too large",
    422: "Invalid input: `errors` names the fields",
    429: "Too many requests: wait `Retry-After` seconds",
    500: "Internal error: quote the `request_id`",
    503: "Temporarily unavailable (e.g. the database switching to its standby): retry later",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for these error statuses, each a problem-details body."""
    entries: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "description": _DESCRIPTIONS.get(status, status_title(status)),
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        if status in (429, 503):
            entry["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again",
                    "schema": {"type": "integer"},
                }
            }
        entries[status] = entry
    return entries
