"""Job and cluster statuses, and what a status history says about a job's outcome.

``Completed`` is the only terminal job status, and it includes failures: the outcome is in the
entry's ``statusReason``. A job **succeeded** when its latest status is ``Completed`` with a
success reason (``"Completed successfully"``) and no entry of its history gave a known failure
reason (such as ``Stopping`` with ``"A run failed"``). A ``Completed`` with any other reason,
or none, is a failure: a failed job is never read as a success.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from ..._core.models import APIModel, OpenEnum, UTCDateTime

__all__ = [
    "FAILURE_REASONS",
    "SUCCESS_REASONS",
    "ClusterStatus",
    "ClusterStatusEntry",
    "JobOutcome",
    "JobStatus",
    "JobStatusEntry",
    "chronological",
    "is_failure_reason",
    "is_success_reason",
]


class JobStatus(OpenEnum):
    """A job status, by its display name (the list filter takes the member's ``name``)."""

    PENDING = "Pending"
    QUEUED = "Queued"
    STARTED = "Started"
    VALIDATED = "Validated"
    EXECUTING = "Executing"
    COMPLETED = "Completed"
    STOPPING = "Stopping"
    WAITING_FOR_CLUSTER = "Waiting for Cluster"
    FORCE_STOP = "Force Stop"
    WAITING_FOR_QUEUE = "Waiting for Queue"


class ClusterStatus(OpenEnum):
    """A cluster status, by its display name."""

    NOT_STARTED = "Not Started"
    PENDING = "Pending"
    QUEUED = "Queued"
    STARTING = "Starting"
    STARTED = "Started"
    STOP_REQUESTED = "Stop Requested"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    UNKNOWN = "Unknown"
    ERROR = "Error"


SUCCESS_REASONS = frozenset({"completed successfully"})
"""The reasons (compared ignoring case and a final period) of a successful ``Completed``."""

FAILURE_REASONS = frozenset(
    {
        "a run failed",
        "exceeded max number of restarts",
        "could not allocate compute resources from the compute provider",
    }
)
"""Reasons known to mean a failure, whatever status carries them."""


def _normal(reason: str | None) -> str:
    return (reason or "").strip().rstrip(".").casefold()


def is_success_reason(reason: str | None) -> bool:
    """Whether ``reason`` says a job completed successfully."""
    return _normal(reason) in SUCCESS_REASONS


def is_failure_reason(reason: str | None) -> bool:
    """Whether ``reason`` is one known to mean a failure."""
    return _normal(reason) in FAILURE_REASONS


class JobStatusEntry(APIModel):
    """One entry of ``GET jobs/{id}/statuses/``."""

    status: JobStatus
    status_date: UTCDateTime | None = None
    status_reason: str | None = None

    @property
    def is_terminal(self) -> bool:
        """Whether this is ``Completed``, the only terminal status (failures included)."""
        return self.status is JobStatus.COMPLETED


class ClusterStatusEntry(APIModel):
    """One entry of ``GET jobs/{id}/cluster_statuses/``."""

    status: ClusterStatus
    status_date: UTCDateTime | None = None
    status_reason: str | None = None


_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)

E = TypeVar("E", JobStatusEntry, ClusterStatusEntry)


def chronological(entries: Iterable[E]) -> list[E]:
    """``entries`` oldest first by date (never the server's order); undated ones first, in
    the order given.
    """
    return sorted(entries, key=lambda entry: entry.status_date or _EARLIEST)


class JobOutcome(BaseModel):
    """Where a job's status history stands: its latest status and reason, and whether that
    is a success (see the module's rule).
    """

    model_config = ConfigDict(frozen=True)

    status: JobStatus | None
    reason: str | None = None
    date: datetime | None = None
    history: tuple[JobStatusEntry, ...] = ()
    """Every entry, oldest first."""

    @classmethod
    def from_history(cls, entries: Iterable[JobStatusEntry]) -> JobOutcome:
        """The outcome of a status history given in any order."""
        ordered = tuple(chronological(entries))
        if not ordered:
            return cls(status=None)
        latest = ordered[-1]
        return cls(
            status=latest.status,
            reason=latest.status_reason,
            date=latest.status_date,
            history=ordered,
        )

    @property
    def is_terminal(self) -> bool:
        """Whether the job is ``Completed`` (succeeded or failed)."""
        return self.status is JobStatus.COMPLETED

    @property
    def succeeded(self) -> bool:
        """Completed with a success reason, no failure reason on the way."""
        return (
            self.is_terminal
            and is_success_reason(self.reason)
            and not any(is_failure_reason(entry.status_reason) for entry in self.history)
        )

    @property
    def failed(self) -> bool:
        """Completed without succeeding."""
        return self.is_terminal and not self.succeeded

    @property
    def failure_reason(self) -> str | None:
        """Why a failed job failed: the first known failure reason of its history, else its
        final reason (None when it has not failed).
        """
        if not self.failed:
            return None
        known = [e.status_reason for e in self.history if is_failure_reason(e.status_reason)]
        return known[0] if known else self.reason

    def statuses(self) -> Sequence[JobStatus]:
        """The statuses of the history, oldest first."""
        return [entry.status for entry in self.history]
