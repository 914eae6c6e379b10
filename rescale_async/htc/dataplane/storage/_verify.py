"""Checking bytes against the store's checksum: the ETag.

S3 gives a single-part object the MD5 of its bytes as ETag, and a multipart one
``<MD5 of the concatenated part MD5s>-<number of parts>`` (each part's MD5 being what the
store computed of what it received). So a local file is verified by hashing it cut at the
object's part boundaries. (An object encrypted with SSE-KMS or SSE-C has an ETag that is no
MD5; the SDK's uploads never ask for those, and the Rescale buckets are not known to.)

Uploads are checked by CRC32 instead (``BodyCRC32``): S3 verifies the one each body carries
and answers it back, the composite of the parts' for a multipart object.
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
    "BodyCRC32",
    "composite_crc32",
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


class BodyCRC32:
    """The CRC32 of a request body, sent as ``x-amz-checksum-crc32``: S3 refuses a body that
    does not match it, answers it back, and keeps it with the object (a multipart object gets
    the composite of its parts'). The AWS SDKs send it by default.
    """

    def __init__(self) -> None:
        self.value = 0

    def update(self, chunk: bytes) -> None:
        self.value = zlib.crc32(chunk, self.value)

    @property
    def encoded(self) -> str:
        """As S3 writes it: base64 of its four big-endian bytes."""
        return _crc32_text(self.value)

    @classmethod
    def of_span(cls, path: Path, span: tuple[int, int]) -> BodyCRC32:
        """That of the ``(offset, length)`` span of ``path`` (blocking)."""
        crc = cls()
        with path.open("rb") as file:
            for chunk in range_chunks(file, *span):
                crc.update(chunk)
        return crc


def composite_crc32(parts: Sequence[BodyCRC32]) -> str:
    """The checksum S3 keeps for a multipart object of these parts (without ``-<parts>``):
    the CRC32 of their CRC32s.
    """
    joined = b"".join(part.value.to_bytes(4, "big") for part in parts)
    return _crc32_text(zlib.crc32(joined))


def _crc32_text(value: int) -> str:
    return base64.b64encode(value.to_bytes(4, "big")).decode("ascii")


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
