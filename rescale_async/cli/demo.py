"""The README's main job: a parameter sweep of a few hundred real jobs on the embedded emulator,
submitted in one call, watched with a live progress line, then summed up with a failure's log.

Each job is a local Python process (the emulator runs commands on this machine). Some sweep
points fail on purpose, so the demo can show a failure's log.
"""

from __future__ import annotations

import sys
from typing import TextIO

import anyio

from .. import JobSpec, JobStatus, Progress
from ..emulator import Emulator

SWEEP_SCRIPT = """
import os, sys
x = int(os.environ["X"])
print(f"point x={x}: sweeping", flush=True)
checksum = sum(i * i % 7 for i in range(100_000 * (1 + x % 4)))  # some real work
if x % 9 == 4:
    print(f"point x={x}: diverged, giving up", file=sys.stderr, flush=True)
    sys.exit(3)
print(f"point x={x}: f(x)={x * x}, checksum {checksum}", flush=True)
"""


def point(x: int) -> JobSpec:
    """The job computing sweep point ``x``."""
    return JobSpec(
        image="python:3.11",
        commands=[sys.executable, "-c", SWEEP_SCRIPT],
        env={"X": str(x)},
        vcpus=1,
        memory_mib=512,
        timeout=600,
    )


class ProgressLine:
    """A one-line progress bar: redrawn in place on a terminal, a line per change elsewhere."""

    def __init__(self, out: TextIO, width: int = 30) -> None:
        self.out = out
        self.width = width
        self.live = out.isatty()

    def __call__(self, progress: Progress) -> None:
        filled = self.width * progress.done // max(progress.total, 1)
        counts = ", ".join(
            f"{status.lower()} {n}" for status, n in sorted(progress.counts.items()) if n
        )
        bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {progress.done}/{progress.total}"
        line = f"{bar}  {counts}"
        if self.live:
            self.out.write(f"\r\x1b[2K{line}")
            if progress.finished:
                self.out.write("\n")
        else:
            self.out.write(line + "\n")
        self.out.flush()


async def run(jobs: int = 300, out: TextIO = sys.stdout) -> int:
    """Sweep ``jobs`` points on a fresh emulator, watch them, report; 0 when exactly the
    intended points failed.
    """
    emulator = Emulator(refresh_interval=0.2, max_workers=8)
    async with emulator, emulator.client() as client:
        project = (await client.projects.list()).items[0]
        print(f"emulator at {emulator.base_url}, project {project.project_name}", file=out)
        task = await client.tasks.create(project, name="demo-sweep", description="README demo")
        batch = await client.jobs.submit_many(task, [point(x) for x in range(jobs)])
        print(f"submitted {len(batch)} jobs to group {batch.group}", file=out)
        result = await batch.wait(interval=0.25, progress=ProgressLine(out))

        print("\nsummary:", file=out)
        for status, n in sorted(result.counts.items()):
            print(f"  {status:<10} {n}", file=out)
        if result.failed:
            x_of = {job_id: x for x, job_id in enumerate(batch.job_ids)}
            failure = min(result.failed, key=lambda f: x_of[f.job.job_id])
            x = x_of[failure.job.job_id]
            print(
                f"\nlog of failed job {failure.job.job_id} (x={x}, {failure.failure_code}):",
                file=out,
            )
            for event in await client.jobs.tail(failure.job, 20):
                print(f"  {event.timestamp:%H:%M:%S.%f}  {event.message}", file=out)
        await client.tasks.delete(task)
    intended = sum(1 for x in range(jobs) if x % 9 == 4)
    failed = result.counts.get(JobStatus.FAILED, 0)
    return 0 if failed == intended and len(result.succeeded) == jobs - intended else 1


def run_demo() -> int:
    """Run the demo on asyncio (it runs on trio too: ``anyio.run(run, backend="trio")``)."""
    return anyio.run(run)
