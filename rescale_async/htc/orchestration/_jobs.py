"""``client.jobs``: the jobs resource's calls, and the services composed over them: submitting
specs exactly once, watching and waiting for many jobs cheaply, fetching many jobs at once,
and streaming logs. Each method is thin; the work is in the module of its service.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from typing import Any, Literal
from urllib.parse import quote

from ..._core.options import Clock, Sleep
from ..._core.pagination import AsyncPaginator
from ..resources._ids import task_path
from ..resources.images import Images
from ..resources.jobs import LOG_PAGE_SIZE_MAX, SubmitRequests
from ..resources.jobs import Jobs as JobsResource
from ..resources.tasks import Tasks
from ..types import (
    Job,
    JobLike,
    JobRef,
    JobStatus,
    JobStatusEvent,
    JobSubmitRequest,
    LogEvent,
    SubmittedJobs,
    TaskLike,
    TaskRef,
    ViewType,
)
from . import _logs
from ._batch import JobBatch
from ._cancel import cancel_and_confirm
from ._concurrent import run_all
from ._ledger import LedgerLike, ParentJob, as_ledger, job_ids_of
from ._logs import LogStream
from ._ready import ReadyImages
from ._report import TaskReport, build_report
from ._resubmit import SpecLike
from ._results import Attempt, WaitResult
from ._spec import JobSpec
from ._submit import Submitter, per_post, plan_sweep, split_count
from ._watch import JobWatch, ProgressHook, ProgressStream, Watcher, WatchTarget, wait

__all__ = ["Jobs", "Watchable"]

_URL_IDS_LENGTH = 6000  # characters of jobId=... per request, well below common URL limits

Watchable = JobBatch | TaskLike
"""What ``watch``/``wait`` take: batches, and tasks (every job of the task)."""


class Jobs:
    """Jobs: the API's calls (``list``, ``get``, ``events``, ``cancel``, ``submit_batch``,
    ``post_batch``), plus ``submit``/``submit_many`` (exactly once, with a ledger across
    crashes), ``watch``/``progress``/``wait`` over many batches and tasks, ``get_many``, and
    logs (``logs``, ``follow_logs``, ``tail``, ``save_logs``).
    """

    __slots__ = ("_resource", "_submitter", "_tasks")

    def __init__(
        self,
        resource: JobsResource,
        *,
        tasks: Tasks,
        images: Images,
        ready_images: ReadyImages,
        settle_delay: float,
        sleep: Sleep,
        clock: Clock,
    ) -> None:
        self._resource = resource
        self._tasks = tasks
        self._submitter = Submitter(
            resource, images, ready_images, settle_delay=settle_delay, sleep=sleep, clock=clock
        )

    # ------------------------------------------------------------------ the API's calls

    def list(
        self,
        task: TaskLike,
        *,
        status: JobStatus | str | None = None,
        group: str | None = None,
        job_ids: str | Sequence[str] | None = None,
        view: ViewType | str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[Job]:
        """The task's jobs, optionally only those in ``status``, in ``group`` or with the given
        ids; ``view="SIMPLE"`` asks for less of each job.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs``
        """
        return self._resource.list(
            task,
            status=status,
            group=group,
            job_ids=job_ids,
            view=view,
            page_size=page_size,
            limit=limit,
        )

    async def get(self, job: JobLike) -> Job:
        """One job. ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}``"""
        return await self._resource.get(job)

    def events(
        self, job: JobLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[JobStatusEvent]:
        """The job's status changes.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}/events``
        """
        return self._resource.events(job, page_size=page_size, limit=limit)

    async def cancel(self, task: TaskLike, *, group: str | None = None) -> None:
        """Ask to cancel every job of the task, or of ``group`` (success does not mean every
        job was cancelled). ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/cancel``
        """
        await self._resource.cancel(task, group=group)

    async def submit_batch(
        self, task: TaskLike, requests: SubmitRequests, *, group: str | None = None
    ) -> SubmittedJobs:
        """Submit requests as they are, once (no image check, no settling: see ``submit``).
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``
        """
        return await self._resource.submit_batch(task, requests, group=group)

    async def post_batch(
        self, task: TaskLike, body: builtins.list[dict[str, Any]], *, group: str | None = None
    ) -> SubmittedJobs:
        """POST an already validated body as it is.
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``
        """
        return await self._resource.post_batch(task, body, group=group)

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
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``
        """
        request = _as_request(spec, "spec")
        requests = [request.model_copy(update={"batch_size": n}) for n in split_count(count)]
        one: SpecLike = (
            spec if isinstance(spec, JobSpec) else request.model_copy(update={"batch_size": 1})
        )
        return await self._submit_requests(
            task,
            requests,
            group=group,
            ledger=ledger,
            key=key,
            image_timeout=image_timeout,
            specs=[one] * count,
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
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``
        """
        requests: builtins.list[JobSubmitRequest] = []
        given = builtins.list(specs)
        for index, spec in enumerate(given):
            request = _as_request(spec, f"specs[{index}]")
            if request.batch_size not in (None, 1):
                raise ValueError(
                    f"specs[{index}] asks for batch_size {request.batch_size}: submit_many runs "
                    "one job per spec; repeat the spec, or use submit(task, spec, count=...)"
                )
            requests.append(request)
        if not requests:
            raise ValueError("submit_many needs at least one spec, got none")
        planned, order = plan_sweep(requests)
        batch = await self._submit_requests(
            task,
            planned,
            group=group,
            ledger=ledger,
            key=key,
            image_timeout=image_timeout,
            specs=given,
        )
        job_ids = [""] * len(order)
        for position, job_id in zip(order, batch.job_ids, strict=True):
            job_ids[position] = job_id
        batch.job_ids = job_ids
        return batch

    async def _submit_requests(
        self,
        task: TaskLike,
        requests: builtins.list[JobSubmitRequest],
        *,
        group: str | None,
        ledger: LedgerLike | None,
        key: str | None,
        image_timeout: float,
        specs: builtins.list[SpecLike],
    ) -> JobBatch:
        ref = _task_ref(task)
        if group is not None and (not isinstance(group, str) or not group.strip()):
            raise ValueError(f"group must be a non-empty name, got {group!r}")
        if not image_timeout >= 0:
            raise ValueError(f"image_timeout must be >= 0 seconds, got {image_timeout!r}")
        book = as_ledger(ledger)
        body = [request.to_api() for request in requests]
        # One group per POST body, so that each can be settled on its own; with a named group
        # the bodies go one after another.
        chunks = [body] if group is not None else per_post(body)

        def sender(
            index: int, chunk: builtins.list[dict[str, Any]]
        ) -> Callable[[], Awaitable[tuple[str, builtins.list[ParentJob]]]]:
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
        groups = [name for name, _ in results]
        return JobBatch(self, ref, groups, job_ids, specs=specs, ledger=book)

    async def batch(self, task: TaskLike, group: str) -> JobBatch:
        """The jobs of ``group`` in the task as a JobBatch, to watch, wait for or cancel
        (say, after a restart, knowing only the group).
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs?group=``
        """
        ref = _task_ref(task)
        if not isinstance(group, str) or not group.strip():
            raise ValueError(f"group must be a non-empty name, got {group!r}")
        listing = self.list(task, group=group, view=ViewType.SIMPLE, page_size=1000)
        job_ids = [job.job_uuid async for job in listing]
        return JobBatch(self, ref, [group], job_ids)

    # ------------------------------------------------------------------ watching

    def _watcher(self, targets: Iterable[Watchable], ledger: LedgerLike | None) -> Watcher:
        return Watcher(self, self._tasks, _watch_targets(targets), ledger=as_ledger(ledger))

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
        ``GET /htc/projects/{projectId}/tasks/{taskId}/summary-statistics`` and ``.../jobs``
        """
        return JobWatch(self._watcher(targets, ledger), interval, progress)

    def progress(
        self,
        *targets: Watchable,
        interval: float = 30.0,
        ledger: LedgerLike | None = None,
    ) -> ProgressStream:
        """The counts by status of the jobs of every batch and task given, after each poll
        that changed them, up to the end (for a progress bar). Polls as ``watch`` does.
        """
        return ProgressStream(self._watcher(targets, ledger), interval)

    async def wait(
        self,
        *targets: Watchable,
        timeout: float | None = None,
        interval: float = 30.0,
        progress: ProgressHook | None = None,
        ledger: LedgerLike | None = None,
    ) -> WaitResult:
        """Wait until every job of the batches and tasks given has ended; the counts by status
        and the succeeded and failed jobs. WaitTimeoutError (holding the same, so far) after
        ``timeout`` seconds. Polls as ``watch`` does; ``progress`` as there.
        """
        if timeout is not None and not timeout >= 0:
            raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}")
        watcher = self._watcher(targets, ledger)
        result = await wait(watcher, timeout=timeout, interval=interval, hook=progress)
        batches = [target for target in targets if isinstance(target, JobBatch)]
        return replace(result, attempts=_attempts(batches, result)) if batches else result

    async def cancel_and_wait(
        self,
        task: TaskLike,
        *,
        group: str | None = None,
        timeout: float | None = 300.0,
        interval: float = 5.0,
        progress: ProgressHook | None = None,
    ) -> WaitResult:
        """Cancel every job of the task (or of ``group``) and wait until each has ended (the
        API's 200 alone does not mean that); CancelNotConfirmedError naming the jobs that have
        not ended by ``timeout`` seconds. Polls as ``watch`` does.
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/cancel``
        """
        ref = _task_ref(task)
        target: Watchable = ref if group is None else await self.batch(ref, group)

        async def wait_for_end(limit: float | None) -> WaitResult:
            return await self.wait(target, timeout=limit, interval=interval, progress=progress)

        async def unfinished(_: WaitResult) -> builtins.list[JobRef]:
            listing = self.list(ref, group=group, view=ViewType.SIMPLE, page_size=1000)
            return [
                JobRef(*ref, job.job_uuid)
                async for job in listing
                if job.status is None or not job.status.is_terminal
            ]

        what = f"group {group!r} of task {ref.task_id}" if group else f"task {ref.task_id}"
        return await cancel_and_confirm(
            partial(self.cancel, ref, group=group),
            wait_for_end,
            unfinished,
            what=what,
            timeout=timeout,
        )

    async def report(self, task: TaskLike, *, group: str | None = None) -> TaskReport:
        """What the task's jobs (or ``group``'s) did: counts per status and per failure code,
        run times (min, median, max), vCPU-hours used, the failed jobs with their codes.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs?viewType=FULL``
        """
        ref = _task_ref(task)
        if group is not None and (not isinstance(group, str) or not group.strip()):
            raise ValueError(f"group must be a non-empty name, got {group!r}")
        listing = self.list(ref, group=group, view=ViewType.FULL, page_size=1000)
        return await build_report(ref, group, listing, datetime.now(timezone.utc))

    async def get_many(
        self, task: TaskLike, job_ids: Iterable[str], *, view: ViewType | str = ViewType.SIMPLE
    ) -> builtins.list[Job]:
        """Many jobs of one task by id, in the order given, a few requests for all of them
        (ids the task does not hold are left out). ``view="FULL"`` for whole definitions.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs?jobId=...``
        """
        task_path(task)
        wanted = list(dict.fromkeys(_job_id(job_id) for job_id in job_ids))

        def fetch(chunk: builtins.list[str]) -> Callable[[], Awaitable[builtins.list[Job]]]:
            return self.list(task, job_ids=chunk, view=view, page_size=len(chunk)).to_list

        fetched = await run_all([fetch(chunk) for chunk in _url_sized(wanted)])
        found = {job.job_uuid: job for jobs in fetched for job in jobs}
        return [found[job_id] for job_id in wanted if job_id in found]

    # ------------------------------------------------------------------ logs

    def logs(
        self,
        job: JobLike,
        *,
        sort: Literal["asc", "desc"] = "asc",
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
    ) -> AsyncPaginator[LogEvent]:
        """The job's log lines there are now, oldest first unless ``sort="desc"``, in pages of
        up to ``page_size`` lines (at most 10000), the next one requested while one is read, so
        at most two are in memory; ``await`` it for the first page, ``.pages()`` for pages.
        ``limit`` caps the number of lines.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}/logs``
        """
        return self._resource.logs(job, sort=sort, page_size=page_size, limit=limit)

    def follow_logs(
        self,
        job: JobLike,
        *,
        poll_interval: float = 5.0,
        page_size: int = LOG_PAGE_SIZE_MAX,
        limit: int | None = None,
    ) -> LogStream:
        """The job's log as it is written, oldest first: an async iterator that reads again
        every ``poll_interval`` seconds until the job is terminal and a read made after that
        found no new line. Every line comes once, in order; ``limit`` caps the lines.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}/logs``
        """
        return _logs.follow_logs(
            self._resource, job, poll_interval=poll_interval, page_size=page_size, limit=limit
        )

    async def tail(self, job: JobLike, n: int) -> builtins.list[LogEvent]:
        """The newest ``n`` lines (all of them if the log is shorter), oldest first. Reads the
        log newest first, only as many pages as ``n`` lines need.
        """
        return await _logs.tail(self._resource, job, n)

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
        Writes a page while the next is read, to a temporary file next to ``path`` renamed into
        place only once complete, so a failure or cancellation leaves no partial file.
        ``follow=True`` waits for the job to finish, as ``follow_logs`` does.
        """
        return await _logs.save_logs(
            self._resource,
            job,
            path,
            follow=follow,
            poll_interval=poll_interval,
            page_size=page_size,
        )


def _task_ref(task: TaskLike) -> TaskRef:
    """``task`` as a TaskRef, with a clear error for anything that is not a task."""
    task_path(task)
    return TaskRef(str(task.project_id), str(task.task_id))


def _watch_targets(items: Iterable[Watchable]) -> list[WatchTarget]:
    """Watch targets: a batch's jobs, or every job of a task."""
    found: list[WatchTarget] = []
    for item in items:
        if isinstance(item, JobBatch):
            found.append(WatchTarget(item.task, item.job_ids))
        else:
            found.append(WatchTarget(_task_ref(item)))
    return found


def _attempts(batches: Iterable[JobBatch], result: WaitResult) -> list[Attempt]:
    """Per spec index of each batch: its latest job, where it stands, how many attempts."""
    where: dict[str, tuple[JobStatus, Any]] = {
        job.job_id: (JobStatus.SUCCEEDED, None) for job in result.succeeded
    }
    where.update({f.job.job_id: (f.status, f.failure_code) for f in result.failed})
    found: list[Attempt] = []
    for batch in batches:
        for index, job in enumerate(batch.jobs):
            status, code = where.get(job.job_id, (None, None))
            history = batch.history(index)
            found.append(Attempt(index, job, len(history), status, code, tuple(history[:-1])))
    return found


def _url_sized(job_ids: list[str]) -> list[list[str]]:
    """``job_ids`` in runs whose ``jobId=`` parameters fit one URL."""
    chunks: list[list[str]] = []
    length = _URL_IDS_LENGTH
    for job_id in job_ids:
        size = len(quote(job_id, safe="")) + 7
        if length + size > _URL_IDS_LENGTH:
            chunks.append([])
            length = 0
        chunks[-1].append(job_id)
        length += size
    return chunks


def _as_request(spec: object, where: str) -> JobSubmitRequest:
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
