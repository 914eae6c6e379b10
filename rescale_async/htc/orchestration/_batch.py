"""``JobBatch``: jobs submitted together, to wait for, watch or cancel as one."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Protocol

from ..types import JobRef, TaskLike, TaskRef
from ._concurrent import run_all
from ._ledger import LedgerLike
from ._results import WaitResult
from ._watch import JobWatch, ProgressHook, ProgressStream

__all__ = ["BatchOwner", "JobBatch"]


class BatchOwner(Protocol):
    """What a batch's shortcuts call: ``client.jobs``."""

    def watch(
        self,
        *targets: JobBatch | TaskLike,
        interval: float = ...,
        progress: ProgressHook | None = ...,
        ledger: LedgerLike | None = ...,
    ) -> JobWatch: ...

    def progress(
        self, *targets: JobBatch | TaskLike, interval: float = ..., ledger: LedgerLike | None = ...
    ) -> ProgressStream: ...

    async def wait(
        self,
        *targets: JobBatch | TaskLike,
        timeout: float | None = ...,
        interval: float = ...,
        progress: ProgressHook | None = ...,
        ledger: LedgerLike | None = ...,
    ) -> WaitResult: ...

    async def cancel(self, task: TaskLike, *, group: str | None = ...) -> None: ...


class JobBatch:
    """Jobs submitted by one ``submit``/``submit_many`` call: their task, job group(s) and ids.

    ``job_ids`` are in submission order (for ``submit_many``: ``job_ids[i]`` runs
    ``specs[i]``). The batch is a plain record plus shortcuts to ``client.jobs``.
    """

    __slots__ = ("_jobs", "groups", "job_ids", "task")

    def __init__(
        self, jobs: BatchOwner, task: TaskRef, groups: Sequence[str], job_ids: list[str]
    ) -> None:
        self._jobs = jobs
        self.task = task
        self.groups = tuple(groups)
        """The job groups the batch went to: one, unless it took several POSTs."""
        self.job_ids = job_ids

    @property
    def group(self) -> str:
        """The batch's job group (the first one, when it took several)."""
        return self.groups[0]

    @property
    def jobs(self) -> list[JobRef]:
        """The batch's jobs, as references ``client.jobs.get``/``logs`` take."""
        return [JobRef(*self.task, job_id) for job_id in self.job_ids]

    def __len__(self) -> int:
        return len(self.job_ids)

    def __repr__(self) -> str:
        return (
            f"JobBatch(task={self.task.task_id!r}, groups={list(self.groups)!r}, "
            f"jobs={len(self.job_ids)})"
        )

    def watch(
        self,
        *,
        interval: float = 30.0,
        progress: ProgressHook | None = None,
        ledger: LedgerLike | None = None,
    ) -> JobWatch:
        """The batch's status changes; see ``client.jobs.watch``."""
        return self._jobs.watch(self, interval=interval, progress=progress, ledger=ledger)

    def progress(
        self, *, interval: float = 30.0, ledger: LedgerLike | None = None
    ) -> ProgressStream:
        """The batch's counts by status whenever they change; see ``client.jobs.progress``."""
        return self._jobs.progress(self, interval=interval, ledger=ledger)

    async def wait(
        self,
        timeout: float | None = None,
        *,
        interval: float = 30.0,
        progress: ProgressHook | None = None,
        ledger: LedgerLike | None = None,
    ) -> WaitResult:
        """Wait until every job of the batch has ended; see ``client.jobs.wait``."""
        return await self._jobs.wait(
            self, timeout=timeout, interval=interval, progress=progress, ledger=ledger
        )

    async def cancel(self) -> None:
        """Cancel the batch's jobs (its groups only, not the rest of the task).
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/cancel?group=``
        """
        await run_all([partial(self._jobs.cancel, self.task, group=name) for name in self.groups])
