"""``client.projects``: HTC projects."""

from __future__ import annotations

from .._core.pagination import AsyncPaginator
from ..types import Project
from ._base import APIResource, segment

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

    async def get(self, project: str | Project) -> Project:
        """One project by id. ``GET /htc/projects/{projectId}``"""
        return await self._call("GET", f"htc/projects/{project_id(project)}", Project)


def project_id(project: str | Project) -> str:
    """The URL segment for a project given as an id or a model."""
    if isinstance(project, str):
        return segment(project)
    if not project.project_id:
        raise ValueError("this Project has no project_id; fetch it from the API first")
    return segment(project.project_id)
