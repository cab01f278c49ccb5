"""The errors the client raises: every refusal of the server is a ``SelpoError`` carrying its
problem details (RFC 9457, ``application/problem+json``)."""

from __future__ import annotations

from typing import Any


class SelpoError(Exception):
    """The server refused a request (4xx/5xx): its status, title, detail and request id.

    ``problem`` is the whole problem+json body (``errors`` names the fields at fault on a 422,
    a 409 may add what may still change); ``request_id`` is the request's ``X-Request-Id``,
    to quote when reporting a problem; ``retry_after`` the seconds a 429/503 asked to wait.
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        request_id: str | None = None,
        problem: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" + (f" [{request_id}]" if request_id else ""))
        self.status = status
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.problem: dict[str, Any] = problem or {}
        self.retry_after = retry_after

    @property
    def errors(self) -> list[dict[str, Any]]:
        """The fields at fault (``[{"field": "parcel.weight_g", "reason": "…"}]``), if named."""
        found = self.problem.get("errors")
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


class SelpoTransportError(Exception):
    """The server could not be reached (after the retries an idempotent call is allowed)."""


class InvalidSignature(Exception):
    """A webhook's ``X-Selpo-Signature`` does not sign its body with the secret (or is stale)."""
