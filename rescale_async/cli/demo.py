"""The README's main job: a sweep of real jobs on the embedded emulator, watched to the end.

Each job is a local Python process (the emulator runs commands on this machine). A few jobs
fail on purpose, so the demo can show a failure's log.
"""

from __future__ import annotations

import sys
from typing import TextIO

import anyio

from .. import HTCClient, JobDefinition, JobStatus, JobSubmitRequest, Task
from ..emulator import Emulator

SWEEP_SCRIPT = """
import os, sys
index = int(os.environ["RESCALE_JOB_ID"].rsplit(":", 1)[1])
print(f"job {index}: sweeping parameter x={index}", flush=True)
checksum = sum(i * i % 7 for i in range(300_000 * (1 + index % 4)))  # some real work
if index % 9 == 4:
    print(f"job {index}: x={index} diverged, giving up", file=sys.stderr, flush=True)
    sys.exit(3)
print(f"job {index}: result f(x)={index * index}, checksum {checksum}", flush=True)
"""


def _bar(counts: dict[str, int], total: int, width: int = 30) -> str:
    done = sum(n for status, n in counts.items() if JobStatus(status).is_terminal)
    filled = width * done // max(total, 1)
    parts = ", ".join(f"{status.lower()} {n}" for status, n in sorted(counts.items()) if n)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {parts}"


async def _watch(client: HTCClient, task: Task, total: int, out: TextIO) -> dict[str, int]:
    """Poll the task's summary until every job is terminal, drawing one line per change."""
    last = ""
    while True:
        summary = await client.tasks.summary(task)
        counts = {str(status): n for status, n in (summary.job_statuses or {}).items()}
        line = _bar(counts, total)
        if line != last:
            print(line, file=out, flush=True)
            last = line
        finished = sum(n for s, n in counts.items() if JobStatus(s).is_terminal)
        if finished >= total:
            return counts
        await anyio.sleep(0.25)


async def run(jobs: int = 36, out: TextIO = sys.stdout) -> int:
    """Submit ``jobs`` real jobs to a fresh emulator, watch them, report; 0 when all went as
    planned (the failures are intended)."""
    emulator = Emulator(refresh_interval=0.2, max_workers=6)
    async with emulator, emulator.client() as client:
        project = (await client.projects.list()).items[0]
        print(f"emulator at {emulator.base_url}, project {project.project_name}", file=out)
        task = await client.tasks.create(project, name="demo-sweep", description="README demo")
        request = JobSubmitRequest(
            htc_job_definition=JobDefinition(
                image_name="python:3.11",
                commands=[sys.executable, "-c", SWEEP_SCRIPT],
                max_vcpus=1,
                max_memory=512,
                exec_timeout_seconds=600,
            ),
            batch_size=jobs,
        )
        [submitted] = await client.jobs.submit_batch(task, request, group="sweep-1")
        print(f"submitted {jobs} jobs as {submitted.parent_job_id}:0..{jobs - 1}", file=out)
        counts = await _watch(client, task, jobs, out)

        print("\nsummary:", file=out)
        for status, n in sorted(counts.items()):
            if n:
                print(f"  {status:<10} {n}", file=out)
        failed = await client.jobs.list(task, status=JobStatus.FAILED, limit=1)
        if failed.items:
            job = failed.items[0]
            print(f"\nlog of failed job {job.job_id} ({job.failure_code}):", file=out)
            async for event in client.jobs.logs(job):
                print(f"  {event.timestamp:%H:%M:%S.%f}  {event.message}", file=out)
        await client.tasks.delete(task)
    expected_failures = sum(1 for index in range(jobs) if index % 9 == 4)
    return 0 if counts.get("FAILED", 0) == expected_failures else 1


def run_demo() -> int:
    """Run the demo on asyncio (it runs on trio too: ``anyio.run(run, backend="trio")``)."""
    return anyio.run(run)
