"""What every resource shares: the pipeline, and parsing responses into models."""

from __future__ import annotations

from typing import Any, TypeVar

from ..._core.pagination import AsyncPaginator
from ..._core.parsing import parse
from ..._core.pipeline import AuthKind, Pipeline, segment

__all__ = ["APIResource", "parse", "segment"]

T = TypeVar("T")


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
