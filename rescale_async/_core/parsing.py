"""Turning a response body into a typed value, with one validator cache for the whole client."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from .exceptions import ResponseValidationError

__all__ = ["parse"]

_adapters: dict[Any, TypeAdapter[Any]] = {}


def parse(response: httpx.Response, shape: Any) -> Any:
    """Validate ``response``'s JSON body as ``shape``; a mismatch is a ResponseValidationError."""
    adapter = _adapters.get(shape)
    if adapter is None:
        adapter = _adapters[shape] = TypeAdapter(shape)
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)[:5]
        )
        raise ResponseValidationError(response, problems) from None
