"""Reading job logs: following a running job's log, its tail, and saving it to a file.

The API pages a job's log by opaque tokens, and many lines can share one timestamp, so
following a log never filters by time: it remembers the last page it read (its link) and how
many lines of that page it has handed out, and re-reads that page, skipping those lines
(``LogStream`` tells the whole algorithm).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Annotated, Generic, TypeVar, cast

import anyio
from pydantic import PlainValidator

from ..._core.pagination import AsyncPaginator
from ..resources.jobs import LOG_PAGE_SIZE_MAX, Jobs
from ..types import JobLike, LogEvent
from ._concurrent import run_all

__all__ = ["LogStream", "follow_logs", "save_logs", "tail"]

T = TypeVar("T")


def follow_logs(
    jobs: Jobs, job: JobLike, *, poll_interval: float, page_size: int, limit: int | None
) -> LogStream:
    """A running job's log as it is written, oldest first, until the job has ended."""
    if poll_interval < 0:
        raise ValueError(f"poll_interval must be >= 0, got {poll_interval}")
    paginator = jobs.logs(job, sort="asc", page_size=page_size, limit=limit)
    return LogStream(jobs, job, paginator, poll_interval=poll_interval, limit=limit)


async def tail(jobs: Jobs, job: JobLike, n: int) -> list[LogEvent]:
    """The newest ``n`` lines, oldest first, reading the log newest first only as far as
    ``n`` lines need.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return []
    paginator = jobs.logs(job, sort="desc", page_size=min(n, LOG_PAGE_SIZE_MAX), limit=n)
    newest = await paginator.to_list()
    newest.reverse()
    return newest


async def save_logs(
    jobs: Jobs,
    job: JobLike,
    path: str | os.PathLike[str],
    *,
    follow: bool,
    poll_interval: float,
    page_size: int,
) -> int:
    """Write the job's messages to ``path`` a page at a time, through a temporary file renamed
    into place once complete; the number of lines written.
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    lines: AsyncIterator[Sequence[str]]
    if follow:
        stream = follow_logs(
            jobs, job, poll_interval=poll_interval, page_size=page_size, limit=None
        )
        lines = _EventLines(stream.batches())
    else:  # only the messages are needed: parsed straight into lines, no model per line
        lines = _PageItems(jobs.logs(job, sort="asc", page_size=page_size, cast_to=_MessageLine))
    try:
        async with await anyio.open_file(temporary, "x", encoding="utf-8") as out:
            written = await _write_batches(lines, out)
        await anyio.Path(temporary).replace(target)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.Path(temporary).unlink(missing_ok=True)
        raise
    return written


async def _write_batches(batches: AsyncIterator[Sequence[str]], out: anyio.AsyncFile[str]) -> int:
    """Write every batch of lines to ``out``, each batch while the next one is read, so that
    writing costs no time between two requests; the number of lines written.
    """
    text = ""  # the batch before, written while the next one is read
    written = 0
    while True:
        steps: list[Callable[[], Awaitable[Sequence[str] | None]]] = [
            partial(_next_batch, batches),  # first: its request is what the next page waits for
            partial(_write, out, text),
        ]
        batch, _ = await run_all(steps)
        if batch is None:
            return written
        written += len(batch)
        text = "".join(batch)


async def _write(out: anyio.AsyncFile[str], text: str) -> None:
    if text:
        await out.write(text)


async def _next_batch(batches: AsyncIterator[Sequence[str]]) -> Sequence[str] | None:
    """The next batch, None at the end."""
    try:
        return await batches.__anext__()
    except StopAsyncIteration:
        return None


def _as_line(message: str) -> str:
    return message if message.endswith("\n") else message + "\n"


def _message_line(item: object) -> str:
    """A log item's message as a line of the file (empty when it has none), taken straight
    from the page's JSON: no object per line outlives the parse.
    """
    message = item.get("message") if isinstance(item, dict) else None
    return _as_line("" if message is None else str(message))


_MessageLine = cast("type[str]", Annotated[str, PlainValidator(_message_line)])
"""A log line as ``save_logs`` writes it: the message alone, ending in a newline."""


class _EventLines:
    """``LogStream.batches()`` as lines of the file (a plain object: see ``LogStream``)."""

    def __init__(self, batches: AsyncIterator[list[LogEvent]]) -> None:
        self._batches = batches

    def __aiter__(self) -> _EventLines:
        return self

    async def __anext__(self) -> list[str]:
        batch = await self._batches.__anext__()
        return [_as_line(event.message or "") for event in batch]


