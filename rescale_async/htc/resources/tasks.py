"""``client.tasks``: tasks (groups of jobs in a project), their lifecycle and job statistics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from ..._core.pagination import AsyncPaginator
from ..types import (
    JobStatusSummary,
    LifecycleStatus,
    ProjectLike,
    Task,
    TaskCreate,
    TaskLike,
    TaskUpdate,
)
from ._base import PAGE_SIZE_MAX, APIResource, page_size_within, parse
from ._ids import project_path, task_path

__all__ = ["Tasks"]


class Tasks(APIResource):
    """Tasks: the unit jobs are submitted to, listed, counted and cancelled by."""

    def list(
        self, project: ProjectLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[Task]:
        """Every task of the project. ``GET /htc/projects/{projectId}/tasks``"""
        path = f"{project_path(project)}/tasks"
        return self._list(path, Task, listing="tasks", page_size=page_size, limit=limit)

    async def create(self, project: ProjectLike, *, name: str, description: str = "") -> Task:
        """Create a task in the project. ``POST /htc/projects/{projectId}/tasks``"""
        path = f"{project_path(project)}/tasks"
        body = TaskCreate.model_validate({"task_name": name, "task_description": description})
        return await self._call("POST", path, Task, json=body.to_api())

    async def get(self, task: TaskLike) -> Task:
        """One task. ``GET /htc/projects/{projectId}/tasks/{taskId}``"""
        return await self._call("GET", task_path(task), Task)

    async def update(self, task: TaskLike, *, lifecycle_status: LifecycleStatus | str) -> Task:
        """Move a task between ACTIVE and ARCHIVED (only an ACTIVE task without running jobs
        can be archived). ``PATCH /htc/projects/{projectId}/tasks/{taskId}``
        """
        path = task_path(task)
        body = TaskUpdate.model_validate({"lifecycle_status": lifecycle_status})
        return await self._call("PATCH", path, Task, json=body.to_api())

    async def archive(self, task: TaskLike) -> Task:
        """Archive a task: its data is kept until the retention policy deletes it.
        ``PATCH /htc/projects/{projectId}/tasks/{taskId}`` with ``ARCHIVED``
        """
        return await self.update(task, lifecycle_status=LifecycleStatus.ARCHIVED)

    async def unarchive(self, task: TaskLike) -> Task:
        """Make an archived task active again, deferring its deletion.
        ``PATCH /htc/projects/{projectId}/tasks/{taskId}`` with ``ACTIVE``
        """
        return await self.update(task, lifecycle_status=LifecycleStatus.ACTIVE)

    async def delete(self, task: TaskLike) -> Task | None:
        """Delete a task; the deleted task, or None if the service answers with no body.
        ``DELETE /htc/projects/{projectId}/tasks/{taskId}``
        """
        response = await self._pipeline.request("DELETE", task_path(task))
        return parse(response, Task) if response.content.strip() else None

    async def summary(self, task: TaskLike) -> JobStatusSummary:
        """How many of the task's jobs are in each status (``job_statuses``: status -> count).
        ``GET /htc/projects/{projectId}/tasks/{taskId}/summary-statistics``
        """
        path = f"{task_path(task)}/summary-statistics"
        return await self._call("GET", path, JobStatusSummary)

    def group_summaries(
        self,
        task: TaskLike,
        *,
        group: str | Sequence[str] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[JobStatusSummary]:
        """Status counts per job group, for every group or only ``group`` (one or several).
        ``GET /htc/projects/{projectId}/tasks/{taskId}/group-summary-statistics``
        """
        path = f"{task_path(task)}/group-summary-statistics"
        groups = [group] if isinstance(group, str) else group
        params = {"group": None if groups is None else [*groups]}
        return self._list(
            path,
            JobStatusSummary,
            listing="group summaries",
            params=params,
            page_size=page_size,
            limit=limit,
        )

    def groups(
        self, task: TaskLike, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[str]:
        """The names of the task's job groups, as a paginator like every other listing.
        ``GET /htc/projects/{projectId}/tasks/{taskId}/groups``

        The spec documents a bare JSON array although the call takes ``pageSize`` and
        ``pageIndex``; both an array (one page, no ``next``) and an ``{items, next}`` page work.
        """
        pipeline = self._pipeline

        async def fetch(url: str, query: dict[str, Any] | None) -> httpx.Response:
            response = await pipeline.request("GET", url, params=query)
            if not response.content.lstrip().startswith(b"["):
                return response
            page = b'{"items":' + response.content + b"}"
            return httpx.Response(response.status_code, content=page, request=response.request)

        return AsyncPaginator(
            fetch,
            f"{task_path(task)}/groups",
            str,
            base_url=pipeline.base_url,
            page_size=page_size_within(page_size, PAGE_SIZE_MAX, "groups"),
            limit=limit,
        )
