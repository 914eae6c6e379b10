"""References to API objects by id, and the unions of what a call accepts for each.

A ``Task`` carries its project id and task id, so ``client.jobs.list(task)`` works; callers
holding only ids use ``TaskRef(project_id, task_id)`` or ``JobRef(project_id, task_id, job_id)``.
"""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

from .jobs import Job
from .projects import Project
from .submit import SubmittedJob
from .tasks import Task

__all__ = ["JobLike", "JobRef", "ProjectLike", "TaskLike", "TaskRef"]


class TaskRef(NamedTuple):
    """A task named by ids alone."""

    project_id: str
    task_id: str


class JobRef(NamedTuple):
    """A job named by ids alone."""

    project_id: str
    task_id: str
    job_id: str


ProjectLike: TypeAlias = str | Project | Task | TaskRef
"""A project id, or anything that carries one."""
TaskLike: TypeAlias = Task | TaskRef | SubmittedJob
"""A task, or anything that carries its project id and task id."""
JobLike: TypeAlias = Job | JobRef
"""A job, or its three ids."""
