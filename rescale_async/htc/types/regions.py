"""Regions: per-region settings and infrastructure health."""

from __future__ import annotations

from ._base import APIModel, UTCDateTime
from .enums import Architecture, CloudProvider, Region, ResourceStatus

__all__ = ["InfraResource", "RegionAdminSettings"]


class RegionAdminSettings(APIModel):
    """Whether a region is enabled, its weight and architectures (HTCRegionAdminSettings)."""

    region: Region | None = None
    cloud_provider: CloudProvider | None = None
    enabled: bool | None = None
    supported_architectures: list[Architecture] | None = None
    weight: float | None = None
    updated_at: UTCDateTime | None = None
    updated_by: str | None = None


class InfraResource(APIModel):
    """An infrastructure resource and its health check result (HTCInfraResource)."""

    name: str | None = None
    resource_id: str | None = None
    resource_status: ResourceStatus | None = None
