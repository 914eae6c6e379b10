"""Downloading one file fast and verified: concurrent ``Range`` chunks into a temporary file,
hashed in order as they land, renamed into place only once the digest matches.

The first chunk's answer tells whether the server honours ranges: a 206 starts the other
connections; a 200 is the whole file, streamed on that one connection. Each chunk's bytes are
written at their offset as they arrive (a megabyte at a time: memory stays bounded whatever the
file's size), and a connection lost midway asks for the rest of that chunk only. A hasher
follows the contiguous prefix of landed bytes, reading each stretch back from the page cache
as soon as it extends the prefix, so once the last byte lands only the tail is left to hash:
there is no second pass over the file. Completed chunks are recorded in a sidecar, so a later
call continues what an interrupted one left. A digest that does not match ``fileChecksums``
removes everything and raises; nothing ever appears at the destination unverified.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio

from ..._core.concurrency import run_together
from ..._core.exceptions import APIConnectionError, ChecksumMismatchError, DownloadError
from ..._core.options import Sleep
from ..resources._content import ByteRange, FileContent
from ..resources.files import Files
from ..types import File
from ._hooks import ByteProgressHook
from ._landing import Landing
from ._partial import Identity, PartialFile
from ._prefix_hash import PrefixHasher

__all__ = [
    "DEFAULT_CONNECTIONS",
    "DownloadedFile",
    "check_transfer",
    "chunk_size_for",
    "download_file",
    "expected_digest",
]

logger = logging.getLogger("rescale_async")

DEFAULT_CONNECTIONS = 10
"""Concurrent range requests per download (the notebook's 10 threads)."""
MIN_CHUNK_SIZE = 8 * 1024 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024
_CHUNKS_PER_CONNECTION = 4
"""Chunks a connection takes on average: enough for the fast ones to take over the tail."""
_PIECE = 1024 * 1024
"""Bytes of a response gathered before they are written (what a connection holds)."""
_CHUNK_ATTEMPTS = 6
"""Requests for one chunk in a row that bring no byte, before the download gives up."""


def check_transfer(connections: int, chunk_size: int | None) -> None:
    """A ValueError unless ``connections`` is a whole number >= 1 and ``chunk_size`` None or
    >= 1.
    """
    if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:
        raise ValueError(f"connections must be a whole number >= 1, got {connections!r}")
    if chunk_size is not None and (
        isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1
    ):
        raise ValueError(f"chunk_size must be >= 1 byte or None (automatic), got {chunk_size!r}")


def chunk_size_for(size: int, connections: int) -> int:
    """The chunk size for a file of ``size`` bytes over ``connections``: up to four rounds of
    one chunk per connection, a whole number of them (so no connection is left with a last
    round alone), each chunk between 8 and 64 MiB (a 1 GiB file is 40 requests over 10
    connections, 256 MiB is 30).
    """
    connections = max(1, connections)
    rounds = max(1, min(_CHUNKS_PER_CONNECTION, size // (connections * MIN_CHUNK_SIZE)))
    wanted = math.ceil(size / (connections * rounds))
    return min(MAX_CHUNK_SIZE, max(MIN_CHUNK_SIZE, wanted))


def expected_digest(file: File) -> tuple[str, str | None]:
    """The hash function to verify ``file`` with and its expected digest: SHA-512 when the
    file has one, else MD5, else SHA-512 with nothing to compare to.
    """
    for function in ("sha512", "md5"):
        digest = file.checksum(function)
        if digest:
            return function, digest
    return "sha512", None


@dataclass(frozen=True)
class DownloadedFile:
    """A file downloaded to ``path``: ``digest`` is what its bytes hash to with
    ``hash_function``; ``verified`` says that it matched the file's checksum (False only when
    the service gave none).
    """

    file: File
    path: Path
    size: int
    hash_function: str
    digest: str
    verified: bool


class _Download:
    """One file's download (see the module); ``run`` once."""

    def __init__(
        self,
        files: Files,
        file: File,
        partial: PartialFile,
        *,
        function: str,
        connections: int,
        limiter: anyio.CapacityLimiter,
        progress: ByteProgressHook | None,
        sleep: Sleep,
    ) -> None:
        self._files = files
        self._file = file
        self._partial = partial
        self._connections = connections
        self._limiter = limiter
        self._progress = progress
        self._sleep = sleep
        self._size = file.decrypted_size
        self._landing = Landing(self._size, partial.identity.chunk_size)
        self._hasher = PrefixHasher(partial, self._landing, function)
        self._pending: deque[int] = deque()
        self._started = anyio.Event()  # the first answer came: ranges are known to work or not
        self._whole = self._size is None

    @property
    def landed(self) -> int:
        """Bytes on disk."""
        return self._landing.total

    async def run(self) -> str:
        """Fetch every byte into the partial file; the hex digest of its bytes."""
        for index in self._partial.done:
            self._landing.written[index] = self._chunk_length(index)
        done = self._partial.done
        self._pending.extend(i for i in range(self._landing.count) if i not in done)
        self._report()
        workers: list[Callable[[], Awaitable[None]]] = []
        if self._pending and self._size != 0:
            workers.append(partial(self._worker, self._pending.popleft()))
            count = min(self._connections, len(self._pending) + 1)
            workers += [partial(self._worker, None) for _ in range(count - 1)]
        else:
            self._landing.ended = True

        async def fetch_then_close() -> None:
            await run_together(workers)
            self._hasher.close()

        await run_together([self._hasher.run, fetch_then_close])
        return self._hasher.hexdigest()

    def _chunk_length(self, index: int) -> int:
        end = self._landing.end(index)
        assert end is not None
        return end - self._landing.start(index)

    def _report(self) -> None:
        if self._progress is not None:
            total = self._landing.total
            self._progress(total, total if self._size is None else self._size)

    async def _worker(self, first: int | None) -> None:
        """Fetch chunks until none is left: ``first`` straight away (the probe), else once the
        first answer has said whether ranges work.
        """
        if first is not None:
            await self._chunk(first)
        else:
            await self._started.wait()
        while self._pending and not self._whole:
            await self._chunk(self._pending.popleft())

    async def _chunk(self, index: int) -> None:
        """Fetch chunk ``index`` (the whole file if the server answers 200), asking again for
        the rest after a lost connection or a body that ended early; gives up after
        ``_CHUNK_ATTEMPTS`` answers in a row that brought nothing.
        """
        landing = self._landing
        failures = 0
        while not landing.complete(index):
            offset = landing.start(index) + landing.written[index]
            error: Exception
            try:
                index = await self._fetch(index, offset)
            except APIConnectionError as exc:
                error = exc
            else:
                if landing.complete(index):
                    break
                error = DownloadError(
                    f"downloading {self._file.id}: the server's answers keep ending before the "
                    f"end of the range asked for (at byte {offset}); download it again"
                )
            reached = landing.start(index) + landing.written[index]
            failures = 1 if reached > offset else failures + 1
            if failures >= _CHUNK_ATTEMPTS:
                raise error
            delay = min(0.25 * 2**failures, 10.0)
            logger.warning(
                "downloading %s: %s at byte %d; asking again for the rest in %.2f s",
                self._file.id,
                error,
                reached,
                delay,
            )
            await self._sleep(delay)
        if not self._whole:
            await self._partial.mark_done(index)

    async def _fetch(self, index: int, offset: int) -> int:
        """One request for chunk ``index`` from ``offset`` on, its bytes written as they come;
        the chunk they went to (0 when the answer was the whole file).
        """
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self._limiter)
            content = await stack.enter_async_context(
                self._files.contents(self._file, range=self._range(index, offset))
            )
            if content.is_partial:
                self._check_range(content, offset)
            else:
                index, offset = await self._take_whole(offset)
            self._started.set()
            await self._receive(content, index, offset)
        if self._landing.end(index) is None:  # a file of unknown size: its stream has ended
            self._landing.ended = True
            self._landing.wake()
        return index

    def _range(self, index: int, offset: int) -> ByteRange | None:
        end = self._landing.end(index)
        if end is None:  # the size is unknown: the whole file
            return None if offset == 0 else (offset, None)
        return offset, end - 1

    def _check_range(self, content: FileContent, offset: int) -> None:
        got = content.content_range
        if got is None or got.first != offset:
            raise DownloadError(
                f"downloading {self._file.id}: asked for bytes from {offset}, the server sent "
                f"{content.headers.get('content-range')!r}"
            )

    async def _take_whole(self, offset: int) -> tuple[int, int]:
        """A 200: the body is the whole file. Accepted as the first answer (the server
        ignores ranges: this one connection streams it all) or when already streaming whole;
        the chunk and the offset its bytes now go to.
        """
        if self._started.is_set() and not self._whole:
            raise DownloadError(
                f"downloading {self._file.id}: the server answered a range request with the "
                "whole file after honouring others; download it again"
            )
        if offset == 0 and self._whole and self._landing.total == 0:
            return 0, 0
        logger.info("downloading %s: the server sends whole files, one stream", self._file.id)
        self._whole = True
        self._pending.clear()
        self._landing.whole()  # forget the bytes before dropping them: the hasher stops at 0
        self._hasher.reset()
        await self._partial.restart()
        self._report()
        return 0, 0

    async def _receive(self, content: FileContent, index: int, offset: int) -> None:
        """Write the body's bytes from ``offset`` as they arrive, a megabyte at a time; what
        arrived before a lost connection is written too, so a retry asks only for the rest.
        """
        end = self._landing.end(index)
        held = bytearray()
        chunks = content.aiter_bytes()
        try:
            async for piece in chunks:
                if end is not None and offset + len(held) + len(piece) > end:
                    raise DownloadError(
                        f"downloading {self._file.id}: the server sent more than the "
                        f"{self._size} bytes the file has (or than the range asked for)"
                    )
                held += piece
                if len(held) >= _PIECE:
                    offset = await self._land(index, offset, held)
        except APIConnectionError:
            await self._land(index, offset, held)
            raise
        finally:
            await _close(chunks)
        await self._land(index, offset, held)

    async def _land(self, index: int, offset: int, held: bytearray) -> int:
        """Write ``held`` at ``offset`` and empty it; the offset after it."""
        if not held:
            return offset
        size = len(held)
        await self._partial.write(offset, held)  # written as is: no copy of the megabyte
        held.clear()
        self._landing.add(index, size)
        self._report()
        return offset + size


async def _close(chunks: object) -> None:
    """Close a body's iterator left before its end (an error, a cancellation), so its
    generators are finalised now rather than by the garbage collector.
    """
    close = getattr(chunks, "aclose", None)
    if close is not None:
        with anyio.CancelScope(shield=True):
            await close()


async def download_file(
    files: Files,
    file: File,
    dest: Path,
    *,
    connections: int,
    chunk_size: int | None,
    limiter: anyio.CapacityLimiter | None = None,
    progress: ByteProgressHook | None,
    sleep: Sleep,
) -> DownloadedFile:
    """Download ``file`` (its metadata known: size, checksums) to ``dest`` as the module says;
    ``limiter`` bounds the requests in flight (shared by several downloads), else
    ``connections`` do.
    """
    size = file.decrypted_size
    function, expected = expected_digest(file)
    chosen = chunk_size
    if size is not None:
        recorded = await PartialFile.recorded_chunk_size(dest, file.id, size)
        chosen = recorded or chunk_size or chunk_size_for(size, connections)
    identity = Identity(file.id, -1 if size is None else size, expected, chosen or MIN_CHUNK_SIZE)
    partial = await PartialFile.open(dest, identity, resume=size is not None)
    download = _Download(
        files,
        file,
        partial,
        function=function,
        connections=connections,
        limiter=limiter or anyio.CapacityLimiter(connections),
        progress=progress,
        sleep=sleep,
    )
    try:
        actual = await download.run()
    except BaseException:
        with anyio.CancelScope(shield=True):
            await partial.close()  # kept, with its sidecar, for a later call to continue
        raise
    problem = _problem(file, dest, expected=expected, actual=(function, actual, download.landed))
    if problem is not None:
        with anyio.CancelScope(shield=True):
            await partial.discard()
        raise problem
    await partial.finish()
    return DownloadedFile(file, dest, download.landed, function, actual, expected is not None)


def _problem(
    file: File, dest: Path, *, expected: str | None, actual: tuple[str, str, int]
) -> DownloadError | None:
    """What is wrong with the downloaded bytes (``actual``: the hash function, the digest and
    the size received), if anything.
    """
    function, digest, received = actual
    name = f"{file.name} ({file.id})" if file.name else file.id
    size = file.decrypted_size
    if size is not None and received != size:
        return DownloadError(
            f"{name}: received {received} bytes, the file has {size}; nothing was written to "
            f"{dest}. Download it again"
        )
    if expected is not None and digest != expected.lower():
        return ChecksumMismatchError(
            f"{name}: the downloaded bytes hash to {function} {digest[:16]}..., the file's "
            f"checksum is {expected[:16]}...; nothing was written to {dest}. Download it "
            "again (the bytes were corrupted on the way, or the file changed)",
            expected=expected.lower(),
            actual=digest,
        )
    return None
