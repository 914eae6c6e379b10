"""Turning what a caller holds (an id or a model) into the id a path needs, with a clear error
for anything else.
"""

from __future__ import annotations

from ..types import File, FileLike, Job, JobLike, JobSummary, Run, RunLike

__all__ = ["file_id", "job_id", "run_id"]


def _non_empty(value: str, what: str) -> str:
    if not value:
        raise ValueError(f"a {what} id cannot be empty")
    return value


def job_id(job: JobLike) -> str:
    """The id of ``job`` (an id, a Job or a JobSummary)."""
    if isinstance(job, str):
        return _non_empty(job, "job")
    if isinstance(job, Job | JobSummary):
        return job.id
    raise TypeError(f"expected a job id (str), Job or JobSummary, got {type(job).__name__}")


def file_id(file: FileLike) -> str:
    """The id of ``file`` (an id or a File)."""
    if isinstance(file, str):
        return _non_empty(file, "file")
    if isinstance(file, File):
        return file.id
    raise TypeError(f"expected a file id (str) or File, got {type(file).__name__}")


def run_id(run: RunLike) -> str:
    """The id of ``run`` (``"1"``, ``1`` or a Run)."""
    if isinstance(run, bool):
        raise TypeError("expected a run id (str or int) or Run, got bool")
    if isinstance(run, int):
        return str(run)
    if isinstance(run, str):
        return _non_empty(run, "run")
    if isinstance(run, Run):
        return run.id
    raise TypeError(f"expected a run id (str or int) or Run, got {type(run).__name__}")
