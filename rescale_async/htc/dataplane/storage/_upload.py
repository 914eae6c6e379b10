"""Uploading files: one PUT for a file of at most one part, multipart above, verified.

Every body goes with its ``Content-MD5``, so S3 refuses one damaged on the way (``BadDigest``);
the ETag S3 answers (the MD5 of the body, or for the whole multipart object the MD5 of the
part MD5s) is checked against the local hashes too. A file that changes while it is read
fails the upload (its multipart upload aborted). Parts and small files go concurrently
within one bound; each part is read into memory only while it is sent.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import anyio

from ...._core.concurrency import run_together
from ...._core.exceptions import StorageError, StorageIntegrityError
from ._engine import S3Session
from ._models import StoredObject
from ._plan import UploadItem, part_size_for, parts_of, slots_for
from ._progress import Reporter
from ._verify import composite_etag, md5, range_chunks, strip_etag

__all__ = ["upload_all"]


def _read(path: Path, offset: int, length: int) -> tuple[io.BytesIO, bytes]:
    """``length`` bytes of ``path`` from ``offset`` in a buffer of their own (which the
    HTTP client sends without copying), and their MD5 digest (blocking).
    """
    buffer, digest = io.BytesIO(), md5()
    with path.open("rb") as file:
        for chunk in range_chunks(file, offset, length):
            digest.update(chunk)
            buffer.write(chunk)
    buffer.seek(0)
    return buffer, digest.digest()


def _signature(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


def _read_whole(path: Path, size: int) -> tuple[io.BytesIO, bytes] | None:
    """All of ``path`` and its MD5 digest, or None when it is not the ``size`` bytes planned
    or changed while read (blocking).
    """
    before = _signature(path)
    data, digest = _read(path, 0, size)
    if before[0] != size or data.getbuffer().nbytes != size or _signature(path) != before:
        return None
    return data, digest


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
        async with self.limiter:
            read = await anyio.to_thread.run_sync(_read_whole, item.path, item.size)
            if read is None:
                raise _changed(item)
            data, digest = read
            answer = await self.s3.call(
                "put_object",
                item.key,
                Body=data,
                ContentLength=item.size,
                ContentMD5=base64.b64encode(digest).decode("ascii"),
            )
            del data, read
        _check_etag(answer.get("ETag"), digest.hex(), item.key, "the upload")
        await self.reporter.moved(item.key, item.size)
        return digest.hex()

    async def _multipart(self, item: UploadItem, part_size: int) -> str:
        before = await anyio.to_thread.run_sync(_signature, item.path)
        if before[0] != item.size:
            raise _changed(item)
        started = await self.s3.call("create_multipart_upload", item.key)
        upload_id = str(started["UploadId"])
        layout = parts_of(item.size, part_size)
        digests: list[bytes] = [b""] * len(layout)
        try:

            def part(index: int) -> Callable[[], Awaitable[None]]:
                async def send() -> None:
                    digests[index] = await self._part(item, upload_id, index, *layout[index])

                return send

            await run_together([part(index) for index in range(len(layout))])
            answer = await self.s3.call(
                "complete_multipart_upload",
                item.key,
                UploadId=upload_id,
                MultipartUpload={
                    "Parts": [
                        {"PartNumber": number, "ETag": f'"{digest.hex()}"'}
                        for number, digest in enumerate(digests, 1)
                    ]
                },
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._abort(item.key, upload_id)
            raise
        expected = composite_etag(digests)
        try:
            _check_etag(answer.get("ETag"), expected, item.key, "the multipart upload")
            if await anyio.to_thread.run_sync(_signature, item.path) != before:
                raise _changed(item)
        except StorageIntegrityError:
            await self.s3.call("delete_object", item.key)
            raise
        return expected

    async def _part(
        self, item: UploadItem, upload_id: str, index: int, offset: int, length: int
    ) -> bytes:
        async with self.limiter:
            data, digest = await anyio.to_thread.run_sync(_read, item.path, offset, length)
            if data.getbuffer().nbytes != length:
                raise _changed(item)
            answer = await self.s3.call(
                "upload_part",
                item.key,
                UploadId=upload_id,
                PartNumber=index + 1,
                Body=data,
                ContentLength=length,
                ContentMD5=base64.b64encode(digest).decode("ascii"),
            )
            del data
        _check_etag(answer.get("ETag"), digest.hex(), item.key, f"part {index + 1}")
        await self.reporter.moved(item.key, length)
        return digest

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
    limiter = anyio.CapacityLimiter(slots_for(concurrency, max(sizes, default=part_size)))
    uploader = _Uploader(s3, reporter, limiter)
    done: list[StoredObject | None] = [None] * len(items)

    def upload(index: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            done[index] = await uploader.file(items[index], sizes[index])

        return run

    await run_together([upload(index) for index in range(len(items))])
    return [stored for stored in done if stored is not None]
