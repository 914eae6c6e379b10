"""Uploading files: one PUT for a file of at most one part, multipart above, verified.

Every body goes with its CRC32 (``x-amz-checksum-crc32``, a multipart upload created for
CRC32 checksums), so S3 refuses one damaged on the way; the CRC32 it answers back (of the
body, or for the whole multipart object the composite of the parts') is checked against the
local one too, and its ETag is what the object's downloads are verified against. A file that
changes while it is read fails the upload (its multipart upload aborted). Parts and small
files go concurrently within one bound. A file of at most ``IN_MEMORY`` bytes is read whole
once and sent from memory; larger bodies are checksummed first, then sent from a window on
the file, so memory stays flat whatever the file and part sizes. (CRC32, not MD5: S3 checks
either, and CRC32 costs a quarter of the CPU, which a loaded machine's transfers feel.)
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
from ._verify import BodyCRC32, composite_crc32, range_chunks, strip_etag

__all__ = ["IN_MEMORY", "upload_all"]

IN_MEMORY = 1024 * 1024
"""Files up to this size are read whole and sent from memory (one worker-thread hop each)."""


def _signature(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


def _read_whole(path: Path, size: int) -> tuple[io.BytesIO, BodyCRC32] | None:
    """All of ``path`` in a buffer of its own (which the HTTP client sends without copying)
    and its CRC32, or None when it is not the ``size`` bytes planned or changed while read
    (blocking).
    """
    before = _signature(path)
    data, crc = io.BytesIO(), BodyCRC32()
    with path.open("rb") as file:
        for chunk in range_chunks(file, 0, size):
            crc.update(chunk)
            data.write(chunk)
    if before[0] != size or data.getbuffer().nbytes != size or _signature(path) != before:
        return None
    data.seek(0)
    return data, crc


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

    async def _single(self, item: UploadItem) -> str | None:
        if item.size <= IN_MEMORY:
            return await self._single_in_memory(item)
        before = await self._unchanged_since_planned(item)
        async with self.limiter:
            crc = await anyio.to_thread.run_sync(BodyCRC32.of_span, item.path, (0, item.size))
            answer = await self._send_window(item, before, "put_object", (0, item.size), crc)
        await self._keep_if_intact(item, before, answer, crc.encoded, "the upload")
        await self.reporter.moved(item.key, item.size)
        return strip_etag(answer.get("ETag"))

    async def _single_in_memory(self, item: UploadItem) -> str | None:
        async with self.limiter:
            read = await anyio.to_thread.run_sync(_read_whole, item.path, item.size)
            if read is None:
                raise _changed(item)
            data, crc = read
            answer = await self.s3.call(
                "put_object",
                item.key,
                Body=data,
                ContentLength=item.size,
                ChecksumCRC32=crc.encoded,
            )
            del data, read
        _check_crc32(answer, crc.encoded, item.key, "the upload")
        await self.reporter.moved(item.key, item.size)
        return strip_etag(answer.get("ETag"))

    async def _keep_if_intact(
        self,
        item: UploadItem,
        before: tuple[int, int],
        answer: dict[str, Any],
        expected: str,
        what: str,
    ) -> None:
        """The stored object stays only if the store's CRC32 is ``expected`` and the file did
        not change while it was sent; otherwise it is deleted and StorageIntegrityError raised.
        """
        try:
            _check_crc32(answer, expected, item.key, what)
            if await anyio.to_thread.run_sync(_signature, item.path) != before:
                raise _changed(item)
        except StorageIntegrityError:
            await self.s3.call("delete_object", item.key)
            raise

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
        crc: BodyCRC32,
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
                ChecksumCRC32=crc.encoded,
                **params,
            )
        except StorageError:
            if await anyio.to_thread.run_sync(_signature, item.path) != before:
                raise _changed(item) from None
            raise
        finally:
            window.close()

    async def _multipart(self, item: UploadItem, part_size: int) -> str | None:
        before = await self._unchanged_since_planned(item)
        started = await self.s3.call("create_multipart_upload", item.key, ChecksumAlgorithm="CRC32")
        upload_id = str(started["UploadId"])
        layout = parts_of(item.size, part_size)
        sent: list[tuple[BodyCRC32, str]] = [(BodyCRC32(), "")] * len(layout)
        try:

            def part(index: int) -> Callable[[], Awaitable[None]]:
                async def send() -> None:
                    sent[index] = await self._part(
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
                        {"PartNumber": number, "ETag": etag, "ChecksumCRC32": crc.encoded}
                        for number, (crc, etag) in enumerate(sent, 1)
                    ]
                },
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abort(item.key, upload_id)
            raise
        expected = composite_crc32([crc for crc, _ in sent])
        await self._keep_if_intact(item, before, answer, expected, "the multipart upload")
        return strip_etag(answer.get("ETag"))

    async def _part(
        self,
        item: UploadItem,
        before: tuple[int, int],
        upload_id: str,
        number: int,
        span: tuple[int, int],
    ) -> tuple[BodyCRC32, str]:
        """Part ``number``: its CRC32 and the ETag the store gave it."""
        async with self.limiter:
            crc = await anyio.to_thread.run_sync(BodyCRC32.of_span, item.path, span)
            answer = await self._send_window(
                item, before, "upload_part", span, crc, UploadId=upload_id, PartNumber=number
            )
        _check_crc32(answer, crc.encoded, item.key, f"part {number}")
        etag = answer.get("ETag")
        if not etag:
            raise StorageError(f"S3 gave part {number} of {item.key!r} no ETag", key=item.key)
        await self.reporter.moved(item.key, span[1])
        return crc, str(etag)

    async def _abort(self, key: str, upload_id: str) -> None:
        with contextlib.suppress(StorageError):  # left unfinished: S3's lifecycle rules reap it
            await self.s3.call("abort_multipart_upload", key, UploadId=upload_id)


def _changed(item: UploadItem) -> StorageIntegrityError:
    return StorageIntegrityError(
        f"{item.path} changed while it was uploaded (planned as {item.size} bytes); nothing "
        "was stored for it",
        key=item.key,
    )


def _check_crc32(answer: dict[str, Any], expected: str, key: str, what: str) -> None:
    """The CRC32 the store answered (``<crc>`` or ``<crc>-<parts>``), if any, is ours."""
    given = answer.get("ChecksumCRC32")
    found = str(given).partition("-")[0] if given else None
    if found is not None and found != expected:
        raise StorageIntegrityError(
            f"the store's CRC32 of {what} of {key!r} is {found}, not {expected} as sent",
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
