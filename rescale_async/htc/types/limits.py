"""vCPU limits on a project or workspace."""

from __future__ import annotations

from typing import TypeAlias

from pydantic import Field

from ._base import APIModel, RequestModel, UTCDateTime
from .enums import ModifierRole

__all__ = ["LimitCreate", "LimitUpdate", "ProjectLimit", "ProjectLimits", "WorkspaceLimit"]


class LimitUpdate(RequestModel):
    """The body of ``PATCH .../limits/{id}``: the new vCPU count, 0..999999 (HTCLimitUpdate)."""

    v_cpus: int = Field(alias="vCPUs", ge=0, le=999999)


class LimitCreate(LimitUpdate):
    """The body of ``POST .../limits``: vCPUs and who may change the limit (HTCLimitCreate)."""

    modifier_role: ModifierRole


class _LimitFields(APIModel):
    v_cpus: int | None = Field(None, alias="vCPUs")
    workspace_id: str | None = None
    created_at: UTCDateTime | None = None
    created_by: str | None = None
    updated_at: UTCDateTime | None = None
    updated_by: str | None = None


class ProjectLimit(_LimitFields):
    """A vCPU limit on a project (HTCProjectLimit); ``id`` (needed by later calls) is required."""

    id: int
    project_id: str | None = None
    modifier_role: ModifierRole | None = None


ProjectLimits: TypeAlias = list[ProjectLimit]
"""A project's limits (HTCProjectLimits)."""


class WorkspaceLimit(_LimitFields):
    """The vCPU limit of a workspace (HTCWorkspaceLimit)."""
