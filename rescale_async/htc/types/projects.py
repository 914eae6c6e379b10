"""Projects: the top-level container of tasks, images, storage and limits."""

from __future__ import annotations

from pydantic import field_validator

from ._base import APIModel, ListResponse, RequestModel, UTCDateTime, check_strictly
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

    compute_settings: RegionComputeSettings | None = None
    storage_settings: RegionStorageSettings | None = None


class _RegionSettingsSpec(RequestModel):
    """RegionSettings as a request must send it: both halves, nothing else."""

    compute_settings: dict[str, object]
    storage_settings: dict[str, object]


class ProjectCreate(RequestModel):
    """The body of ``POST /htc/projects`` (HTCProject without its read-only fields)."""

    project_name: str
    project_description: str
    regions: list[Region] | None = None
    region_settings: list[RegionSettings] | None = None

    @field_validator("region_settings", mode="before")
    @classmethod
    def _complete_region_settings(cls, settings: object) -> object:
        return check_strictly(_RegionSettingsSpec, settings, "regionSettings")


class Project(APIModel):
    """A project as the API returns it (HTCProject); ``project_id`` is all it must carry."""

    project_id: str
    project_name: str | None = None
    project_description: str | None = None
    regions: list[Region] | None = None
    region_settings: list[RegionSettings] | None = None
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
