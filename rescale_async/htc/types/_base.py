"""Base classes every HTC model derives from, shared with the platform API: see
``rescale_async._core.models`` (camelCase wire names, open enums, tolerant responses, strict
requests).
"""

from __future__ import annotations

from ..._core.models import (
    APIModel,
    ListResponse,
    OpenEnum,
    RequestModel,
    SecretText,
    UTCDateTime,
    check_strictly,
)

__all__ = [
    "APIModel",
    "ListResponse",
    "OpenEnum",
    "RequestModel",
    "SecretText",
    "UTCDateTime",
    "check_strictly",
]
