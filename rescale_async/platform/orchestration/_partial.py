"""A download in progress on disk: the temporary file beside its destination, and the sidecar
that lets a later call continue from what an interrupted one left.

The bytes go to ``.<name>.part`` next to the destination, written at their offsets; the
sidecar ``.<name>.part.json`` records which chunks are complete, and for which file (its id,
size and digest, and the chunk size). A later download of the same file to the same place
keeps those chunks; anything else found there is started over. Only a verified file is renamed
to its destination; a failed verification removes both.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio
import anyio.to_thread

__all__ = ["Digest", "Identity", "PartialFile"]

logger = logging.getLogger("rescale_async")


class Digest(Protocol):
    """A running hash (``hashlib.sha512()``...)."""

    def update(self, data: bytes | memoryview, /) -> None: ...


@dataclass(frozen=True)
class Identity:
    """What a partial download is of: completed chunks are kept only for the same identity."""

    file_id: str
    size: int
    digest: str | None
    chunk_size: int


class PartialFile:
    """The temporary file (open for reading and writing at offsets) and the sidecar of one
    download. Build it with ``await PartialFile.open(dest, identity)``; ``done`` holds the
    chunks an earlier call completed.
    """

    def __init__(self, dest: Path, identity: Identity, descriptor: int, done: set[int]) -> None:
        self.dest = dest
        self.identity = identity
        self.done = done
        self._descriptor: int | None = descriptor
        self._sidecar_lock = anyio.Lock()  # one writer at a time, each with every chunk so far

    @staticmethod
    def paths(dest: Path) -> tuple[Path, Path]:
        """The temporary file and the sidecar of a download to ``dest``."""
        return dest.with_name(f".{dest.name}.part"), dest.with_name(f".{dest.name}.part.json")

    @classmethod
    async def open(cls, dest: Path, identity: Identity, *, resume: bool = True) -> PartialFile:
        """The partial download of ``identity`` to ``dest``: what an earlier call left when it
        was of the same file with the same chunk size, else a fresh one.
        """
        return await anyio.to_thread.run_sync(_open, cls, dest, identity, resume)

    @classmethod
    async def recorded_chunk_size(cls, dest: Path, file_id: str, size: int) -> int | None:
        """The chunk size an earlier download of this file to ``dest`` used, if it left one."""
        recorded = await anyio.to_thread.run_sync(_read_sidecar, cls.paths(dest)[1])
        if recorded is None or recorded.get("file_id") != file_id or recorded.get("size") != size:
            return None
        chunk_size = recorded.get("chunk_size")
        return chunk_size if isinstance(chunk_size, int) and chunk_size > 0 else None

    def _fd(self) -> int:
        if self._descriptor is None:
            raise RuntimeError(f"the partial download of {self.dest} is closed")
        return self._descriptor

    async def write(self, offset: int, data: bytes | bytearray) -> None:
        """Write ``data`` at ``offset`` (in a worker thread)."""
        await anyio.to_thread.run_sync(_write_at, self._fd(), offset, data)

    async def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` (in a worker thread)."""
        return await anyio.to_thread.run_sync(os.pread, self._fd(), size, offset)

    async def hash_into(self, digest: Digest, offset: int, buffer: memoryview) -> int:
        """Read ``len(buffer)`` bytes from ``offset`` into ``buffer`` (the caller's, reused, so
        hashing allocates nothing) and feed them to ``digest``, in one worker thread; how many
        were there to read.
        """
        return await anyio.to_thread.run_sync(_hash_at, self._fd(), digest, offset, buffer)

    async def restart(self) -> None:
        """Forget every byte written: the download starts over."""
        self.done.clear()
        await anyio.to_thread.run_sync(_restart, self._fd(), self.paths(self.dest)[1])

    async def mark_done(self, index: int) -> None:
        """Record chunk ``index`` as complete (the sidecar is replaced atomically)."""
        self.done.add(index)
        async with self._sidecar_lock:
            state = {**asdict(self.identity), "done": sorted(self.done)}
            await anyio.to_thread.run_sync(_write_sidecar, self.paths(self.dest)[1], state)

    async def finish(self) -> None:
        """Rename the complete, verified file to its destination; remove the sidecar."""
        temporary, sidecar = self.paths(self.dest)
        await anyio.to_thread.run_sync(_finish, self._fd(), temporary, self.dest, sidecar)
        self._descriptor = None

    async def discard(self) -> None:
        """Remove the temporary file and the sidecar (nothing is left of the download)."""
        temporary, sidecar = self.paths(self.dest)
        descriptor, self._descriptor = self._descriptor, None
        await anyio.to_thread.run_sync(_discard, descriptor, temporary, sidecar)

    async def close(self) -> None:
        """Close the temporary file, keeping it and the sidecar for a later call."""
        descriptor, self._descriptor = self._descriptor, None
        if descriptor is not None:
            await anyio.to_thread.run_sync(os.close, descriptor)


# --- the blocking parts, run in worker threads --------------------------------------------------


def _open(kind: type[PartialFile], dest: Path, identity: Identity, resume: bool) -> PartialFile:
    temporary, sidecar = kind.paths(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    recorded = _read_sidecar(sidecar) if resume else None
    done: set[int] = set()
    if recorded is not None and {k: v for k, v in recorded.items() if k != "done"} == asdict(
        identity
    ):
        chunks = -(-identity.size // identity.chunk_size)
        done = {i for i in recorded.get("done", ()) if isinstance(i, int) and 0 <= i < chunks}
    if done and temporary.exists():
        descriptor = os.open(temporary, os.O_RDWR)
        if os.fstat(descriptor).st_size < _end_of(done, identity):
            done = set()  # the file is shorter than the chunks said: not what was recorded
        else:
            logger.info("resuming the download to %s: %d chunks on disk", dest, len(done))
    else:
        done = set()
        descriptor = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o666)
    if not done:
        os.ftruncate(descriptor, 0)
        sidecar.unlink(missing_ok=True)
    return kind(dest, identity, descriptor, done)


def _end_of(done: set[int], identity: Identity) -> int:
    last = max(done)
    return min(identity.size, (last + 1) * identity.chunk_size)


def _read_sidecar(sidecar: Path) -> dict[str, Any] | None:
    try:
        recorded = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _write_sidecar(sidecar: Path, state: dict[str, Any]) -> None:
    fresh = sidecar.with_name(sidecar.name + ".new")
    fresh.write_text(json.dumps(state, separators=(",", ":")))
    fresh.replace(sidecar)


def _write_at(descriptor: int, offset: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(descriptor, view, offset)
        view, offset = view[written:], offset + written


def _hash_at(descriptor: int, digest: Digest, offset: int, buffer: memoryview) -> int:
    filled = 0
    while filled < len(buffer):
        read = os.preadv(descriptor, [buffer[filled:]], offset + filled)
        if read == 0:
            break
        filled += read
    digest.update(buffer[:filled])
    return filled


def _restart(descriptor: int, sidecar: Path) -> None:
    os.ftruncate(descriptor, 0)
    sidecar.unlink(missing_ok=True)


def _finish(descriptor: int, temporary: Path, dest: Path, sidecar: Path) -> None:
    os.close(descriptor)
    temporary.replace(dest)
    sidecar.unlink(missing_ok=True)


def _discard(descriptor: int | None, temporary: Path, sidecar: Path) -> None:
    if descriptor is not None:
        os.close(descriptor)
    temporary.unlink(missing_ok=True)
    sidecar.unlink(missing_ok=True)
