"""Orchestration: job specs, exactly-once submission, watching and waiting, logs, the ledger."""

from ._batch import JobBatch
from ._jobs import Jobs, Watchable
from ._ledger import Ledger, LedgerLike, ParentJob
from ._logs import LogStream
from ._ready import ReadyImages
from ._results import JobEvent, JobFailure, Progress, WaitResult
from ._spec import JobSpec
from ._watch import JobWatch, ProgressHook, ProgressStream

__all__ = [
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
    "WaitResult",
    "Watchable",
]
