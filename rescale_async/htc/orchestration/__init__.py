"""Orchestration: job specs, exactly-once submission, watching and waiting, logs, the ledger."""

from ..._core.exceptions import CancelNotConfirmedError
from ._batch import JobBatch
from ._jobs import Jobs, Watchable
from ._ledger import Ledger, LedgerLike, ParentJob, Replacement
from ._logs import LogStream
from ._ready import ReadyImages
from ._report import Durations, ReportedJob, TaskReport
from ._resubmit import INFRASTRUCTURE_FAILURES, Adjust, SpecLike
from ._results import Attempt, JobEvent, JobFailure, Progress, WaitResult
from ._spec import JobSpec
from ._watch import JobWatch, ProgressHook, ProgressStream

__all__ = [
    "INFRASTRUCTURE_FAILURES",
    "Adjust",
    "Attempt",
    "CancelNotConfirmedError",
    "Durations",
    "JobBatch",
    "JobEvent",
    "JobFailure",
    "JobSpec",
    "JobWatch",
    "Jobs",
    "Ledger",
    "LedgerLike",
    "LogStream",
    "ParentJob",
    "Progress",
    "ProgressHook",
    "ProgressStream",
    "ReadyImages",
    "Replacement",
    "ReportedJob",
    "SpecLike",
    "TaskReport",
    "WaitResult",
    "Watchable",
]
