"""Storage routes: presigned upload URLs, storage tokens and regional storage of projects
and tasks.

With ``storage_endpoint`` configured (a real S3 behind the storage gate) the credentials are
real: minted per token, scoped to the task's area (``projects/<p>/tasks/<t>/``) or the
project's shared one (``projects/<p>/shared/``), expiring after ``storage_token_lifetime``,
with ``AWS_ENDPOINT_URL`` naming the endpoint; a task's token also names its area in
``storagePath`` (as the tutorial reads it). Without it they are fictitious, as they always were.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from ....htc.types import (
    PresignedPutUrl,
    RegionalStorage,
    RegionalStore,
    StorageAccessToken,
    StorageAccessTokens,
)
from ...storage import aws_region_of, bucket_for
from ...storage._presign import presigned_put_url
from ...storage._tokens import mint
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


PRESIGNED_LIFETIME = 3600
"""Seconds a presigned upload URL stays valid."""


def _shared_area(project: ProjectRecord) -> str:
    return f"projects/{project.project_id}/shared/"


def _task_area(project: ProjectRecord, task_id: str) -> str:
    return f"projects/{project.project_id}/tasks/{task_id}/"


def _token(
    call: Call, project: ProjectRecord, region: str, task_id: str | None = None
) -> dict[str, Any]:
    """A storage token (StorageAccessToken JSON) for the project's shared area or a task's."""
    config = call.config
    if config.storage_endpoint is None or config.storage_secret is None:
        return storage_token(project, region, config, task_id)
    bucket = bucket_for(region)
    area = _shared_area(project) if task_id is None else _task_area(project, task_id)
    credentials, expires_at = mint(
        config.storage_secret, bucket=bucket, prefix=area, lifetime=config.storage_token_lifetime
    )
    credentials["AWS_ENDPOINT_URL"] = config.storage_endpoint
    body = StorageAccessToken.model_validate(
        {
            "provider": provider_of(region),
            "region": region,
            "storage_name": bucket,
            "project_id": project.project_id,
            "project_shared_storage_path": f"s3://{bucket}/{_shared_area(project)}",
            "user": f"000000000000:{config.user_id}",
            "credentials": credentials,
            "expiration": datetime.fromtimestamp(expires_at, tz=timezone.utc),
        }
    ).to_api()
    if task_id is not None:
        body["storagePath"] = f"s3://{bucket}/{area}"
    return body


def _presigned(call: Call, project: ProjectRecord, key: str, task_id: str | None) -> Response:
    config = call.config
    region = project.regions[0]
    if config.storage_endpoint is not None:
        token = _token(call, project, region, task_id)
        bucket = str(token["storageName"])
        url = presigned_put_url(
            config.storage_endpoint,
            bucket,
            key,
            token["credentials"],
            region=aws_region_of(region),
            expires_in=PRESIGNED_LIFETIME,
        )
        body = PresignedPutUrl.model_validate(
            {
                "url": url,
                "storage_name": bucket,
                "region": region,
                "expiration": expires(PRESIGNED_LIFETIME),
            }
        )
        return json_response(body.to_api())
    return _fictitious_presigned(project, key)


def _fictitious_presigned(project: ProjectRecord, key: str) -> Response:
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
    return _presigned(call, project, _shared_area(project) + _file_path(call), None)


async def task_presigned_url(call: Call) -> Response:
    task, project = _task_and_project(call)
    key = _task_area(project, task.task_id) + _file_path(call)
    return _presigned(call, project, key, task.task_id)


async def project_storage_token(call: Call) -> Response:
    project = call.project()
    return json_response(_token(call, project, _region(call, project.regions)))


async def project_storage_tokens(call: Call) -> Response:
    project = call.project()
    return _tokens(project, [_token(call, project, r) for r in project.regions])


async def task_storage_token(call: Call) -> Response:
    task, project = _task_and_project(call)
    region = _region(call, project.regions)
    return json_response(_token(call, project, region, task.task_id))


async def task_storage_tokens(call: Call) -> Response:
    task, project = _task_and_project(call)
    stores = [_token(call, project, r, task.task_id) for r in project.regions]
    return _tokens(project, stores)


async def regional_storage(call: Call) -> Response:
    task, project = _task_and_project(call)
    stores = []
    for region in project.regions:
        token = _token(call, project, region, task.task_id)
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
