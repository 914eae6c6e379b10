"""Planning transfers: which files go to which keys, part sizes, where downloads land.

S3 limits: one PUT at most 5 GiB; multipart parts at least 5 MiB (but the last) and at most
5 GiB, at most 10,000 of them. Files larger than one part go multipart; parts are
``part_size`` (8 MiB unless asked), raised by whole MiB when a file would need more than
10,000.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = [
    "DEFAULT_PART_SIZE",
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "UploadItem",
    "check_concurrency",
    "check_key",
    "check_part_size",
    "local_path",
    "part_size_for",
    "parts_of",
    "plan_upload",
]

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10_000
DEFAULT_PART_SIZE = 8 * MiB


def check_part_size(part_size: int) -> int:
    if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
        raise ValueError(
            f"part_size must be between 5 MiB ({MIN_PART_SIZE}) and 5 GiB ({MAX_PART_SIZE}) "
            f"bytes, S3's limits; got {part_size}"
        )
    return part_size


def check_concurrency(concurrency: int) -> int:
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency}")
    return concurrency


def part_size_for(size: int, wanted: int = DEFAULT_PART_SIZE) -> int:
    """The part size for a file of ``size`` bytes: ``wanted``, or the smallest whole number
    of MiB above it that keeps the file within 10,000 parts.
    """
    needed = -(-size // MAX_PARTS)
    return wanted if needed <= wanted else -(-needed // MiB) * MiB


def parts_of(size: int, part_size: int) -> list[tuple[int, int]]:
    """``(offset, length)`` of each part of a ``size``-byte object cut every ``part_size``."""
    return [(start, min(part_size, size - start)) for start in range(0, size, part_size)]


def check_key(key: str) -> str:
    """``key`` if it is a usable key within an area: relative, no empty, ``.`` or ``..``
    segment (each becomes a file or directory name when downloaded).
    """
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or any(p in ("", ".", "..") for p in parts[:-1])
        or (parts[-1] in (".", ".."))
    ):
        raise ValueError(
            f"{key!r} is not a usable storage key: keys are relative paths like "
            "'results/out.csv', without empty, '.' or '..' segments"
        )
    return key


def local_path(root: Path, relative: str) -> Path:
    """Where object ``relative`` (a key relative to the downloaded prefix) goes under
    ``root``; ValueError for a key that would land outside it.
    """
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or any(p in (".", "..") for p in parts):
        raise ValueError(f"the object {relative!r} cannot be saved under {root}: unsafe path")
    return root.joinpath(*parts)


@dataclass(frozen=True)
class UploadItem:
    """A local file to upload and the key (within the area) it gets."""

    path: Path
    key: str
    size: int


def _is_file(path: Path) -> os.stat_result | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info if stat.S_ISREG(info.st_mode) else None


def plan_upload(source: Path, dest: str | None) -> list[UploadItem]:
    """The files of ``source`` and their keys (blocking: run it in a worker thread).

    A file goes to ``dest`` (its name when None; ``dest/name`` when ``dest`` ends in ``/``).
    A directory's files keep their relative paths, under ``dest/`` when given (symbolic links
    to files are followed, to directories not; other special files are skipped).
    """
    info = _is_file(source)
    if info is not None:
        key = (dest or "") + source.name if dest is None or dest.endswith("/") else dest
        return [UploadItem(source, check_key(key.lstrip("/")), info.st_size)]
    if not source.is_dir():
        raise FileNotFoundError(f"no file or directory {source}")
    prefix = "" if not dest or dest.strip("/") == "" else dest.strip("/") + "/"
    items = []
    for directory, subdirectories, files in os.walk(source):
        subdirectories.sort()
        base = Path(directory)
        for name in sorted(files):
            path = base / name
            found = _is_file(path)
            if found is None:
                continue
            relative = path.relative_to(source).as_posix()
            items.append(UploadItem(path, check_key(prefix + relative), found.st_size))
    return items
