"""Async pagination over ``{items, next}`` pages (HTC), or ``{count, next, previous, results}``
pages numbered by ``page`` (Django REST Framework: the platform API, ``NumberedPage``).

``await paginator`` gives the first page; ``async for item in paginator`` walks every item,
fetching pages lazily; ``paginator.pages()`` walks pages. ``next`` links are followed only to
the client's own scheme, host and port, and an empty page that still carries ``next`` is not
the end (the log store is eventually consistent).

Walking is pipelined (``PageReader``): a page's ``next`` link is read from the raw body before
the page is validated, the request for that page is sent, and the current page is parsed
while it travels. Each read keeps its concurrency inside itself (a task group of its own), so
breaking out of ``async for`` or cancelling leaves no task behind, and at most two pages are
held: the one handed out and the one read ahead.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio
import anyio.lowlevel
import httpx
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from .exceptions import PaginationError
from .parsing import parse

__all__ = ["AsyncPaginator", "NumberedPage", "Page", "PageReader", "next_link_of"]

T = TypeVar("T")

HEAD_START_TURNS = 16
"""Scheduler turns the request for the next page gets before the current page is parsed (the
parse holds the event loop): on an open connection a request reaches the socket within 4 to 6
turns under asyncio and trio alike, so its network wait then overlaps the parse."""

_TAIL = 16384
"""How much of a body's end is searched for a closing ``"next": ...`` member."""

_CLOSING_NEXT = re.compile(rb'[{,]\s*"next"\s*:\s*("(?:[^"\\]|\\.)*"|null)\s*}\s*\Z')
"""A body ending with its root object's ``next`` member (as the service writes pages). In a
valid JSON document nothing else matches: a quote preceded by ``{``, ``,`` or ``:`` opens a
string, and the member closed by the final ``}`` belongs to the root object."""

_OPENING_NEXT = re.compile(
    rb'\A\s*\{\s*"count"\s*:\s*\d+\s*,\s*"next"\s*:\s*("(?:[^"\\]|\\.)*"|null)'
)
"""A body opening with its root object's ``count`` then ``next`` members (as Django REST
Framework writes pages): members right after the root's opening brace are the root's."""


class Page(BaseModel, Generic[T]):
    """One page of results; ``next`` is the absolute URL of the following page, if any."""

    model_config = ConfigDict(extra="allow")

    items: list[T] = []
    next: str | None = None


class NumberedPage(Page[T], Generic[T]):
    """A Django REST Framework page: ``results`` (as ``items``), the total ``count``, and the
    absolute URLs of the ``next`` and ``previous`` pages, if any.
    """

    items: list[T] = Field(default=[], validation_alias="results")
    count: int | None = None
    previous: str | None = None


class _NextOnly(TypedDict, total=False):
    next: str | None


_next_only = TypeAdapter(_NextOnly)


def next_link_of(body: bytes) -> str | None:
    """A page's ``next`` link read from its raw JSON, without building its items: a regular
    expression on the end of the body, else a validation that skips everything but ``next``.
    None when there is none or the body is not a page (its full parse reports that).
    """
    found = _OPENING_NEXT.match(body) or _CLOSING_NEXT.search(body, max(0, len(body) - _TAIL))
    if found is not None:
        link: str | None = json.loads(found.group(1))
        return link or None
    try:
        return _next_only.validate_json(body).get("next") or None
    except ValidationError:
        return None


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
        page_type: type[Page[Any]] = Page,
    ) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        self._fetch = fetch
        self._path = path
        self._page_type = page_type[item_type]  # type: ignore[index]
        self._base_url = base_url
        self._params = {k: v for k, v in (params or {}).items() if v is not None}
        if limit is not None and (page_size is None or limit < page_size):
            page_size = max(1, limit)
        if page_size is not None:
            self._params[page_size_param] = page_size
        self._page_size = page_size
        self._limit = limit

    @property
    def page_size(self) -> int | None:
        """The page size asked for (None: the service's default)."""
        return self._page_size

    async def _response_at(self, link: str | None) -> httpx.Response:
        """The raw response for the page at ``link`` (the first page when None)."""
        if link is None:
            response: httpx.Response = await self._fetch(self._path, self._params)
        else:
            response = await self._fetch(self._next_url(link), None)
        return response

    def _parse(self, response: httpx.Response) -> Page[T]:
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
        return await self.page_at(None)

    async def page_at(self, link: str | None) -> Page[T]:
        """The page a ``next`` link points at (checked like any ``next``), or the first page when
        ``link`` is None. Fetching the same link again gives that page as it is now, which is how
        a growing listing (a running job's log) is followed.
        """
        return self._parse(await self._response_at(link))

    def reader(self) -> PageReader[T]:
        """A reader of pages at links that requests each page's ``next`` page while parsing
        it (what ``pages()`` and ``async for`` use).
        """
        return PageReader(self)

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


