"""Checking bytes against the store's checksum: the ETag.

S3 gives a single-part object the MD5 of its bytes as ETag, and a multipart one
``<MD5 of the concatenated part MD5s>-<number of parts>`` (each part's MD5 being what the
store computed of what it received). So a local file is verified by hashing it cut at the
object's part boundaries. (An object encrypted with SSE-KMS or SSE-C has an ETag that is no
MD5; the SDK's uploads never ask for those, and the Rescale buckets are not known to.)
"""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "READ_SIZE",
    "BodyHashes",
    "composite_etag",
    "etag_parts",
    "file_md5s",
    "md5",
    "range_chunks",
    "strip_etag",
]

READ_SIZE = 1024 * 1024
"""Bytes read at a time when hashing a local file."""


def md5() -> hashlib._Hash:
    """A new MD5 (an integrity check here, not security)."""
    return hashlib.md5(usedforsecurity=False)


class BodyHashes:
    """The MD5 and CRC32 of a request body, as S3 checks them on arrival: ``Content-MD5``
    (what the ETag is made of) and ``x-amz-checksum-crc32`` (kept with the object, composite
    for a multipart one; the AWS SDKs send it by default).
    """

    def __init__(self) -> None:
        self._md5 = md5()
        self._crc32 = 0

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        self._crc32 = zlib.crc32(chunk, self._crc32)

    @property
    def md5(self) -> bytes:
        return self._md5.digest()

    @property
    def crc32(self) -> str:
        """The CRC32 as S3 writes it: base64 of its four big-endian bytes."""
        return base64.b64encode(self._crc32.to_bytes(4, "big")).decode("ascii")

    def request_params(self) -> dict[str, str]:
        """The parameters of a ``put_object`` or ``upload_part`` that carry them."""
        return {
            "ContentMD5": base64.b64encode(self.md5).decode("ascii"),
            "ChecksumCRC32": self.crc32,
        }

    @classmethod
    def of_span(cls, path: Path, span: tuple[int, int]) -> BodyHashes:
        """Those of the ``(offset, length)`` span of ``path`` (blocking)."""
        hashes = cls()
        with path.open("rb") as file:
            for chunk in range_chunks(file, *span):
                hashes.update(chunk)
        return hashes


def strip_etag(value: str | None) -> str | None:
    """An ETag without its quotes (S3 sends ``"..."``)."""
    return None if value is None else value.strip('"')


def etag_parts(etag: str | None) -> int | None:
    """The number of parts a multipart ETag names; None for a single-part one."""
    if etag is None or "-" not in etag:
        return None
    count = etag.rsplit("-", 1)[1]
    return int(count) if count.isdigit() else None


def composite_etag(part_md5s: Sequence[bytes]) -> str:
    """The ETag S3 gives a multipart object whose parts have these MD5 digests."""
    digest = md5()
    for part in part_md5s:
        digest.update(part)
    return f"{digest.hexdigest()}-{len(part_md5s)}"


def range_chunks(file: BinaryIO, offset: int, length: int) -> Iterator[bytes]:
    """The ``length`` bytes of ``file`` from ``offset`` (fewer at its end), ``READ_SIZE`` at a
    time (blocking).
    """
    file.seek(offset)
    left = length
    while left > 0:
        chunk = file.read(min(READ_SIZE, left))
        if not chunk:
            return
        left -= len(chunk)
        yield chunk


def file_md5s(path: Path, layout: Sequence[tuple[int, int]]) -> list[bytes]:
    """The MD5 digest of each ``(offset, length)`` range of ``path`` (blocking)."""
    digests = []
    with path.open("rb") as file:
        for offset, length in layout:
            digest = md5()
            for chunk in range_chunks(file, offset, length):
                digest.update(chunk)
            digests.append(digest.digest())
    return digests


def matches(path: Path, etag: str, size: int, layout: Sequence[tuple[int, int]] | None) -> bool:
    """Whether ``path`` holds the object of ``etag`` and ``size`` (blocking): its size, and
    its MD5 (single-part) or the composite of its parts' MD5s cut at ``layout`` (multipart).
    """
    try:
        if os.stat(path).st_size != size:
            return False
    except OSError:
        return False
    if etag_parts(etag) is None:
        return file_md5s(path, [(0, size)])[0].hex() == etag
    return layout is not None and composite_etag(file_md5s(path, layout)) == etag
