"""The platform API's error answers, as Django REST Framework writes them.

``{"detail": "..."}`` for most errors; field maps for validation (nested like the request:
``{"jobanalyses": [{}, {"hardware": {"coresPerSlot": ["..."]}}]}``, an empty map for a list
item without errors).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .._errors import ApiError

__all__ = [
    "NOT_FOUND",
    "ApiError",
    "bad_request",
    "detail",
    "drf_error_body",
    "not_found",
    "throttled",
    "unauthorized",
]

NOT_FOUND = "Not found."


def detail(status: int, message: str, headers: dict[str, str] | None = None) -> ApiError:
    """``status`` with ``{"detail": message}``."""
    return ApiError(status, {"detail": message}, headers)


def not_found(message: str = NOT_FOUND) -> ApiError:
    return detail(404, message)


def bad_request(errors: dict[str, Any] | list[Any]) -> ApiError:
    """400 with a DRF field-error map (or a list of non-field errors)."""
    return ApiError(400, errors)


def unauthorized(message: str) -> ApiError:
    """401 as DRF's token authentication answers it."""
    return detail(401, message, {"WWW-Authenticate": "Token"})


def throttle_detail(wait: float) -> tuple[str, str]:
    """DRF's throttle message and the ``Retry-After`` value for a wait of ``wait`` seconds."""
    seconds = max(1, math.ceil(wait))
    unit = "second" if seconds == 1 else "seconds"
    return f"Request was throttled. Expected available in {seconds} {unit}.", str(seconds)


def throttled(wait: float) -> ApiError:
    """429 with ``Retry-After`` and DRF's throttle detail."""
    message, retry_after = throttle_detail(wait)
    return detail(429, message, {"Retry-After": retry_after})


def drf_error_body(status: int, retry_after: str | None) -> tuple[bytes, bytes]:
    """The body of an injected fault (``FaultLayer``): DRF's throttle detail for 429, Django's
    plain server error page otherwise.
    """
    if status == 429:
        wait = float(retry_after) if retry_after else 1.0
        return json.dumps({"detail": throttle_detail(wait)[0]}).encode(), b"application/json"
    return b"<h1>Server Error (500)</h1>", b"text/html"
