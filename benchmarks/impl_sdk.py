"""This SDK, used the way its documentation shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

import anyio

from rescale_async import HTCClient, JobRef, JobSpec, RateLimit, TaskRef

from ._measure import Unavailable

__all__ = ["list_jobs", "orchestrate", "save_logs", "statuses", "submit"]


def _client(params: dict[str, Any], **options: Any) -> HTCClient:
    return HTCClient(api_key=params["api_key"], base_url=params["base_url"], **options)


def _task(params: dict[str, Any], task_id: str | None = None) -> TaskRef:
    return TaskRef(params["project_id"], task_id or params["task_id"])


def _method(client: HTCClient, name: str) -> Callable[..., Any]:
    """``client.jobs.<name>``, looked up at run time: the benchmark also runs on an SDK that
    does not have it yet (and says so in the table).
    """
    method = getattr(client.jobs, name, None)
    if method is None:
        raise Unavailable(f"client.jobs.{name} is not available yet")
    return cast("Callable[..., Any]", method)


def _job_ids(batch: Any) -> list[str]:
    """The job ids a submission handed back (``JobBatch.job_ids``)."""
    ids = getattr(batch, "job_ids", None)
    if ids is None:
        ids = [getattr(job, "job_id", job) for job in batch]
    return [str(job_id) for job_id in ids]


async def list_jobs(params: dict[str, Any]) -> dict[str, Any]:
    async with _client(params) as client:
        jobs = [j async for j in client.jobs.list(_task(params))]
    return {"items": len(jobs), "distinct": len({j.job_id for j in jobs})}


async def statuses(params: dict[str, Any]) -> dict[str, Any]:
    ids: list[str] = params["job_ids"]
    async with _client(params) as client:
        jobs = await _method(client, "get_many")(_task(params), ids)
    found = {j.job_id: j.status for j in (jobs.values() if isinstance(jobs, dict) else jobs)}
    return {"items": len(found), "ids_match": set(found) == set(ids)}


async def save_logs(params: dict[str, Any]) -> dict[str, Any]:
    job = JobRef(params["project_id"], params["task_id"], params["job_id"])
    async with _client(params) as client:
        written = await client.jobs.save_logs(job, params["path"])
    return {"lines": written}


async def submit(params: dict[str, Any]) -> dict[str, Any]:
    spec = JobSpec(image=params["image"], commands=params["commands"])
    batches: list[Any] = []
    async with _client(params) as client:
        submit_ = _method(client, "submit")

        async def one() -> None:
            batches.append(await submit_(_task(params), spec, count=params["count"]))

        async with anyio.create_task_group() as group:
            for _ in range(params["batches"]):
                group.start_soon(one)
    ids = [job_id for batch in batches for job_id in _job_ids(batch)]
    return {"jobs": len(ids), "distinct": len(set(ids))}


async def orchestrate(params: dict[str, Any]) -> dict[str, Any]:
    """Create the tasks, submit a batch to each, wait for all of them under a client-side
    rate limit below the server's.
    """
    spec = JobSpec(image=params["image"], commands=params["commands"])
    limit = RateLimit(params["client_rate"], burst=params["client_burst"])
    batches: list[Any] = []
    task_ids: list[str] = []
    async with _client(params, rate_limit=limit) as client:
        submit_ = _method(client, "submit")
        wait = _method(client, "wait")
        project = params["project_id"]

        async def one(index: int) -> None:
            task = await client.tasks.create(project, name=f"sdk-{index}")
            task_ids.append(task.task_id)
            batches.append(await submit_(task, spec, count=params["jobs_per_task"]))

        async with anyio.create_task_group() as group:
            for index in range(params["tasks"]):
                group.start_soon(one, index)
        submitted_at = time.time()
        result = await wait(*batches, interval=params["interval"])
        returned_at = time.time()
    counts = {str(getattr(s, "value", s)): n for s, n in result.counts.items()}
    accounted = {str(ref.job_id) for ref in result.succeeded} | {
        str(failure.job.job_id) for failure in result.failed
    }
    return {
        "returned_at": returned_at,
        "submitted_at": submitted_at,
        "task_ids": task_ids,
        "accounted": len(accounted),
        "counts": counts,
        "jobs": params["tasks"] * params["jobs_per_task"],
    }
