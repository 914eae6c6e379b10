"""``watch`` / ``progress`` / ``wait``: every transition once, few requests, clean cancellation."""

from __future__ import annotations

import itertools
import re
import time
from collections import defaultdict
from typing import Any

import anyio
import httpx
import pytest
from orchestration_support import TRUE, emulated, py
from support import TokenEndpoint, client, mock_api

from rescale_async import (
    FailureCode,
    JobEvent,
    JobStatus,
    Progress,
    TaskRef,
    WaitTimeoutError,
)
from rescale_async.htc.orchestration import _watch

FAILS_ON_ODD = py(
    "import os, sys; sys.exit(int(os.environ['RESCALE_JOB_ID'].rsplit(':', 1)[1]) % 2 * 3)"
)
SLEEPER = py("import time; time.sleep(30)")

# ---------------------------------------------------------------------------- against the emulator


async def test_watch_reports_each_transition_once_and_in_order() -> None:
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, FAILS_ON_ODD, count=24)
        events: dict[str, list[JobEvent]] = defaultdict(list)
        with anyio.fail_after(60):
            async for event in s.client.jobs.watch(batch, interval=0.01):
                events[event.job_id].append(event)
        assert set(events) == set(batch.job_ids)
        for job_id, seen in events.items():
            record = s.emu.state.jobs[job_id]
            assert seen[0].old_status is None
            for before, after in itertools.pairwise(seen):
                assert after.old_status == before.new_status != after.new_status
            # what the watch saw is a part, in order, of what the job went through
            history = iter(str(e["status"]) for e in s.emu.state.events[job_id])
            assert all(str(e.new_status) in history for e in seen)
            assert str(seen[-1].new_status) == record.visible.status
            code = seen[-1].failure_code
            assert (None if code is None else str(code)) == record.visible.failure_code
        failed = [seen[-1] for seen in events.values() if seen[-1].new_status == JobStatus.FAILED]
        assert len(failed) == 12
        assert {e.failure_code for e in failed} == {FailureCode.ErrorNonZeroContainerExitCode}


async def test_wait_returns_the_counts_and_the_succeeded_and_failed_jobs() -> None:
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, FAILS_ON_ODD, count=6)
        with anyio.fail_after(60):
            result = await batch.wait(interval=0.01)
        assert result.counts == {JobStatus.SUCCEEDED: 3, JobStatus.FAILED: 3}
        assert result.total == 6
        assert result.finished
        assert not result.ok
        assert sorted(j.job_id for j in result.succeeded) == sorted(batch.job_ids[0::2])
        assert sorted(f.job.job_id for f in result.failed) == sorted(batch.job_ids[1::2])
        assert {f.failure_code for f in result.failed} == {
            FailureCode.ErrorNonZeroContainerExitCode
        }
        assert all(f.status == JobStatus.FAILED for f in result.failed)


async def test_wait_with_a_timeout_raises_holding_where_the_jobs_are() -> None:
    async with emulated(max_workers=2) as s:
        batch = await s.client.jobs.submit(s.task, SLEEPER, count=3)
        started = time.monotonic()
        with pytest.raises(WaitTimeoutError, match=r"0 of 3 jobs had ended after 0\.3 s") as caught:
            await batch.wait(timeout=0.3, interval=0.01)
        assert time.monotonic() - started < 5
        assert isinstance(caught.value, TimeoutError)
        result = caught.value.result
        assert result.total == 3
        assert not result.finished
        assert sum(result.counts.values()) == 3  # each seen, none ended
        await batch.cancel(interval=0.01)


async def test_progress_hooks_and_the_progress_stream_count_up_to_the_end() -> None:
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, FAILS_ON_ODD, count=8)
        seen: list[Progress] = []
        also: list[int] = []

        async def async_hook(progress: Progress) -> None:
            also.append(progress.done)

        with anyio.fail_after(60):
            await batch.wait(interval=0.01, progress=seen.append)
            async for _ in batch.watch(interval=0.01, progress=async_hook):
                pass
            stream = [p async for p in s.client.jobs.progress(batch, interval=0.01)]
        dones = [p.done for p in seen]
        assert dones == sorted(dones)
        assert all(p.total == 8 for p in seen)
        assert seen[-1].finished
        assert (seen[-1].succeeded, seen[-1].failed) == (4, 4)
        assert also[-1] == 8
        assert len(stream) == 1  # a fresh watcher of ended jobs: one report, the last
        assert stream[-1].finished


