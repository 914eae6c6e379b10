"""The files of an image source, a directory or an uncompressed tar, as byte ranges.

A blob is streamed from its byte range of the file that holds it (the blob file itself, or
the tar), so no member is ever extracted or read whole.
"""

from __future__ import annotations

import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from ...._core.exceptions import ImageSourceError

__all__ = ["ByteRange", "ImageFiles", "open_files"]

_COMPRESSED = {
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
}
_MAX_LINKS = 16


@dataclass(frozen=True)
class ByteRange:
    """Where some bytes are: ``length`` bytes of the file ``path`` from ``offset`` on."""

    path: Path
    offset: int
    length: int

    def open(self) -> BinaryIO:
        """The file, positioned at the first of the bytes (blocking)."""
        file = self.path.open("rb")
        file.seek(self.offset)
        return file

    def read(self, limit: int, what: str) -> bytes:
        """The bytes, for small files only (JSON documents): at most ``limit`` of them."""
        if self.length > limit:
            raise ImageSourceError(f"{what} is {self.length} bytes, more than {limit}")
        with self.open() as file:
            data = file.read(self.length)
        if len(data) != self.length:
            raise ImageSourceError(f"{what} ends after {len(data)} of {self.length} bytes")
        return data


class ImageFiles(Protocol):
    """The files of a source by their path inside it (``index.json``, ``blobs/sha256/...``)."""

    description: str

    def find(self, name: str) -> ByteRange | None:
        """The regular file ``name`` (links followed), or None."""
        ...


def open_files(source: Path) -> ImageFiles:
    """The files of ``source``: a directory, or an uncompressed tar archive."""
    if source.is_dir():
        return _Directory(source)
    if not source.exists():
        raise ImageSourceError(
            f"{source} does not exist: give an OCI image layout (directory "
            "or tar) or a docker save archive"
        )
    if not source.is_file():
        raise ImageSourceError(f"{source} is neither a directory nor a file")
    with source.open("rb") as file:
        head = file.read(8)
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            raise ImageSourceError(
                f"{source} is {kind}-compressed: decompress it first (blobs are streamed from "
                "their place in the archive, which needs a plain tar)"
            )
    if not tarfile.is_tarfile(source):
        raise ImageSourceError(
            f"{source} is not a tar archive: give an OCI image layout (directory or tar) or "
            "a docker save archive"
        )
    return _Tar(source)


class _Directory:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.description = f"directory {root}"

    def find(self, name: str) -> ByteRange | None:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return ByteRange(path, 0, path.stat().st_size)


class _Tar:
    """A tar's members by normalised name; only headers are read (data is seeked past)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"archive {path}"
        self._members: dict[str, tarfile.TarInfo] = {}
        try:
            with tarfile.open(path, "r:") as archive:
                for member in archive:
                    self._members[_normal(member.name)] = member
        except tarfile.TarError as exc:
            raise ImageSourceError(f"{path} is not a readable tar archive: {exc}") from None

    def find(self, name: str) -> ByteRange | None:
        member = self._members.get(_normal(name))
        for _ in range(_MAX_LINKS):
            if member is None:
                return None
            if member.isfile():
                if member.issparse():
                    raise ImageSourceError(
                        f"{self.path}: member {member.name} is a sparse file, which cannot be "
                        "streamed in place; write the archive without --sparse"
                    )
                return ByteRange(self.path, member.offset_data, member.size)
            if member.issym():
                target = posixpath.join(posixpath.dirname(_normal(member.name)), member.linkname)
                member = self._members.get(_normal(target))
            elif member.islnk():
                member = self._members.get(_normal(member.linkname))
            else:
                return None
        raise ImageSourceError(f"{self.path}: too many links to follow for {name}")


def _normal(name: str) -> str:
    """A member name without ``./``, leading ``/`` or ``..`` tricks."""
    return posixpath.normpath("/" + name).lstrip("/")
