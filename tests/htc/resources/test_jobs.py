"""``client.jobs``: listing, batch submission, cancellation, one job, its events and logs."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from resource_support import JID, PID, TASK, TID, api, example, page, query, sent

from rescale_async.htc.types import (
    Job,
    JobDefinition,
    JobLike,
    JobRef,
    JobStatus,
    JobStatusEvent,
    JobSubmitRequest,
    LogEvent,
    SubmittedJob,
    Task,
    TaskRef,
    ViewType,
)

JOB = f"{TASK}/jobs/{JID}"


def job_payload(**overrides: Any) -> Any:
    return example("HTCJob", **{"jobUUID": JID, "projectId": PID, "taskId": TID, **overrides})


def job_holders() -> list[JobLike]:
    return [JobRef(PID, TID, JID), Job.model_validate(job_payload())]


def submit_request(**fields: Any) -> JobSubmitRequest:
    return JobSubmitRequest.model_validate(
        {"htc_job_definition": {"image_name": "my-image", "commands": ["echo", "hi"]}, **fields}
    )


# --- list ---------------------------------------------------------------------------------


async def test_list_sends_every_filter() -> None:
    async with api() as (router, c):
        route = router.get(f"{TASK}/jobs").respond(json=page([job_payload()]))
        jobs = await c.jobs.list(
            TaskRef(PID, TID),
            status=JobStatus.RUNNING,
            group="g",
            job_ids=["p:0", "p:1"],
            view=ViewType.SIMPLE,
            page_size=20,
        ).to_list()
        assert query(route) == [
            ("status", "RUNNING"),
            ("group", "g"),
            ("jobId", "p:0"),
            ("jobId", "p:1"),
            ("viewType", "SIMPLE"),
            ("pageSize", "20"),
        ]
        task = Task.model_validate(example("HTCTask", projectId=PID, taskId=TID))
        await c.jobs.list(task, status="FAILED", job_ids="p:0", view="FULL").first_page()
        # without page_size: the largest page the service accepts (issue 11, cheap defaults)
        assert query(route) == [
            ("status", "FAILED"),
            ("jobId", "p:0"),
            ("viewType", "FULL"),
            ("pageSize", "1000"),
        ]
        await c.jobs.list(task).first_page()
        assert query(route) == [("pageSize", "1000")]
    assert len(jobs) == 1 and isinstance(jobs[0], Job) and jobs[0].job_id == JID


async def test_list_follows_next_keeping_filters() -> None:
    path = f"{TASK}/jobs"
    async with api() as (router, c):
        route = router.get(path).mock(
            side_effect=[
                httpx.Response(200, json=page([job_payload(jobUUID="p:0")], f"{path}?pageIndex=t")),
                httpx.Response(200, json=page([job_payload(jobUUID="p:1")])),
            ]
        )
        ids = [j.job_id async for j in c.jobs.list(TaskRef(PID, TID), status="RUNNING")]
    assert ids == ["p:0", "p:1"]
    assert query(route, 1) == [("pageIndex", "t"), ("status", "RUNNING"), ("pageSize", "1000")]


async def test_list_rejects_a_bad_status_type_before_sending() -> None:
    async with api() as (router, c):
        route = router.get(f"{TASK}/jobs").respond(json=page([]))
        with pytest.raises(ValueError, match="JobStatus"):
            c.jobs.list(TaskRef(PID, TID), status=3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="TaskRef"):
            c.jobs.list(PID)  # type: ignore[arg-type]
    assert not route.called


# --- submit_batch -------------------------------------------------------------------------


async def test_submit_batch_sends_a_json_array_and_returns_the_submissions() -> None:
    echoed = example("HTCJobSubmitRequest", parentJobId="p1", group="g")
    del echoed["projectId"], echoed["taskId"]  # the service may leave them out
    first = submit_request(batch_size=10, job_name="a")
    second = {"htcJobDefinition": {"imageName": "other:1.0"}, "regions": ["AWS_US_EAST_2"]}
    async with api() as (router, c):
        route = router.post(f"{TASK}/jobs/batch").respond(json=[echoed, echoed])
        submitted = await c.jobs.submit_batch(TaskRef(PID, TID), [first, second], group="g")
    assert sent(route) == [
        {
            "htcJobDefinition": {"imageName": "my-image", "commands": ["echo", "hi"]},
            "batchSize": 10,
            "jobName": "a",
        },
        second,
    ]
    assert query(route) == [("group", "g")]
    assert len(submitted) == 2 and all(isinstance(s, SubmittedJob) for s in submitted)
    job = submitted[0]
    assert (job.parent_job_id, job.group, job.batch_size) == ("p1", "g", 10)
    assert (job.project_id, job.task_id) == (PID, TID)  # filled in: usable as a task
    assert job.job_ids[:2] == ["p1:0", "p1:1"]


async def test_submit_batch_takes_one_request_and_keeps_ids_the_service_sent() -> None:
    echoed = example("HTCJobSubmitRequest", parentJobId="p2", projectId="pp", taskId="tt")
    async with api() as (router, c):
        route = router.post(f"{TASK}/jobs/batch").respond(json=[echoed])
        task = Task.model_validate(example("HTCTask", projectId=PID, taskId=TID))
        [job] = await c.jobs.submit_batch(task, submit_request())
    assert sent(route) == [
        {"htcJobDefinition": {"imageName": "my-image", "commands": ["echo", "hi"]}}
    ]
    assert query(route) == []
    assert (job.project_id, job.task_id) == ("pp", "tt")


async def test_submit_batch_rejects_bad_input_before_sending() -> None:
    changed = submit_request(batch_size=5)
    changed.batch_size = 0  # no validation on assignment: submit_batch checks again
    task = TaskRef(PID, TID)
    async with api() as (router, c):
        route = router.post(f"{TASK}/jobs/batch").respond(json=[])
        with pytest.raises(ValueError, match="at least one JobSubmitRequest"):
            await c.jobs.submit_batch(task, [])
        with pytest.raises(ValidationError, match=r"1\.batch_size\s+Input should be greater"):
            await c.jobs.submit_batch(task, [submit_request(), changed])
        with pytest.raises(ValidationError, match=r"0\.batchSize\s+Input should be less"):
            await c.jobs.submit_batch(
                task, [{"htcJobDefinition": {"imageName": "i"}, "batchSize": 1001}]
            )
        with pytest.raises(
            TypeError, match=r"requests\[0\] is a JobDefinition.*JobSubmitRequest\(htc_job"
        ):
            await c.jobs.submit_batch(task, [JobDefinition(image_name="i")])  # type: ignore[list-item]
        with pytest.raises(TypeError, match=r"requests\[0\] is a JobDefinition"):
            await c.jobs.submit_batch(task, JobDefinition(image_name="i"))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"requests\[0\] is a str"):
            await c.jobs.submit_batch(task, "my-image")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="expected a Task, TaskRef or SubmittedJob"):
            await c.jobs.submit_batch(PID, submit_request())  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="batch_size"):
        submit_request(batch_size=0)
    assert not route.called


# --- cancel -------------------------------------------------------------------------------


async def test_cancel_posts_no_body() -> None:
    submitted = SubmittedJob.model_validate(
        example("HTCJobSubmitRequest", projectId=PID, taskId=TID)
    )
    async with api() as (router, c):
        route = router.post(f"{TASK}/jobs/cancel").respond(200)
        await c.jobs.cancel(submitted)
        assert query(route) == [] and route.calls.last.request.content == b""
        await c.jobs.cancel(TaskRef(PID, TID), group="g")
        assert query(route) == [("group", "g")]


# --- one job ------------------------------------------------------------------------------


@pytest.mark.parametrize("holder", range(2))
async def test_get(holder: int) -> None:
    async with api() as (router, c):
        route = router.get(JOB).respond(json=job_payload(status="RUNNING"))
        job = await c.jobs.get(job_holders()[holder])
    assert route.called and isinstance(job, Job)
    assert job.status is JobStatus.RUNNING and not job.is_terminal
    assert job.commands == ["python", "script.py"]


async def test_job_ids_are_checked_before_sending() -> None:
    async with api() as (router, c):
        route = router.route(url__startswith="https://htc.test/api/v1/htc").respond(json={})
        with pytest.raises(TypeError, match="expected a Job or JobRef, got TaskRef"):
            await c.jobs.get(TaskRef(PID, TID))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="got str"):
            c.jobs.events(JID)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="no job_id"):
            c.jobs.logs(JobRef(PID, TID, ""))
        with pytest.raises(ValueError, match="no task_id"):
            await c.jobs.get(Job.model_validate({"jobUUID": JID, "projectId": PID}))
    assert not route.called


@pytest.mark.parametrize("holder", range(2))
async def test_events_follow_next(holder: int) -> None:
    path = f"{JOB}/events"
    event = example("RescaleJobStatusEvent", status="SUCCEEDED")
    async with api() as (router, c):
        route = router.get(path).mock(
            side_effect=[
                httpx.Response(200, json=page([event], f"{path}?pageIndex=2")),
                httpx.Response(200, json=page([event])),
            ]
        )
        events = await c.jobs.events(job_holders()[holder], page_size=1).to_list()
    assert query(route, 0) == [("pageSize", "1")]
    assert len(events) == 2 and all(isinstance(e, JobStatusEvent) for e in events)
    assert events[0].status is JobStatus.SUCCEEDED and events[0].status_reason == "Completed"


# --- logs ---------------------------------------------------------------------------------


def log(n: int) -> Any:
    return example("HTCLogEvent", message=f"line {n}", timestamp=f"2024-01-01T00:00:0{n}Z")


async def test_logs_oldest_first_in_large_pages_across_empty_ones() -> None:
    path = f"{JOB}/logs"
    async with api() as (router, c):
        route = router.get(path).mock(
            side_effect=[
                httpx.Response(200, json=page([log(1), log(2)], f"{path}?pageIndex=a")),
                httpx.Response(200, json=page([], f"{path}?pageIndex=b")),
                httpx.Response(200, json=page([log(3)])),
            ]
        )
        lines = [line async for line in c.jobs.logs(job_holders()[1])]
    assert query(route, 0) == [("sort", "asc"), ("pageSize", "10000")]
    assert query(route, 2) == [("pageIndex", "b"), ("sort", "asc"), ("pageSize", "10000")]
    assert [line.message for line in lines] == ["line 1", "line 2", "line 3"]
    assert isinstance(lines[0], LogEvent)
    assert lines[0].timestamp == datetime(2024, 1, 1, tzinfo=timezone.utc).replace(second=1)


async def test_logs_sort_page_size_and_limit() -> None:
    async with api() as (router, c):
        route = router.get(f"{JOB}/logs").respond(json=page([log(3), log(2), log(1)]))
        newest = await c.jobs.logs(JobRef(PID, TID, JID), sort="desc", limit=2).to_list()
        assert query(route) == [("sort", "desc"), ("pageSize", "2")]
        await c.jobs.logs(JobRef(PID, TID, JID), page_size=500).first_page()
        assert query(route) == [("sort", "asc"), ("pageSize", "500")]
    assert [line.message for line in newest] == ["line 3", "line 2"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"page_size": 20000}, "page_size for logs must be 1..10000, got 20000"),
        ({"page_size": 0}, "page_size for logs must be 1..10000, got 0"),
        ({"sort": "newest"}, "sort must be 'asc'.*or 'desc'.*got 'newest'"),
        ({"limit": -1}, "limit must be >= 0"),
    ],
)
async def test_logs_reject_bad_arguments_before_sending(kwargs: Any, message: str) -> None:
    async with api() as (router, c):
        route = router.get(f"{JOB}/logs").respond(json=page([]))
        with pytest.raises(ValueError, match=message):
            c.jobs.logs(JobRef(PID, TID, JID), **kwargs)
    assert not route.called
