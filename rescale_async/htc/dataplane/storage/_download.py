"""Downloading objects: resumable, verified against the store's ETag, written atomically.

Each object is written to ``.<name>.rescale-part`` beside its destination, then renamed over
it once verified; nothing else ever appears at the destination. A destination that already
holds the object (its size and MD5s match the ETag) is not downloaded again.

- A single-part object (ETag = MD5) streams in order. An interrupted download keeps its
  partial file and journal (``.rescale-part.json``: ETag and size); the next run continues
  from the partial file's end (``Range: bytes=N-``), hashing the prefix it already has, and
  the whole file's MD5 is checked at the end: a bad prefix means a verification error and a
  fresh start next time.
- A multipart object (ETag = MD5 of the part MD5s) downloads its parts concurrently, each
  written in place; consecutive parts go in one GET up to ``RANGE_SIZE`` bytes (fewer
  requests, but never fewer GETs than the transfer's concurrency when the parts allow), each
  part still hashed on its own. The journal records each finished part's MD5. The next run
  rehashes the recorded parts from the partial file and keeps those that still match (the
  verified part of what is there), fetching only the rest. Part boundaries come from
  ``HEAD ?partNumber=1`` (uniform parts, as every common uploader makes); if the ETag does
  not match with those, every part's size is asked (``HEAD ?partNumber=N``) and the file
  rehashed before any verdict.

Every GET carries ``If-Match`` with the listed ETag, so an object replaced mid-download fails
instead of mixing versions.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import anyio

from ...._core.concurrency import run_together
from ...._core.exceptions import StorageError, StorageIntegrityError
from ._engine import S3Session, body_errors
from ._models import StoredObject
from ._plan import parts_of
from ._progress import Reporter
from ._verify import composite_etag, etag_parts, file_md5s, matches, md5, range_chunks

__all__ = ["PARTIAL_SUFFIX", "DownloadItem", "download_all"]

PARTIAL_SUFFIX = ".rescale-part"
WRITE_SIZE = 1024 * 1024
"""Bytes gathered from a response before they are written (and reported)."""
BODY_ATTEMPTS = 3
"""Times a range is fetched when reading its body fails (a dropped connection)."""
RANGE_SIZE = 64 * WRITE_SIZE
"""Bytes one GET of a multipart object asks for at most (whole parts, one at least)."""
SMALL_OBJECT = 8 * WRITE_SIZE
"""Single-part objects up to this size are fetched whole into memory, checked, then written
(no partial file or journal: there is nothing worth resuming)."""

Layout = list[tuple[int, int]]


@dataclass
class _Cursor:
    """A range being fetched: how far its bytes are written (and hashed), so a retry can
    continue from there, and where it ends (exclusive; None: the object's end).
    """

    offset: int
    end: int | None = None


@dataclass(frozen=True)
class DownloadItem:
    """An object (key within the area) and the local path it is saved to."""

    stored: StoredObject
    dest: Path

    @property
    def partial(self) -> Path:
        return self.dest.with_name(f".{self.dest.name}{PARTIAL_SUFFIX}")

    @property
    def journal(self) -> Path:
        return self.dest.with_name(f".{self.dest.name}{PARTIAL_SUFFIX}.json")


def _load_journal(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _save_journal(path: Path, journal: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(journal))
    os.replace(temporary, path)


def _discard(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _prepare(partial: Path, size: int) -> None:
    """A partial file of ``size`` bytes (its directory made), ready for writes anywhere."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    with partial.open("wb") as file:
        file.truncate(size)


def _size_of(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _hash_prefix(path: Path, length: int) -> Any:
    """An MD5 fed the first ``length`` bytes of ``path`` (blocking)."""
    digest = md5()
    with path.open("rb") as file:
        for chunk in range_chunks(file, 0, length):
            digest.update(chunk)
    return digest


class _PartHashes:
    """The MD5s of consecutive parts fetched as one stream: a part's digest is kept in
    ``finished`` once its last byte arrived; a retry starts over at the first part not
    finished.
    """

    def __init__(self, parts: Sequence[tuple[int, tuple[int, int]]], finished: dict[int, bytes]):
        self._parts = parts  # (index, (offset, length)), consecutive
        self._at = 0
        self._digest = md5()
        self._fed = 0
        self.finished = finished

    @property
    def resume_offset(self) -> int:
        """Where the first part not finished starts."""
        return self._parts[self._at][1][0]

    def restart(self) -> int:
        """Forget the bytes of the part not finished; how many it had."""
        lost, self._fed, self._digest = self._fed, 0, md5()
        return lost

    def update(self, data: bytearray) -> None:
        view = memoryview(data)
        while view:
            if self._at == len(self._parts):
                raise StorageIntegrityError("the store sent more bytes than the range asked")
            index, (_, length) = self._parts[self._at]
            take = min(len(view), length - self._fed)
            self._digest.update(view[:take])
            self._fed += take
            view = view[take:]
            if self._fed == length:
                self.finished[index] = self._digest.digest()
                self._at, self._fed, self._digest = self._at + 1, 0, md5()


def _ranges(missing: Sequence[int], layout: Layout, concurrency: int) -> list[list[int]]:
    """The ``missing`` parts grouped into GETs of consecutive parts: at most ``RANGE_SIZE``
    bytes each, and small enough to give ``concurrency`` GETs when there are that many parts.
    """
    total = sum(layout[index][1] for index in missing)
    limit = min(RANGE_SIZE, max(1, -(-total // concurrency)))
    groups: list[list[int]] = []
    size = 0
    for index in missing:
        length = layout[index][1]
        if groups and groups[-1][-1] == index - 1 and size + length <= limit:
            groups[-1].append(index)
            size += length
        else:
            groups.append([index])
            size = length
    return groups


def _write(file: BinaryIO, data: bytearray, offset: int, digest: Any) -> None:
    file.seek(offset)
    file.write(data)
    digest.update(data)


def _save_whole(item: DownloadItem, data: bytes, etag: str) -> bool:
    """Write ``data`` to the destination (through the partial file) if its MD5 is ``etag``;
    whether it was (blocking).
    """
    digest = md5()
    digest.update(data)
    if len(data) != item.stored.size or digest.hexdigest() != etag:
        return False
    item.partial.parent.mkdir(parents=True, exist_ok=True)
    item.partial.write_bytes(data)
    os.replace(item.partial, item.dest)
    _discard(item.journal)
    return True


async def _close(file: BinaryIO) -> None:
    """Close ``file`` in a worker thread, even when cancelled (its writes are flushed)."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(file.close)


def _finish(item: DownloadItem) -> None:
    """Move the verified partial file over the destination; the journal goes. (No fsync: a
    destination a crash left incomplete fails the hash check the next download makes before
    it keeps a file, so it is fetched again.)
    """
    os.replace(item.partial, item.dest)
    _discard(item.journal)


def _unreadable(key: str, exc: BaseException) -> StorageError:
    return StorageError(
        f"reading {key!r} failed {BODY_ATTEMPTS} times ({type(exc).__name__}: {exc}); what "
        "arrived is kept for the next download to continue from",
        key=key,
    )


class _Downloader:
    def __init__(self, s3: S3Session, reporter: Reporter, limiter: anyio.CapacityLimiter) -> None:
        self.s3 = s3
        self.reporter = reporter
        self.limiter = limiter
        self.body_errors = body_errors()

    async def file(self, item: DownloadItem) -> bool:
        """Download ``item`` unless its destination already holds it; whether it moved."""
        stored = item.stored
        etag = stored.checksum
        if not etag:
            raise StorageIntegrityError(
                f"{stored.key!r} has no checksum (ETag) to verify a download against",
                key=stored.key,
            )
        parts = etag_parts(etag)
        layout = None if parts is None else await self._layout(stored, parts)
        if await anyio.to_thread.run_sync(matches, item.dest, etag, stored.size, layout):
            await self.reporter.skipped(stored.key, stored.size)
            return False
        if layout is None and stored.size <= SMALL_OBJECT:
            await self._whole(item, etag)
        else:
            if layout is None:
                await self._in_order(item, etag)
            else:
                await self._by_parts(item, etag, layout)
            await anyio.to_thread.run_sync(_finish, item)
        await self.reporter.finished(stored.key)
        return True

    async def _whole(self, item: DownloadItem, etag: str) -> None:
        """A small object in one GET, checked in memory, then written."""
        stored = item.stored
        async with self.limiter:
            for attempt in range(BODY_ATTEMPTS):
                answer = await self.s3.call("get_object", stored.key, IfMatch=f'"{etag}"')
                try:
                    async with answer["Body"] as body:
                        data: bytes = await body.read()
                    break
                except self.body_errors as exc:
                    if attempt == BODY_ATTEMPTS - 1:
                        raise _unreadable(stored.key, exc) from exc
            saved = await anyio.to_thread.run_sync(_save_whole, item, data, etag)
            del data
        if not saved:
            raise StorageIntegrityError(
                f"the download of {stored.key!r} does not match the store's checksum (ETag "
                f"{etag}, {stored.size} bytes); nothing was written to the destination",
                key=stored.key,
            )
        await self.reporter.moved(stored.key, stored.size)

    # ------------------------------------------------------------------ part boundaries

    async def _layout(self, stored: StoredObject, parts: int) -> Layout:
        """The object's parts, assumed uniform after the first (checked by the ETag)."""
        async with self.limiter:
            head = await self.s3.call("head_object", stored.key, PartNumber=1)
        first = int(head.get("ContentLength", 0))
        uniform = parts_of(stored.size, first) if first > 0 else []
        return uniform if len(uniform) == parts else await self._exact_layout(stored, parts)

    async def _exact_layout(self, stored: StoredObject, parts: int) -> Layout:
        """The object's parts as the store has them: one HEAD per part."""
        lengths = [0] * parts

        def measure(number: int) -> Callable[[], Awaitable[None]]:
            async def head() -> None:
                async with self.limiter:
                    answer = await self.s3.call("head_object", stored.key, PartNumber=number)
                lengths[number - 1] = int(answer.get("ContentLength", 0))

            return head

        await run_together([measure(number) for number in range(1, parts + 1)])
        layout, offset = [], 0
        for length in lengths:
            layout.append((offset, length))
            offset += length
        if offset != stored.size:
            raise StorageIntegrityError(
                f"the parts of {stored.key!r} add up to {offset} bytes, not {stored.size}",
                key=stored.key,
            )
        return layout

    # ------------------------------------------------------------------ single-part objects

    async def _in_order(self, item: DownloadItem, etag: str) -> None:
        stored, partial = item.stored, item.partial
        journal = await anyio.to_thread.run_sync(_load_journal, item.journal)
        have = await anyio.to_thread.run_sync(_size_of, partial)
        if journal == {"etag": etag, "size": stored.size} and have is not None:
            cursor = _Cursor(min(have, stored.size))
            await self.reporter.resumed(stored.key, cursor.offset)
        else:
            cursor = _Cursor(0)
            await anyio.to_thread.run_sync(_prepare, partial, 0)
            await anyio.to_thread.run_sync(
                _save_journal, item.journal, {"etag": etag, "size": stored.size}
            )
        digest = await anyio.to_thread.run_sync(_hash_prefix, partial, cursor.offset)
        async with self.limiter:
            file = await anyio.to_thread.run_sync(partial.open, "rb+")
            try:
                for attempt in range(BODY_ATTEMPTS):
                    if cursor.offset >= stored.size:
                        break
                    try:
                        await self._fetch(item, etag, file, cursor, digest)
                    except self.body_errors as exc:  # continue from what arrived
                        if attempt == BODY_ATTEMPTS - 1:
                            raise _unreadable(stored.key, exc) from exc
                await anyio.to_thread.run_sync(file.truncate, stored.size)
            finally:
                await _close(file)
        if cursor.offset != stored.size or digest.hexdigest() != etag:
            await anyio.to_thread.run_sync(_discard, partial, item.journal)
            raise StorageIntegrityError(
                f"the download of {stored.key!r} does not match the store's checksum "
                f"(MD5 {digest.hexdigest()} of {cursor.offset} bytes, ETag {etag} of "
                f"{stored.size}); nothing was written to the destination",
                key=stored.key,
            )

    async def _fetch(
        self,
        item: DownloadItem,
        etag: str,
        file: BinaryIO,
        cursor: _Cursor,
        digest: Any,
    ) -> None:
        """GET the object's bytes of ``cursor``'s range into ``file`` at their place,
        feeding ``digest`` and advancing ``cursor`` as they land.
        """
        stored = item.stored
        last = "" if cursor.end is None else str(cursor.end - 1)
        params: dict[str, Any] = {"IfMatch": f'"{etag}"'}
        if cursor.offset > 0 or cursor.end is not None:
            params["Range"] = f"bytes={cursor.offset}-{last}"
        answer = await self.s3.call("get_object", stored.key, **params)
        pending = bytearray()
        try:
            async with answer["Body"] as body:
                async for chunk in body.iter_chunks(WRITE_SIZE):
                    pending += chunk
                    if len(pending) >= WRITE_SIZE:
                        full, pending = pending, bytearray()
                        await self._write(stored.key, file, full, cursor, digest)
        finally:  # what arrived before a dropped connection is kept too
            if pending:
                with anyio.CancelScope(shield=True):
                    await self._write(stored.key, file, pending, cursor, digest)

    async def _write(
        self, key: str, file: BinaryIO, data: bytearray, cursor: _Cursor, digest: Any
    ) -> None:
        await anyio.to_thread.run_sync(_write, file, data, cursor.offset, digest)
        cursor.offset += len(data)
        await self.reporter.moved(key, len(data))

    # ------------------------------------------------------------------ multipart objects

    async def _by_parts(self, item: DownloadItem, etag: str, layout: Layout) -> None:
        stored, partial = item.stored, item.partial
        journal = await anyio.to_thread.run_sync(_load_journal, item.journal)
        fresh = {"etag": etag, "size": stored.size, "layout": [list(p) for p in layout]}
        have = await anyio.to_thread.run_sync(_size_of, partial)
        digests: dict[int, bytes] = {}
        if {k: journal.get(k) for k in fresh} == fresh and have == stored.size:
            digests = await self._verified_parts(partial, layout, journal.get("done") or {})
            await self.reporter.resumed(stored.key, sum(layout[i][1] for i in digests))
        else:
            await anyio.to_thread.run_sync(_prepare, partial, stored.size)
        done = {str(i): d.hex() for i, d in digests.items()}
        record = {**fresh, "done": done}
        await anyio.to_thread.run_sync(_save_journal, item.journal, record)
        saving = anyio.Lock()

        def fetch(parts: list[int]) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                finished: dict[int, bytes] = {}
                try:
                    await self._range(item, etag, [(i, layout[i]) for i in parts], finished)
                finally:
                    with anyio.CancelScope(shield=True):  # parts that arrived are kept
                        async with saving:
                            digests.update(finished)
                            done.update({str(i): d.hex() for i, d in finished.items()})
                            await anyio.to_thread.run_sync(_save_journal, item.journal, record)

            return run

        missing = [i for i in range(len(layout)) if i not in digests]
        await run_together(
            [fetch(parts) for parts in _ranges(missing, layout, int(self.limiter.total_tokens))]
        )
        found = composite_etag([digests[i] for i in range(len(layout))])
        if found != etag:
            exact = await self._exact_layout(stored, len(layout))
            if exact != layout:
                found = composite_etag(await anyio.to_thread.run_sync(file_md5s, partial, exact))
        if found != etag:
            await anyio.to_thread.run_sync(_discard, partial, item.journal)
            raise StorageIntegrityError(
                f"the download of {stored.key!r} does not match the store's checksum (parts "
                f"give {found}, the ETag is {etag}); nothing was written to the destination",
                key=stored.key,
            )

    async def _verified_parts(
        self, partial: Path, layout: Layout, recorded: dict[str, str]
    ) -> dict[int, bytes]:
        """The parts an earlier run finished whose bytes still hash as it recorded."""
        indexes = sorted(int(i) for i in recorded if i.isdigit() and int(i) < len(layout))
        if not indexes:
            return {}
        found = await anyio.to_thread.run_sync(file_md5s, partial, [layout[i] for i in indexes])
        return {i: d for i, d in zip(indexes, found, strict=True) if d.hex() == recorded[str(i)]}

    async def _range(
        self,
        item: DownloadItem,
        etag: str,
        parts: Sequence[tuple[int, tuple[int, int]]],
        finished: dict[int, bytes],
    ) -> None:
        """Consecutive ``parts`` in one GET, written in place; each part's MD5 goes into
        ``finished`` as it completes. A body that breaks off is asked again from the first
        part not finished.
        """
        key = item.stored.key
        start = parts[0][1][0]
        last_offset, last_length = parts[-1][1]
        end = last_offset + last_length
        hashes = _PartHashes(parts, finished)
        async with self.limiter:
            file = await anyio.to_thread.run_sync(item.partial.open, "rb+")
            try:
                for attempt in range(BODY_ATTEMPTS):
                    cursor = _Cursor(hashes.resume_offset, end)
                    try:
                        await self._fetch(item, etag, file, cursor, hashes)
                    except self.body_errors as exc:
                        if attempt == BODY_ATTEMPTS - 1:
                            raise _unreadable(key, exc) from exc
                        await self.reporter.restarted(key, hashes.restart())
                        continue
                    if len(finished) != len(parts):
                        raise StorageIntegrityError(
                            f"a range of {key!r} came with {cursor.offset - start} bytes, "
                            f"not {end - start}",
                            key=key,
                        )
                    return
            finally:
                await _close(file)


async def download_all(
    s3: S3Session, items: Sequence[DownloadItem], *, concurrency: int, reporter: Reporter
) -> tuple[list[StoredObject], list[StoredObject]]:
    """Download ``items`` concurrently (at most ``concurrency`` requests at once): the
    objects downloaded, and those whose destination already held them.
    """
    downloader = _Downloader(s3, reporter, anyio.CapacityLimiter(concurrency))
    moved: list[bool | None] = [None] * len(items)

    def download(index: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            moved[index] = await downloader.file(items[index])

        return run

    await run_together([download(index) for index in range(len(items))])
    transferred = [item.stored for item, did in zip(items, moved, strict=True) if did]
    skipped = [item.stored for item, did in zip(items, moved, strict=True) if did is False]
    return transferred, skipped
