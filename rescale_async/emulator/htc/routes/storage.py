"""Storage routes: presigned upload URLs, storage tokens and regional storage of projects
and tasks.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from ....htc.types import PresignedPutUrl, RegionalStorage, RegionalStore, StorageAccessTokens
from .._errors import bad_request, not_found
from .._records import ProjectRecord, TaskRecord
from .._views import expires, provider_of, storage_token
from ._base import PROJECT, TASK, Call, RouteSpec
from ._common import json_response

__all__ = ["routes"]


def routes() -> list[RouteSpec]:
    """The storage routes."""
    return [
        RouteSpec("GET", PROJECT + "/storage/presigned-url", project_presigned_url, "bearer"),
        RouteSpec("GET", PROJECT + "/storage/token", project_storage_token, "bearer"),
        RouteSpec("GET", PROJECT + "/storage/token/{region}", project_storage_token, "bearer"),
        RouteSpec("GET", PROJECT + "/storage/tokens", project_storage_tokens, "bearer"),
        RouteSpec("GET", TASK + "/storage/presigned-url", task_presigned_url, "bearer"),
        RouteSpec("GET", TASK + "/storage/regional-storage", regional_storage, "bearer"),
        RouteSpec("GET", TASK + "/storage/token", task_storage_token, "bearer"),
        RouteSpec("GET", TASK + "/storage/token/{region}", task_storage_token, "bearer"),
        RouteSpec("GET", TASK + "/storage/tokens", task_storage_tokens, "bearer"),
    ]


def _region(call: Call, allowed: list[str]) -> str:
    """The ``{region}`` of the path (the first allowed one when the path has none); else 404."""
    region = call.request.path_params.get("region")
    if region is None:
        return allowed[0]
    if region not in allowed:
        raise not_found(f"No storage for region {region} in this project")
    return str(region)


def _file_path(call: Call) -> str:
    file_path = call.request.query_params.get("filePath", "")
    if not file_path:
        raise bad_request("INVALID_PARAMETER", "filePath is required")
    return file_path.lstrip("/")


def _presigned(project: ProjectRecord, key: str) -> Response:
    region = project.regions[0]
    bucket = f"emulator-storage-{region.lower().replace('_', '-')}"
    signature = uuid.uuid4().hex
    url = (
        f"https://{bucket}.s3.amazonaws.com/{quote(key)}"
        f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature={signature}"
    )
    body = PresignedPutUrl.model_validate(
        {
            "url": url,
            "storage_name": bucket,
            "region": region,
            "expiration": expires(3600),
        }
    )
    return json_response(body.to_api())


def _task_and_project(call: Call) -> tuple[TaskRecord, ProjectRecord]:
    task = call.task()
    return task, call.state.project(task.project_id)


def _tokens(project: ProjectRecord, stores: list[dict[str, Any]]) -> Response:
    body = StorageAccessTokens.model_validate(
        {"default_region": project.regions[0], "region_stores": stores}
    )
    return json_response(body.to_api())


async def project_presigned_url(call: Call) -> Response:
    project = call.project()
    key = f"projects/{project.project_id}/shared/{_file_path(call)}"
    return _presigned(project, key)


async def task_presigned_url(call: Call) -> Response:
    task, project = _task_and_project(call)
    key = f"projects/{project.project_id}/tasks/{task.task_id}/{_file_path(call)}"
    return _presigned(project, key)


async def project_storage_token(call: Call) -> Response:
    project = call.project()
    return json_response(storage_token(project, _region(call, project.regions), call.config))


async def project_storage_tokens(call: Call) -> Response:
    project = call.project()
    return _tokens(project, [storage_token(project, r, call.config) for r in project.regions])


async def task_storage_token(call: Call) -> Response:
    task, project = _task_and_project(call)
    region = _region(call, project.regions)
    return json_response(storage_token(project, region, call.config, task.task_id))


async def task_storage_tokens(call: Call) -> Response:
    task, project = _task_and_project(call)
    stores = [storage_token(project, r, call.config, task.task_id) for r in project.regions]
    return _tokens(project, stores)


async def regional_storage(call: Call) -> Response:
    task, project = _task_and_project(call)
    stores = []
    for region in project.regions:
        token = storage_token(project, region, call.config, task.task_id)
        bucket = token["storageName"]
        stores.append(
            RegionalStore.model_validate(
                {
                    "provider": provider_of(region),
                    "region": region,
                    "project_path": f"s3://{bucket}/projects/{project.project_id}/shared/",
                    "task_path": f"s3://{bucket}/projects/{project.project_id}/tasks/"
                    f"{task.task_id}/",
                    "credentials": token["credentials"],
                }
            )
        )
    body = RegionalStorage.model_validate(
        {"rescale_region": project.regions[0], "regional_stores": stores}
    )
    return json_response(body.to_api())
