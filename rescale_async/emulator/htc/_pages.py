"""Pagination as the service does it: ``pageSize``, opaque ``pageIndex`` tokens, absolute ``next``.

A token is a cursor (a position in a stable order: an index in an append-only list, or an
item's fixed sort key), so items added or changing status while a client pages never make it
skip or repeat items.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request

from ._errors import bad_request

__all__ = [
    "LOG_PAGE_SIZE_MAX",
    "PAGE_SIZE_MAX",
    "Cursor",
    "PageRequest",
    "next_url",
    "page_body",
    "page_request",
    "paginate",
    "paginate_keyed",
]

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
PAGE_SIZE_MAX = 1000
"""The service's largest ``pageSize`` for every listing but job logs."""
LOG_PAGE_SIZE_MAX = 10000
"""The service's largest ``pageSize`` for job logs."""
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after position ``after`` (-1: from the start) of list ``kind``."""

    kind: str
    after: int


def encode_token(cursor: Cursor) -> str:
    raw = json.dumps({"k": cursor.kind, "a": cursor.after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, kind: str) -> Cursor:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        cursor = Cursor(str(data["k"]), int(data["a"]))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise bad_request(
            "INVALID_PAGE_INDEX", f"pageIndex {token!r} is not a page token this API issued"
        ) from None
    if cursor.kind != kind:
        raise bad_request("INVALID_PAGE_INDEX", f"pageIndex {token!r} belongs to another listing")
    return cursor


@dataclass(frozen=True)
class PageRequest:
    size: int
    cursor: Cursor


def page_request(request: Request, kind: str, *, maximum: int) -> PageRequest:
    """``pageSize`` (1..maximum, default 100) and the cursor from ``pageIndex``; else 400."""
    raw = request.query_params.get("pageSize")
    size = DEFAULT_PAGE_SIZE if raw is None or raw == "" else _page_size(raw, maximum)
    token = request.query_params.get("pageIndex")
    cursor = decode_token(token, kind) if token else Cursor(kind, -1)
    return PageRequest(size, cursor)


def _page_size(raw: str, maximum: int) -> int:
    """``raw``, a decimal integer 1..maximum; else 400 INVALID_PAGE_SIZE."""
    if not _INTEGER.fullmatch(raw):
        raise bad_request("INVALID_PAGE_SIZE", f"pageSize must be an integer, got {raw!r}")
    size = int(raw)
    if not 1 <= size <= maximum:
        raise bad_request(
            "INVALID_PAGE_SIZE",
            f"pageSize must be between 1 and {maximum}, got {size}",
            f"Maximum value: {maximum}",
        )
    return size


def next_url(request: Request, cursor: Cursor) -> str:
    """The absolute URL of the page after ``cursor``: the request's own URL (scheme, host,
    path, filters, page size) with ``pageIndex`` replaced.
    """
    return str(request.url.include_query_params(pageIndex=encode_token(cursor)))


def paginate(
    request: Request,
    items: Sequence[T],
    page: PageRequest,
    *,
    keep: Callable[[T], bool] | None = None,
) -> tuple[list[T], str | None]:
    """One page of ``items`` (a list only ever appended to) after the cursor, keeping those
    ``keep`` accepts, and the ``next`` URL when more such items follow.
    """
    return paginate_keyed(request, range(len(items)), items, page, keep=keep)


def paginate_keyed(
    request: Request,
    keys: Sequence[int],
    items: Sequence[T],
    page: PageRequest,
    *,
    keep: Callable[[T], bool] | None = None,
) -> tuple[list[T], str | None]:
    """``paginate`` for ``items`` in ascending order of ``keys`` (one fixed key >= 0 per item;
    new items may come anywhere): the cursor is the key of the last item a page showed.
    """
    chosen: list[T] = []
    start = bisect.bisect_right(keys, page.cursor.after)
    last = start - 1
    position = start
    while position < len(items) and len(chosen) < page.size:
        item = items[position]
        if keep is None or keep(item):
            chosen.append(item)
            last = position
        position += 1
    more = any(keep is None or keep(items[i]) for i in range(last + 1, len(items)))
    if not chosen or not more:
        return chosen, None
    return chosen, next_url(request, Cursor(page.cursor.kind, keys[last]))


def page_body(items: list[dict[str, Any]], next_link: str | None) -> dict[str, Any]:
    """``{"items": [...], "next": url}``, ``next`` absent on the last page."""
    body: dict[str, Any] = {"items": items}
    if next_link is not None:
        body["next"] = next_link
    return body
