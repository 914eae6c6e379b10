"""What orchestration hands back: status-change events, progress counts, the end of a wait."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..types import FailureCode, JobRef, JobStatus, TaskRef

__all__ = ["Attempt", "JobEvent", "JobFailure", "Progress", "WaitResult"]

_SUCCEEDED = frozenset({JobStatus.SUCCEEDED, JobStatus.POD_SUCCEEDED})


def succeeded(status: JobStatus) -> bool:
    """True for the statuses that mean the job's work was done."""
    return status in _SUCCEEDED


@dataclass(frozen=True, slots=True)
class JobEvent:
    """A job seen in a new status. ``old_status`` is None the first time the job is seen."""

    job: JobRef
    old_status: JobStatus | None
    new_status: JobStatus
    failure_code: FailureCode | None = None

    @property
    def job_id(self) -> str:
        return self.job.job_id

    @property
    def task(self) -> TaskRef:
        return TaskRef(self.job.project_id, self.job.task_id)


@dataclass(frozen=True, slots=True)
class Progress:
    """How many of the watched jobs are in each status; ``total`` counts jobs not seen yet."""

    counts: Mapping[JobStatus, int]
    total: int

    @property
    def done(self) -> int:
        """Jobs in a terminal status."""
        return sum(n for status, n in self.counts.items() if status.is_terminal)

    @property
    def succeeded(self) -> int:
        return sum(n for status, n in self.counts.items() if succeeded(status))

    @property
    def failed(self) -> int:
        """Jobs that ended without success (FAILED, POD_FAILED, cancelled ones included)."""
        return self.done - self.succeeded

    @property
    def finished(self) -> bool:
        """True once every watched job has ended."""
        return self.done >= self.total


@dataclass(frozen=True, slots=True)
class JobFailure:
    """A job that ended without success, and why (no ``failure_code``: cancelled)."""

    job: JobRef
    status: JobStatus
    failure_code: FailureCode | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """Spec ``index`` of a batch: its latest job, where that job stands, and how many jobs
    ran the spec (1, plus one per resubmission); ``replaced`` are the earlier jobs, oldest first.
    """

    index: int
    job: JobRef
    attempts: int
    status: JobStatus | None
    failure_code: FailureCode | None = None
    replaced: tuple[str, ...] = ()

    @property
    def job_id(self) -> str:
        return self.job.job_id


@dataclass(frozen=True, slots=True)
class WaitResult:
    """Where every watched job ended up (or stood, when a wait timed out). ``attempts``: for a
    wait on batches, per spec index the latest attempt and how many it took.
    """

    counts: dict[JobStatus, int]
    succeeded: list[JobRef] = field(default_factory=list)
    failed: list[JobFailure] = field(default_factory=list)
    total: int = 0
    attempts: list[Attempt] = field(default_factory=list)

    def to_rows(self) -> list[dict[str, Any]]:
        """One plain dict per job (per spec index, with ``attempts``, for batches), the way
        ``pandas.DataFrame(rows)`` or ``polars.DataFrame(rows)`` take them.
        """
        if self.attempts:
            return [_attempt_row(attempt) for attempt in self.attempts]
        rows = [_job_row(job, JobStatus.SUCCEEDED, None) for job in self.succeeded]
        rows += [_job_row(f.job, f.status, f.failure_code) for f in self.failed]
        return rows

    @property
    def finished(self) -> bool:
        """True when every job has ended."""
        return len(self.succeeded) + len(self.failed) >= self.total

    @property
    def ok(self) -> bool:
        """True when every job ended and succeeded."""
        return len(self.succeeded) == self.total


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


def _job_row(job: JobRef, status: JobStatus | None, code: FailureCode | None) -> dict[str, Any]:
    return {
        "project_id": job.project_id,
        "task_id": job.task_id,
        "job_id": job.job_id,
        "status": _text(status),
        "failure_code": _text(code),
    }


def _attempt_row(attempt: Attempt) -> dict[str, Any]:
    return {
        "index": attempt.index,
        **_job_row(attempt.job, attempt.status, attempt.failure_code),
        "attempts": attempt.attempts,
        "replaced": ",".join(attempt.replaced),
    }
