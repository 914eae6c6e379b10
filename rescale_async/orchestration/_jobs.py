"""``client.jobs`` for orchestration: submitting specs exactly once, watching and waiting for
many jobs cheaply, fetching many jobs at once, and streaming logs.

The API pages a job's log by opaque tokens, and many lines can share one timestamp, so
following a log never filters by time: it remembers the last page it read (its link) and how
many lines of that page it has handed out, and re-reads that page, skipping those lines.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, overload
from urllib.parse import quote

import anyio
from typing_extensions import TypedDict

from .._core.pagination import AsyncPaginator
from .._core.pipeline import Pipeline
from ..resources import jobs as _jobs
from ..resources._ids import JobLike, TaskLike, TaskRef, task_path
from ..resources.images import Images
from ..types import Job, JobSubmitRequest, LogEvent, ViewType
from ._batch import JobBatch
from ._concurrent import run_all
from ._ledger import LedgerLike, as_ledger, job_ids_of
from ._results import WaitResult
from ._spec import JobSpec
from ._submit import Submitter, per_post, split_count
from ._watch import (
    JobWatch,
    ProgressHook,
    ProgressStream,
    Watcher,
    targets_of,
    wait,
)

__all__ = ["Jobs", "LogStream"]

T = TypeVar("T")

LOG_PAGE_SIZE_MAX = _jobs.LOG_PAGE_SIZE_MAX
_URL_IDS_LENGTH = 6000  # characters of jobId=... per request, well below common URL limits

Sent = tuple[str, list[tuple[str, int]]]  # a submission's group, and its (parent id, size)s
Watchable = JobBatch | TaskLike
"""What ``watch``/``wait`` take: batches, and tasks (every job of the task)."""


class Jobs(_jobs.Jobs):
    """Jobs, plus orchestration: ``submit``/``submit_many`` (exactly once, with a ledger across
    crashes), ``watch``/``progress``/``wait`` over many batches and tasks, ``get_many``, and
    log streaming (``logs(follow=True)``, ``tail``, ``save_logs``)."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(pipeline)
        self._submitter = Submitter(self, Images(pipeline))

    @property
    def settle_delay(self) -> float:
        """Seconds given a submission that failed ambiguously (a lost response, a 5xx) to reach
        the service before the API is asked whether it landed; 10 by default."""
        return self._submitter.settle

    @settle_delay.setter
    def settle_delay(self, seconds: float) -> None:
        if not seconds >= 0:
            raise ValueError(f"settle_delay must be >= 0 seconds, got {seconds!r}")
        self._submitter.settle = seconds

    # ------------------------------------------------------------------ submitting

    async def submit(
        self,
        task: TaskLike,
        spec: JobSpec | JobSubmitRequest,
        count: int = 1,
        group: str | None = None,
        *,
        ledger: LedgerLike | None = None,
        key: str | None = None,
        image_timeout: float = 300.0,
    ) -> JobBatch:
        """Submit ``count`` copies of a job and return the batch with every job id.

        Counts above 1000 become several submit requests. The image must be READY: a PENDING
        one is waited for up to ``image_timeout`` seconds (then ImageNotReadyError, nothing
        sent). The jobs go to ``group``, else to a new group of their own, which is how an
        ambiguous failure is settled without sending anything twice. ``ledger`` (a path or a
        ``Ledger``) makes a re-run of the program after a crash find this submission again
        instead of repeating it; ``key`` names it there explicitly.
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``"""
        request = _as_request(spec, "spec")
        sizes = split_count(count)
        requests = [request.model_copy(update={"batch_size": size}) for size in sizes]
        return await self._submit_requests(
            task, requests, group=group, ledger=ledger, key=key, image_timeout=image_timeout
        )

    async def submit_many(
        self,
        task: TaskLike,
        specs: Iterable[JobSpec | JobSubmitRequest],
        group: str | None = None,
        *,
        ledger: LedgerLike | None = None,
        key: str | None = None,
        image_timeout: float = 300.0,
    ) -> JobBatch:
        """Submit one job per spec (a sweep: each spec may differ); identical specs share one
        submit request. The batch's ``job_ids[i]`` is the job of ``specs[i]``. Large sweeps
        take several POSTs, sent concurrently within the client's limits, each to a group of
        its own (or all to ``group``, one after another). See ``submit`` for the rest.
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``"""
        positions: dict[str, tuple[JobSubmitRequest, list[int]]] = {}
        index = -1
        for index, spec in enumerate(specs):
            request = _as_request(spec, f"specs[{index}]")
            if request.batch_size not in (None, 1):
                raise ValueError(
                    f"specs[{index}] asks for batch_size {request.batch_size}: submit_many runs "
                    "one job per spec; repeat the spec, or use submit(task, spec, count=...)"
                )
            identity = request.model_dump_json(exclude={"batch_size"})
            positions.setdefault(identity, (request, []))[1].append(index)
        if index < 0:
            raise ValueError("submit_many needs at least one spec, got none")
        requests: list[JobSubmitRequest] = []
        order: list[int] = []
        for request, where in positions.values():
            start = 0
            for size in split_count(len(where)):
                requests.append(request.model_copy(update={"batch_size": size}))
                order += where[start : start + size]
                start += size
        batch = await self._submit_requests(
            task, requests, group=group, ledger=ledger, key=key, image_timeout=image_timeout
        )
        job_ids = [""] * len(order)
        for position, job_id in zip(order, batch.job_ids, strict=True):
            job_ids[position] = job_id
        batch.job_ids = job_ids
        return batch

    async def _submit_requests(
        self,
        task: TaskLike,
        requests: list[JobSubmitRequest],
        *,
        group: str | None,
        ledger: LedgerLike | None,
        key: str | None,
        image_timeout: float,
    ) -> JobBatch:
        task_path(task)  # a clear error for anything that is not a task, before any request
        ref = TaskRef(str(task.project_id), str(task.task_id))
        if group is not None and (not isinstance(group, str) or not group.strip()):
            raise ValueError(f"group must be a non-empty name, got {group!r}")
        if not image_timeout >= 0:
            raise ValueError(f"image_timeout must be >= 0 seconds, got {image_timeout!r}")
        book = as_ledger(ledger)
        # One group per POST body, so that each can be settled on its own; with a named group
        # the bodies go one after another.
        chunks = [requests] if group is not None else [list(c) for c in per_post(requests)]

        def sender(index: int, chunk: list[JobSubmitRequest]) -> Callable[[], Awaitable[Sent]]:
            part_key = key if key is None or len(chunks) == 1 else f"{key}#{index}"
            return partial(
                self._submitter.submit,
                ref,
                chunk,
                group=group,
                ledger=book,
                key=part_key,
                image_timeout=image_timeout,
            )

        results = await run_all([sender(i, chunk) for i, chunk in enumerate(chunks)])
        job_ids = [job_id for _, parents in results for job_id in job_ids_of(parents)]
        return JobBatch(self, ref, [name for name, _ in results], job_ids)

    async def batch(self, task: TaskLike, group: str) -> JobBatch:
        """The jobs of ``group`` in the task as a JobBatch, to watch, wait for or cancel
        (say, after a restart, knowing only the group).
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs?group=``"""
        task_path(task)
        if not isinstance(group, str) or not group.strip():
            raise ValueError(f"group must be a non-empty name, got {group!r}")
        listing = self.list(task, group=group, view=ViewType.SIMPLE, page_size=1000)
        job_ids = [job.job_uuid async for job in listing]
        return JobBatch(self, TaskRef(str(task.project_id), str(task.task_id)), [group], job_ids)

    # ------------------------------------------------------------------ watching

    def watch(
        self,
        *targets: Watchable,
        interval: float = 30.0,
        progress: ProgressHook | None = None,
        ledger: LedgerLike | None = None,
    ) -> JobWatch:
        """Status changes of the jobs of every batch and task given, as an async iterator of
        ``JobEvent`` (job, old status, new status, failure code) that ends once they have all
        ended. Polls every ``interval`` seconds (the service refreshes statuses every ~30 s):
        one summary call per task, job listings only where counts moved. ``progress`` is
        called with the counts after each poll that changed them. With ``ledger``, changes are
        recorded, and a watch resumed after a crash reports only what changed since.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/summary-statistics`` and ``.../jobs``"""
        watcher = Watcher(self, targets_of(targets), ledger=as_ledger(ledger))
        return JobWatch(watcher, interval, progress)

    def progress(
        self,
        *targets: Watchable,
        interval: float = 30.0,
        ledger: LedgerLike | None = None,
    ) -> ProgressStream:
        """The counts by status of the jobs of every batch and task given, after each poll
        that changed them, up to the end (for a progress bar). Polls as ``watch`` does."""
        watcher = Watcher(self, targets_of(targets), ledger=as_ledger(ledger))
        return ProgressStream(watcher, interval)

    async def wait(
        self,
        *targets: Watchable,
        timeout: float | None = None,  # noqa: ASYNC109 - the documented interface
        interval: float = 30.0,
        progress: ProgressHook | None = None,
        ledger: LedgerLike | None = None,
    ) -> WaitResult:
        """Wait until every job of the batches and tasks given has ended; the counts by status
        and the succeeded and failed jobs. WaitTimeoutError (holding the same, so far) after
        ``timeout`` seconds. Polls as ``watch`` does; ``progress`` as there."""
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}")
        watcher = Watcher(self, targets_of(targets), ledger=as_ledger(ledger))
        return await wait(watcher, limit=timeout, interval=interval, hook=progress)

    async def get_many(
        self, task: TaskLike, job_ids: Iterable[str], *, view: ViewType | str = ViewType.SIMPLE
    ) -> list[Job]:
        """Many jobs of one task by id, in the order given, a few requests for all of them
        (ids the task does not hold are left out). ``view="FULL"`` for whole definitions.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs?jobId=...``"""
        task_path(task)
        wanted = list(dict.fromkeys(_job_id(job_id) for job_id in job_ids))
        chunks: list[list[str]] = []
        length = _URL_IDS_LENGTH
        for job_id in wanted:
            size = len(quote(job_id, safe="")) + 7
            if length + size > _URL_IDS_LENGTH:
                chunks.append([])
                length = 0
            chunks[-1].append(job_id)
            length += size

        def fetch(chunk: list[str]) -> Callable[[], Awaitable[list[Job]]]:
            listing = self.list(task, job_ids=chunk, view=view, page_size=len(chunk))
            return listing.to_list

        found = {job.job_uuid: job for jobs in await run_all([*map(fetch, chunks)]) for job in jobs}
        return [found[job_id] for job_id in wanted if job_id in found]

    # ------------------------------------------------------------------ logs

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
        batches: AsyncIterator[list[LogEvent]] | AsyncIterator[list[_Message]]
        if follow:
            batches = self.logs(
                job, follow=True, poll_interval=poll_interval, page_size=page_size
            ).batches()
        else:  # only the messages are needed: parsed as plain dicts, five times faster
            lines = self._logs(job, _Message, sort="asc", page_size=page_size, limit=None)
            batches = _page_items(lines)
        written = 0
        try:
            async with await anyio.open_file(temporary, "x", encoding="utf-8") as out:
                async for batch in batches:
                    if batch:
                        await out.write("".join(map(_line, batch)))
                        written += len(batch)
            await anyio.Path(temporary).replace(target)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.Path(temporary).unlink(missing_ok=True)
            raise
        return written


