"""Tasks: groups of jobs inside a project."""

from __future__ import annotations

from ._base import APIModel, ListResponse, RequestModel, UTCDateTime
from .enums import LifecycleStatus

__all__ = ["Task", "TaskCreate", "TaskList", "TaskUpdate"]


class TaskCreate(RequestModel):
    """The body of ``POST .../tasks`` (HTCTask without its read-only fields)."""

    task_name: str
    task_description: str


class Task(APIModel):
    """A task as the API returns it (HTCTask); its two ids are all it must carry."""

    project_id: str
    task_id: str
    task_name: str | None = None
    task_description: str | None = None
    workspace_id: str | None = None
    lifecycle_status: LifecycleStatus | None = None
    task_folder_path: str | None = None
    created_at: UTCDateTime | None = None
    created_by: str | None = None
    last_active_at: UTCDateTime | None = None
    archived_at: UTCDateTime | None = None
    deleted_at: UTCDateTime | None = None


class TaskUpdate(RequestModel):
    """The body of ``PATCH .../tasks/{taskId}``: archive or restore a task (HTCTaskUpdate)."""

    lifecycle_status: LifecycleStatus


class TaskList(ListResponse[Task]):
    """One page of tasks (HTCTasksResponse)."""