@dataclass(frozen=True)
class _ReadAhead:
    """The outcome of reading ``link`` ahead: its response, or the error to raise when the
    page at ``link`` is asked for.
    """

    link: str
    response: httpx.Response | None = None
    error: Exception | None = None

    def result(self) -> httpx.Response:
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


class PageReader(Generic[T]):
    """Reads pages at links one page ahead: while a page is parsed, the request for the page
    its ``next`` link points at is on its way, and the next read of that link takes it.

    A read's concurrency stays inside the read, so a reader needs no closing: stopping between
    reads leaves at most one response that nobody asked for; cancelling a read stops its
    request ahead. An error of the request ahead is raised by the read of its link, not before.
    """

    def __init__(self, paginator: AsyncPaginator[T]) -> None:
        self._paginator = paginator
        self._ahead: _ReadAhead | None = None

    async def page_at(self, link: str | None, *, items_wanted: int | None = None) -> Page[T]:
        """The page at ``link`` as ``AsyncPaginator.page_at`` gives it. Its ``next`` page is
        requested meanwhile, unless ``items_wanted`` (None: all) may all be on this page.
        """
        response = await self._response_at(link)
        following = self._link_to_read_ahead(response, items_wanted)
        if following is None:
            return self._paginator._parse(response)
        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(self._read_ahead, following)
            await self._head_start()
            try:
                page = self._paginator._parse(response)
            except Exception as error:  # raised after the group, not wrapped in a group
                failure = error
                group.cancel_scope.cancel()
            del response  # the raw body is not kept while the page ahead arrives
        if failure is not None:
            raise failure
        return page

    async def _response_at(self, link: str | None) -> httpx.Response:
        """The response read ahead for ``link`` if there is one (any other is dropped), else a
        fresh request.
        """
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.link == link:
            return ahead.result()
        return await self._paginator._response_at(link)

    def _link_to_read_ahead(self, response: httpx.Response, items_wanted: int | None) -> str | None:
        """The ``next`` link of ``response``, unless the items wanted may all be on it."""
        page_size = self._paginator.page_size
        if items_wanted is not None and (page_size is None or items_wanted <= page_size):
            return None
        return next_link_of(response.content)

    async def _read_ahead(self, link: str) -> None:
        """Request the page at ``link``; keep its response, or its error for its own read."""
        try:
            self._ahead = _ReadAhead(link, response=await self._paginator._response_at(link))
        except Exception as error:  # any failure belongs to the read of ``link``
            self._ahead = _ReadAhead(link, error=error)

    async def _head_start(self) -> None:
        """Let the request ahead reach the network before the parse holds the event loop."""
        for _ in range(HEAD_START_TURNS):
            if self._ahead is not None:
                return
            await anyio.lowlevel.checkpoint()


class _Pages(Generic[T]):
    """Iterator over pages. A plain object, not an async generator, so that breaking out of
    ``async for`` needs no finalisation (trio warns about unfinished async generators).
    """

    def __init__(self, paginator: AsyncPaginator[T]) -> None:
        self._reader = paginator.reader()
        self._remaining = paginator._limit
        self._next: str | None = None
        self._started = False

    def __aiter__(self) -> _Pages[T]:
        return self

    async def __anext__(self) -> Page[T]:
        if self._remaining == 0 or (self._started and self._next is None):
            raise StopAsyncIteration
        page = await self._reader.page_at(self._next, items_wanted=self._remaining)
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
