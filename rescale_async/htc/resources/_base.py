"""What every HTC resource shares beyond ``_core.resource``: the page-size bounds of listings."""

from __future__ import annotations

from typing import Any, TypeVar

from ..._core.pagination import AsyncPaginator
from ..._core.parsing import parse
from ..._core.pipeline import segment
from ..._core.resource import Resource

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


class APIResource(Resource):
    """A group of HTC API operations. Resources hold only HTTP calls; models hold only data."""

    async def _call_text(self, method: str, path: str) -> str:
        """An endpoint answering text/plain (asked for explicitly: JSON is the default)."""
        response = await self._pipeline.request(method, path, headers={"Accept": "text/plain"})
        return response.text

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
