"""Request parsing and responses shared by the route groups: bodies, validation, choices.

Request bodies are validated with the SDK's request models, checked strictly (``_strict``) but
made lenient about unknown fields: the service ignores fields it does not know, the SDK's
models refuse them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse

from ....htc.types import TaskRetentionPolicyUpdate
from .._errors import bad_request
from .._pages import PAGE_SIZE_MAX, PageRequest, page_request
from ._base import Call
from ._strict import conform

__all__ = [
    "RetentionUpdate",
    "choice",
    "json_response",
    "lenient",
    "read_body",
    "requested_page",
    "validate",
    "validate_items",
]

M = TypeVar("M", bound=BaseModel)


def lenient(model: type[M]) -> type[M]:
    """``model`` ignoring unknown fields, every documented check kept."""
    return type(f"Lenient{model.__name__}", (model,), {"model_config": ConfigDict(extra="ignore")})


RetentionUpdate = lenient(TaskRetentionPolicyUpdate)
"""A task retention policy update (projects and the workspace take the same body)."""


def validate(model: type[M], data: Any, what: str) -> M:
    """``data`` as ``model``, checked strictly; 400 VALIDATION_ERROR listing the problems."""
    instance, found = conform(model, data)
    if instance is None:
        raise bad_request("VALIDATION_ERROR", f"Invalid {what}", "; ".join(found))
    return instance


def validate_items(model: type[M], data: Any, what: str) -> list[M]:
    """``data``, a JSON array, as a list of ``model`` (each checked strictly); 400
    VALIDATION_ERROR listing every problem of every item otherwise.
    """
    if not isinstance(data, list):
        raise bad_request(
            "VALIDATION_ERROR", f"Invalid {what}", f"The body must be a JSON array of {what}s"
        )
    items: list[M] = []
    found: list[str] = []
    for index, item in enumerate(data):
        instance, problems = conform(model, item, f"[{index}]")
        found += problems
        if instance is not None:
            items.append(instance)
    if found:
        raise bad_request("VALIDATION_ERROR", f"Invalid {what}", "; ".join(found))
    return items


def _refuse_constant(name: str) -> Any:
    """JSON has no NaN or Infinity (Python's parser accepts them, the service's does not)."""
    raise ValueError(f"{name} is not a JSON value")


async def read_body(request: Request) -> Any:
    """The request's JSON body; 400 INVALID_REQUEST_BODY when missing or not JSON."""
    raw = await request.body()
    if not raw.strip():
        raise bad_request("INVALID_REQUEST_BODY", "Required request body is missing")
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise bad_request("INVALID_REQUEST_BODY", f"JSON parse error: {exc}") from None


def requested_page(call: Call, kind: str, *, maximum: int = PAGE_SIZE_MAX) -> PageRequest:
    """The page of listing ``kind`` the request asks for: ``pageSize`` at most ``maximum``
    (the service's limit) and the configured ``max_page_size``; else 400.
    """
    return page_request(call.request, kind, maximum=min(maximum, call.config.max_page_size))


def json_response(body: Any, status: int = 200) -> JSONResponse:
    """``body`` as a JSON response."""
    return JSONResponse(body, status_code=status)


def choice(request: Request, name: str, allowed: Iterable[str], default: str | None) -> str | None:
    """Query parameter ``name`` (``default`` when absent or empty); 400 when not ``allowed``."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    allowed_set = set(allowed)
    if value not in allowed_set:
        raise bad_request(
            "INVALID_PARAMETER",
            f"{name} must be one of {', '.join(sorted(allowed_set))}, got {value!r}",
        )
    return value
