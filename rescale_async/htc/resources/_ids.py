"""Turning what a caller holds (an id, a model, a reference) into URL paths, with a clear
error for anything else.
"""

from __future__ import annotations

from ..._core.pipeline import segment
from ..types import (
    Job,
    JobLike,
    JobRef,
    Project,
    ProjectLike,
    SubmittedJob,
    Task,
    TaskLike,
    TaskRef,
)

__all__ = ["job_path", "project_path", "task_path"]


def _required(value: str | None, what: str, holder: object) -> str:
    if not value:
        raise ValueError(
            f"this {type(holder).__name__} has no {what}; pass a model fetched from the API "
            f"or a reference such as TaskRef(project_id, task_id)"
        )
    return value


def project_path(project: ProjectLike) -> str:
    """``htc/projects/{projectId}``"""
    if isinstance(project, str):
        return f"htc/projects/{segment(project)}"
    if not isinstance(project, Project | Task | TaskRef):
        raise TypeError(
            f"expected a project id (str), Project, Task or TaskRef, got {type(project).__name__}"
        )
    return f"htc/projects/{segment(_required(project.project_id, 'project_id', project))}"


def task_path(task: TaskLike) -> str:
    """``htc/projects/{projectId}/tasks/{taskId}``"""
    if not isinstance(task, Task | TaskRef | SubmittedJob):
        raise TypeError(
            f"expected a Task, TaskRef or SubmittedJob, got {type(task).__name__}; "
            "wrap bare ids as TaskRef(project_id, task_id)"
        )
    project = segment(_required(task.project_id, "project_id", task))
    return f"htc/projects/{project}/tasks/{segment(_required(task.task_id, 'task_id', task))}"


def job_path(job: JobLike) -> str:
    """``htc/projects/{projectId}/tasks/{taskId}/jobs/{jobId}``"""
    if not isinstance(job, Job | JobRef):
        raise TypeError(
            f"expected a Job or JobRef, got {type(job).__name__}; "
            "wrap bare ids as JobRef(project_id, task_id, job_id)"
        )
    task = TaskRef(
        _required(job.project_id, "project_id", job), _required(job.task_id, "task_id", job)
    )
    return f"{task_path(task)}/jobs/{segment(_required(job.job_id, 'job_id', job))}"
