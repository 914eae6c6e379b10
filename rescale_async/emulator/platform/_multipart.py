"""Reading a ``multipart/form-data`` body part by part as it arrives, never holding a part whole.

``MultipartReader(request.stream(), boundary)``: ``await next_part()`` gives a part's headers
(None after the last), then ``await read()`` its data piece by piece (``b""`` at its end).
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = ["MultipartError", "MultipartReader", "PartHeaders", "boundary_of"]

MAX_HEADER_BYTES = 16 * 1024
"""A part's headers may not be longer (a body that never ends its headers is refused)."""


class MultipartError(ValueError):
    """The body is not well-formed multipart."""


@dataclass(frozen=True)
class PartHeaders:
    """What ``Content-Disposition`` and ``Content-Type`` say about one part."""

    name: str | None
    filename: str | None
    content_type: str | None


def _parameters(value: str) -> list[str]:
    """``value`` split at the semicolons outside quoted strings."""
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    items.append("".join(current).strip())
    return items


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = raw[1:-1]
        result: list[str] = []
        escaped = False
        for char in inner:
            if char == "\\" and not escaped:
                escaped = True
                continue
            escaped = False
            result.append(char)
        return "".join(result)
    return raw


def parameters_of(value: str) -> tuple[str, dict[str, str]]:
    """A header value's first item and its ``key=value`` parameters (``key*`` decoded)."""
    first, *rest = _parameters(value)
    found: dict[str, str] = {}
    for item in rest:
        key, _, raw = item.partition("=")
        key = key.strip().lower()
        raw = raw.strip()
        if key.endswith("*"):  # RFC 5987: charset'language'percent-encoded
            charset, _, encoded = raw.partition("'")
            _, _, encoded = encoded.partition("'")
            try:
                found[key[:-1]] = unquote(encoded, encoding=charset or "utf-8", errors="strict")
            except (LookupError, UnicodeDecodeError):
                continue
        else:
            found.setdefault(key, _unquote(raw))
    return first.strip().lower(), found


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` content type, None for any other type."""
    kind, parameters = parameters_of(content_type)
    boundary = parameters.get("boundary")
    if kind != "multipart/form-data" or not boundary or len(boundary) > 200:
        return None
    return boundary.encode("latin-1", errors="replace")


def _part_headers(block: bytes) -> PartHeaders:
    name = filename = content_type = None
    for line in block.decode("utf-8", errors="replace").split("\r\n"):
        key, colon, value = line.partition(":")
        if not colon:
            continue
        key = key.strip().lower()
        if key == "content-disposition":
            _, parameters = parameters_of(value)
            name = parameters.get("name")
            filename = parameters.get("filename")
        elif key == "content-type":
            content_type = value.strip()
    return PartHeaders(name, filename, content_type)


class MultipartReader:
    """Parts of a multipart body read from an async stream of byte chunks."""

    def __init__(self, chunks: AsyncIterable[bytes], boundary: bytes) -> None:
        self._chunks = chunks.__aiter__()
        self._delimiter = b"--" + boundary
        self._separator = b"\r\n--" + boundary
        self._buffer = bytearray()
        self._eof = False
        self._state = "preamble"
        """preamble -> (headers -> data)* -> done"""

    async def _fill(self) -> None:
        """One more chunk into the buffer; MultipartError when the body has ended."""
        while not self._eof:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                self._eof = True
                break
            if chunk:
                self._buffer += chunk
                return
        raise MultipartError("the body ended before its closing boundary")

    async def next_part(self) -> PartHeaders | None:
        """The headers of the next part (the rest of the current one skipped); None at the end."""
        while self._state == "data":
            await self.read()
        if self._state == "preamble":
            await self._skip_preamble()
        if self._state == "done":
            return None
        while len(self._buffer) < 2:
            await self._fill()
        if self._buffer.startswith(b"--"):
            self._state = "done"
            return None
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise MultipartError("a part's headers are too long")
            await self._fill()
        if not self._buffer.startswith(b"\r\n"):
            raise MultipartError("a boundary is not followed by a line break")
        headers = _part_headers(bytes(self._buffer[2:end]))
        del self._buffer[: end + 4]
        self._state = "data"
        return headers

    async def _skip_preamble(self) -> None:
        while (start := self._buffer.find(self._delimiter)) < 0:
            keep = len(self._delimiter) - 1
            if len(self._buffer) > keep:
                del self._buffer[:-keep]
            await self._fill()
        del self._buffer[: start + len(self._delimiter)]
        self._state = "headers"

    async def read(self) -> bytes:
        """The next piece of the current part's data, ``b""`` once it has all been read."""
        if self._state != "data":
            return b""
        separator = self._separator
        while True:
            at = self._buffer.find(separator)
            if at > 0:
                piece = bytes(self._buffer[:at])
                del self._buffer[:at]
                return piece
            if at == 0:
                del self._buffer[: len(separator)]
                self._state = "headers"
                return b""
            keep = len(separator) - 1
            if len(self._buffer) > keep:
                piece = bytes(self._buffer[:-keep])
                del self._buffer[:-keep]
                return piece
            await self._fill()
