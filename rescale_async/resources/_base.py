"""What every resource shares: the pipeline, and parsing responses into models."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from .._core.exceptions import ResponseValidationError
from .._core.pagination import AsyncPaginator
from .._core.pipeline import AuthKind, Pipeline, segment

__all__ = ["APIResource", "segment"]

T = TypeVar("T")

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


class APIResource:
    """A group of API operations. Resources hold only HTTP calls; models hold only data."""

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
        headers: dict[str, str] | None = None,
        auth: AuthKind = AuthKind.BEARER,
    ) -> T:
        response = await self._pipeline.request(
            method, path, params=params, json=json, data=data, headers=headers, auth=auth
        )
        result: T = parse(response, shape)
        return result

    async def _call_text(self, method: str, path: str) -> str:
        """An endpoint answering text/plain (asked for explicitly: JSON is the default)."""
        response = await self._pipeline.request(method, path, headers={"Accept": "text/plain"})
        return response.text

    async def _call_no_content(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> None:
        await self._pipeline.request(method, path, params=params, json=json)

    def _list(
        self,
        path: str,
        item_type: type[T],
        *,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[T]:
        return self._pipeline.paginate(
            path, item_type, params=params, page_size=page_size, limit=limit
        )
