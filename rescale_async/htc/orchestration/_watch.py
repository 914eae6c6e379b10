"""Watching many jobs cheaply: one summary call per task and cycle, job listings only for tasks
whose counts moved.

Each cycle asks every unfinished task for its status counts (``GET .../summary-statistics``).
A task whose counts equal what the watcher already believes costs nothing more. Otherwise the
watcher lists the jobs of the statuses that grew (``GET .../jobs?status=S&viewType=SIMPLE``,
large pages), or the whole task when that is as cheap; if what it then believes still differs
from the counts (a job moved between two statuses that both kept their size), it lists the
whole task once. Every request goes through the client's concurrency and rate limits. A poll
that fails on a transient error (connection, 5xx, 429) is tried again next cycle.
"""

from __future__ import annotations

import inspect
import logging
import math
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import NamedTuple, Protocol, TypeAlias

import anyio

from ..._core.exceptions import (
    APIConnectionError,
    InternalServerError,
    RateLimitError,
    WaitTimeoutError,
)
from ..._core.pagination import AsyncPaginator
from ..resources.tasks import Tasks
from ..types import FailureCode, Job, JobRef, JobStatus, TaskLike, TaskRef, ViewType
from ._concurrent import run_all
from ._ledger import Ledger
from ._results import JobEvent, JobFailure, Progress, WaitResult, succeeded

__all__ = ["JobWatch", "ProgressHook", "ProgressStream", "WatchTarget", "Watcher", "wait"]

logger = logging.getLogger("rescale_async")

WATCH_PAGE_SIZE = 1000
"""Jobs per page when listing what changed."""

ProgressHook: TypeAlias = Callable[[Progress], Awaitable[None] | None]
"""Called with the counts after every poll that changed them (a plain or an async function)."""

_TRANSIENT = (APIConnectionError, InternalServerError, RateLimitError)


class _TaskWatch:
    """What the watcher knows of one task, kept small: at 100,000 jobs every byte per job
    counts (a dict entry per job seen, statuses shared enum members, no per-job objects).
    """

    __slots__ = ("believed", "failures", "finished", "others", "statuses", "task", "whole")

    def __init__(self, task: TaskRef, watched: dict[str, JobStatus | None] | None) -> None:
        self.task = task
        self.whole = watched is None
        """True: every job of the task is watched, as it is seen."""
        self.statuses: dict[str, JobStatus | None] = {} if watched is None else watched
        """The watched jobs and their last seen statuses (None: not seen yet)."""
        self.others: dict[str, JobStatus] = {}
        """The task's other jobs seen so far and their statuses: they count in its summary."""
        self.failures: dict[str, FailureCode] = {}
        """The failure codes of watched jobs that have one."""
        self.believed: Counter[JobStatus] | None = None
        """The task's counts as the watcher's job statuses add up; None before any listing."""
        self.finished = False

    def watched(self) -> Iterable[tuple[str, JobStatus | None]]:
        return self.statuses.items()

    def is_watched(self, job_id: str) -> bool:
        return self.whole or job_id in self.statuses

    def counts(self) -> Counter[JobStatus]:
        """The task's counts by status, as the statuses seen add up."""
        counts = Counter(s for s in self.statuses.values() if s is not None)
        counts.update(self.others.values())
        return counts

    def update_finished(self) -> None:
        self.finished = all(s is not None and s.is_terminal for s in self.statuses.values())


class JobLister(Protocol):
    """The one call the watcher makes of the jobs resource (``client.jobs`` has it too)."""

    def list(
        self,
        task: TaskLike,
        *,
        status: JobStatus | str | None = ...,
        view: ViewType | str | None = ...,
        page_size: int | None = ...,
    ) -> AsyncPaginator[Job]: ...


class WatchTarget(NamedTuple):
    """What to watch in one task: the given jobs, or (``job_ids`` None) every job of it."""

    task: TaskRef
    job_ids: Sequence[str] | None = None


