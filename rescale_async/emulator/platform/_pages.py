"""Django REST Framework's page-number pagination: ``page`` (from 1) and ``page_size``.

A page is ``{"count", "next", "previous", "results"}`` with absolute ``next``/``previous``
URLs (None at the ends). A ``page_size`` above the maximum is clamped, an invalid one ignored
(as DRF does); a page that is not a number or past the last one is 404 ``Invalid page.``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request

from ._config import PlatformConfig
from ._errors import not_found

__all__ = ["paginate"]

T = TypeVar("T")


def _page_size(request: Request, config: PlatformConfig) -> int:
    raw = request.query_params.get("page_size", "")
    try:
        size = int(raw)
    except ValueError:
        return config.page_size
    if size < 1:
        return config.page_size
    return min(size, config.max_page_size)


def _page_number(request: Request, pages: int) -> int:
    """The page asked for (``last`` names the last one); 404 when there is no such page."""
    raw = request.query_params.get("page", "1") or "1"
    if raw == "last":
        return pages
    try:
        number = int(raw)
    except ValueError:
        raise not_found("Invalid page.") from None
    if not 1 <= number <= pages:
        raise not_found("Invalid page.")
    return number


def _link(request: Request, number: int) -> str:
    if number == 1:
        return str(request.url.remove_query_params("page"))
    return str(request.url.include_query_params(page=number))


def paginate(
    request: Request,
    items: Sequence[T],
    render: Callable[[T], dict[str, Any]],
    config: PlatformConfig,
) -> dict[str, Any]:
    """The page of ``items`` the request asks for, each item rendered."""
    size = _page_size(request, config)
    count = len(items)
    pages = max(1, -(-count // size))
    number = _page_number(request, pages)
    start = (number - 1) * size
    return {
        "count": count,
        "next": _link(request, number + 1) if number < pages else None,
        "previous": _link(request, number - 1) if number > 1 else None,
        "results": [render(item) for item in items[start : start + size]],
    }
