"""What a resource of either API is: a group of HTTP calls over the client's pipeline, each
answer parsed into a model. Resources hold only calls; models hold only data.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from .parsing import parse
from .pipeline import AuthKind, Pipeline

__all__ = ["Resource"]

T = TypeVar("T")


class Resource:
    """The calls every resource makes; each API's base adds how its listings page."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline

    async def _call(
        self,
        method: str,
        path: str,
        shape: type[T],
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        content: httpx.AsyncByteStream | None = None,
        headers: dict[str, str] | None = None,
        auth: AuthKind | None = None,
    ) -> T:
        """Send one call (``auth`` None: the pipeline's default) and parse its body as
        ``shape``.
        """
        response = await self._pipeline.request(
            method,
            path,
            params=params,
            json=json,
            data=data,
            content=content,
            headers=headers,
            auth=auth,
        )
        result: T = parse(response, shape)
        return result

    async def _call_no_content(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> None:
        """Send one call whose answer carries nothing to keep (204, an empty 200, a 202)."""
        await self._pipeline.request(method, path, params=params, json=json)
