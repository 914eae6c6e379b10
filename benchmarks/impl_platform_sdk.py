"""This SDK on the platform API v2, used the way its guide (docs/platform.md) shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio

from rescale_async import PlatformClient
from rescale_async.platform.types import File

__all__ = ["download", "run_jobs"]

UPLOADS_AT_ONCE = 16


def _client(params: dict[str, Any]) -> PlatformClient:
    return PlatformClient(params["api_key"], base_url=params["base_url"])


async def download(params: dict[str, Any]) -> dict[str, Any]:
    """(f) ``await client.files.download(file_id, dest)``: metadata, then concurrent ranges,
    hashed as they land, verified, renamed into place.
    """
    async with _client(params) as client:
        done = await client.files.download(
            params["file_id"], params["dest"], connections=params["connections"]
        )
    return {"bytes": done.size, "verified": done.verified, "sha512": done.digest}


async def run_jobs(params: dict[str, Any]) -> dict[str, Any]:
    """(i) upload every job's inputs (a few at once; the client paces the user scope), then
    ``client.jobs.run_many``: create and submit (paced by the job-submission scope), wait,
    download every output verified into ``outputs/<job id>/``.
    """
    jobs: list[list[str]] = params["inputs"]
    async with _client(params) as client:
        uploaded: dict[str, File] = {}
        slots = anyio.CapacityLimiter(UPLOADS_AT_ONCE)

        async def upload(path: str) -> None:
            async with slots:
                uploaded[path] = await client.files.upload(path)

        async with anyio.create_task_group() as group:
            for path in (path for paths in jobs for path in paths):
                group.start_soon(upload, path)
        definitions = [
            _definition(params, index, [uploaded[path].id for path in paths])
            for index, paths in enumerate(jobs)
        ]
        runs = await client.jobs.run_many(
            definitions, outputs=params["outputs"], interval=params["interval"]
        )
    return {
        "jobs": [
            {
                "id": run.job.id,
                "name": run.job.name,
                "succeeded": run.succeeded,
                "outputs": {Path(done.path).name: str(done.path) for done in run.files},
            }
            for run in runs
        ]
    }


def _definition(params: dict[str, Any], index: int, file_ids: list[str]) -> dict[str, Any]:
    return {
        "name": f"bench-{index}",
        "jobanalyses": [
            {
                "analysis": {"code": "user_included", "version": "0"},
                "command": params["commands"][index],
                "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1},
                "inputFiles": [{"id": file_id} for file_id in file_ids],
            }
        ],
    }
