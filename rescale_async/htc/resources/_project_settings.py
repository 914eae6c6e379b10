"""A project's settings: ``client.projects.limits``, ``.dimensions`` and ``.retention_policy``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter

from ..types import (
    ComputeEnvironment,
    ComputeEnvironmentSpec,
    LimitCreate,
    LimitUpdate,
    ModifierRole,
    ProjectDimensions,
    ProjectLike,
    ProjectLimit,
    ProjectLimits,
    TaskRetentionPolicy,
    TaskRetentionPolicyUpdate,
)
from ._base import APIResource, segment
from ._ids import project_path

__all__ = ["ProjectDimensionsResource", "ProjectLimitsResource", "ProjectRetentionPolicyResource"]

_environment_specs = TypeAdapter(list[ComputeEnvironmentSpec])


def _limit_id(limit: int | ProjectLimit) -> int:
    if isinstance(limit, ProjectLimit):
        if limit.id is None:
            raise ValueError("this ProjectLimit has no id; pass a limit fetched from the API")
        return limit.id
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"expected a limit id (int) or a ProjectLimit, got {type(limit).__name__}")
    return limit


class ProjectLimitsResource(APIResource):
    """vCPU limits on a project (``client.projects.limits``)."""

    @staticmethod
    def _path(project: ProjectLike, limit: int | ProjectLimit | None = None) -> str:
        path = f"{project_path(project)}/limits"
        return path if limit is None else f"{path}/{segment(_limit_id(limit))}"

    async def list(self, project: ProjectLike) -> ProjectLimits:
        """The project's vCPU limits. ``GET /htc/projects/{projectId}/limits``"""
        return await self._call("GET", self._path(project), ProjectLimits)

    async def create(
        self,
        project: ProjectLike,
        *,
        vcpus: int,
        modifier_role: ModifierRole | str = ModifierRole.PROJECT_ADMIN,
    ) -> ProjectLimit:
        """Cap the project's vCPUs (replacing the limit of the same ``modifier_role``, the
        highest role allowed to change it). ``POST /htc/projects/{projectId}/limits``
        """
        path = self._path(project)
        body = LimitCreate.model_validate({"v_cpus": vcpus, "modifier_role": modifier_role})
        return await self._call("POST", path, ProjectLimit, json=body.to_api())

    async def delete_all(self, project: ProjectLike) -> None:
        """Remove every limit of the project. ``DELETE /htc/projects/{projectId}/limits``"""
        await self._call_no_content("DELETE", self._path(project))

    async def get(self, project: ProjectLike, limit_id: int | ProjectLimit) -> ProjectLimit:
        """One limit. ``GET /htc/projects/{projectId}/limits/{id}``"""
        return await self._call("GET", self._path(project, limit_id), ProjectLimit)

    async def update(
        self, project: ProjectLike, limit_id: int | ProjectLimit, *, vcpus: int
    ) -> ProjectLimit:
        """Change a limit's vCPU count. ``PATCH /htc/projects/{projectId}/limits/{id}``"""
        path = self._path(project, limit_id)
        body = LimitUpdate.model_validate({"v_cpus": vcpus})
        return await self._call("PATCH", path, ProjectLimit, json=body.to_api())

    async def delete(self, project: ProjectLike, limit_id: int | ProjectLimit) -> None:
        """Remove one limit. ``DELETE /htc/projects/{projectId}/limits/{id}``"""
        await self._call_no_content("DELETE", self._path(project, limit_id))


def _environment_spec(
    environment: ComputeEnvironmentSpec | ComputeEnvironment | Mapping[str, Any],
) -> object:
    """What ``_environment_specs`` validates: a fetched environment loses its read-only parts."""
    if isinstance(environment, ComputeEnvironment):
        return environment.model_dump(
            include=set(ComputeEnvironmentSpec.model_fields), exclude_unset=True
        )
    if isinstance(environment, ComputeEnvironmentSpec | Mapping):
        return environment
    raise TypeError(
        f"expected a ComputeEnvironmentSpec, ComputeEnvironment or dict, "
        f"got {type(environment).__name__}"
    )


class ProjectDimensionsResource(APIResource):
    """The compute environments (machine types per region) a project may use
    (``client.projects.dimensions``).
    """

    async def get(self, project: ProjectLike) -> ProjectDimensions:
        """The project's compute environments. ``GET /htc/projects/{projectId}/dimensions``"""
        return await self._call("GET", f"{project_path(project)}/dimensions", ProjectDimensions)

    async def set(
        self,
        project: ProjectLike,
        dimensions: Iterable[ComputeEnvironmentSpec | ComputeEnvironment | Mapping[str, Any]],
    ) -> ProjectDimensions:
        """Replace the project's compute environments; an empty list lifts every restriction.
        Environments fetched with ``get`` are accepted (their read-only ``derived`` is dropped).
        ``PUT /htc/projects/{projectId}/dimensions``
        """
        path = f"{project_path(project)}/dimensions"
        specs = _environment_specs.validate_python([_environment_spec(d) for d in dimensions])
        return await self._call("PUT", path, ProjectDimensions, json=[s.to_api() for s in specs])


class ProjectRetentionPolicyResource(APIResource):
    """When a project's inactive tasks are archived and archived ones deleted
    (``client.projects.retention_policy``).
    """

    async def get(self, project: ProjectLike) -> TaskRetentionPolicy:
        """The project's task retention policy; NotFoundError when it has none (the workspace's
        applies). ``GET /htc/projects/{projectId}/task-retention-policy``
        """
        path = f"{project_path(project)}/task-retention-policy"
        return await self._call("GET", path, TaskRetentionPolicy)

    async def set(
        self, project: ProjectLike, *, archive_after: int, delete_after: int
    ) -> TaskRetentionPolicy:
        """Archive tasks after ``archive_after`` hours of inactivity and delete them
        ``delete_after`` hours later (0 turns either off).
        ``PUT /htc/projects/{projectId}/task-retention-policy``
        """
        path = f"{project_path(project)}/task-retention-policy"
        body = TaskRetentionPolicyUpdate.model_validate(
            {"archive_after": archive_after, "delete_after": delete_after}
        )
        return await self._call("PUT", path, TaskRetentionPolicy, json=body.to_api())

    async def delete(self, project: ProjectLike) -> None:
        """Remove the project's policy (the workspace's applies, if any).
        ``DELETE /htc/projects/{projectId}/task-retention-policy``
        """
        await self._call_no_content("DELETE", f"{project_path(project)}/task-retention-policy")