class _PageItems(Generic[T]):
    """The item lists of a paginator's pages (a plain object: see ``LogStream``)."""

    def __init__(self, paginator: AsyncPaginator[T]) -> None:
        self._pages = paginator.pages()

    def __aiter__(self) -> _PageItems[T]:
        return self

    async def __anext__(self) -> list[T]:
        return (await self._pages.__anext__()).items


class LogStream:
    """The lines of a job's log as they are written, oldest first, until the job has ended.

    Iterate it (``async for event in stream``) for lines, or ``stream.batches()`` for the new
    lines of each read. A plain object rather than an async generator, so that breaking out of
    ``async for`` needs no finalisation (trio warns about unfinished async generators).

    How: pages are read in order (``next`` links followed, empty pages included). At the end,
    the last page read is re-read every ``poll_interval`` seconds, skipping the lines already
    handed out from it, and any new ``next`` is followed. Once the job is terminal, reading
    stops at the first read that finds nothing new. An empty page carrying ``next`` is taken
    to continue at its own position (the log store was not ready), so lines already handed out
    from that position stay skipped. Whenever a page carries ``next``, the page it points at is
    requested while this one is parsed (``PageReader``): at most two pages are held.
    """

    def __init__(
        self,
        jobs: Jobs,
        job: JobLike,
        paginator: AsyncPaginator[LogEvent],
        *,
        poll_interval: float,
        limit: int | None,
    ) -> None:
        self._jobs = jobs
        self._job = job
        self._reader = paginator.reader()
        self._poll_interval = poll_interval
        self._remaining = limit
        self._link: str | None = None  # the page being read (None: the first page)
        self._consumed = 0  # lines of that page already handed out
        self._next: str | None = None  # where the page being read says the log continues
        self._retry = False  # the last page was empty but carried next: read it again there
        self._started = False
        self._terminal = False  # the job was seen terminal
        self._fresh = False  # the last read found new lines or a new next link
        self._buffer: Iterator[LogEvent] = iter(())

    def __aiter__(self) -> LogStream:
        return self

    async def __anext__(self) -> LogEvent:
        while True:
            event = next(self._buffer, None)
            if event is not None:
                return event
            self._buffer = iter(await self._next_batch())

    def batches(self) -> AsyncIterator[list[LogEvent]]:
        """The new lines of each read, in order (lists, never empty), up to the end."""
        return _Batches(self)

    async def _read(self, link: str | None, *, same_position: bool) -> list[LogEvent]:
        """Read the page at ``link``: its lines not handed out yet; note where it continues."""
        page = await self._reader.page_at(link, items_wanted=self._remaining)
        if not same_position:
            self._consumed = 0
        self._link = link
        fresh = page.items[self._consumed :]
        if page.items:
            self._consumed = max(self._consumed, len(page.items))
            self._next = page.next or None
            self._retry = False
        else:  # nothing here yet; a next link resumes at this same position
            self._next = None
            self._retry = bool(page.next)
            if page.next:
                self._link = page.next
        self._fresh = bool(fresh) or self._next is not None or self._retry
        del page  # only the lines to hand out stay in memory
        if self._remaining is not None:
            del fresh[self._remaining :]
            self._remaining -= len(fresh)
        return fresh

    async def _next_batch(self) -> list[LogEvent]:
        """The next non-empty list of new lines; StopAsyncIteration at the end."""
        while True:
            if self._remaining == 0:
                raise StopAsyncIteration
            if not self._started:
                self._started = True
                fresh = await self._read(None, same_position=False)
            elif self._next is not None:
                fresh = await self._read(self._next, same_position=False)
            elif self._retry:
                fresh = await self._read(self._link, same_position=True)
            else:  # at the end of the log as it is now
                if self._terminal and not self._fresh:
                    raise StopAsyncIteration
                if not self._terminal:
                    job = await self._jobs.get(self._job)
                    if job.is_terminal:
                        self._terminal = True  # one more read, at once, then stop if dry
                    else:
                        await anyio.sleep(self._poll_interval)
                fresh = await self._read(self._link, same_position=True)
            if fresh:
                return fresh


class _Batches:
    """``LogStream.batches()``: the stream's new lines, a read at a time."""

    def __init__(self, stream: LogStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _Batches:
        return self

    async def __anext__(self) -> list[LogEvent]:
        return await self._stream._next_batch()
