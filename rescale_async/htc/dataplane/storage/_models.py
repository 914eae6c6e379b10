"""What storage calls return and report: objects, progress, results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

__all__ = ["StoredObject", "TransferProgress", "TransferProgressHook", "TransferResult"]


@dataclass(frozen=True)
class StoredObject:
    """An object of a task's (or project's shared) storage.

    ``key`` is relative to that area (``results/out.csv``); ``checksum`` is the store's ETag
    without quotes: the MD5 of the bytes for a single-part object, ``<MD5 of the parts'
    MD5s>-<parts>`` for a multipart one.
    """

    key: str
    size: int
    modified: datetime | None = None
    checksum: str | None = None


@dataclass(frozen=True)
class TransferProgress:
    """Where an upload or download stands, after a piece (a file, or a part of one) moved.

    ``key`` is the object the piece belongs to. Byte and file counts cover the whole call;
    ``files_skipped`` counts downloads already complete and verified at the destination.
    """

    direction: Literal["upload", "download"]
    key: str
    bytes_done: int
    bytes_total: int
    files_done: int
    files_total: int
    files_skipped: int = 0


TransferProgressHook: TypeAlias = Callable[[TransferProgress], None]
"""Called in the caller's event loop after each piece; an exception it raises stops the
transfer."""


@dataclass(frozen=True)
class TransferResult:
    """What an upload or download did: the objects moved (each verified), those a download
    found already complete at the destination, and the bytes moved.
    """

    transferred: tuple[StoredObject, ...]
    skipped: tuple[StoredObject, ...] = ()
    bytes: int = 0
