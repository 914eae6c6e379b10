"""Uploading files: one PUT for a file of at most one part, multipart above, verified.

Every body goes with its ``Content-MD5`` and CRC32, so S3 refuses one damaged on the way
(``BadDigest``) and keeps the CRC32 with the object (a multipart upload is created for CRC32
checksums, so S3 builds their composite, far cheaper for it than a whole-object one); the
ETag S3 answers (the MD5 of the body, or for the whole multipart object the MD5 of the
part MD5s) is checked against the local hashes too. A file that changes while it is read
fails the upload (its multipart upload aborted). Parts and small files go concurrently
within one bound. A file of at most ``IN_MEMORY`` bytes is read whole once and sent from
memory; larger bodies are hashed first, then sent from a window on the file, so memory stays
flat whatever the file and part sizes.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from ...._core.concurrency import run_together
from ...._core.exceptions import StorageError, StorageIntegrityError
from ._body import FileWindow
from ._engine import S3Session
from ._models import StoredObject
from ._plan import UploadItem, part_size_for, parts_of
from ._progress import Reporter
from ._verify import BodyHashes, composite_etag, range_chunks, strip_etag

__all__ = ["IN_MEMORY", "upload_all"]

IN_MEMORY = 1024 * 1024
"""Files up to this size are read whole and sent from memory (one worker-thread hop each)."""


def _signature(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


def _read_whole(path: Path, size: int) -> tuple[io.BytesIO, BodyHashes] | None:
    """All of ``path`` in a buffer of its own (which the HTTP client sends without copying)
    and its hashes, or None when it is not the ``size`` bytes planned or changed while read
    (blocking).
    """
    before = _signature(path)
    data, hashes = io.BytesIO(), BodyHashes()
    with path.open("rb") as file:
        for chunk in range_chunks(file, 0, size):
            hashes.update(chunk)
            data.write(chunk)
    if before[0] != size or data.getbuffer().nbytes != size or _signature(path) != before:
        return None
    data.seek(0)
    return data, hashes


class _Uploader:
    def __init__(self, s3: S3Session, reporter: Reporter, limiter: anyio.CapacityLimiter) -> None:
        self.s3 = s3
        self.reporter = reporter
        self.limiter = limiter

    async def file(self, item: UploadItem, part_size: int) -> StoredObject:
        if item.size <= part_size:
            etag = await self._single(item)
        else:
            etag = await self._multipart(item, part_size)
        await self.reporter.finished(item.key)
        return StoredObject(item.key, item.size, None, etag)

    async def _single(self, item: UploadItem) -> str:
        if item.size <= IN_MEMORY:
            return await self._single_in_memory(item)
        before = await self._unchanged_since_planned(item)
        async with self.limiter:
            hashes = await anyio.to_thread.run_sync(BodyHashes.of_span, item.path, (0, item.size))
            answer = await self._send_window(item, before, "put_object", (0, item.size), hashes)
        digest = hashes.md5
        try:
            _check_etag(answer.get("ETag"), digest.hex(), item.key, "the upload")
            if await anyio.to_thread.run_sync(_signature, item.path) != before:
                raise _changed(item)
        except StorageIntegrityError:
            await self.s3.call("delete_object", item.key)
            raise
        await self.reporter.moved(item.key, item.size)
        return digest.hex()

    async def _single_in_memory(self, item: UploadItem) -> str:
        async with self.limiter:
            read = await anyio.to_thread.run_sync(_read_whole, item.path, item.size)
            if read is None:
                raise _changed(item)
            data, hashes = read
            answer = await self.s3.call(
                "put_object",
                item.key,
                Body=data,
                ContentLength=item.size,
                **hashes.request_params(),
            )
            del data, read
        digest = hashes.md5
        _check_etag(answer.get("ETag"), digest.hex(), item.key, "the upload")
        await self.reporter.moved(item.key, item.size)
        return digest.hex()

    async def _unchanged_since_planned(self, item: UploadItem) -> tuple[int, int]:
        """The file's signature now, which must still have the planned size."""
        before = await anyio.to_thread.run_sync(_signature, item.path)
        if before[0] != item.size:
            raise _changed(item)
        return before

    async def _send_window(
        self,
        item: UploadItem,
        before: tuple[int, int],
        operation: str,
        span: tuple[int, int],
        hashes: BodyHashes,
        **params: Any,
    ) -> dict[str, Any]:
        """``operation`` with the ``(offset, length)`` span of the file as its body; a
        failure after the file changed is reported as that change.
        """
        offset, length = span
        window = await anyio.to_thread.run_sync(FileWindow, item.path, offset, length)
        try:
            return await self.s3.call(
                operation,
                item.key,
                Body=window,
                ContentLength=length,
                **hashes.request_params(),
                **params,
            )
        except StorageError:
            if await anyio.to_thread.run_sync(_signature, item.path) != before:
                raise _changed(item) from None
            raise
        finally:
            window.close()

    async def _multipart(self, item: UploadItem, part_size: int) -> str:
        before = await self._unchanged_since_planned(item)
        started = await self.s3.call("create_multipart_upload", item.key, ChecksumAlgorithm="CRC32")
        upload_id = str(started["UploadId"])
        layout = parts_of(item.size, part_size)
        parts: list[BodyHashes] = [BodyHashes()] * len(layout)
        try:

            def part(index: int) -> Callable[[], Awaitable[None]]:
                async def send() -> None:
                    parts[index] = await self._part(
                        item, before, upload_id, index + 1, layout[index]
                    )

                return send

            await run_together([part(index) for index in range(len(layout))])
            answer = await self.s3.call(
                "complete_multipart_upload",
                item.key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [
                        {
                            "PartNumber": number,
                            "ETag": f'"{hashes.md5.hex()}"',
                            "ChecksumCRC32": hashes.crc32,
                        }
                        for number, hashes in enumerate(parts, 1)
                    ]
                },
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abort(item.key, upload_id)
            raise
        expected = composite_etag([hashes.md5 for hashes in parts])
        try:
            _check_etag(answer.get("ETag"), expected, item.key, "the multipart upload")
            if await anyio.to_thread.run_sync(_signature, item.path) != before:
                raise _changed(item)
        except StorageIntegrityError:
            await self.s3.call("delete_object", item.key)
            raise
        return expected

    async def _part(
        self,
        item: UploadItem,
        before: tuple[int, int],
        upload_id: str,
        number: int,
        span: tuple[int, int],
    ) -> BodyHashes:
        async with self.limiter:
            hashes = await anyio.to_thread.run_sync(BodyHashes.of_span, item.path, span)
            answer = await self._send_window(
                item, before, "upload_part", span, hashes, UploadId=upload_id, PartNumber=number
            )
        _check_etag(answer.get("ETag"), hashes.md5.hex(), item.key, f"part {number}")
        await self.reporter.moved(item.key, span[1])
        return hashes

    async def _abort(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(StorageError):  # left unfinished: S3's lifecycle rules reap it
            await self.s3.call("abort_multipart_upload", key, UploadId=upload_id)


def _changed(item: UploadItem) -> StorageIntegrityError:
    return StorageIntegrityError(
        f"{item.path} changed while it was uploaded (planned as {item.size} bytes); nothing "
        "was stored for it",
        key=item.key,
    )


def _check_etag(given: object, expected: str, key: str, what: str) -> None:
    etag = strip_etag(str(given)) if given is not None else None
    if etag is not None and etag != expected:
        raise StorageIntegrityError(
            f"the store's checksum of {what} of {key!r} is {etag}, not {expected} as sent",
            key=key,
        )


async def upload_all(
    s3: S3Session,
    items: Sequence[UploadItem],
    *,
    part_size: int,
    concurrency: int,
    reporter: Reporter,
) -> list[StoredObject]:
    """Upload ``items`` concurrently (at most ``concurrency`` requests at once); the objects
    made, in the order of ``items``.
    """
    sizes = [part_size_for(item.size, part_size) for item in items]
    limiter = anyio.CapacityLimiter(concurrency)
    uploader = _Uploader(s3, reporter, limiter)
    done: list[StoredObject | None] = [None] * len(items)

    def upload(index: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            done[index] = await uploader.file(items[index], sizes[index])

        return run

    await run_together([upload(index) for index in range(len(items))])
    return [stored for stored in done if stored is not None]