def _own_tasks() -> list[str]:
    """The running tasks that are not the emulator's."""
    names = (task.name or "" for task in anyio.get_running_tasks())
    return sorted(name for name in names if "emulator" not in name)


async def test_cancelling_the_caller_leaves_no_task_behind() -> None:
    async with emulated(max_workers=2) as s:
        batch = await s.client.jobs.submit(s.task, SLEEPER, count=2)
        before = _own_tasks()
        with anyio.move_on_after(0.3) as scope:
            await s.client.jobs.wait(batch, interval=0.01)
        assert scope.cancelled_caught
        with anyio.move_on_after(0.3):
            async for _ in s.client.jobs.watch(batch, s.task, interval=0.01):
                pass
        assert _own_tasks() == before
        await batch.cancel(interval=0.01)


async def test_a_batch_watch_reports_only_its_jobs_and_a_task_watch_all() -> None:
    async with emulated(max_workers=4) as s:
        mine = await s.client.jobs.submit(s.task, TRUE, count=3)
        other = await s.client.jobs.submit(s.task, TRUE, count=2)
        with anyio.fail_after(60):
            only_mine = {e.job_id async for e in s.client.jobs.watch(mine, interval=0.01)}
            everything = {e.job_id async for e in s.client.jobs.watch(s.task, interval=0.01)}
            both = await s.client.jobs.wait(mine, other, interval=0.01)
        assert only_mine == set(mine.job_ids)
        assert everything == set(mine.job_ids) | set(other.job_ids)
        assert both.total == 5
        assert both.ok


async def test_polls_failing_on_transient_errors_are_tried_again() -> None:
    async with emulated(max_workers=4, client={"max_retries": 0}) as s:
        batch = await s.client.jobs.submit(s.task, TRUE, count=5)
        s.emu.faults.add(path_regex="summary-statistics|/jobs$", method="GET", error_rate=0.5)
        with anyio.fail_after(60):
            result = await batch.wait(interval=0.01)
        assert result.ok
        assert s.emu.counters.fault_total("error") > 0


async def test_bad_watch_arguments_are_refused_before_any_request() -> None:
    with mock_api() as router:
        async with client() as c:
            with pytest.raises(ValueError, match="at least one JobBatch or task"):
                c.jobs.watch()
            with pytest.raises(TypeError, match="expected a Task, TaskRef or SubmittedJob"):
                c.jobs.watch("task-1")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="interval must be >= 0"):
                c.jobs.watch(TaskRef("p", "t"), interval=-1)
            with pytest.raises(ValueError, match="timeout must be >= 0"):
                await c.jobs.wait(TaskRef("p", "t"), timeout=-1)
    assert router.calls.call_count == 0


# ---------------------------------------------------------------------------- what a poll costs


class FakeTasks:
    """Tasks of jobs whose statuses a test sets, served like the API (summary and listings,
    ``status`` filter, opaque-enough ``pageIndex``), counting requests.
    """

    def __init__(self, tasks: int, jobs: int) -> None:
        self.jobs: dict[str, dict[str, str]] = {
            f"t{t}": {f"t{t}-p:{j}": "RUNNING" for j in range(jobs)} for t in range(tasks)
        }
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        match = re.search(r"/tasks/([^/]+)/(summary-statistics|jobs)$", request.url.path)
        assert match is not None
        jobs = self.jobs[match[1]]
        if match[2] == "summary-statistics":
            counts: dict[str, int] = defaultdict(int)
            for status in jobs.values():
                counts[status] += 1
            return httpx.Response(200, json={"group": None, "jobStatuses": counts})
        params = request.url.params
        assert params["viewType"] == "SIMPLE"
        wanted = params.get("status")
        chosen = [(j, s) for j, s in jobs.items() if wanted is None or s == wanted]
        start, size = int(params.get("pageIndex", "0")), int(params["pageSize"])
        body: dict[str, Any] = {
            "items": [{"jobUUID": j, "status": s} for j, s in chosen[start : start + size]]
        }
        if start + size < len(chosen):
            body["next"] = str(request.url.copy_merge_params({"pageIndex": start + size}))
        return httpx.Response(200, json=body)


async def _watcher(fake: FakeTasks) -> tuple[Any, _watch.Watcher]:
    router = mock_api()
    router.get("/auth/token").mock(side_effect=TokenEndpoint())
    router.get(path__regex=r"/tasks/[^/]+/(summary-statistics|jobs)$").mock(side_effect=fake)
    router.start()
    c = client()
    targets = [_watch.WatchTarget(TaskRef("p", task)) for task in fake.jobs]
    # The watcher polls over the jobs resource (the API's calls) that client.jobs composes.
    watcher = _watch.Watcher(c.jobs, c.tasks, targets, ledger=None)
    return (router, c), watcher


