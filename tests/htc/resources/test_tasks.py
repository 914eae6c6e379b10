"""``client.tasks``: listing, creating, lifecycle, deletion and job statistics."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from resource_support import PID, TASK, TID, api, example, page, query, sent

from rescale_async.htc.types import (
    JobStatus,
    JobStatusSummary,
    LifecycleStatus,
    Project,
    SubmittedJob,
    Task,
    TaskLike,
    TaskRef,
)


def task_payload(**overrides: Any) -> Any:
    return example("HTCTask", **{"projectId": PID, "taskId": TID, **overrides})


def holders() -> list[TaskLike]:
    """Every way of naming task TID of project PID."""
    submitted = example("HTCJobSubmitRequest", projectId=PID, taskId=TID)
    return [
        TaskRef(PID, TID),
        Task.model_validate(task_payload()),
        SubmittedJob.model_validate(submitted),
    ]


async def test_list_follows_next() -> None:
    first, second = task_payload(taskId="a"), task_payload(taskId="b")
    async with api() as (router, c):
        route = router.get(f"/htc/projects/{PID}/tasks").mock(
            side_effect=[
                httpx.Response(200, json=page([first], f"/htc/projects/{PID}/tasks?pageIndex=x")),
                httpx.Response(200, json=page([second])),
            ]
        )
        tasks = [t async for t in c.tasks.list(PID, page_size=1)]
        assert query(route, 0) == [("pageSize", "1")]
        assert dict(query(route, 1)) == {"pageIndex": "x", "pageSize": "1"}
        route.side_effect = None
        route.respond(json=page([first]))
        project = Project.model_validate(example("HTCProject", projectId=PID))
        assert [t.task_id for t in await c.tasks.list(project, limit=5).to_list()] == ["a"]
        assert query(route) == [("pageSize", "5")]
    assert [t.task_id for t in tasks] == ["a", "b"]


async def test_create() -> None:
    async with api() as (router, c):
        route = router.post(f"/htc/projects/{PID}/tasks").respond(json=task_payload())
        task = await c.tasks.create(PID, name="my-task")
        assert sent(route) == {"taskName": "my-task", "taskDescription": ""}
        await c.tasks.create(TaskRef(PID, "other"), name="t", description="about t")
        assert sent(route) == {"taskName": "t", "taskDescription": "about t"}
    assert isinstance(task, Task) and (task.project_id, task.task_id) == (PID, TID)
    assert task.lifecycle_status is LifecycleStatus.ACTIVE


@pytest.mark.parametrize("holder", range(3))
async def test_get_accepts_any_task_holder(holder: int) -> None:
    async with api() as (router, c):
        route = router.get(TASK).respond(json=task_payload())
        task = await c.tasks.get(holders()[holder])
    assert route.call_count == 1 and task.task_name == "my-task"


async def test_wrong_task_holders_fail_before_sending() -> None:
    async with api() as (router, c):
        route = router.route(url__startswith="https://htc.test/api/v1/htc").respond(json={})
        with pytest.raises(TypeError, match=r"expected a Task, TaskRef or SubmittedJob, got str"):
            await c.tasks.get(TID)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="TaskRef"):
            c.tasks.groups((PID, TID))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="no task_id"):
            await c.tasks.summary(TaskRef(PID, ""))
        with pytest.raises(ValueError, match="no project_id"):
            c.tasks.group_summaries(
                SubmittedJob.model_validate(
                    {"parentJobId": "p", "htcJobDefinition": {"imageName": "i"}}
                )
            )
    assert not route.called


@pytest.mark.parametrize(
    ("call", "status"),
    [
        (lambda c, t: c.tasks.update(t, lifecycle_status=LifecycleStatus.ARCHIVED), "ARCHIVED"),
        (lambda c, t: c.tasks.update(t, lifecycle_status="ACTIVE"), "ACTIVE"),
        (lambda c, t: c.tasks.archive(t), "ARCHIVED"),
        (lambda c, t: c.tasks.unarchive(t), "ACTIVE"),
    ],
    ids=["update-enum", "update-str", "archive", "unarchive"],
)
async def test_lifecycle_changes(call: Any, status: str) -> None:
    async with api() as (router, c):
        route = router.patch(TASK).respond(json=task_payload(lifecycleStatus=status))
        task = await call(c, holders()[1])
    assert sent(route) == {"lifecycleStatus": status}
    assert task.lifecycle_status == status


async def test_update_rejects_a_missing_status_before_sending() -> None:
    async with api() as (router, c):
        route = router.patch(TASK).respond(json=task_payload())
        with pytest.raises(ValidationError, match="lifecycle_status"):
            await c.tasks.update(TaskRef(PID, TID), lifecycle_status=None)  # type: ignore[arg-type]
    assert not route.called


@pytest.mark.parametrize("holder", range(3))
async def test_delete_returns_the_deleted_task_or_none(holder: int) -> None:
    async with api() as (router, c):
        route = router.delete(TASK)
        route.respond(json=task_payload(lifecycleStatus="DELETED"))
        deleted = await c.tasks.delete(holders()[holder])
        route.respond(204)
        assert await c.tasks.delete(holders()[holder]) is None
        route.respond(200, content=b"")
        assert await c.tasks.delete(holders()[holder]) is None
    assert deleted is not None and deleted.lifecycle_status is LifecycleStatus.DELETED
    assert route.call_count == 3


async def test_summary_counts_jobs_per_status() -> None:
    payload = {"group": None, "jobStatuses": {"RUNNING": 2, "SUCCEEDED": 3, "NEW_STATUS": 1}}
    async with api() as (router, c):
        route = router.get(f"{TASK}/summary-statistics").respond(json=payload)
        summary = await c.tasks.summary(holders()[2])
    assert query(route) == []
    assert isinstance(summary, JobStatusSummary) and summary.total == 6
    assert summary.job_statuses is not None
    assert summary.job_statuses[JobStatus.RUNNING] == 2
    assert summary.job_statuses[JobStatus("NEW_STATUS")] == 1


async def test_group_summaries_filter_and_follow_next() -> None:
    path = f"{TASK}/group-summary-statistics"
    a = example("JobStatusSummary", group="a", jobStatuses={"RUNNING": 1})
    b = example("JobStatusSummary", group="b", jobStatuses={"FAILED": 4})
    async with api() as (router, c):
        route = router.get(path).mock(
            side_effect=[
                httpx.Response(200, json=page([a], f"{path}?pageIndex=2")),
                httpx.Response(200, json=page([b])),
            ]
        )
        got = await c.tasks.group_summaries(TaskRef(PID, TID), group=["a", "b"]).to_list()
        assert query(route, 0) == [("group", "a"), ("group", "b"), ("pageSize", "1000")]
        assert query(route, 1) == [
            ("pageIndex", "2"),
            ("group", "a"),
            ("group", "b"),
            ("pageSize", "1000"),
        ]
        route.side_effect = None
        route.respond(json=page([a]))
        await c.tasks.group_summaries(holders()[1], group="a", page_size=10).first_page()
        assert query(route) == [("group", "a"), ("pageSize", "10")]
    assert [(s.group, s.total) for s in got] == [("a", 1), ("b", 4)]


async def test_groups_accepts_a_bare_array() -> None:
    async with api() as (router, c):
        route = router.get(f"{TASK}/groups").respond(json=["group1", "group2"])
        assert await c.tasks.groups(holders()[0]).to_list() == ["group1", "group2"]
        first = await c.tasks.groups(holders()[1], page_size=50)
        assert first.items == ["group1", "group2"] and first.next is None
        assert query(route) == [("pageSize", "50")]
        assert [g async for g in c.tasks.groups(holders()[2], limit=1)] == ["group1"]
    assert route.call_count == 3


async def test_groups_follows_pages_when_the_service_sends_them() -> None:
    path = f"{TASK}/groups"
    async with api() as (router, c):
        route = router.get(path).mock(
            side_effect=[
                httpx.Response(200, json=page(["g1"], f"{path}?pageIndex=n")),
                httpx.Response(200, json=page([], f"{path}?pageIndex=m")),
                httpx.Response(200, json=page(["g2"])),
            ]
        )
        groups = await c.tasks.groups(TaskRef(PID, TID), page_size=1).to_list()
    assert groups == ["g1", "g2"]
    assert query(route, 2) == [("pageIndex", "m"), ("pageSize", "1")]
