"""``client.jobs`` with log streaming: following a running job's log, its tail, saving it.

The API pages a job's log by opaque tokens, and many lines can share one timestamp, so
following a log never filters by time: it remembers the last page it read (its link) and how
many lines of that page it has handed out, and re-reads that page, skipping those lines.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Literal, overload

import anyio

from .._core.pagination import AsyncPaginator
from ..resources import jobs as _jobs
from ..resources._ids import JobLike
from ..types import LogEvent

__all__ = ["Jobs", "LogStream"]

LOG_PAGE_SIZE_MAX = _jobs.LOG_PAGE_SIZE_MAX


class Jobs(_jobs.Jobs):
    """Jobs, plus following a running job's log (``logs(follow=True)``), ``tail`` and
    ``save_logs``."""

    @overload
    def logs(
        self,
        job: JobLike,
        *,
        follow: Literal[False] = False,
        poll_interval: float = 5.0,
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
    ) -> AsyncPaginator[LogEvent]: ...

    @overload
    def logs(
        self,
        job: JobLike,
        *,
        follow: Literal[True],
        poll_interval: float = 5.0,
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
    ) -> LogStream: ...

    @overload
    def logs(
        self,
        job: JobLike,
        *,
        follow: bool,
        poll_interval: float = 5.0,
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
    ) -> AsyncPaginator[LogEvent] | LogStream: ...

    def logs(
        self,
        job: JobLike,
        *,
        follow: bool = False,
        poll_interval: float = 5.0,
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
    ) -> AsyncPaginator[LogEvent] | LogStream:
        """The job's log lines, oldest first unless ``sort="desc"``, a page (up to ``page_size``
        lines, at most 10000) in memory at a time.

        ``follow=False``: the lines there are now, as an AsyncPaginator (``await`` it for the
        first page, ``.pages()`` for pages). ``follow=True``: an async iterator that keeps
        reading, every ``poll_interval`` seconds, until the job is terminal and a read made
        after that found no new line; every line comes once, in order (``sort`` must be
        ``"asc"``). ``limit`` caps the number of lines either way.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}/logs``"""
        if not follow:
            return super().logs(job, sort=sort, page_size=page_size, limit=limit)
        if sort != "asc":
            raise ValueError(
                f"follow=True reads the log oldest first: sort must be 'asc', not {sort!r}"
            )
        if poll_interval < 0:
            raise ValueError(f"poll_interval must be >= 0, got {poll_interval}")
        paginator = super().logs(job, sort="asc", page_size=page_size, limit=limit)
        return LogStream(self, job, paginator, poll_interval=poll_interval, limit=limit)

    async def tail(self, job: JobLike, n: int) -> list[LogEvent]:
        """The newest ``n`` lines (all of them if the log is shorter), oldest first. Reads the
        log newest first, only as many pages as ``n`` lines need."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return []
        paginator = super().logs(job, sort="desc", page_size=min(n, LOG_PAGE_SIZE_MAX), limit=n)
        newest = await paginator.to_list()
        newest.reverse()
        return newest

    async def save_logs(
        self,
        job: JobLike,
        path: str | os.PathLike[str],
        *,
        follow: bool = False,
        poll_interval: float = 5.0,
        page_size: int = LOG_PAGE_SIZE_MAX,
    ) -> int:
        """Write the job's log to ``path``, oldest first, one message per line (the messages
        only, as the job printed them; no timestamps), and return the number of lines written.
        Streams a page at a time; writes to a temporary file next to ``path`` and renames it
        into place only once complete, so a failure or cancellation leaves no partial file.
        ``follow=True`` waits for the job to finish, as ``logs(follow=True)`` does."""
        target = Path(path)
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        batches: AsyncIterator[list[LogEvent]]
        if follow:
            batches = self.logs(
                job, follow=True, poll_interval=poll_interval, page_size=page_size
            ).batches()
        else:
            batches = _page_items(self.logs(job, page_size=page_size))
        written = 0
        try:
            async with await anyio.open_file(temporary, "x", encoding="utf-8") as out:
                async for batch in batches:
                    if batch:
                        await out.write("".join(_line(event.message) for event in batch))
                        written += len(batch)
            await anyio.Path(temporary).replace(target)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(temporary).unlink(missing_ok=True)
            raise
        return written


def _line(message: str) -> str:
    return message if message.endswith("\n") else message + "\n"


class _PageItems:
    """The item lists of a paginator's pages (a plain object: see ``LogStream``)."""

    def __init__(self, paginator: AsyncPaginator[LogEvent]) -> None:
        self._pages = paginator.pages()

    def __aiter__(self) -> _PageItems:
        return self

    async def __anext__(self) -> list[LogEvent]:
        return (await self._pages.__anext__()).items


def _page_items(paginator: AsyncPaginator[LogEvent]) -> AsyncIterator[list[LogEvent]]:
    return _PageItems(paginator)


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
    from that position stay skipped. One page is held at a time.
    """

    def __init__(
        self,
        jobs: _jobs.Jobs,
        job: JobLike,
        paginator: AsyncPaginator[LogEvent],
        *,
        poll_interval: float,
        limit: int | None,
    ) -> None:
        self._jobs = jobs
        self._job = job
        self._paginator = paginator
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
        page = await self._paginator.page_at(link)
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
        del page  # one page in memory at a time
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
