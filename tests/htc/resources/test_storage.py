"""``client.storage``: what each call sends, what it returns, and input refused before sending."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from resource_support import PID, TASK, TID, api, example

from rescale_async import HTCClient, Project, Task, TaskRef
from rescale_async.htc.resources.storage import StorageTarget
from rescale_async.htc.types import (
    PresignedPutUrl,
    RegionalStorage,
    RegionStorageOption,
    StorageAccessToken,
    StorageAccessTokens,
    SupportedRegion,
)

Call = Callable[[HTCClient], Awaitable[object]]
PROJECT = f"/htc/projects/{PID}"


def targets() -> list[tuple[StorageTarget, str]]:
    """Every way of naming a project's storage, then a task's, with the path it maps to."""
    return [
        (PID, PROJECT),
        (Project.model_validate(example("HTCProject", projectId=PID)), PROJECT),
        (TaskRef(PID, TID), TASK),
        (Task.model_validate(example("HTCTask", projectId=PID, taskId=TID)), TASK),
    ]


@pytest.mark.parametrize("target", range(4))
@pytest.mark.parametrize(
    ("region", "suffix"),
    [
        (None, ""),
        (SupportedRegion.AWS_US_EAST_2, "/AWS_US_EAST_2"),
        ("GCP_US_CENTRAL_1", "/GCP_US_CENTRAL_1"),
    ],
)
async def test_token(target: int, region: str | None, suffix: str) -> None:
    holder, scope = targets()[target]
    body = example("StorageAccessToken", full=True)
    async with api() as (router, c):
        route = router.get(f"{scope}/storage/token{suffix}").respond(json=body)
        token = await c.storage.token(holder, region=region)
    request = route.calls.last.request
    assert (request.method, request.url.query) == ("GET", b"")
    assert request.headers["Authorization"].startswith("Bearer ")
    assert token == StorageAccessToken.model_validate(body)
    assert token.project_shared_storage_path == body["projectSharedStoragePath"]


@pytest.mark.parametrize("target", range(4))
async def test_tokens(target: int) -> None:
    holder, scope = targets()[target]
    body = example("StorageAccessTokens", full=True)
    async with api() as (router, c):
        route = router.get(f"{scope}/storage/tokens").respond(json=body)
        tokens = await c.storage.tokens(holder)
    assert route.call_count == 1
    assert tokens == StorageAccessTokens.model_validate(body)
    assert tokens.region_stores is not None
    assert len(tokens.region_stores) == 1


@pytest.mark.parametrize("target", range(4))
async def test_presigned_url(target: int) -> None:
    holder, scope = targets()[target]
    body = example("PresignedPutUrlResponse", full=True)
    async with api() as (router, c):
        route = router.get(f"{scope}/storage/presigned-url").respond(json=body)
        url = await c.storage.presigned_url(holder, "inputs/run 1/data.csv")
    assert route.calls.last.request.url.query == b"filePath=inputs%2Frun+1%2Fdata.csv"
    assert url == PresignedPutUrl.model_validate(body)
    assert url.url == "https://presigned-put-url/my-storage"


async def test_regional() -> None:
    body = example("RegionalStorageResponse", full=True)
    async with api() as (router, c):
        route = router.get(f"{TASK}/storage/regional-storage").respond(json=body)
        storage = await c.storage.regional(TaskRef(PID, TID))
    assert route.call_count == 1
    assert storage == RegionalStorage.model_validate(body)


async def test_options() -> None:
    body = [example("RegionStorageOption", full=True)]
    async with api() as (router, c):
        route = router.get("/htc/storage").respond(json=body)
        options = await c.storage.options()
    assert route.call_count == 1
    assert options == [RegionStorageOption.model_validate(body[0])]


async def test_region() -> None:
    body = example("RegionStorageOption", full=True)
    async with api() as (router, c):
        route = router.get("/htc/storage/region/AWS_AP_SOUTHEAST_1").respond(json=body)
        option = await c.storage.region(SupportedRegion.AWS_AP_SOUTHEAST_1)
    assert route.call_count == 1
    assert option == RegionStorageOption.model_validate(body)


async def test_credentials_stay_out_of_reprs() -> None:
    secret = "secret-key-12345789"  # the spec's example AWS_SECRET_ACCESS_KEY
    regional = {"regionalStores": [{"credentials": {"AWS_SECRET_ACCESS_KEY": secret}}]}
    async with api() as (router, c):
        router.get(f"{PROJECT}/storage/tokens").respond(json=example("StorageAccessTokens"))
        router.get(f"{TASK}/storage/regional-storage").respond(json=regional)
        tokens = await c.storage.tokens(PID)
        stores = await c.storage.regional(TaskRef(PID, TID))
    assert secret not in f"{tokens!r} {tokens} {stores!r} {stores}"
    assert tokens.region_stores is not None
    assert stores.regional_stores is not None
    for credentials in (tokens.region_stores[0].credentials, stores.regional_stores[0].credentials):
        assert credentials is not None
        assert credentials["AWS_SECRET_ACCESS_KEY"].get_secret_value() == secret


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.storage.presigned_url(PID, ""), ValueError, "file_path cannot be empty"),
        (lambda c: c.storage.token(PID, region=""), ValueError, "cannot be empty"),
        (
            lambda c: c.storage.token(TaskRef(PID, ""), region="AWS_US_EAST_2"),
            ValueError,
            "no task_id",
        ),
        (lambda c: c.storage.tokens(""), ValueError, "cannot be empty"),
        (lambda c: c.storage.regional(PID), TypeError, "expected a Task"),
        (lambda c: c.storage.region(""), ValueError, "cannot be empty"),
    ],
)
async def test_bad_input_fails_before_any_request(
    call: Call, error: type[Exception], match: str
) -> None:
    async with api() as (router, c):
        with pytest.raises(error, match=match):
            await call(c)
        assert not router.calls
