"""``BaseClient``: what every API client offers over its pipeline, whatever the API.

The public low-level verbs (``request``, ``get``, ``post``, ``put``, ``patch``, ``delete``,
``paginate``) reach endpoints and extensions the SDK does not model, through the same pool,
token, limits, retries and error tree as every modelled call.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, TypeVar, overload

import httpx
from typing_extensions import Self

from .config import Settings
from .options import ClientOptions
from .pagination import AsyncPaginator, Page
from .parsing import parse
from .pipeline import AuthKind, Pipeline

__all__ = ["BaseClient"]

T = TypeVar("T")


class BaseClient:
    """A client of one API: a pipeline, and the public verbs over it. Subclasses attach their
    resources in ``_attach_resources`` (called again for every ``with_options`` view), and say
    how the API authenticates and pages (``default_auth``, ``_page_type``, ``_page_size_param``).
    """

    _page_type: type[Page[Any]] = Page
    """The shape of the API's pages."""
    _page_size_param: str = "pageSize"
    """The query parameter naming the page size."""

    def __init__(
        self,
        settings: Settings,
        options: ClientOptions,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        default_auth: AuthKind = AuthKind.BEARER,
    ) -> None:
        self._pipeline = Pipeline(settings, options, transport=transport, default_auth=default_auth)
        self._attach_resources()

    def _attach_resources(self) -> None:
        """Bind the API's resources to this client's pipeline."""

    @property
    def base_url(self) -> str:
        """The API root every path is relative to."""
        return self._pipeline.settings.base_url

    @property
    def options(self) -> ClientOptions:
        """The options this client (or view) sends requests with."""
        return self._pipeline.options

    @property
    def is_closed(self) -> bool:
        """Whether ``aclose()`` has closed the connection pool."""
        return self._pipeline.is_closed

    def with_options(
        self, *, max_retries: int | None = None, timeout: float | httpx.Timeout | None = None
    ) -> Self:
        """This client with other per-call options; pool, token, limits and every other
        client-wide state stay shared. ``await client.with_options(max_retries=0).get(path)``
        """
        view = self._copy()
        view._pipeline = self._pipeline.with_options(max_retries=max_retries, timeout=timeout)
        view._attach_resources()
        return view

    def _copy(self) -> Self:
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        return view

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        cast_to: None = None,
    ) -> httpx.Response: ...

    @overload
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        cast_to: type[T],
    ) -> T: ...

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        cast_to: type[T] | None = None,
    ) -> T | httpx.Response:
        """Send one call through the whole pipeline (auth, limits, retries, errors): the body
        parsed as ``cast_to`` (a model, ``dict[str, Any]``, ``list[Model]``...), else the
        response. ``path`` is relative to ``base_url``; params that are None are left out.
        """
        response = await self._pipeline.request(
            method, path.lstrip("/"), params=params, json=json, data=data, headers=headers
        )
        if cast_to is None:
            return response
        parsed: T = parse(response, cast_to)
        return parsed

    async def get(self, path: str, *, params: dict[str, Any] | None = None, cast_to: type[T]) -> T:
        """``GET path``, parsed as ``cast_to``."""
        return await self.request("GET", path, params=params, cast_to=cast_to)

    async def post(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        cast_to: type[T],
    ) -> T:
        """``POST path`` with a JSON body, parsed as ``cast_to`` (never retried once sent)."""
        return await self.request("POST", path, params=params, json=json, cast_to=cast_to)

    async def put(
        self, path: str, *, params: dict[str, Any] | None = None, json: Any = None, cast_to: type[T]
    ) -> T:
        """``PUT path`` with a JSON body, parsed as ``cast_to``."""
        return await self.request("PUT", path, params=params, json=json, cast_to=cast_to)

    async def patch(
        self, path: str, *, params: dict[str, Any] | None = None, json: Any = None, cast_to: type[T]
    ) -> T:
        """``PATCH path`` with a JSON body, parsed as ``cast_to``."""
        return await self.request("PATCH", path, params=params, json=json, cast_to=cast_to)

    async def delete(self, path: str, *, params: dict[str, Any] | None = None) -> httpx.Response:
        """``DELETE path``; the response (many deletes answer without a body)."""
        return await self.request("DELETE", path, params=params)

    def paginate(
        self,
        path: str,
        item_type: type[T],
        *,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[T]:
        """A lazy listing of ``path`` whose pages hold ``item_type`` items."""
        return self._pipeline.paginate(
            path.lstrip("/"),
            item_type,
            params=params,
            page_size=page_size,
            limit=limit,
            page_type=self._page_type,
            page_size_param=self._page_size_param,
        )

    async def aclose(self) -> None:
        """Close the connection pool (every view shares it)."""
        await self._pipeline.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        source = self._pipeline.settings.credentials.source
        return f"{type(self).__name__}(base_url={self.base_url!r}, credentials from {source})"
