"""Orchestration: job specs, exactly-once submission, watching and waiting, logs, the ledger."""

from ._batch import JobBatch
from ._jobs import Jobs, LogStream
from ._ledger import Ledger
from ._results import JobEvent, JobFailure, Progress, WaitResult
from ._spec import JobSpec
from ._watch import JobWatch, ProgressStream

__all__ = [
    "JobBatch",
    "JobEvent",
    "JobFailure",
    "JobSpec",
    "JobWatch",
    "Jobs",
    "Ledger",
    "LogStream",
    "Progress",
    "ProgressStream",
    "WaitResult",
]