async def cost(fake: FakeTasks, watcher: _watch.Watcher) -> tuple[int, list[JobEvent]]:
    fake.requests = 0
    events = await watcher.cycle()
    return fake.requests, events


async def test_a_poll_costs_a_summary_per_task_and_a_listing_where_counts_moved() -> None:
    fake = FakeTasks(tasks=100, jobs=100)
    (router, c), watcher = await _watcher(fake)
    try:
        requests, events = await cost(fake, watcher)
        assert requests == 200  # the first poll learns every job: summary + one page per task
        assert len(events) == 10_000
        assert {e.old_status for e in events} == {None}

        assert await cost(fake, watcher) == (100, [])  # nothing changed: one summary per task

        for t in range(5):  # five jobs in five tasks end
            fake.jobs[f"t{t}"][f"t{t}-p:7"] = "SUCCEEDED"
        requests, events = await cost(fake, watcher)
        assert requests == 105
        assert {(e.job_id, e.old_status, e.new_status) for e in events} == {
            (f"t{t}-p:7", JobStatus.RUNNING, JobStatus.SUCCEEDED) for t in range(5)
        }

        for j in range(50):  # fifty jobs of one task end, half of them failing
            fake.jobs["t9"][f"t9-p:{j}"] = "FAILED" if j % 2 else "SUCCEEDED"
        requests, events = await cost(fake, watcher)
        assert requests == 100 + 1  # a task of 100 jobs is one page: listed whole
        assert len(events) == 50
        assert await cost(fake, watcher) == (100, [])
    finally:
        await c.aclose()
        router.stop()


async def test_a_large_task_is_listed_by_the_statuses_that_grew() -> None:
    fake = FakeTasks(tasks=1, jobs=3000)  # three pages when listed whole
    jobs = fake.jobs["t0"]
    (router, c), watcher = await _watcher(fake)
    try:
        assert (await cost(fake, watcher))[0] == 1 + 3
        jobs["t0-p:1"] = "SUCCEEDED"
        jobs["t0-p:2"] = "STARTING"
        requests, events = await cost(fake, watcher)
        assert requests == 1 + 2  # SUCCEEDED and STARTING grew, and explain the counts
        assert {(e.job_id, e.new_status) for e in events} == {
            ("t0-p:1", JobStatus.SUCCEEDED),
            ("t0-p:2", JobStatus.STARTING),
        }

        # One job starts running as another ends: RUNNING keeps its size, so the listing of
        # what grew (SUCCEEDED) cannot explain the counts, and the task is listed whole, once.
        jobs["t0-p:2"] = "RUNNING"
        jobs["t0-p:4"] = "SUCCEEDED"
        requests, events = await cost(fake, watcher)
        assert {(e.job_id, e.old_status, e.new_status) for e in events} == {
            ("t0-p:2", JobStatus.STARTING, JobStatus.RUNNING),
            ("t0-p:4", JobStatus.RUNNING, JobStatus.SUCCEEDED),
        }
        assert requests == 1 + 1 + 3
        assert await cost(fake, watcher) == (1, [])
    finally:
        await c.aclose()
        router.stop()


async def test_a_watch_exposes_its_progress_and_result_as_of_the_last_poll() -> None:
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, TRUE, count=2)
        assert repr(batch) == f"JobBatch(task={s.task.task_id!r}, groups=[{batch.group!r}], jobs=2)"
        watch = batch.watch(interval=0.01)
        assert watch.progress == Progress({}, 2)  # nothing seen yet
        with anyio.fail_after(60):
            async for _ in watch:
                pass
            counts = [p.done async for p in batch.progress(interval=0.01)]
        assert watch.progress.finished
        assert watch.result().ok
        assert counts == [2]


async def test_a_group_can_be_watched_again_from_its_name() -> None:
    async with emulated(max_workers=4) as s:
        submitted = await s.client.jobs.submit(s.task, TRUE, count=3)
        found = await s.client.jobs.batch(s.task, submitted.group)
        assert found.job_ids == submitted.job_ids
        assert found.groups == submitted.groups
        with anyio.fail_after(60):
            assert (await found.wait(interval=0.01)).ok
        with pytest.raises(ValueError, match="group must be a non-empty name"):
            await s.client.jobs.batch(s.task, "")
