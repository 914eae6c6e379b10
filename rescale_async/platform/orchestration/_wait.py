"""Waiting for a job: polling its status history until a status is reached, and its cluster's
until it has stopped.

Each poll reads the whole history (``GET jobs/{id}/statuses/``, the jobs-usage scope) and sorts
it by date, never trusting the server's order. ``Completed`` is the only terminal status and
includes failures: the outcome (``JobOutcome.succeeded``) is decided by the reasons. A poll that
fails on a transient error (a connection lost, a 5xx such as the sporadic 504 of ``statuses/``
once the client's own retries are spent, a 429) is tried again at the next interval.
"""

from __future__ import annotations

import logging

import anyio

from ..._core.exceptions import (
    APIConnectionError,
    InternalServerError,
    RateLimitError,
    WaitTimeoutError,
)
from ..resources._ids import job_id
from ..resources.jobs import Jobs
from ..types import ClusterStatus, ClusterStatusEntry, JobLike, JobOutcome, JobStatus
from ._hooks import StatusHook, call_hook

__all__ = ["as_status", "wait_for_cluster_stop", "wait_for_status"]

logger = logging.getLogger("rescale_async")

_TRANSIENT = (APIConnectionError, InternalServerError, RateLimitError)


def as_status(status: JobStatus | str) -> JobStatus:
    """``status`` as a known JobStatus: a member, its display name (``"Executing"``) or its
    name (``"EXECUTING"``, ``"waiting_for_cluster"``); a ValueError lists the statuses.
    """
    if isinstance(status, JobStatus) and status.name in JobStatus.__members__:
        return status
    if isinstance(status, str):
        text = status.strip()
        for member in JobStatus:
            if text.casefold() in (member.value.casefold(), member.name.casefold()):
                return member
    known = ", ".join(repr(member.value) for member in JobStatus)
    raise ValueError(f"until must be a job status, one of {known}; got {status!r}")


def _check_timing(timeout: float | None, interval: float) -> None:
    if timeout is not None and not timeout >= 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}")
    if not interval >= 0:
        raise ValueError(f"interval must be >= 0 seconds, got {interval!r}")


async def wait_for_status(
    jobs: Jobs,
    job: JobLike,
    *,
    until: JobStatus | str,
    timeout: float | None,  # noqa: ASYNC109 - a deadline for the whole wait, as documented
    interval: float,
    progress: StatusHook | None,
) -> JobOutcome:
    """Poll the job's statuses every ``interval`` seconds until its history holds ``until``, or
    it has completed (Completed is terminal: a job that completed without passing ``until``
    will never reach it); the outcome then. WaitTimeoutError, naming the job and its last
    status, after ``timeout`` seconds.
    """
    wanted = as_status(until)
    _check_timing(timeout, interval)
    the_id = job_id(job)
    outcome = JobOutcome(status=None)
    with anyio.move_on_after(timeout):
        while True:
            try:
                entries = await jobs.statuses(the_id)
            except _TRANSIENT as exc:
                logger.warning("reading the statuses of job %s failed (%s); again", the_id, exc)
            else:
                seen = JobOutcome.from_history(entries)
                if len(seen.history) != len(outcome.history) or seen.status != outcome.status:
                    outcome = seen
                    await call_hook(progress, outcome)
                if outcome.is_terminal or wanted in outcome.statuses():
                    return outcome
            await anyio.sleep(interval)
    last = outcome.status.value if outcome.status is not None else "not submitted (no status)"
    raise WaitTimeoutError(
        f"job {the_id} did not reach {wanted.value!r} within {timeout} s; its last status is "
        f"{last!r}{_reason(outcome.reason)}. Wait again, or stop it with jobs.stop()",
        result=outcome,
    )


def _reason(reason: str | None) -> str:
    return f" ({reason})" if reason else ""


async def wait_for_cluster_stop(
    jobs: Jobs,
    job: JobLike,
    *,
    timeout: float | None,  # noqa: ASYNC109 - a deadline for the whole wait, as documented
    interval: float,
) -> list[ClusterStatusEntry]:
    """Poll the job's cluster statuses until the latest is ``Stopped``, or there is no cluster
    (the service's 404 before one exists: nothing to wait for); the history then.
    WaitTimeoutError, naming the job and the cluster's last status, after ``timeout`` seconds.
    """
    _check_timing(timeout, interval)
    the_id = job_id(job)
    history: list[ClusterStatusEntry] = []
    with anyio.move_on_after(timeout):
        while True:
            try:
                history = await jobs.cluster_statuses(the_id)
            except _TRANSIENT as exc:
                logger.warning("reading the cluster of job %s failed (%s); again", the_id, exc)
            else:
                if not history or history[-1].status is ClusterStatus.STOPPED:
                    return history
            await anyio.sleep(interval)
    last = history[-1].status.value if history else "unknown"
    raise WaitTimeoutError(
        f"the cluster of job {the_id} had not stopped within {timeout} s; its last status is "
        f"{last!r}. Stop the job (jobs.stop()) and wait again",
        result=history,
    )
