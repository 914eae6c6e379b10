"""Turning a response body into a typed value, with one validator cache for the whole client."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from .exceptions import ResponseValidationError

__all__ = ["parse"]

_adapters: dict[Any, TypeAdapter[Any]] = {}

_MAX_PROBLEMS = 5


def parse(response: httpx.Response, shape: Any) -> Any:
    """Validate ``response``'s JSON body as ``shape``; a mismatch is a ResponseValidationError
    naming each field at fault (a missing one is the identifying field a later call needs).
    """
    adapter = _adapters.get(shape)
    if adapter is None:
        adapter = _adapters[shape] = TypeAdapter(shape)
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = "; ".join(_problem(error) for error in errors[:_MAX_PROBLEMS])
        raise ResponseValidationError(response, problems) from None


def _problem(error: ErrorDetails) -> str:
    """One failure as ``path: message`` (never the value itself, which may be a secret), saying
    which identifying field a missing or null one is.
    """
    location = error["loc"]
    path = ".".join(map(str, location)) or "body"
    absent = error["type"] == "missing" or error.get("input", ...) is None
    if absent and location:
        return f"{path}: {error['msg']} (the identifying field {location[-1]!r} is missing or null)"
    return f"{path}: {error['msg']}"
