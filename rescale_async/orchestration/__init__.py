"""Orchestration: job specs now; submitting, watching and resuming batches grow here."""

from ._jobs import Jobs, LogStream
from ._spec import JobSpec

__all__ = ["JobSpec", "Jobs", "LogStream"]
