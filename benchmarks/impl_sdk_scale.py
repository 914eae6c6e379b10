"""(e'): this SDK watching 100,000 jobs in 1,000 tasks (issue 11, item 8).

The watch is the one behind ``client.jobs.wait``, run cycle by cycle so that each cycle's
requests and the watcher's own memory (tracemalloc, once every job is tracked) can be read.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

import anyio

from rescale_async import HTCClient, JobBatch, JobSpec, RateLimit
from rescale_async.htc.orchestration._watch import Watcher, WatchTarget

__all__ = ["watch_scale"]


async def _submit_all(client: HTCClient, params: dict[str, Any]) -> list[JobBatch]:
    """The tasks, created and submitted to all at once (the client's rate limit paces them)."""
    spec = JobSpec(image=params["image"], commands=params["commands"])
    batches: list[JobBatch] = []

    async def one(index: int) -> None:
        task = await client.tasks.create(params["project_id"], name=f"scale-{index}")
        batches.append(await client.jobs.submit(task, spec, count=params["jobs_per_task"]))

    async with anyio.create_task_group() as group:
        for index in range(params["tasks"]):
            group.start_soon(one, index)
    return batches


def _kept_bytes(baseline: int) -> int:
    """What is still allocated since ``baseline``, garbage collected first."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0] - baseline


async def _watch(watcher: Watcher, interval: float, baseline: int) -> dict[str, Any]:
    """Cycles ``interval`` apart (start to start) until every job has ended, as ``wait`` runs
    them; per cycle: tasks polled, requests, and the memory the watcher keeps.
    """
    cycles: list[dict[str, Any]] = []
    kept = 0
    while not watcher.finished:
        started = anyio.current_time()
        polled = sum(not state.finished for state in watcher._states)
        before = watcher.requests
        events = len(await watcher.cycle())
        requests = watcher.requests - before
        cycles.append(
            {"tasks": polled, "requests": requests, "pages": requests - polled, "events": events}
        )
        kept = max(kept, _kept_bytes(baseline))
        if not watcher.finished:
            await anyio.sleep(max(0.0, started + interval - anyio.current_time()))
    return {"cycles": cycles, "kept_bytes": kept}


async def watch_scale(params: dict[str, Any]) -> dict[str, Any]:
    limit = RateLimit(params["client_rate"], burst=params["client_burst"])
    client = HTCClient(api_key=params["api_key"], base_url=params["base_url"], rate_limit=limit)
    async with client:
        batches = await _submit_all(client, params)
        targets = [WatchTarget(batch.task, batch.job_ids) for batch in batches]
        gc.collect()
        tracemalloc.start()
        baseline = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        watcher = Watcher(client.jobs, client.tasks, targets, ledger=None)
        watched = await _watch(watcher, params["interval"], baseline)
        watch_seconds = time.perf_counter() - start
        tracemalloc.stop()
        result = watcher.result()
    jobs = params["tasks"] * params["jobs_per_task"]
    accounted = {ref.job_id for ref in result.succeeded} | {f.job.job_id for f in result.failed}
    return {
        "task_ids": [batch.task.task_id for batch in batches],
        "counts": {str(status): n for status, n in result.counts.items()},
        "accounted": len(accounted),
        "jobs": jobs,
        "watch_seconds": watch_seconds,
        "watch_requests": watcher.requests,
        "cycles": watched["cycles"],
        "bytes_per_job": watched["kept_bytes"] / jobs,
    }
