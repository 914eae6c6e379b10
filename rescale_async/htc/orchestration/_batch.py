"""``JobBatch``: jobs submitted together, to wait for, watch or cancel as one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import Protocol

from ..types import FailureCode, JobRef, TaskLike, TaskRef
from ._cancel import cancel_and_confirm
from ._concurrent import run_all
from ._ledger import LedgerLike, Replacement
from ._resubmit import INFRASTRUCTURE_FAILURES, Adjust, Resubmitter, SpecLike, resubmit_failed
from ._results import WaitResult
from ._watch import JobWatch, ProgressHook, ProgressStream

__all__ = ["BatchOwner", "JobBatch"]


class BatchOwner(Resubmitter, Protocol):
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
    ``specs[i]``); after ``resubmit_failed`` they name each spec's latest job, and
    ``replaced`` maps each resubmitted job to the failed one it replaced. The batch is a plain
    record plus shortcuts to ``client.jobs``.
    """

    __slots__ = (
        "_jobs",
        "_specs",
        "groups",
        "job_ids",
        "ledger",
        "origin",
        "replaced",
        "rounds",
        "task",
    )

    def __init__(
        self,
        jobs: BatchOwner,
        task: TaskRef,
        groups: Sequence[str],
        job_ids: list[str],
        *,
        specs: Sequence[SpecLike] | None = None,
        ledger: LedgerLike | None = None,
    ) -> None:
        self._jobs = jobs
        self.task = task
        self.groups = tuple(groups)
        """The job groups the batch went to: one, unless it took several POSTs (or was
        resubmitted)."""
        self.job_ids = job_ids
        self._specs = None if specs is None else list(specs)
        self.ledger = ledger
        """The ledger the batch was submitted with; resubmissions use it too."""
        self.origin = job_ids[0] if job_ids else ""
        """The batch's first job id as submitted: names its resubmissions in the ledger."""
        self.rounds = 0
        """How many times ``resubmit_failed`` resubmitted jobs of the batch."""
        self.replaced: dict[str, str] = {}
        """Resubmitted job id -> the failed job id it replaced."""

    @property
    def specs(self) -> list[SpecLike] | None:
        """The spec of each job, as last submitted (None for a batch read back with
        ``client.jobs.batch``, which the API cannot tell).
        """
        return None if self._specs is None else list(self._specs)

    def history(self, index: int) -> list[str]:
        """Every job that ran spec ``index``, oldest first (the last is ``job_ids[index]``)."""
        chain = [self.job_ids[index]]
        while chain[-1] in self.replaced:
            chain.append(self.replaced[chain[-1]])
        return chain[::-1]

    def attempts_of(self, index: int) -> int:
        """How many jobs ran spec ``index`` (1 until it is resubmitted)."""
        return len(self.history(index))

    def replace(
        self, rows: Sequence[Replacement], groups: Sequence[str], specs: dict[int, SpecLike]
    ) -> None:
        """Take in a resubmission round: new jobs in place of the failed ones."""
        for row in rows:
            self.job_ids[row.spec_index] = row.job_id
            self.replaced[row.job_id] = row.replaced
        if self._specs is not None:
            for index, spec in specs.items():
                self._specs[index] = spec
        self.groups = (*self.groups, *(g for g in groups if g not in self.groups))
        self.rounds += 1

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

    async def resubmit_failed(
        self,
        adjust: Adjust | None = None,
        *,
        codes: Iterable[FailureCode | str] | None = INFRASTRUCTURE_FAILURES,
        ledger: LedgerLike | None = None,
        image_timeout: float = 300.0,
    ) -> list[Replacement]:
        """Resubmit, once each, the batch's jobs that ended FAILED with a code in ``codes``
        (default: infrastructure failures; None: any code; cancelled jobs have none).
        ``adjust(spec, failure)`` may return a changed spec, or None to skip the job. Goes
        through the batch's ledger (or ``ledger``) like ``submit``; returns what replaced what.
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch``
        """
        if self._specs is None:
            raise ValueError(
                f"{self!r} holds no specs (a batch read back with client.jobs.batch cannot "
                "know them): resubmit through the batch that submit/submit_many returned"
            )
        return await resubmit_failed(
            self._jobs,
            self,
            self._specs,
            adjust=adjust,
            codes=codes,
            ledger=ledger if ledger is not None else self.ledger,
            image_timeout=image_timeout,
        )

    async def cancel(
        self,
        timeout: float | None = 300.0,
        *,
        interval: float = 5.0,
        progress: ProgressHook | None = None,
    ) -> WaitResult:
        """Cancel the batch's jobs (its groups only, not the rest of the task) and wait until
        every one has ended; CancelNotConfirmedError naming those that have not by ``timeout``.
        ``POST /htc/projects/{projectId}/tasks/{taskId}/jobs/cancel?group=``
        """

        async def request_cancel() -> None:
            calls = [partial(self._jobs.cancel, self.task, group=name) for name in self.groups]
            await run_all(calls)

        async def wait_for_end(limit: float | None) -> WaitResult:
            return await self.wait(limit, interval=interval, progress=progress)

        async def unfinished(result: WaitResult) -> list[JobRef]:
            ended = {job.job_id for job in result.succeeded}
            ended.update(failure.job.job_id for failure in result.failed)
            return [job for job in self.jobs if job.job_id not in ended]

        return await cancel_and_confirm(
            request_cancel, wait_for_end, unfinished, what=repr(self), timeout=timeout
        )
