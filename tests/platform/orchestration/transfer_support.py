"""Helpers for the platform orchestration tests: a client over an in-memory API, a file server
that honours (or ignores) ranges and breaks on demand, payloads shaped as PLATFORM-V2.md says.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from support import VirtualClock

from rescale_async import PlatformClient
from rescale_async.platform.orchestration import Files, Jobs

BASE_URL = "https://platform.test/api/v2"
STORAGE = "https://storage.test"
API_KEY = "plat-key-SECRET-0123456789abcdef"
MiB = 1024 * 1024


def client(transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any) -> PlatformClient:
    """A client of the test API: unpaced, its own waits (retry backoff) on a virtual clock."""
    clock = VirtualClock()
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("base_url", BASE_URL)
    kwargs.setdefault("rate_limits", None)
    kwargs.setdefault("sleep", clock.sleep)
    kwargs.setdefault("clock", clock.time)
    return PlatformClient(transport=transport, **kwargs)


def facades(c: PlatformClient) -> tuple[Jobs, Files]:
    """The client's ``jobs`` and ``files``: the orchestration facades."""
    assert isinstance(c.jobs, Jobs), "client.jobs is not the orchestration facade"
    assert isinstance(c.files, Files), "client.files is not the orchestration facade"
    return c.jobs, c.files


def content_of(size: int, seed: int = 1) -> bytes:
    """``size`` reproducible pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


def file_json(
    file_id: str, name: str, content: bytes | None, *, size: int | None = None, **extra: Any
) -> dict[str, Any]:
    """A File as the API describes it; its SHA-512 is that of ``content``."""
    checksums = [] if content is None else [{"hashFunction": "sha512", "fileHash": sha512(content)}]
    return {
        "id": file_id,
        "name": name,
        "typeId": 5,
        "relativePath": name,
        "dateUploaded": "2024-05-06T07:08:09.123456-07:00",
        "decryptedSize": len(content) if size is None and content is not None else size,
        "isUploaded": True,
        "fileChecksums": checksums,
        **extra,
    }


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def page(results: list[Any]) -> dict[str, Any]:
    return {"count": len(results), "next": None, "previous": None, "results": results}


_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


class _Body(httpx.AsyncByteStream):
    """A response body sent in pieces, optionally cut off (a dropped connection) after
    ``cut`` bytes. A plain iterator, so a body abandoned halfway needs no finalisation.
    """

    def __init__(self, data: bytes | memoryview, piece: int, cut: int | None) -> None:
        self._data = memoryview(data)
        self._piece = piece
        self._limit = len(data) if cut is None else min(len(data), cut)
        self._sent = 0

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        if self._sent < self._limit:
            start, self._sent = self._sent, min(self._limit, self._sent + self._piece)
            return bytes(self._data[start : self._sent])
        if self._limit < len(self._data):
            raise httpx.ReadError("connection reset by peer")
        raise StopAsyncIteration


@dataclass
class ServedRequest:
    host: str
    path: str
    range: str | None
    authorization: str | None


@dataclass
class FileServer:
    """``GET files/{id}/contents/`` (and ``files/{id}/``) for the files it holds, as the
    service: ranges answered 206 with ``Content-Range`` (a range past the end clamped), unless
    ``honour_ranges`` is False (200, the whole file). ``redirect`` sends every contents request
    to the storage host first. Faults: ``corrupt`` (offset -> byte flipped there), ``cuts``
    (request numbers whose body is cut after ``cut_after`` bytes), ``short`` (request numbers
    whose body ends half way, silently), ``fail_offsets`` (range starts answered 500).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    honour_ranges: bool = True
    redirect: bool = False
    corrupt: set[int] = field(default_factory=set)
    cuts: set[int] = field(default_factory=set)
    cut_after: int = 100_000
    fail_offsets: set[int] = field(default_factory=set)
    short: set[int] = field(default_factory=set)
    """Request numbers whose 206 body silently ends half way (no error)."""
    piece: int = 64 * 1024
    requests: list[ServedRequest] = field(default_factory=list)
    extra: Callable[[httpx.Request], httpx.Response | None] | None = None

    def add(self, file_id: str, name: str, content: bytes) -> dict[str, Any]:
        self.files[file_id] = content
        self.names[file_id] = name
        return file_json(file_id, name, content)

    @property
    def contents_requests(self) -> list[ServedRequest]:
        return [
            r for r in self.requests if r.path.endswith("/contents/") or r.host != "platform.test"
        ]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.extra is not None:
            answer = self.extra(request)
            if answer is not None:
                return answer
        path = request.url.path
        self.requests.append(
            ServedRequest(
                request.url.host,
                path,
                request.headers.get("range"),
                request.headers.get("authorization"),
            )
        )
        if request.url.host == "storage.test":
            return self._contents(request, path.rsplit("/", 1)[-1])
        match = re.fullmatch(r"/api/v2/files/([^/]+)/(contents/)?", path)
        if match is None or match[1] not in self.files:
            return httpx.Response(404, json={"detail": "Not found."})
        file_id = match[1]
        if request.headers.get("authorization") != f"Token {API_KEY}":
            return httpx.Response(401, json={"detail": "Invalid token."})
        if not match[2]:
            return httpx.Response(
                200, json=file_json(file_id, self.names[file_id], self.files[file_id])
            )
        if self.redirect:
            return httpx.Response(302, headers={"Location": f"{STORAGE}/blob/{file_id}?sig=abc"})
        return self._contents(request, file_id)

    def _contents(self, request: httpx.Request, file_id: str) -> httpx.Response:
        number = len(self.contents_requests)
        data = self.files[file_id]
        if self.corrupt:
            mutable = bytearray(data)
            for offset in self.corrupt:
                mutable[offset] ^= 0xFF
            data = bytes(mutable)
        cut = self.cut_after if number in self.cuts else None
        wanted = _RANGE.fullmatch(request.headers.get("range", ""))
        if wanted is None or not self.honour_ranges:
            return httpx.Response(
                200,
                headers={"Content-Length": str(len(data))},
                stream=_Body(data, self.piece, cut),
            )
        first = int(wanted[1])
        if first in self.fail_offsets:
            return httpx.Response(500, json={"detail": "storage error"})
        last = min(len(data) - 1, int(wanted[2]) if wanted[2] else len(data) - 1)
        body = memoryview(data)[first : last + 1]  # no copy: the test measures memory
        if number in self.short:
            body = body[: len(body) // 2]
        return httpx.Response(
            206,
            headers={
                "Content-Range": f"bytes {first}-{last}/{len(data)}",
                "Content-Length": str(len(body)),
            },
            stream=_Body(body, self.piece, cut),
        )
