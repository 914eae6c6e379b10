"""``client.images``: what each call sends, what it returns, and input refused before sending."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import SecretStr
from resource_support import PID, TID, api, example

from rescale_async import HTCClient, ImageState, NotFoundError, Project, TaskRef
from rescale_async.htc.types import ImageList, Repository

REGISTRY = f"/htc/projects/{PID}/container-registry"
Call = Callable[[HTCClient], Awaitable[object]]


async def test_list() -> None:
    body = example("HTCImages", full=True)
    project = Project.model_validate(example("HTCProject", projectId=PID))
    async with api() as (router, c):
        route = router.get(f"{REGISTRY}/images").respond(json=body)
        images = await c.images.list(project)
    request = route.calls.last.request
    assert (request.method, request.url.query, request.content) == ("GET", b"", b"")
    assert request.headers["Authorization"].startswith("Bearer ")
    assert images == ImageList(container_registry=body["containerRegistry"], images=body["images"])
    assert images.container_registry is not None
    assert images.container_registry.endswith("/")


async def test_status_escapes_the_image_name() -> None:
    async with api() as (router, c):
        route = router.get(f"{REGISTRY}/images/team%2Fapp:v1.2").respond(
            json=example("HTCImageStatus", full=True)
        )
        status = await c.images.status(TaskRef(PID, TID), "team/app:v1.2")
    assert route.calls.last.request.url.raw_path.endswith(b"/images/team%2Fapp:v1.2")
    assert status.status is ImageState.READY
    assert status.is_ready


async def test_status_of_a_missing_image_is_not_found() -> None:
    missing = {"error": "IMAGE_UNAVAILABLE", "message": "Image app:v9 is unavailable."}
    async with api() as (router, c):
        router.get(f"{REGISTRY}/images/app:v9").respond(404, json=missing)
        with pytest.raises(NotFoundError, match="is unavailable"):
            await c.images.status(PID, "app:v9")


@pytest.mark.parametrize("created", [True, False])
async def test_create_repo_is_idempotent(created: bool) -> None:
    body = example("HTCRepository", full=True, successfullyCreated=created)
    async with api() as (router, c):
        route = router.post(f"{REGISTRY}/repo/team%2Fapp").respond(json=body)
        repo = await c.images.create_repo(PID, "team/app")
    request = route.calls.last.request
    assert (request.method, request.content) == ("POST", b"")
    assert repo == Repository.model_validate(body)
    assert repo.successfully_created is created
    assert repo.registry_uri == body["registryURI"]


async def test_registry_token_is_a_secret() -> None:
    password = "registry-token-12345"  # the spec's example
    async with api() as (router, c):
        route = router.get(f"{REGISTRY}/token").respond(text=f"{password}\n")
        token = await c.images.registry_token(PID)
    assert route.calls.last.request.headers["Accept"] == "text/plain"
    assert isinstance(token, SecretStr)
    assert token.get_secret_value() == password
    assert password not in f"{token!r} {token}"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.images.status(PID, "App:latest"), "not a valid image name"),
        (lambda c: c.images.status(PID, "app:"), "not a valid image name"),
        (lambda c: c.images.create_repo(PID, "app:latest"), "not a valid repository name"),
        (lambda c: c.images.create_repo(PID, "-app"), "not a valid repository name"),
        (lambda c: c.images.list(""), "cannot be empty"),
        (lambda c: c.images.registry_token(TaskRef("", TID)), "has no project_id"),
    ],
)
async def test_bad_input_fails_before_any_request(call: Call, match: str) -> None:
    async with api() as (router, c):
        with pytest.raises(ValueError, match=match):
            await call(c)
        assert not router.calls
