"""Which storage a call is about: a task's own, or its project's shared storage."""

from __future__ import annotations

from dataclasses import dataclass

from ...resources.storage import StorageTarget
from ...types import Project, SubmittedJob, Task, TaskRef

__all__ = ["TargetArea", "area_of"]


@dataclass(frozen=True)
class TargetArea:
    """A task's storage (``task_id`` set) or a project's shared storage (``task_id`` None)."""

    project_id: str
    task_id: str | None = None

    def describe(self) -> str:
        if self.task_id is None:
            return f"the shared storage of project {self.project_id}"
        return f"the storage of task {self.task_id} (project {self.project_id})"

    def default_prefix(self) -> str:
        """The area's key prefix when the token names none (as the service lays it out)."""
        if self.task_id is None:
            return f"projects/{self.project_id}/shared/"
        return f"projects/{self.project_id}/tasks/{self.task_id}/"


def area_of(target: StorageTarget) -> TargetArea:
    """The area of ``target``: a Task, TaskRef or SubmittedJob names the task's storage; a
    project id or Project names the project's shared storage.
    """
    if isinstance(target, Task | TaskRef | SubmittedJob):
        if not target.project_id or not target.task_id:
            raise ValueError(
                f"this {type(target).__name__} lacks a project or task id; pass a task fetched "
                "from the API or TaskRef(project_id, task_id)"
            )
        return TargetArea(target.project_id, target.task_id)
    if isinstance(target, str):
        if not target:
            raise ValueError("the project id is empty")
        return TargetArea(target)
    if isinstance(target, Project):
        if not target.project_id:
            raise ValueError("this Project has no project_id; pass one fetched from the API")
        return TargetArea(target.project_id)
    raise TypeError(
        "expected a task (Task, TaskRef, SubmittedJob) or a project (id or Project), got "
        f"{type(target).__name__}"
    )
