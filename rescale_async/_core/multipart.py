"""A ``multipart/form-data`` body of one file part, streamed from disk.

The file is never read whole: each chunk is read in a worker thread (the file opened, read at
its offset and closed again, so an abandoned upload leaves no open handle), and the body's
``Content-Length`` is computed up front from the file's size. The body can be iterated again
(a retry of a request that never reached the server sends it anew).
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio.to_thread
import httpx

from .exceptions import RescaleError

__all__ = ["DEFAULT_CHUNK_SIZE", "MultipartFile", "UploadProgress"]

DEFAULT_CHUNK_SIZE = 1024 * 1024
"""Bytes of the file read (and handed to the connection) at a time."""

UploadProgress = Callable[[int, int], object]
"""Called as the body starts (0) and after each chunk with the file's bytes handed to the
connection so far, and the file's size (from 0 again if a refused attempt is sent anew)."""


def _quoted(value: str) -> str:
    """A form parameter value in quotes, escaped as browsers do (HTML5 multipart encoding)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _read_at(path: Path, offset: int, size: int) -> bytes:
    """``size`` bytes of ``path`` from ``offset`` (blocking: run in a worker thread)."""
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(size)


class MultipartFile(httpx.AsyncByteStream):
    """The body ``--boundary / part headers / file bytes / --boundary--`` of one file part.

    Build it with ``await MultipartFile.open(path)`` (the file's size is read in a worker
    thread); send ``headers`` with it (its Content-Type and Content-Length).
    """

    def __init__(
        self,
        path: Path,
        size: int,
        *,
        field: str = "file",
        filename: str | None = None,
        content_type: str = "application/octet-stream",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        progress: UploadProgress | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.path = path
        self.size = size
        self.boundary = secrets.token_hex(16)
        self._chunk_size = chunk_size
        self._progress = progress
        name = path.name if filename is None else filename
        self._head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quoted(field)}"; '
            f'filename="{_quoted(name)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        field: str = "file",
        filename: str | None = None,
        content_type: str = "application/octet-stream",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        progress: UploadProgress | None = None,
    ) -> MultipartFile:
        """The body for the regular file at ``path``; a missing file or a directory raises
        before anything is sent.
        """
        file = Path(path)
        status = await anyio.to_thread.run_sync(file.stat)
        if not stat.S_ISREG(status.st_mode):
            raise IsADirectoryError(f"{file} is not a regular file")
        return cls(
            file,
            status.st_size,
            field=field,
            filename=filename,
            content_type=content_type,
            chunk_size=chunk_size,
            progress=progress,
        )

    @property
    def content_length(self) -> int:
        """The body's length in bytes: part head, file, closing boundary."""
        return len(self._head) + self.size + len(self._tail)

    @property
    def headers(self) -> dict[str, str]:
        """The request headers this body needs."""
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(self.content_length),
        }

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _Chunks(self)

    async def read_chunk(self, offset: int) -> bytes:
        """The file's chunk at ``offset``, read in a worker thread; a file that shrank since
        its size was taken raises (the announced Content-Length could not be kept).
        """
        wanted = min(self._chunk_size, self.size - offset)
        chunk = await anyio.to_thread.run_sync(_read_at, self.path, offset, wanted)
        if len(chunk) != wanted:
            raise RescaleError(
                f"{self.path} changed while it was being uploaded (it was {self.size} bytes); "
                "upload it again once it is complete"
            )
        if self._progress is not None:
            self._progress(offset + len(chunk), self.size)
        return chunk

    def begin(self) -> bytes:
        """The part's head (boundary and part headers), reporting progress 0."""
        if self._progress is not None:
            self._progress(0, self.size)
        return self._head

    @property
    def tail(self) -> bytes:
        """The closing boundary."""
        return self._tail


class _Chunks:
    """One pass over a ``MultipartFile``: head, file chunks, tail. A plain iterator rather than
    an async generator, so a pass abandoned halfway needs no finalisation.
    """

    def __init__(self, body: MultipartFile) -> None:
        self._body = body
        self._offset: int | None = None  # None: the head is still to come
        self._done = False

    def __aiter__(self) -> _Chunks:
        return self

    async def __anext__(self) -> bytes:
        body = self._body
        if self._done:
            raise StopAsyncIteration
        if self._offset is None:
            self._offset = 0
            return body.begin()
        if self._offset < body.size:
            chunk = await body.read_chunk(self._offset)
            self._offset += len(chunk)
            return chunk
        self._done = True
        return body.tail
