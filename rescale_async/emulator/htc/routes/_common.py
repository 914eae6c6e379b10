"""Request parsing and responses shared by the route groups: bodies, validation, choices.

Request bodies are validated with the SDK's request models, made lenient: the service
ignores fields it does not know, the SDK's models refuse them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from ....htc.types import TaskRetentionPolicyUpdate
from .._errors import bad_request

__all__ = [
    "RetentionUpdate",
    "choice",
    "json_response",
    "lenient",
    "problems",
    "read_body",
    "validate",
]

M = TypeVar("M", bound=BaseModel)


def lenient(model: type[M]) -> type[M]:
    """``model`` ignoring unknown fields, every documented check kept."""
    return type(f"Lenient{model.__name__}", (model,), {"model_config": ConfigDict(extra="ignore")})


RetentionUpdate = lenient(TaskRetentionPolicyUpdate)
"""A task retention policy update (projects and the workspace take the same body)."""


def problems(exc: ValidationError, prefix: str = "") -> list[str]:
    """Each validation error as ``where: message`` (``where`` starting with ``prefix``)."""
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        where = prefix
        for part in error["loc"]:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        found.append(f"{where or 'body'}: {error['msg']}")
    return found


def validate(model: type[M], data: Any, what: str) -> M:
    """``data`` as ``model``; 400 VALIDATION_ERROR listing the problems otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        found = problems(exc)
        raise bad_request("VALIDATION_ERROR", f"Invalid {what}", "; ".join(found)) from None


async def read_body(request: Request) -> Any:
    """The request's JSON body; 400 INVALID_REQUEST_BODY when missing or not JSON."""
    raw = await request.body()
    if not raw.strip():
        raise bad_request("INVALID_REQUEST_BODY", "Required request body is missing")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request("INVALID_REQUEST_BODY", f"JSON parse error: {exc}") from None


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
