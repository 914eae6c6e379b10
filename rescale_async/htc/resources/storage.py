"""``client.storage``: cloud storage credentials and upload URLs for projects and tasks."""

from __future__ import annotations

from typing import TypeAlias

from ..types import (
    PresignedPutUrl,
    ProjectLike,
    RegionalStorage,
    RegionStorageOption,
    StorageAccessToken,
    StorageAccessTokens,
    SubmittedJob,
    Task,
    TaskLike,
    TaskRef,
)
from ._base import APIResource, segment
from ._ids import project_path, task_path
from .regions import RegionLike

__all__ = ["Storage", "StorageTarget"]

StorageTarget: TypeAlias = ProjectLike | TaskLike
"""A project (id or model) for its shared storage, or a task (Task, TaskRef) for the task's."""


def _storage(target: StorageTarget) -> str:
    if isinstance(target, Task | TaskRef | SubmittedJob):
        return f"{task_path(target)}/storage"
    return f"{project_path(target)}/storage"


class Storage(APIResource):
    """Temporary credentials and presigned URLs to reach project and task files directly."""

    async def token(
        self, target: StorageTarget, *, region: RegionLike | None = None
    ) -> StorageAccessToken:
        """Temporary credentials for the storage of a project or task (default region or one).

        ``GET /htc/projects/{projectId}[/tasks/{taskId}]/storage/token[/{region}]``
        """
        suffix = "" if region is None else f"/{segment(region)}"
        return await self._call("GET", f"{_storage(target)}/token{suffix}", StorageAccessToken)

    async def tokens(self, target: StorageTarget) -> StorageAccessTokens:
        """Temporary credentials for the storage of a project or task in every region.

        ``GET /htc/projects/{projectId}[/tasks/{taskId}]/storage/tokens``
        """
        return await self._call("GET", f"{_storage(target)}/tokens", StorageAccessTokens)

    async def presigned_url(self, target: StorageTarget, file_path: str) -> PresignedPutUrl:
        """A URL to upload one file to a project's or task's storage with a plain HTTP PUT.

        ``GET /htc/projects/{projectId}[/tasks/{taskId}]/storage/presigned-url?filePath=``
        """
        if not file_path:
            raise ValueError("file_path cannot be empty")
        return await self._call(
            "GET",
            f"{_storage(target)}/presigned-url",
            PresignedPutUrl,
            params={"filePath": file_path},
        )

    async def regional(self, task: TaskLike) -> RegionalStorage:
        """A task's storage paths and credentials in every region.

        ``GET /htc/projects/{projectId}/tasks/{taskId}/storage/regional-storage``
        """
        return await self._call(
            "GET", f"{task_path(task)}/storage/regional-storage", RegionalStorage
        )

    async def options(self) -> list[RegionStorageOption]:
        """The storage locations available to the workspace, one per region. ``GET /htc/storage``"""
        return await self._call("GET", "htc/storage", list[RegionStorageOption])

    async def region(self, region: RegionLike) -> RegionStorageOption:
        """The storage location of one region. ``GET /htc/storage/region/{region}``"""
        return await self._call("GET", f"htc/storage/region/{segment(region)}", RegionStorageOption)
