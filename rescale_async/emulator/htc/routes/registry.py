"""Container registry routes: a project's images, repositories and registry token.

With a real registry configured (``registry_address``), the images are those pushed there:
listing the project's images, or asking for the status of one, is when the emulator sees
them (READY ``registry_pending`` seconds later).
"""

from __future__ import annotations

import re

from starlette.responses import PlainTextResponse, Response

from ....htc.types import ImageList, ImageStatus, Repository
from .._errors import ApiError, bad_request
from .._state import normalize_image
from ._base import PROJECT, Call, RouteSpec
from ._common import json_response

__all__ = ["routes"]

_REGISTRY = PROJECT + "/container-registry"
_REPO_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")


def routes() -> list[RouteSpec]:
    """The container registry routes."""
    return [
        RouteSpec("GET", _REGISTRY + "/images", list_images, "bearer"),
        RouteSpec("GET", _REGISTRY + "/images/{imageName:path}", get_image, "bearer"),
        RouteSpec("POST", _REGISTRY + "/repo/{repoName:path}", create_repo, "bearer"),
        RouteSpec("GET", _REGISTRY + "/token", registry_token, "bearer"),
    ]


async def list_images(call: Call) -> Response:
    project = call.project()
    registry = call.state.registry
    if registry is not None:
        for image in await registry.images(project.project_id, project.registry_token):
            call.state.saw_pushed_image(project, image)
    body = ImageList(
        container_registry=call.state.registry_url(project.project_id),
        images=sorted(project.images),
    )
    return json_response(body.to_api())


async def get_image(call: Call) -> Response:
    """READY or PENDING; 404 IMAGE_UNAVAILABLE (both error body shapes) when unknown."""
    project = call.project()
    name = call.path("imageName")
    status = call.state.image_status(project, name)
    registry = call.state.registry
    if status is None and registry is not None:
        full = normalize_image(project, call.state.registry_url(project.project_id), name)
        if await registry.has_image(project.project_id, full, project.registry_token):
            call.state.saw_pushed_image(project, full)
            status = call.state.image_status(project, full)
    if status is None:
        message = (
            f"Image {name} is unavailable. Please check the image name. If the image was "
            "pushed recently, try again at a later time"
        )
        raise ApiError(
            404,
            {
                "error": "IMAGE_UNAVAILABLE",
                "errorType": "IMAGE_UNAVAILABLE",
                "errorDescription": message,
                "message": message,
            },
        )
    return json_response(ImageStatus.model_validate({"status": status}).to_api())


async def create_repo(call: Call) -> Response:
    """Create repository ``repoName`` (``successfullyCreated`` false when it existed)."""
    project = call.project()
    name = call.path("repoName")
    if not _REPO_NAME.fullmatch(name):
        raise bad_request(
            "INVALID_REPOSITORY_NAME",
            f"repoName must match the regex '{_REPO_NAME.pattern}', got {name!r}",
        )
    created = name not in project.repositories
    if created:
        project.repositories.append(name)
        call.state.touch_project(project)
    config = call.config
    body = Repository(
        repository_name=name,
        registry_uri=call.state.registry_url(project.project_id) + name,
        successfully_created=created,
        project_id=project.project_id,
        workspace_id=config.workspace_id,
        created_by=config.user_id,
    )
    return json_response(body.to_api())


async def registry_token(call: Call) -> Response:
    return PlainTextResponse(call.project().registry_token)
