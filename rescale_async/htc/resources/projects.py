"""``client.projects``: HTC projects, with their limits, dimensions and retention policy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..._core.pagination import AsyncPaginator
from ..._core.pipeline import Pipeline
from ..types import Project, ProjectCreate, ProjectLike, ProjectUpdate, Region, RegionSettings
from ._base import APIResource
from ._ids import project_path
from ._project_settings import (
    ProjectDimensionsResource,
    ProjectLimitsResource,
    ProjectRetentionPolicyResource,
)

__all__ = ["Projects"]


class Projects(APIResource):
    """HTC projects: collections of tasks and container images.

    ``limits``, ``dimensions`` and ``retention_policy`` hold the project's settings.
    """

    limits: ProjectLimitsResource
    dimensions: ProjectDimensionsResource
    retention_policy: ProjectRetentionPolicyResource

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(pipeline)
        self.limits = ProjectLimitsResource(pipeline)
        self.dimensions = ProjectDimensionsResource(pipeline)
        self.retention_policy = ProjectRetentionPolicyResource(pipeline)

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
            listing="projects",
            params={"onlyMyProjects": only_mine},
            page_size=page_size,
            limit=limit,
        )

    async def create(
        self,
        *,
        name: str,
        description: str,
        regions: Sequence[Region | str] | None = None,
        region_settings: Sequence[RegionSettings | Mapping[str, Any]] | None = None,
    ) -> Project:
        """Create a project, optionally restricted to ``regions``. ``POST /htc/projects``"""
        fields = {"regions": regions, "region_settings": region_settings}
        body = ProjectCreate.model_validate(
            {
                "project_name": name,
                "project_description": description,
                **{key: value for key, value in fields.items() if value is not None},
            }
        )
        return await self._call("POST", "htc/projects", Project, json=body.to_api())

    async def get(self, project: ProjectLike) -> Project:
        """One project. ``GET /htc/projects/{projectId}``"""
        return await self._call("GET", project_path(project), Project)

    async def update(self, project: ProjectLike, *, regions: Sequence[Region | str]) -> Project:
        """Set the regions the project's jobs may run in. ``PATCH /htc/projects/{projectId}``"""
        path = project_path(project)
        body = ProjectUpdate.model_validate({"regions": regions})
        return await self._call("PATCH", path, Project, json=body.to_api())
