"""A task report: counts per status and per failure code, run times, vCPU-hours, the failed
jobs; built from one pass over the task's FULL job listing, a page in memory at a time.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..types import Job, JobRef, JobStatus, TaskRef
from ._results import JobFailure, succeeded

__all__ = ["Durations", "ReportedJob", "TaskReport", "build_report"]


@dataclass(frozen=True, slots=True)
class Durations:
    """Run times in seconds (``started_at`` to ``completed_at``) of the jobs that ran to an
    end; None when none did.
    """

    count: int = 0
    min: float | None = None
    median: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class ReportedJob:
    """One job of a report: where it ended and what it used (``seconds``: run time so far)."""

    job_id: str
    group: str | None
    status: str | None
    failure_code: str | None
    vcpus: int | None
    started_at: datetime | None
    completed_at: datetime | None
    seconds: float | None

    @property
    def vcpu_hours(self) -> float:
        """vCPUs times run time, in hours (0 when either is unknown)."""
        return (self.vcpus or 0) * (self.seconds or 0.0) / 3600.0


@dataclass(frozen=True, slots=True)
class TaskReport:
    """What a task's jobs (or one group's) did: counts per status and per failure code, run
    times, vCPU-hours used, and the failed jobs with their codes.
    """

    task: TaskRef
    group: str | None
    total: int
    by_status: dict[str, int]
    by_failure_code: dict[str, int]
    durations: Durations
    vcpu_hours: float
    failed: list[JobFailure] = field(default_factory=list)
    jobs: list[ReportedJob] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        """Jobs that ended successfully."""
        return sum(n for s, n in self.by_status.items() if succeeded(JobStatus(s)))

    def to_rows(self) -> list[dict[str, Any]]:
        """One plain dict per job, the way ``pandas.DataFrame(rows)`` or
        ``polars.DataFrame(rows)`` take them.
        """
        return [
            {
                "project_id": self.task.project_id,
                "task_id": self.task.task_id,
                "job_id": job.job_id,
                "group": job.group,
                "status": job.status,
                "failure_code": job.failure_code,
                "vcpus": job.vcpus,
                "started_at": job.started_at,
                "completed_at": job.completed_at,
                "seconds": job.seconds,
                "vcpu_hours": job.vcpu_hours,
            }
            for job in self.jobs
        ]

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (no per-job rows but the failed ones)."""
        return {
            "projectId": self.task.project_id,
            "taskId": self.task.task_id,
            "group": self.group,
            "total": self.total,
            "byStatus": self.by_status,
            "byFailureCode": self.by_failure_code,
            "durations": {
                "count": self.durations.count,
                "minSeconds": self.durations.min,
                "medianSeconds": self.durations.median,
                "maxSeconds": self.durations.max,
            },
            "vcpuHours": self.vcpu_hours,
            "failed": [
                {
                    "jobId": f.job.job_id,
                    "status": str(f.status),
                    "failureCode": None if f.failure_code is None else str(f.failure_code),
                }
                for f in self.failed
            ],
        }


def _seconds(job: Job, now: datetime) -> float | None:
    """The job's run time: to its end, or to ``now`` while it runs."""
    if job.started_at is None:
        return None
    end = job.completed_at if job.completed_at is not None else now
    return max(0.0, (end - job.started_at).total_seconds())


def _reported(job: Job, now: datetime) -> ReportedJob:
    return ReportedJob(
        job_id=job.job_uuid,
        group=job.group,
        status=None if job.status is None else str(job.status),
        failure_code=None if job.failure_code is None else str(job.failure_code),
        vcpus=job.max_vcpus,
        started_at=job.started_at,
        completed_at=job.completed_at,
        seconds=_seconds(job, now),
    )


def _durations(seconds: list[float]) -> Durations:
    if not seconds:
        return Durations()
    return Durations(len(seconds), min(seconds), statistics.median(seconds), max(seconds))


async def build_report(
    task: TaskRef, group: str | None, listing: AsyncIterable[Job], now: datetime
) -> TaskReport:
    """The report of the jobs ``listing`` yields (FULL view); running jobs count their time
    so far towards vCPU-hours, only ended ones towards the durations.
    """
    by_status: Counter[str] = Counter()
    by_code: Counter[str] = Counter()
    ended: list[float] = []
    failed: list[JobFailure] = []
    jobs: list[ReportedJob] = []
    async for job in listing:
        row = _reported(job, now)
        jobs.append(row)
        by_status[row.status or "UNKNOWN"] += 1
        if row.failure_code is not None:
            by_code[row.failure_code] += 1
        if job.status is None or not job.status.is_terminal:
            continue
        if row.seconds is not None and job.completed_at is not None:
            ended.append(row.seconds)
        if not succeeded(job.status):
            failed.append(JobFailure(JobRef(*task, job.job_uuid), job.status, job.failure_code))
    return TaskReport(
        task=task,
        group=group,
        total=len(jobs),
        by_status=dict(by_status),
        by_failure_code=dict(by_code),
        durations=_durations(ended),
        vcpu_hours=sum(job.vcpu_hours for job in jobs),
        failed=failed,
        jobs=jobs,
    )
