"""Async pagination over ``{items, next}`` pages.

``await paginator`` gives the first page; ``async for item in paginator`` walks every item,
fetching pages lazily; ``paginator.pages()`` walks pages. ``next`` links are followed only to
the client's own scheme, host and port, and an empty page that still carries ``next`` is not
the end (the log store is eventually consistent).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict

from .exceptions import PaginationError
from .parsing import parse

__all__ = ["AsyncPaginator", "Page"]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of results; ``next`` is the absolute URL of the following page, if any."""

    model_config = ConfigDict(extra="allow")

    items: list[T] = []
    next: str | None = None


def same_origin(url: httpx.URL, base: httpx.URL) -> bool:
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)


class AsyncPaginator(Generic[T]):
    """Lazily pages through a list endpoint. Await it for one page, iterate it for all items."""

    def __init__(
        self,
        fetch: Callable[[str, dict[str, Any] | None], Any],
        path: str,
        item_type: type[T],
        *,
        base_url: httpx.URL,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
        page_size_param: str = "pageSize",
    ) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        self._fetch = fetch
        self._path = path
        self._page_type = Page[item_type]  # type: ignore[valid-type]
        self._base_url = base_url
        self._params = {k: v for k, v in (params or {}).items() if v is not None}
        if limit is not None and (page_size is None or limit < page_size):
            page_size = max(1, limit)
        if page_size is not None:
            self._params[page_size_param] = page_size
        self._limit = limit

    async def _get_page(self, url: str, params: dict[str, Any] | None) -> Page[T]:
        response: httpx.Response = await self._fetch(url, params)
        page: Page[T] = parse(response, self._page_type)
        return page

    def _next_url(self, link: str) -> str:
        """The absolute URL of ``link``, on our own origin, keeping query params it dropped."""
        url = self._base_url.join(link)
        if not same_origin(url, self._base_url):
            raise PaginationError(
                f"refusing to follow a next link to {url.scheme}://{url.host}: pages must come "
                f"from {self._base_url.scheme}://{self._base_url.host}, the client's own host"
            )
        missing = {k: v for k, v in self._params.items() if k not in url.params}
        return str(url.copy_merge_params(missing) if missing else url)

    async def first_page(self) -> Page[T]:
        """The first page."""
        return await self._get_page(self._path, self._params)

    async def page_at(self, link: str | None) -> Page[T]:
        """The page a ``next`` link points at (checked like any ``next``), or the first page when
        ``link`` is None. Fetching the same link again gives that page as it is now, which is how
        a growing listing (a running job's log) is followed.
        """
        if link is None:
            return await self.first_page()
        return await self._get_page(self._next_url(link), None)

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.first_page().__await__()

    def pages(self) -> AsyncIterator[Page[T]]:
        """Every page in order, empty ones that carry ``next`` included, up to ``limit`` items."""
        return _Pages(self)

    def __aiter__(self) -> AsyncIterator[T]:
        return _Items(_Pages(self))

    async def to_list(self) -> list[T]:
        """Every item, in a list (mind the memory on large collections)."""
        return [item async for item in self]


class _Pages(Generic[T]):
    """Iterator over pages. A plain object, not an async generator, so that breaking out of
    ``async for`` needs no finalisation (trio warns about unfinished async generators).
    """

    def __init__(self, paginator: AsyncPaginator[T]) -> None:
        self._paginator = paginator
        self._remaining = paginator._limit
        self._next: str | None = None
        self._started = False

    def __aiter__(self) -> _Pages[T]:
        return self

    async def __anext__(self) -> Page[T]:
        paginator = self._paginator
        if self._remaining == 0 or (self._started and self._next is None):
            raise StopAsyncIteration
        if self._started:
            assert self._next is not None
            page = await paginator._get_page(paginator._next_url(self._next), None)
        else:
            page = await paginator.first_page()
            self._started = True
        self._next = page.next or None
        if self._remaining is not None:
            del page.items[self._remaining :]
            self._remaining -= len(page.items)
        return page


class _Items(Generic[T]):
    """Iterator over the items of successive pages."""

    def __init__(self, pages: _Pages[T]) -> None:
        self._pages = pages
        self._buffer: Iterator[T] = iter(())

    def __aiter__(self) -> _Items[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            item = next(self._buffer, _DONE)
            if item is not _DONE:
                return item  # type: ignore[return-value]
            page = await self._pages.__anext__()
            self._buffer = iter(page.items)


_DONE = object()
