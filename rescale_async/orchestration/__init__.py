"""Orchestration: job specs now; submitting, watching and resuming batches grow here."""

from ._spec import JobSpec

__all__ = ["JobSpec"]
