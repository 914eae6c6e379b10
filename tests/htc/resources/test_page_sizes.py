"""Cheap defaults (issue 11): a listing asks for the largest page the service accepts unless
told otherwise (job logs 10,000, every other listing 1,000), and a larger ``page_size`` is
refused with a clear error before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from resource_support import JID, PID, TASK, TID, api, page, query

from rescale_async import HTCClient
from rescale_async._core.pagination import AsyncPaginator
from rescale_async.emulator import Emulator
from rescale_async.htc.types import JobDefinition, JobRef, JobSubmitRequest, TaskRef

TASK_REF = TaskRef(PID, TID)
JOB_REF = JobRef(PID, TID, JID)

Listing = Callable[..., AsyncPaginator[Any]]

LISTINGS: dict[str, tuple[Callable[[HTCClient], Listing], str, int]] = {
    "projects": (lambda c: c.projects.list, "/htc/projects", 1000),
    "tasks": (lambda c: lambda **kw: c.tasks.list(PID, **kw), f"/htc/projects/{PID}/tasks", 1000),
    "jobs": (lambda c: lambda **kw: c.jobs.list(TASK_REF, **kw), f"{TASK}/jobs", 1000),
    "job events": (
        lambda c: lambda **kw: c.jobs.events(JOB_REF, **kw),
        f"{TASK}/jobs/{JID}/events",
        1000,
    ),
    "group summaries": (
        lambda c: lambda **kw: c.tasks.group_summaries(TASK_REF, **kw),
        f"{TASK}/group-summary-statistics",
        1000,
    ),
    "groups": (lambda c: lambda **kw: c.tasks.groups(TASK_REF, **kw), f"{TASK}/groups", 1000),
    "logs": (lambda c: lambda **kw: c.jobs.logs(JOB_REF, **kw), f"{TASK}/jobs/{JID}/logs", 10000),
}


@pytest.mark.parametrize("listing", sorted(LISTINGS))
async def test_without_page_size_the_largest_page_is_asked_for(listing: str) -> None:
    method, path, maximum = LISTINGS[listing]
    async with api() as (router, c):
        route = router.get(path).respond(json=page([]))
        await method(c)().first_page()
        await method(c)(page_size=maximum).first_page()
        await method(c)(limit=7).first_page()  # a limit below the page size: a smaller page
    assert [dict(query(route, n))["pageSize"] for n in range(3)] == [
        str(maximum),
        str(maximum),
        "7",
    ]


@pytest.mark.parametrize("listing", sorted(LISTINGS))
@pytest.mark.parametrize("excess", [1, 9000])
async def test_a_page_size_above_the_maximum_is_refused_before_sending(
    listing: str, excess: int
) -> None:
    method, path, maximum = LISTINGS[listing]
    async with api() as (router, c):
        route = router.get(path).respond(json=page([]))
        too_big = maximum + excess
        with pytest.raises(
            ValueError, match=rf"page_size for {listing} must be 1\.\.{maximum}, "
        ) as caught:
            method(c)(page_size=too_big)
        assert f"got {too_big}: the service returns at most {maximum} per page" in str(caught.value)
        with pytest.raises(
            ValueError, match=rf"page_size for {listing} must be 1\.\.{maximum}, got 0"
        ):
            method(c)(page_size=0)
    assert route.call_count == 0
    assert len(router.calls) == 0  # not even a token was fetched


def submit_request(batch_size: int) -> JobSubmitRequest:
    definition = JobDefinition(image_name="python:3.11", exec_timeout_seconds=60)
    return JobSubmitRequest(batch_size=batch_size, htc_job_definition=definition)


async def test_listing_10000_jobs_with_a_plain_async_for_takes_10_requests() -> None:
    async with Emulator(refresh_interval=0.05) as emu, emu.client() as c:
        task = await c.tasks.create(emu.project_id, name="many", description="10,000 jobs")
        await c.jobs.submit_batch(task, [submit_request(1000)] * 10)
        endpoint = "GET /htc/projects/{projectId}/tasks/{taskId}/jobs"
        before = emu.counters.requests[endpoint]
        with anyio.fail_after(60):
            ids = [job.job_id async for job in c.jobs.list(task)]
        requests = emu.counters.requests[endpoint] - before
    assert len(ids) == len(set(ids)) == 10_000
    assert requests == 10