class Watcher:
    """The state and the polling cycle behind ``watch``, ``progress`` and ``wait``, over the
    public calls of the jobs and tasks resources.
    """

    def __init__(
        self,
        jobs: JobLister,
        tasks: Tasks,
        targets: Sequence[WatchTarget],
        *,
        ledger: Ledger | None,
    ) -> None:
        if not targets:
            raise ValueError("watch needs at least one JobBatch or task to watch")
        self._jobs = jobs
        self._tasks = tasks
        self._ledger = ledger
        watched: dict[TaskRef, dict[str, JobStatus | None] | None] = {}
        for target in targets:
            if target.job_ids is None:
                watched[target.task] = None
            else:
                known = watched.setdefault(target.task, {})
                if known is not None:
                    known.update(dict.fromkeys(target.job_ids))
        self._states = [_TaskWatch(task, jobs) for task, jobs in watched.items()]
        self._loaded = ledger is None
        self._unrecorded: list[tuple[TaskRef, str, str, str | None]] = []
        self.requests = 0
        """API requests made so far."""

    @property
    def finished(self) -> bool:
        """True once every watched job has ended."""
        return all(state.finished for state in self._states)

    async def _load(self) -> None:
        """Start from the statuses the ledger recorded (a resumed watch reports only news)."""
        assert self._ledger is not None
        for state in self._states:
            recorded = await self._ledger.job_states(state.statuses)
            for job_id, (status, code) in recorded.items():
                state.statuses[job_id] = JobStatus(status)
                if code:
                    state.failures[job_id] = FailureCode(code)
            if not state.whole:  # ended jobs stay ended: no need to ask again
                state.update_finished()
        self._loaded = True

    async def cycle(self) -> list[JobEvent]:
        """Poll every unfinished task once (concurrently); the changes seen, task by task."""
        if not self._loaded:
            await self._load()
        polls = [partial(self._poll, state) for state in self._states if not state.finished]
        events = [event for found in await run_all(polls) for event in found]
        if self._ledger is not None:
            self._unrecorded += [
                (event.task, event.job_id, str(event.new_status), _text(event.failure_code))
                for event in events
            ]
        return events

    async def commit(self) -> None:
        """Record in the ledger the changes handed out so far."""
        if self._ledger is not None and self._unrecorded:
            rows, self._unrecorded = self._unrecorded, []
            await self._ledger.record_states(rows)

    async def _poll(self, state: _TaskWatch) -> list[JobEvent]:
        """One task's poll; the changes it found (also those found before a transient error)."""
        events: list[JobEvent] = []
        try:
            summary = await self._tasks.summary(state.task)
            self.requests += 1
            counts = Counter({s: n for s, n in (summary.job_statuses or {}).items() if n})
            if counts == state.believed:
                return events
            grown: list[JobStatus] = []
            if state.believed is not None:
                grown = [s for s, n in counts.items() if n > state.believed[s]]
                cost = sum(math.ceil(counts[s] / WATCH_PAGE_SIZE) for s in grown)
                if cost >= math.ceil(counts.total() / WATCH_PAGE_SIZE):
                    grown = []  # listing the whole task is as cheap
            listed: list[JobStatus | None] = [*grown] if grown else [None]
            for status in listed:
                await self._list(state, status, events)
            believed = state.counts()
            if believed != counts and grown:
                await self._list(state, None, events)
                believed = state.counts()
            state.believed = believed
            state.update_finished()
        except _TRANSIENT as exc:
            logger.warning("polling task %s failed (%s); trying again", state.task.task_id, exc)
        return events

    async def _list(
        self, state: _TaskWatch, status: JobStatus | None, events: list[JobEvent]
    ) -> None:
        listing = self._jobs.list(
            state.task, status=status, view=ViewType.SIMPLE, page_size=WATCH_PAGE_SIZE
        )
        async for page in listing.pages():
            self.requests += 1
            for job in page.items:
                event = self._see(state, job)
                if event is not None:
                    events.append(event)

    @staticmethod
    def _see(state: _TaskWatch, job: Job) -> JobEvent | None:
        status = job.status
        if status is None:
            return None
        job_id = job.job_uuid
        if not state.is_watched(job_id):
            state.others[job_id] = status
            return None
        old = state.statuses.get(job_id)
        code = job.failure_code
        if old == status and state.failures.get(job_id) == code:
            return None
        state.statuses[job_id] = status
        if code is None:
            state.failures.pop(job_id, None)
        else:
            state.failures[job_id] = code
        return JobEvent(JobRef(*state.task, job_id), old, status, code)

    def progress(self) -> Progress:
        """The watched jobs' counts by status."""
        counts: Counter[JobStatus] = Counter()
        total = 0
        for state in self._states:
            for _, status in state.watched():
                total += 1
                if status is not None:
                    counts[status] += 1
        return Progress(dict(counts), total)

    def result(self) -> WaitResult:
        """Where every watched job is."""
        counts: Counter[JobStatus] = Counter()
        done: list[JobRef] = []
        failed: list[JobFailure] = []
        total = 0
        for state in self._states:
            for job_id, status in state.watched():
                total += 1
                if status is None:
                    continue
                counts[status] += 1
                if succeeded(status):
                    done.append(JobRef(*state.task, job_id))
                elif status.is_terminal:
                    code = state.failures.get(job_id)
                    failed.append(JobFailure(JobRef(*state.task, job_id), status, code))
        return WaitResult(dict(counts), done, failed, total)


