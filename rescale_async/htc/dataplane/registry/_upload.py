"""Blob and manifest transfers of one push: existence checks, streamed uploads (monolithic,
or chunked with ECR's deviations tolerated), manifest PUTs, and their progress.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import BinaryIO

import anyio
import httpx

from ...._core.exceptions import BlobDigestError
from ._results import PushProgress, PushProgressHook
from ._retry import Failed, RetryRules
from ._session import Body, RegistrySession
from ._source import Blob, Manifest

__all__ = ["READ_SIZE", "Transfers"]

READ_SIZE = 1024 * 1024
"""Bytes read from a file at a time: what a blob upload holds in memory."""

_OCTETS = "application/octet-stream"


class _Progress:
    """Counts of one push, reported to the hook after each change."""

    def __init__(self, hook: PushProgressHook | None, blobs_total: int) -> None:
        self.hook = hook
        self.bytes_sent = 0
        self.bytes_total = 0
        self.blobs_done = 0
        self.blobs_total = blobs_total
        self.blobs_skipped = 0

    async def report(self) -> None:
        if self.hook is None:
            return
        snapshot = PushProgress(
            self.bytes_sent, self.bytes_total, self.blobs_done, self.blobs_total, self.blobs_skipped
        )
        result = self.hook(snapshot)
        if inspect.isawaitable(result):
            await result


class _BlobReader:
    """One pass over a blob's bytes from its file, hashed as they are read (both in a worker
    thread, off the event loop): the last piece is handed out only once the digest and size
    check out (else BlobDigestError), so the registry never receives a wrong blob whole.
    """

    def __init__(self, blob: Blob, progress: _Progress) -> None:
        self.blob = blob
        self.progress = progress
        self.read = 0
        self.counted = 0
        self._hash = hashlib.sha256()
        self._file: BinaryIO | None = None
        self._handed: list[AsyncGenerator[bytes, None]] = []

    async def __aenter__(self) -> _BlobReader:
        self._file = await anyio.to_thread.run_sync(self.blob.where.open)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            for pieces in self._handed:  # a body the HTTP client stopped reading midway
                await pieces.aclose()
            if self._file is not None:
                await anyio.to_thread.run_sync(self._file.close)
        if exc is not None:  # this attempt's bytes will be sent again (or never)
            self.progress.bytes_sent -= self.counted

    def take(self, count: int) -> AsyncIterator[bytes]:
        """The next ``count`` bytes, in pieces of at most ``READ_SIZE`` (closed on exit, read
        to the end or not).
        """
        pieces = self._pieces(count)
        self._handed.append(pieces)
        return pieces

    async def _pieces(self, count: int) -> AsyncGenerator[bytes, None]:
        assert self._file is not None
        blob = self.blob
        if blob.size == 0:
            self._verify()
        left = count
        while left > 0:
            piece = await anyio.to_thread.run_sync(self._read_hashed, min(READ_SIZE, left))
            if not piece:
                raise BlobDigestError(
                    f"blob {blob.digest} ended after {self.read} of {blob.size} bytes in "
                    f"{blob.where.path}: the source changed or is truncated",
                    digest=blob.digest,
                )
            self.read += len(piece)
            left -= len(piece)
            if self.read == blob.size:
                self._verify()
            yield piece
            self.counted += len(piece)
            self.progress.bytes_sent += len(piece)
            await self.progress.report()

    def _read_hashed(self, count: int) -> bytes:
        """Up to ``count`` more bytes, added to the hash (blocking)."""
        assert self._file is not None
        piece = self._file.read(count)
        self._hash.update(piece)
        return piece

    def _verify(self) -> None:
        found = "sha256:" + self._hash.hexdigest()
        if found != self.blob.digest:
            raise BlobDigestError(
                f"blob {self.blob.digest} ({self.blob.media_type}, {self.blob.size} bytes, "
                f"from {self.blob.where.path}) has the digest {found}: the source is corrupt "
                "or changed; nothing was stored for it",
                digest=self.blob.digest,
            )


class Transfers:
    """The requests of one push to one repository, retried as the client's options say."""

    def __init__(
        self,
        session: RegistrySession,
        rules: RetryRules,
        *,
        chunk_size: int | None,
        hook: PushProgressHook | None,
        blobs_total: int,
    ) -> None:
        self.session = session
        self.rules = rules
        self.chunk_size = chunk_size
        self.progress = _Progress(hook, blobs_total)

    async def exists(self, blob: Blob) -> bool:
        """Whether the registry has ``blob`` already (``HEAD .../blobs/<digest>``)."""
        url = self.session.url(f"blobs/{blob.digest}")

        async def head() -> bool:
            response = await self._send("HEAD", url, f"checking blob {blob.digest}")
            if response.status_code in (200, 404):
                return response.status_code == 200
            raise Failed(f"checking blob {blob.digest}", response=response)

        return await self.rules.run(url, head)

    async def skipped(self, count: int) -> None:
        self.progress.blobs_done += count
        self.progress.blobs_skipped += count
        await self.progress.report()

    async def plan_upload(self, blobs: list[Blob]) -> None:
        self.progress.bytes_total = sum(blob.size for blob in blobs)
        await self.progress.report()

    async def upload(self, blob: Blob) -> None:
        """Upload ``blob``, each attempt from its first byte in a new upload session."""
        url = self.session.url("blobs/uploads/")
        await self.rules.run(url, lambda: self._upload_once(blob))
        self.progress.blobs_done += 1
        await self.progress.report()

    async def put_manifest(self, reference: str, manifest: Manifest) -> None:
        """``PUT .../manifests/<reference>`` with the manifest's exact bytes and its type."""
        url = self.session.url(f"manifests/{reference}")
        what = f"putting manifest {reference}"
        headers = {"Content-Type": manifest.media_type}

        async def put() -> None:
            response = await self._send("PUT", url, what, headers=headers, body=manifest.content)
            if response.status_code not in (200, 201):
                raise Failed(what, response=response)

        await self.rules.run(url, put)

    # ------------------------------------------------------------------ one upload

    async def _upload_once(self, blob: Blob) -> None:
        what = f"uploading blob {blob.digest}"
        async with _BlobReader(blob, self.progress) as reader:
            location = await self._start(what)
            if self.chunk_size is None or blob.size <= self.chunk_size:
                final = await self._put(location, blob, reader.take(blob.size), blob.size, what)
            else:
                location = await self._patches(location, blob, reader, what)
                final = await self._put(location, blob, b"", 0, what)
            self._expect(final, (201, 204), what, stream=True)

    async def _start(self, what: str) -> httpx.URL:
        """A new upload session (``POST .../blobs/uploads/``): where to send the bytes."""
        response = await self._send(
            "POST", self.session.url("blobs/uploads/"), what, headers={"Content-Length": "0"}
        )
        self._expect(response, (202,), what)
        location = response.headers.get("location")
        if not location:
            raise Failed(what, response=response)
        return response.url.join(location)

    async def _put(
        self, location: httpx.URL, blob: Blob, body: Body, length: int, what: str
    ) -> httpx.Response:
        """The closing ``PUT <location>?digest=`` (the whole blob, or no bytes after PATCHes)."""
        headers = {"Content-Type": _OCTETS, "Content-Length": str(length)}
        url = location.copy_merge_params({"digest": blob.digest})
        return await self._send("PUT", url, what, headers=headers, body=body)

    async def _patches(
        self, location: httpx.URL, blob: Blob, reader: _BlobReader, what: str
    ) -> httpx.URL:
        """Send the blob in ``chunk_size`` PATCHes; the location to close the upload at.

        ECR answers 201 where the spec says 202, and its ``Range`` stops advancing after the
        first chunk, so the offset is counted here and ``Range`` ignored.
        """
        assert self.chunk_size is not None
        offset = 0
        while offset < blob.size:
            count = min(self.chunk_size, blob.size - offset)
            headers = {
                "Content-Type": _OCTETS,
                "Content-Length": str(count),
                "Content-Range": f"{offset}-{offset + count - 1}",
            }
            response = await self._send(
                "PATCH", location, what, headers=headers, body=reader.take(count)
            )
            self._expect(response, (201, 202, 204), what, stream=True)
            moved = response.headers.get("location")
            if moved:
                location = response.url.join(moved)
            offset += count
        return location

    def _expect(
        self,
        response: httpx.Response,
        statuses: tuple[int, ...],
        what: str,
        *,
        stream: bool = False,
    ) -> None:
        if response.status_code in statuses:
            return
        lost = response.status_code == 416 or (
            response.status_code == 404 and b"BLOB_UPLOAD_UNKNOWN" in response.content
        )
        refused = stream and response.status_code == 401  # the credential was renewed
        raise Failed(what, response=response, session_lost=lost or refused)

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        what: str,
        *,
        headers: dict[str, str] | None = None,
        body: Body = None,
    ) -> httpx.Response:
        try:
            return await self.session.send(method, url, headers=headers, body=body)
        except httpx.TransportError as exc:
            raise Failed(what, error=exc) from exc
