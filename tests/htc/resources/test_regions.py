"""``client.regions``: what each call sends, what it returns, and input refused before sending."""

from __future__ import annotations

from typing import Any

import pytest
from resource_support import api, example

from rescale_async.htc.types import CloudProvider, RegionAdminSettings, SupportedRegion


@pytest.mark.parametrize(
    ("filters", "query"),
    [
        ({}, b""),
        ({"cloud_provider": CloudProvider.GCP}, b"cloudProvider=GCP"),
        ({"cloud_provider": "AWS", "enabled": True}, b"cloudProvider=AWS&enabled=true"),
        ({"enabled": False}, b"enabled=false"),
    ],
)
async def test_list(filters: dict[str, Any], query: bytes) -> None:
    # The published schema names one HTCInfraResource; the operation lists region settings.
    body = [example("HTCRegionAdminSettings", full=True), {"region": "GCP_US_CENTRAL_1"}]
    async with api() as (router, c):
        route = router.get("/htc/regions").respond(json=body)
        regions = await c.regions.list(**filters)
    request = route.calls.last.request
    assert (request.method, request.url.query) == ("GET", query)
    assert regions == [RegionAdminSettings.model_validate(item) for item in body]
    assert regions[0].weight == 4


async def test_get() -> None:
    body = example("HTCRegionAdminSettings", full=True)
    async with api() as (router, c):
        route = router.get("/htc/regions/AWS_AP_SOUTHEAST_1").respond(json=body)
        region = await c.regions.get(SupportedRegion.AWS_AP_SOUTHEAST_1)
    assert route.calls.last.request.headers["Authorization"].startswith("Bearer ")
    assert region == RegionAdminSettings.model_validate(body)
    assert region.enabled is True


async def test_bad_input_fails_before_any_request() -> None:
    async with api() as (router, c):
        with pytest.raises(ValueError, match="cannot be empty"):
            await c.regions.get("")
        assert not router.calls
