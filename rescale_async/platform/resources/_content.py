"""``FileContent``: the streamed answer of ``GET files/{id}/contents/``, whole (200) or one
range of it (206), with transport failures raised as the SDK's own errors.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from ..._core.exceptions import APIConnectionError, APITimeoutError

__all__ = ["ByteRange", "ContentRange", "FileContent", "range_header"]

ByteRange = tuple[int, int | None]
"""``(first, last)`` byte offsets, both included; ``last`` None runs to the end."""

_CONTENT_RANGE = re.compile(r"\A\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*\Z", re.IGNORECASE)


def range_header(byte_range: ByteRange) -> str:
    """``bytes=first-last`` (``bytes=first-`` when open); a ValueError for a range that is not
    one.
    """
    first, last = byte_range
    if first < 0 or (last is not None and last < first):
        raise ValueError(
            f"a byte range is (first, last) with 0 <= first <= last (last included, or None "
            f"for the end), got {byte_range!r}"
        )
    return f"bytes={first}-{'' if last is None else last}"


@dataclass(frozen=True)
class ContentRange:
    """A ``Content-Range: bytes first-last/total`` header; ``first``/``last`` are None for
    ``bytes */total``, ``total`` None for ``/*``.
    """

    first: int | None
    last: int | None
    total: int | None

    @classmethod
    def parse(cls, value: str) -> ContentRange | None:
        """The header's value parsed, or None when it is not a byte range."""
        match = _CONTENT_RANGE.match(value)
        if match is None:
            return None
        first, last, total = match.groups()
        return cls(
            None if first is None else int(first),
            None if last is None else int(last),
            None if total == "*" else int(total),
        )

    @property
    def length(self) -> int | None:
        """How many bytes the range holds."""
        if self.first is None or self.last is None:
            return None
        return self.last - self.first + 1


class FileContent:
    """A file's bytes as they arrive. ``is_partial`` tells a 206 (the range asked for) from a
    200 (the whole file: the server ignored the range); ``content_range`` and
    ``total_size`` say what the body holds. Iterate ``aiter_bytes()`` once.
    """

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self._response.headers

    @property
    def url(self) -> httpx.URL:
        """Where the bytes came from (another host when the service redirected to storage)."""
        return self._response.url

    @property
    def is_partial(self) -> bool:
        """Whether the body is one range of the file (206 Partial Content)."""
        return self._response.status_code == 206

    @property
    def content_range(self) -> ContentRange | None:
        """The parsed ``Content-Range`` header, if any."""
        value = self._response.headers.get("content-range")
        return None if value is None else ContentRange.parse(value)

    @property
    def content_length(self) -> int | None:
        """The body's length from ``Content-Length``, if given."""
        value = self._response.headers.get("content-length")
        return int(value) if value is not None and value.strip().isdigit() else None

    @property
    def total_size(self) -> int | None:
        """The whole file's size: the total of ``Content-Range``, else (for a 200) the body's
        length; None when the server gave neither.
        """
        content_range = self.content_range
        if content_range is not None and content_range.total is not None:
            return content_range.total
        return None if self.is_partial else self.content_length

    def aiter_bytes(self, chunk_size: int | None = None) -> AsyncIterator[bytes]:
        """The body in chunks as they arrive; a connection lost or timed out midway raises
        APIConnectionError (APITimeoutError), so a download can resume from what it has.
        """
        return _Chunks(self._response, self._response.aiter_bytes(chunk_size))


class _Chunks:
    """The response's chunks, with transport errors turned into the SDK's."""

    def __init__(self, response: httpx.Response, chunks: AsyncIterator[bytes]) -> None:
        self._response = response
        self._chunks = chunks

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except httpx.TimeoutException as exc:
            raise APITimeoutError(self._response.request) from exc
        except httpx.TransportError as exc:
            reason = f"{type(exc).__name__} while reading the body: {exc}"
            raise APIConnectionError(self._response.request, reason=reason) from exc

    async def aclose(self) -> None:
        """Close the underlying chunk generator now (a download stopped midway), not at GC."""
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()
