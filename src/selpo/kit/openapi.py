"""OpenAPI examples of an operation's body and answer, for the ``responses=`` and
``openapi_extra=`` of a route (FastAPI merges them with the schemas it generates).

FastAPI encodes the document without ``None`` values, which would strip every ``null`` out of
an example (a required nullable field would then look missing). The helpers here mark each
``null`` of an example, and ``restore_example_nulls`` turns the marks back into ``null`` in the
built document.
"""

from __future__ import annotations

from typing import Any

JSON = "application/json"
_NULL = "\x00selpo-openapi-null\x00"


def _marked(value: Any) -> Any:
    if value is None:
        return _NULL
    if isinstance(value, dict):
        return {key: _marked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_marked(item) for item in value]
    return value


def keep_nulls(value: Any) -> Any:
    """``value`` with each ``null`` marked, for examples given elsewhere (a model's
    ``json_schema_extra``): the built document shows them as ``null`` again."""
    return _marked(value)


def example_answer(
    value: Any, *, status: int = 200, media_type: str = JSON
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry showing ``value`` as the example of the ``status`` answer."""
    return {status: {"content": {media_type: {"example": _marked(value)}}}}


def example_body(value: Any = None, *, named: dict[str, Any] | None = None) -> dict[str, Any]:
    """``openapi_extra=`` showing ``value`` (or ``named`` examples, each ``{"summary",
    "value"}``) as the request body's example."""
    media: dict[str, Any] = (
        {"examples": _marked(named)} if named is not None else {"example": _marked(value)}
    )
    return {"requestBody": {"content": {JSON: media}}}


def restore_example_nulls(document: Any) -> Any:
    """The built document with each marked ``null`` of an example back as ``None`` (in place
    for dicts and lists; returns the value)."""
    if isinstance(document, dict):
        for key, item in document.items():
            document[key] = restore_example_nulls(item)
        return document
    if isinstance(document, list):
        for position, item in enumerate(document):
            document[position] = restore_example_nulls(item)
        return document
    return None if document == _NULL else document
