"""Workspace-wide routes: regions, storage options, dimensions, limits, retention, metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import PlainTextResponse, Response

from ....htc.types import (
    CloudProvider,
    RegionAdminSettings,
    RegionStorageOption,
    SupportedRegion,
    WorkspaceLimit,
    WorkspaceTaskRetentionPolicy,
)
from .._errors import not_found
from .._records import now
from .._state import require_workspace
from .._views import provider_of, status_counts, workspace_dimensions
from ._base import Call, RouteSpec
from ._common import RetentionUpdate, choice, json_response, read_body, validate

__all__ = ["routes"]

_SUPPORTED_REGIONS = {str(r) for r in SupportedRegion}
_WORKSPACE = "/htc/workspaces/{workspaceId}"


def routes() -> list[RouteSpec]:
    """The workspace-wide routes."""
    return [
        RouteSpec("GET", "/htc/gcp/clusters/{workspaceId}", gcp_clusters, "bearer"),
        RouteSpec("GET", "/htc/metrics", metrics, "bearer"),
        RouteSpec("GET", "/htc/regions", regions, "bearer"),
        RouteSpec("GET", "/htc/regions/{region}", region, "bearer"),
        RouteSpec("GET", "/htc/storage", storage_options, "bearer"),
        RouteSpec("GET", "/htc/storage/region/{region}", storage_option, "bearer"),
        RouteSpec("GET", _WORKSPACE + "/dimensions", dimensions, "bearer"),
        RouteSpec("GET", _WORKSPACE + "/limits", limits, "bearer"),
        RouteSpec("GET", _WORKSPACE + "/task-retention-policy", get_retention, "bearer"),
        RouteSpec("PUT", _WORKSPACE + "/task-retention-policy", put_retention, "bearer"),
    ]


def _workspace_created(call: Call) -> datetime:
    """When the workspace came to be: when its first project was created."""
    state = call.state
    order = state.project_order
    return state.projects[order[0]].created_at if order else now()


def _region_settings(call: Call, region: str) -> dict[str, Any]:
    architectures = ["X86", "AARCH64"] if region.startswith("AWS") else ["X86"]
    return RegionAdminSettings.model_validate(
        {
            "region": region,
            "cloud_provider": provider_of(region),
            "enabled": region in call.config.regions,
            "supported_architectures": architectures,
            "weight": 1.0,
            "updated_at": _workspace_created(call),
            "updated_by": call.config.user_id,
        }
    ).to_api()


def _storage_option(region: str) -> dict[str, Any]:
    return RegionStorageOption.model_validate(
        {
            "provider": provider_of(region),
            "region": region,
            "storage_name": f"emulator-storage-{region.lower().replace('_', '-')}",
        }
    ).to_api()


async def gcp_clusters(call: Call) -> Response:
    require_workspace(call.state, call.path("workspaceId"))
    clusters = [
        {
            "name": f"htc-{region.lower().replace('_', '-')}",
            "region": region,
            "status": "RUNNING",
            "version": "1.30",
            "subnetwork": "default",
            "autoscaling": "BALANCED",
            "nodePools": [],
        }
        for region in call.config.regions
        if region.startswith("GCP")
    ]
    return json_response({"gcpProjectId": "emulator-gcp-project", "clusters": clusters})


async def metrics(call: Call) -> Response:
    """Request counters and job gauges in the Prometheus text format."""
    lines = [
        "# HELP htc_emulator_requests_total Requests received, by endpoint.",
        "# TYPE htc_emulator_requests_total counter",
    ]
    for endpoint, count in sorted(call.parts.counters.requests.items()):
        lines.append(f'htc_emulator_requests_total{{endpoint="{endpoint}"}} {count}')
    lines += [
        "# HELP htc_emulator_jobs Jobs, by status (as the API shows them).",
        "# TYPE htc_emulator_jobs gauge",
    ]
    for status, count in sorted(status_counts(call.state.jobs.values()).items()):
        lines.append(f'htc_emulator_jobs{{status="{status}"}} {count}')
    lines += [
        "# HELP htc_emulator_job_processes Job processes running now.",
        "# TYPE htc_emulator_job_processes gauge",
        f"htc_emulator_job_processes {call.runner.processes}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n")


async def regions(call: Call) -> Response:
    """Every region's settings. The published schema names one HTCInfraResource, but the
    operation ("region settings for all regions", filtered by ``cloudProvider`` and
    ``enabled``) returns a list of HTCRegionAdminSettings, which is what is sent.
    """
    request = call.request
    provider = choice(request, "cloudProvider", (str(p) for p in CloudProvider), None)
    enabled = choice(request, "enabled", ("true", "false"), None)
    settings = [_region_settings(call, str(region)) for region in SupportedRegion]
    chosen = [
        item
        for item in settings
        if (provider is None or item["cloudProvider"] == provider)
        and (enabled is None or item["enabled"] == (enabled == "true"))
    ]
    return json_response(chosen)


async def region(call: Call) -> Response:
    name = call.path("region")
    if name not in _SUPPORTED_REGIONS:
        raise not_found(f"Region {name} not found")
    return json_response(_region_settings(call, name))


async def storage_options(call: Call) -> Response:
    return json_response([_storage_option(name) for name in call.config.regions])


async def storage_option(call: Call) -> Response:
    name = call.path("region")
    if name not in call.config.regions:
        raise not_found(f"No storage in region {name}")
    return json_response(_storage_option(name))


async def dimensions(call: Call) -> Response:
    require_workspace(call.state, call.path("workspaceId"))
    return json_response(workspace_dimensions(call.config.regions))


async def limits(call: Call) -> Response:
    require_workspace(call.state, call.path("workspaceId"))
    created = _workspace_created(call)
    c = call.config
    body = WorkspaceLimit.model_validate(
        {
            "v_cpus": c.workspace_vcpu_limit,
            "workspace_id": c.workspace_id,
            "created_at": created,
            "created_by": c.user_id,
            "updated_at": created,
            "updated_by": c.user_id,
        }
    )
    return json_response(body.to_api())


async def get_retention(call: Call) -> Response:
    require_workspace(call.state, call.path("workspaceId"))
    policy = WorkspaceTaskRetentionPolicy.model_validate(call.state.workspace_retention)
    return json_response(policy.to_api())


async def put_retention(call: Call) -> Response:
    require_workspace(call.state, call.path("workspaceId"))
    update = validate(RetentionUpdate, await read_body(call.request), "task retention policy")
    call.state.set_workspace_retention(update.archive_after, update.delete_after)
    policy = WorkspaceTaskRetentionPolicy.model_validate(call.state.workspace_retention)
    return json_response(policy.to_api(), 201)
