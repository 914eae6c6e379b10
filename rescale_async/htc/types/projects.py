"""Projects: the top-level container of tasks, images, storage and limits."""

from __future__ import annotations

from ._base import APIModel, ListResponse, RequestModel, UTCDateTime
from .enums import Region

__all__ = [
    "Project",
    "ProjectCreate",
    "ProjectList",
    "ProjectUpdate",
    "RegionComputeSettings",
    "RegionSettings",
    "RegionStorageSettings",
]


class RegionComputeSettings(APIModel):
    """Where a project's jobs run (HTCRegionComputeSettings)."""

    compute_region: Region | None = None


class RegionStorageSettings(APIModel):
    """Where a project's files are stored (HTCRegionStorageSettings)."""

    storage_region: Region | None = None


class RegionSettings(APIModel):
    """A compute region paired with the storage region it uses (HTCRegionSettings)."""

    compute_settings: RegionComputeSettings
    storage_settings: RegionStorageSettings


class _ProjectFields(APIModel):
    project_name: str
    project_description: str
    regions: list[Region] | None = None
    region_settings: list[RegionSettings] | None = None


class ProjectCreate(_ProjectFields, RequestModel):
    """The body of ``POST /htc/projects`` (HTCProject without its read-only fields)."""


class Project(_ProjectFields):
    """A project as the API returns it (HTCProject)."""

    project_id: str
    workspace_id: str | None = None
    organization_code: str | None = None
    container_registry: str | None = None
    project_folder_path: str | None = None
    repositories: list[str] | None = None
    created_at: UTCDateTime | None = None
    created_by: str | None = None


class ProjectUpdate(RequestModel):
    """The body of ``PATCH /htc/projects/{projectId}``: the regions to allow (HTCProjectUpdate)."""

    regions: list[Region] | None = None


class ProjectList(ListResponse[Project]):
    """One page of projects (HTCProjectsResponse)."""
