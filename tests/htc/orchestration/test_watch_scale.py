"""Watching thousands of jobs (issue 11, item 8): few requests, no 429, little memory per job.

The full 100,000 jobs in 1,000 tasks is benchmark (e'); these check the same properties on
simulated jobs in the in-process emulator: requests and 429s at 5,000 jobs in 50 tasks, memory
at 2,000 jobs in 10 tasks.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import pytest
from orchestration_support import TRUE, Setup, emulated

from rescale_async import JobBatch, RateLimit, TaskRef
from rescale_async.emulator import FaultRule
from rescale_async.htc.orchestration._watch import Watcher, WatchTarget
from rescale_async.htc.resources.tasks import Tasks
from rescale_async.htc.types import JobStatusSummary

SUMMARY = "GET /htc/projects/{projectId}/tasks/{taskId}/summary-statistics"
LISTING = "GET /htc/projects/{projectId}/tasks/{taskId}/jobs"
TERMINAL = ("SUCCEEDED", "FAILED")
MAX_BYTES_PER_JOB = 1024
"""The issue's bound on the watcher's memory per tracked job."""


class SummaryLog:
    """``client.tasks`` with a record of how many tasks' summaries moved since their last one."""

    def __init__(self, tasks: Tasks) -> None:
        self._tasks = tasks
        self._last: dict[str, dict[str, int]] = {}
        self.moved = 0
        """Summaries differing from the task's previous one (its first one included)."""

    async def summary(self, task: TaskRef) -> JobStatusSummary:
        summary = await self._tasks.summary(task)
        counts = {str(s): n for s, n in (summary.job_statuses or {}).items() if n}
        if self._last.get(task.task_id) != counts:
            self.moved += 1
        self._last[task.task_id] = counts
        return summary


async def seed(s: Setup, tasks: int, per_task: int) -> list[JobBatch]:
    """``tasks`` tasks of ``per_task`` jobs each."""
    batches = []
    for index in range(tasks):
        task = await s.client.tasks.create(s.emu.project_id, name=f"scale-{index}")
        batches.append(await s.client.jobs.submit(task, TRUE, count=per_task))
    return batches


@asynccontextmanager
async def simulated(**overrides: Any) -> AsyncIterator[Setup]:
    """An emulator running simulated jobs, up to 5,000 at once."""
    settings = {"run_mode": "simulated", "max_workers": 5000, "seed": 3, **overrides}
    async with emulated(**settings) as s:
        yield s


def all_published(s: Setup) -> bool:
    return all(job.visible.status in TERMINAL for job in s.emu.state.jobs.values())


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio watches in the tests below
async def test_5000_jobs_in_50_tasks_cost_a_summary_per_task_and_a_page_per_moved_task() -> None:
    client = {"rate_limit": RateLimit(18, burst=1)}
    async with simulated(
        simulated_duration=(2.0, 8.0),
        simulated_failure_rate=0.1,
        refresh_interval=0.5,
        client=client,
    ) as s:
        batches = await seed(s, tasks=50, per_task=100)
        s.emu.faults.add(FaultRule(rate_limit=20, burst=5, name="20 requests/s"))
        s.emu.counters.reset()
        summaries = SummaryLog(s.client.tasks)
        targets = [WatchTarget(batch.task, batch.job_ids) for batch in batches]
        watcher = Watcher(s.client.jobs, cast("Tasks", summaries), targets, ledger=None)
        tasks = {batch.task: batch for batch in batches}
        cycles = 0
        with anyio.fail_after(120):
            while not watcher.finished:
                unfinished = len(tasks) - sum(state.finished for state in watcher._states)
                before = Counter(s.emu.counters.requests)
                moved_before = summaries.moved
                await watcher.cycle()
                sent = Counter(s.emu.counters.requests) - before
                assert sent[SUMMARY] == unfinished
                assert sent[LISTING] <= summaries.moved - moved_before  # one page per task
                assert set(sent) <= {SUMMARY, LISTING}
                cycles += 1
        assert cycles >= 2  # jobs were still moving when the watch began
        assert s.emu.counters.statuses.get(429, 0) == 0
        result = watcher.result()
        server = Counter(job.visible.status for job in s.emu.state.jobs.values())
        assert {str(status): n for status, n in result.counts.items()} == server
        assert result.total == len(result.succeeded) + len(result.failed) == 5000
        assert 0 < len(result.failed) < 5000


async def measured_bytes_per_job(s: Setup, targets: list[WatchTarget], jobs: int) -> float:
    """What a watcher keeps per job once it has seen every job (tracemalloc, in process)."""
    warm = Watcher(s.client.jobs, s.client.tasks, targets, ledger=None)
    await warm.cycle()  # imports, caches and connections warmed outside the measurement
    del warm
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        watcher = Watcher(s.client.jobs, s.client.tasks, targets, ledger=None)
        events = await watcher.cycle()
        assert len(events) == jobs and watcher.finished
        del events
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert watcher.progress().total == jobs  # the watcher is alive up to here
    return kept / jobs


@pytest.mark.parametrize("whole_tasks", [False, True], ids=["batches", "tasks"])
async def test_the_watcher_keeps_under_1_kb_per_tracked_job(whole_tasks: bool) -> None:
    async with simulated() as s:
        batches = await seed(s, tasks=10, per_task=200)
        with anyio.fail_after(60):
            while not all_published(s):  # noqa: ASYNC110 - the emulator announces no end
                await anyio.sleep(0.05)
        targets = [
            WatchTarget(batch.task, None if whole_tasks else batch.job_ids) for batch in batches
        ]
        per_job = await measured_bytes_per_job(s, targets, 2000)
        assert 0 < per_job < MAX_BYTES_PER_JOB, f"{per_job:.0f} bytes per tracked job"
