"""``client.projects``: HTC projects, with their limits, dimensions and retention policy."""

from __future__ import annotations

from .._core.pagination import AsyncPaginator
from ..types import Project
from ._base import APIResource
from ._ids import ProjectLike, project_path

__all__ = ["Projects"]


class Projects(APIResource):
    """HTC projects: collections of tasks and container images."""

    def list(
        self,
        *,
        only_mine: bool | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[Project]:
        """Every project visible to the caller. ``GET /htc/projects``"""
        return self._list(
            "htc/projects",
            Project,
            params={"onlyMyProjects": only_mine},
            page_size=page_size,
            limit=limit,
        )

    async def get(self, project: ProjectLike) -> Project:
        """One project. ``GET /htc/projects/{projectId}``"""
        return await self._call("GET", project_path(project), Project)
