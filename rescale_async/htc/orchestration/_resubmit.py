"""Resubmitting the failed subset of a batch: each failed job once, through the same
exactly-once submission and ledger as the batch itself.

A resubmission round gets a ledger key derived from the batch's first job and the round's
number, so a program re-run after a crash finds the round again (and settles a POST that was
in flight) instead of sending it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeAlias

from ..types import (
    FailureCode,
    Job,
    JobRef,
    JobStatus,
    JobSubmitRequest,
    TaskLike,
    TaskRef,
    ViewType,
)
from ._ledger import LedgerLike, Replacement, as_ledger
from ._results import JobFailure
from ._spec import JobSpec

__all__ = ["INFRASTRUCTURE_FAILURES", "Adjust", "SpecLike", "resubmit_failed"]

logger = logging.getLogger("rescale_async")

SpecLike: TypeAlias = JobSpec | JobSubmitRequest
"""What a batch is submitted from, one per job."""

Adjust: TypeAlias = Callable[[SpecLike, JobFailure], SpecLike | None]
"""``adjust(spec, failure)``: the spec to run again (changed or not), or None to skip it."""

INFRASTRUCTURE_FAILURES: frozenset[FailureCode] = frozenset(
    {
        FailureCode.ErrorInstanceTermination,
        FailureCode.ErrorProviderDown,
        FailureCode.ErrorProviderRegionDown,
        FailureCode.ErrorInfrastructureFault,
        FailureCode.ErrorStartingContainer,
    }
)
"""Failure codes that say nothing about the job itself: what ``resubmit_failed`` reruns by
default.
"""

_FAILED = frozenset({JobStatus.FAILED, JobStatus.POD_FAILED})


class Submitted(Protocol):
    """What a submission hands back (a JobBatch): its groups and job ids in spec order."""

    @property
    def groups(self) -> tuple[str, ...]: ...

    @property
    def job_ids(self) -> list[str]: ...


class Resubmittable(Submitted, Protocol):
    """A batch as resubmission sees it (a JobBatch)."""

    @property
    def task(self) -> TaskRef: ...

    @property
    def origin(self) -> str: ...

    @property
    def rounds(self) -> int: ...

    def attempts_of(self, index: int) -> int: ...

    def replace(
        self, rows: Sequence[Replacement], groups: Sequence[str], specs: dict[int, SpecLike]
    ) -> None: ...


class Resubmitter(Protocol):
    """What a resubmission calls: ``client.jobs``."""

    async def get_many(
        self, task: TaskLike, job_ids: Iterable[str], *, view: ViewType | str = ...
    ) -> list[Job]: ...

    async def submit_many(
        self,
        task: TaskLike,
        specs: Iterable[SpecLike],
        group: str | None = ...,
        *,
        ledger: LedgerLike | None = ...,
        key: str | None = ...,
        image_timeout: float = ...,
    ) -> Submitted: ...


def failure_codes(codes: Iterable[FailureCode | str] | None) -> frozenset[FailureCode] | None:
    """``codes`` as FailureCodes (None: any code), with a clear error for anything else."""
    if codes is None:
        return None
    if isinstance(codes, str):
        raise TypeError(f"codes must be a collection of failure codes, got the string {codes!r}")
    found: set[FailureCode] = set()
    for code in codes:
        if not isinstance(code, str) or not code:
            raise TypeError(f"codes must hold failure code names like 'ErrorTimeout', got {code!r}")
        found.add(FailureCode(code))
    return frozenset(found)


def _selected(job: Job | None, codes: frozenset[FailureCode] | None) -> bool:
    """True for a job that ended FAILED with a failure code ``codes`` holds."""
    if job is None or job.status not in _FAILED or job.failure_code is None:
        return False
    return codes is None or job.failure_code in codes


def _adjusted(adjust: Adjust | None, spec: SpecLike, failure: JobFailure) -> SpecLike | None:
    if adjust is None:
        return spec
    changed = adjust(spec, failure)
    if changed is not None and not isinstance(changed, JobSpec | JobSubmitRequest):
        raise TypeError(
            f"adjust returned a {type(changed).__name__} for job {failure.job.job_id}; "
            "it must return a JobSpec (or a JobSubmitRequest), or None to skip the job"
        )
    return changed


def resubmission_key(batch: Resubmittable, round_number: int) -> str:
    """The ledger key of a batch's ``round_number``-th resubmission: the same on every run."""
    return f"{batch.task.project_id}/{batch.task.task_id}/{batch.origin}/resubmit/{round_number}"


async def resubmit_failed(
    owner: Resubmitter,
    batch: Resubmittable,
    specs: Sequence[SpecLike],
    *,
    adjust: Adjust | None,
    codes: Iterable[FailureCode | str] | None,
    ledger: LedgerLike | None,
    image_timeout: float,
) -> list[Replacement]:
    """Resubmit the batch's latest jobs that ended FAILED with one of ``codes``, once each;
    what replaced what (the batch is updated: its ``job_ids`` name the new jobs).
    """
    wanted = failure_codes(codes)
    if adjust is not None and not callable(adjust):
        raise TypeError(f"adjust must be a function (spec, failure) -> spec | None, got {adjust!r}")
    book = as_ledger(ledger)
    jobs = await owner.get_many(batch.task, batch.job_ids)
    found = {job.job_uuid: job for job in jobs}
    chosen: list[tuple[int, str, SpecLike]] = []
    for index, job_id in enumerate(batch.job_ids):
        job = found.get(job_id)
        if job is None or not _selected(job, wanted):
            continue
        assert job.status is not None  # _selected checked it
        failure = JobFailure(JobRef(*batch.task, job_id), job.status, job.failure_code)
        spec = _adjusted(adjust, specs[index], failure)
        if spec is not None:
            chosen.append((index, job_id, spec))
    if not chosen:
        return []
    round_number = batch.rounds + 1
    key = resubmission_key(batch, round_number) if book is not None else None
    logger.info("resubmitting %d failed jobs of %r (round %d)", len(chosen), batch, round_number)
    fresh = await owner.submit_many(
        batch.task,
        [spec for _, _, spec in chosen],
        ledger=book,
        key=key,
        image_timeout=image_timeout,
    )
    rows = [
        Replacement(new_id, old_id, index, batch.attempts_of(index) + 1)
        for (index, old_id, _), new_id in zip(chosen, fresh.job_ids, strict=True)
    ]
    if book is not None:
        await book.record_replacements(rows)
    batch.replace(rows, fresh.groups, {index: spec for index, _, spec in chosen})
    return rows
