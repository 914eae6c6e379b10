"""``client.workspaces``: what each call sends, what it returns, and input refused before sending."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import ValidationError
from resource_support import api, example, sent

from rescale_async import HTCClient
from rescale_async.htc.types import (
    ClusterStatusReport,
    ComputeEnvironment,
    WorkspaceLimit,
    WorkspaceTaskRetentionPolicy,
)

Call = Callable[[HTCClient], Awaitable[object]]
WID = "04-8473942"
WORKSPACE = f"/htc/workspaces/{WID}"


async def test_dimensions() -> None:
    body = example("HTCWorkspaceDimensions", full=True)
    async with api() as (router, c):
        route = router.get(f"{WORKSPACE}/dimensions").respond(json=body)
        dimensions = await c.workspaces.dimensions(WID)
    assert route.calls.last.request.headers["Authorization"].startswith("Bearer ")
    assert dimensions == [ComputeEnvironment.model_validate(item) for item in body]
    assert dimensions[0].machine_type == "t2d-standard-16"


async def test_limits() -> None:
    body = example("HTCWorkspaceLimit", full=True)
    async with api() as (router, c):
        route = router.get(f"{WORKSPACE}/limits").respond(json=body)
        limit = await c.workspaces.limits(WID)
    assert route.call_count == 1
    assert limit == WorkspaceLimit.model_validate(body)


async def test_retention_policy_get() -> None:
    body = example("WorkspaceTaskRetentionPolicy", full=True)
    async with api() as (router, c):
        route = router.get(f"{WORKSPACE}/task-retention-policy").respond(json=body)
        policy = await c.workspaces.retention_policy.get(WID)
    assert route.call_count == 1
    assert policy == WorkspaceTaskRetentionPolicy.model_validate(body)
    assert (policy.archive_after, policy.delete_after) == (168, 24)


async def test_retention_policy_set_sends_only_the_two_durations() -> None:
    body = example("WorkspaceTaskRetentionPolicy", full=True, archiveAfter=72, deleteAfter=0)
    async with api() as (router, c):
        route = router.put(f"{WORKSPACE}/task-retention-policy").respond(201, json=body)
        policy = await c.workspaces.retention_policy.set(WID, archive_after=72, delete_after=0)
    assert route.calls.last.request.headers["Content-Type"] == "application/json"
    assert sent(route) == {"archiveAfter": 72, "deleteAfter": 0}
    assert policy == WorkspaceTaskRetentionPolicy.model_validate(body)


async def test_gcp_clusters() -> None:
    body = example("HTCClusterStatusResponse", full=True)
    async with api() as (router, c):
        route = router.get(f"/htc/gcp/clusters/{WID}").respond(json=body)
        report = await c.workspaces.gcp_clusters(WID)
    assert route.call_count == 1
    assert report == ClusterStatusReport.model_validate(body)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            lambda c: c.workspaces.retention_policy.set(WID, archive_after=-1, delete_after=0),
            ValidationError,
        ),
        (
            lambda c: c.workspaces.retention_policy.set(WID, archive_after=1, delete_after=-5),
            ValidationError,
        ),
        (lambda c: c.workspaces.dimensions(""), ValueError),
        (lambda c: c.workspaces.limits(""), ValueError),
        (lambda c: c.workspaces.retention_policy.get(""), ValueError),
        (lambda c: c.workspaces.gcp_clusters(""), ValueError),
    ],
)
async def test_bad_input_fails_before_any_request(call: Call, error: type[Exception]) -> None:
    async with api() as (router, c):
        with pytest.raises(error):
            await call(c)
        assert not router.calls
