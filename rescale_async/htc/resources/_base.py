"""What every resource shares: the pipeline, and parsing responses into models."""

from __future__ import annotations

from typing import Any, TypeVar

from ..._core.pagination import AsyncPaginator
from ..._core.parsing import parse
from ..._core.pipeline import AuthKind, Pipeline, segment

__all__ = ["PAGE_SIZE_MAX", "APIResource", "page_size_within", "parse", "segment"]

T = TypeVar("T")

PAGE_SIZE_MAX = 1000
"""The largest ``pageSize`` the service accepts for every listing but job logs."""


def page_size_within(page_size: int | None, maximum: int, listing: str) -> int:
    """``page_size``, or ``maximum`` when not given, so that walking a whole listing takes the
    fewest requests; outside 1..maximum, a ValueError before any request is sent.
    """
    if page_size is None:
        return maximum
    if not 1 <= page_size <= maximum:
        raise ValueError(
            f"page_size for {listing} must be 1..{maximum}, got {page_size}: the service "
            f"returns at most {maximum} per page (leave page_size out to get that many)"
        )
    return page_size


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
        listing: str,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        max_page_size: int = PAGE_SIZE_MAX,
    ) -> AsyncPaginator[T]:
        """A paginator over ``path`` asking for pages of ``page_size`` items, by default the
        largest the ``listing`` allows (``max_page_size``); ``limit`` caps the items.
        """
        size = page_size_within(page_size, max_page_size, listing)
        return self._pipeline.paginate(path, item_type, params=params, page_size=size, limit=limit)