def _as_request(spec: Any, where: str) -> JobSubmitRequest:
    if isinstance(spec, JobSpec):
        return spec.to_request()
    if isinstance(spec, JobSubmitRequest):
        return spec
    raise TypeError(
        f"{where} is a {type(spec).__name__}; expected a JobSpec (or a JobSubmitRequest)"
    )


def _job_id(job_id: object) -> str:
    if not isinstance(job_id, str) or not job_id:
        raise TypeError(f"job ids must be non-empty strings, got {job_id!r}")
    return job_id


class _Message(TypedDict):
    """A log line as ``save_logs`` needs it: the message alone."""

    message: str


def _line(event: LogEvent | _Message) -> str:
    message = event.message if isinstance(event, LogEvent) else event["message"]
    return message if message.endswith("\n") else message + "\n"


class _PageItems(Generic[T]):
    """The item lists of a paginator's pages (a plain object: see ``LogStream``)."""

    def __init__(self, paginator: AsyncPaginator[T]) -> None:
        self._pages = paginator.pages()

    def __aiter__(self) -> _PageItems[T]:
        return self

    async def __anext__(self) -> list[T]:
        return (await self._pages.__anext__()).items


def _page_items(paginator: AsyncPaginator[T]) -> AsyncIterator[list[T]]:
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
