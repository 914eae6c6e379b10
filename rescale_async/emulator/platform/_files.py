"""The platform's file bytes on disk: uploads streamed in (hashed as they land), hashes of
outputs, and ranges streamed out in chunks.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import IO

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ._multipart import MultipartReader

__all__ = [
    "READ_CHUNK",
    "FileSlice",
    "FileStore",
    "RangeNotSatisfiable",
    "byte_range",
    "hash_file",
    "open_for_reading",
    "safe_name",
]

READ_CHUNK = 1024 * 1024
"""Bytes read from disk (or written to it) at a time."""


def safe_name(name: str) -> str:
    """A file name without directories (an upload's name as a browser might send it)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base if base not in ("", ".", "..") else "upload"


def hash_file(path: Path) -> tuple[int, str]:
    """The size and SHA-512 (lowercase hex) of a file, read in chunks (blocking: in a thread)."""
    digest = hashlib.sha512()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


class _HashingWriter:
    """Writes a new file while hashing what it writes (blocking calls: in a thread)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.handle: IO[bytes] = path.open("wb")
        self.digest = hashlib.sha512()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)

    def close(self) -> None:
        self.handle.close()


class FileStore:
    """Uploaded files under ``root/<file id>/<name>``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, file_id: str, name: str) -> Path:
        return self.root / file_id / safe_name(name)

    async def receive(
        self, file_id: str, name: str, reader: MultipartReader
    ) -> tuple[Path, int, str]:
        """Write the reader's current part to the file's place; its path, size and SHA-512.

        The body goes to disk in pieces of about ``READ_CHUNK`` bytes; nothing of it is kept
        when the upload fails midway.
        """
        path = self.path_for(file_id, name)
        writer = await anyio.to_thread.run_sync(_HashingWriter, path)
        pending = bytearray()
        try:
            while piece := await reader.read():
                pending += piece
                if len(pending) >= READ_CHUNK:
                    await anyio.to_thread.run_sync(writer.write, bytes(pending))
                    pending.clear()
            if pending:
                await anyio.to_thread.run_sync(writer.write, bytes(pending))
            await anyio.to_thread.run_sync(writer.close)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_discard, writer)
            raise
        return path, writer.size, writer.digest.hexdigest()

    async def add(self, file_id: str, name: str, content: bytes | Path) -> tuple[Path, int, str]:
        """Store ``content`` (bytes, or a file to copy) as a file; its path, size and SHA-512."""
        path = self.path_for(file_id, name)

        def store() -> tuple[int, str]:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copyfile(content, path)
            else:
                path.write_bytes(content)
            return hash_file(path)

        size, digest = await anyio.to_thread.run_sync(store)
        return path, size, digest

    async def remove(self, file_id: str) -> None:
        """Remove an uploaded file's bytes (nothing when they are not in the store)."""
        await anyio.to_thread.run_sync(shutil.rmtree, self.root / file_id, True)


def _discard(writer: _HashingWriter) -> None:
    writer.close()
    shutil.rmtree(writer.path.parent, ignore_errors=True)


class RangeNotSatisfiable(Exception):
    """The requested range starts past the end of the file (416)."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte a ``Range`` header asks for, a last past the end
    clamped to it; None to send the whole file (no header, not ``bytes=``, several ranges,
    malformed: RFC 9110 lets a server ignore those). RangeNotSatisfiable when it starts past
    the end.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first_text:  # suffix: the last N bytes
            length = int(last_text)
            if length <= 0 or size == 0:
                raise RangeNotSatisfiable
            return max(0, size - length), size - 1
        first = int(first_text)
        last = int(last_text) if last_text else size - 1
    except ValueError:
        return None
    if first >= size:
        raise RangeNotSatisfiable
    if first < 0 or last < first:
        return None
    return first, min(last, size - 1)


class FileSlice(Response):
    """Bytes ``first`` to ``first + length - 1`` of a file, streamed from disk in chunks of
    ``READ_CHUNK`` (a HEAD gets the headers only).
    """

    def __init__(
        self,
        handle: anyio.AsyncFile[bytes],
        first: int,
        length: int,
        *,
        status_code: int,
        headers: dict[str, str],
    ) -> None:
        super().__init__(
            status_code=status_code,
            headers={**headers, "content-length": str(length)},
            media_type="application/octet-stream",
        )
        self.handle = handle
        self.first = first
        self.length = length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handle = self.handle
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            remaining = self.length if scope.get("method") != "HEAD" else 0
            if remaining:
                await handle.seek(self.first)
            while remaining > 0:
                chunk = await handle.read(min(READ_CHUNK, remaining))
                if not chunk:
                    raise OSError("the file shrank while it was being sent")
                remaining -= len(chunk)
                await send(
                    {"type": "http.response.body", "body": chunk, "more_body": remaining > 0}
                )
            if self.length == 0 or scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b""})
        finally:
            with anyio.CancelScope(shield=True):
                await handle.aclose()


async def open_for_reading(path: Path) -> anyio.AsyncFile[bytes] | None:
    """``path`` opened for reading, None when it is gone."""
    try:
        return await anyio.open_file(path, "rb")
    except OSError:
        return None
