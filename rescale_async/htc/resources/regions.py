"""``client.regions``: the regions a workspace can run jobs in, and their settings."""

from __future__ import annotations

import builtins
from typing import TypeAlias

from ..types import CloudProvider, RegionAdminSettings, SupportedRegion
from ._base import APIResource, segment

__all__ = ["RegionLike", "Regions"]

RegionLike: TypeAlias = SupportedRegion | str
"""A region name, e.g. ``SupportedRegion.AWS_US_EAST_2`` or ``"AWS_US_EAST_2"``."""


class Regions(APIResource):
    """Per-region settings: enabled or not, cloud provider, weight, architectures."""

    async def list(
        self, *, cloud_provider: CloudProvider | str | None = None, enabled: bool | None = None
    ) -> builtins.list[RegionAdminSettings]:
        """The settings of every region, optionally only one provider's or only enabled ones.

        ``GET /htc/regions`` (the published schema names one HTCInfraResource; the operation
        describes, and filters by the fields of, a list of HTCRegionAdminSettings)
        """
        return await self._call(
            "GET",
            "htc/regions",
            builtins.list[RegionAdminSettings],
            params={"cloudProvider": cloud_provider, "enabled": enabled},
        )

    async def get(self, region: RegionLike) -> RegionAdminSettings:
        """The settings of one region. ``GET /htc/regions/{region}``"""
        return await self._call("GET", f"htc/regions/{segment(region)}", RegionAdminSettings)