def _text(code: FailureCode | None) -> str | None:
    return None if code is None else str(code)


class _Pacer:
    """Runs cycles ``interval`` seconds apart (start to start), reporting progress."""

    def __init__(self, watcher: Watcher, interval: float, hook: ProgressHook | None) -> None:
        if not interval >= 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval!r}")
        self.watcher = watcher
        self.interval = interval
        self.hook = hook
        self._next: float | None = None
        self._last: Progress | None = None

    async def cycle(self) -> tuple[list[JobEvent], Progress | None]:
        """One poll at its time; the events, and the progress if it changed."""
        if self._next is not None:
            await anyio.sleep(max(0.0, self._next - anyio.current_time()))
        self._next = anyio.current_time() + self.interval
        events = await self.watcher.cycle()
        progress = self.watcher.progress()
        if progress == self._last:
            return events, None
        self._last = progress
        if self.hook is not None:
            outcome = self.hook(progress)
            if inspect.isawaitable(outcome):
                await outcome
        return events, progress


class JobWatch:
    """The status changes of the watched jobs, as an async iterator of ``JobEvent``; ends once
    every watched job has ended. Each change comes once; a change already recorded in the
    ledger does not come again after a restart. Cancelling the caller stops everything.
    """

    def __init__(self, watcher: Watcher, interval: float, hook: ProgressHook | None) -> None:
        self._pacer = _Pacer(watcher, interval, hook)
        self._buffer: deque[JobEvent] = deque()

    def __aiter__(self) -> JobWatch:
        return self

    async def __anext__(self) -> JobEvent:
        watcher = self._pacer.watcher
        while not self._buffer:
            await watcher.commit()  # the caller has taken every earlier event
            if watcher.finished:
                raise StopAsyncIteration
            events, _ = await self._pacer.cycle()
            self._buffer.extend(events)
        return self._buffer.popleft()

    @property
    def progress(self) -> Progress:
        """The counts as of the last poll."""
        return self._pacer.watcher.progress()

    def result(self) -> WaitResult:
        """Where every watched job is, as of the last poll."""
        return self._pacer.watcher.result()


class ProgressStream:
    """The watched jobs' counts after every poll that changed them, up to the end."""

    def __init__(self, watcher: Watcher, interval: float) -> None:
        self._pacer = _Pacer(watcher, interval, None)
        self._finished = False

    def __aiter__(self) -> ProgressStream:
        return self

    async def __anext__(self) -> Progress:
        watcher = self._pacer.watcher
        while not self._finished:
            await watcher.commit()
            _, progress = await self._pacer.cycle()
            self._finished = watcher.finished
            if progress is not None:
                return progress
        await watcher.commit()
        raise StopAsyncIteration


async def wait(
    watcher: Watcher,
    *,
    timeout: float | None,  # noqa: ASYNC109 - a deadline for the whole wait, as documented
    interval: float,
    hook: ProgressHook | None,
) -> WaitResult:
    """Poll until every watched job has ended; WaitTimeoutError after ``timeout`` seconds."""
    pacer = _Pacer(watcher, interval, hook)
    with anyio.move_on_after(timeout):
        while not watcher.finished:
            await pacer.cycle()
            await watcher.commit()
        return watcher.result()
    with anyio.CancelScope(shield=True):
        await watcher.commit()
    result = watcher.result()
    ended = len(result.succeeded) + len(result.failed)
    raise WaitTimeoutError(
        f"{ended} of {result.total} jobs had ended after {timeout} s; the rest are still "
        "running (the error's result holds them all); wait again, or cancel them",
        result=result,
    )
