"""A parameter sweep: 1,000 jobs, a live progress line, a summary and a few results.

Each job evaluates f(x) = sin(3x)·exp(-x/4) at one point x (given to it as the environment
variable X) and prints the result. The program submits every point in one call
(``client.jobs.submit_many``), waits with a progress line (``batch.wait(progress=...)``),
prints the counts by status, then reads a few points' results back from their logs.

Offline, on the embedded emulator (each job is a local process)::

    python examples/parameter_sweep.py --emulator               # 1,000 points
    python examples/parameter_sweep.py --emulator --points 50

Without ``--emulator`` it runs on Rescale with your credentials (``RESCALE_API_KEY``, or a
profile of ~/.config/rescale/apiconfig), in a new task of your first project: real, billed
jobs. ``--image`` must name an image of that project with ``python3`` on its path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import anyio

from rescale_async import ConfigurationError, HTCClient, JobRef, JobSpec, Progress
from rescale_async.emulator import Emulator

# What each job runs: a program of its own (in its container; on the emulator, a process).
POINT = """
import math, os
x = float(os.environ["X"])
print(f"f({x:.3f}) = {math.sin(3 * x) * math.exp(-x / 4):.6f}")
"""


def x_of(i: int, points: int) -> float:
    """Point ``i`` of ``points`` evenly spread over [0, 10]."""
    return 10 * i / max(points - 1, 1)


@asynccontextmanager
async def connect(emulator: bool) -> AsyncIterator[HTCClient]:
    """A client on a fresh embedded emulator, or on Rescale with your credentials."""
    if not emulator:
        async with HTCClient() as client:
            yield client
        return
    async with Emulator(refresh_interval=0.05, max_workers=8) as emu, emu.client() as client:
        yield client


def show(progress: Progress) -> None:
    """Draw the progress line: redrawn in place on a terminal, one line per change elsewhere."""
    width = 30
    bar = "#" * (width * progress.done // max(progress.total, 1))
    counts = ", ".join(f"{s.lower()} {n}" for s, n in sorted(progress.counts.items()) if n)
    line = f"[{bar:<{width}}] {progress.done}/{progress.total}  {counts}"
    if sys.stdout.isatty():
        print(f"\r\x1b[2K{line}", end="\n" if progress.finished else "", flush=True)
    else:
        print(line, flush=True)


async def last_line(client: HTCClient, job: JobRef) -> str:
    """The last line a job printed."""
    lines = await client.jobs.tail(job, 1)
    return (lines[-1].message or "").strip() if lines else "(no output)"


async def sweep(points: int, *, emulator: bool, image: str, interval: float) -> bool:
    """Run the sweep; True when every point succeeded."""
    # On the emulator, jobs run on this machine with this interpreter (-S: skip site-packages,
    # so a thousand processes start faster); on Rescale, in the image's python3.
    python = [sys.executable, "-S"] if emulator else ["python3"]
    specs = [
        JobSpec(
            image=image,
            commands=[*python, "-c", POINT],
            env={"X": f"{x_of(i, points):.6f}"},
            timeout=600,
        )
        for i in range(points)
    ]
    async with connect(emulator) as client:
        project = (await client.projects.list(limit=1)).items[0]
        task = await client.tasks.create(project, name=f"sweep-{points}")
        batch = await client.jobs.submit_many(task, specs)
        print(f"submitted {len(batch)} jobs to task {task.task_id}", flush=True)

        result = await batch.wait(interval=interval, progress=show)

        print("summary:")
        for status, n in sorted(result.counts.items()):
            print(f"  {status:<10} {n}")
        for failure in result.failed[:3]:
            output = await last_line(client, failure.job)
            print(f"  failed: {failure.job.job_id} ({failure.failure_code}): {output}")

        # A few points' results, read from their logs concurrently.
        picks = sorted({0, points // 4, points // 2, 3 * points // 4, points - 1})
        results: dict[int, str] = {}

        async def read(i: int) -> None:
            results[i] = await last_line(client, batch.jobs[i])

        async with anyio.create_task_group() as task_group:
            for i in picks:
                task_group.start_soon(read, i)
        print("results:")
        for i in picks:
            print(f"  point {i:>4}: {results[i]}")
    return result.ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--emulator", action="store_true", help="run on the embedded emulator")
    parser.add_argument("--points", type=int, default=1000, help="sweep points (jobs)")
    parser.add_argument("--image", default="python:3.11", help="the jobs' container image")
    parser.add_argument(
        "--interval", type=float, help="seconds between status polls (emulator 0.1, else 30)"
    )
    args = parser.parse_args(argv)
    if args.points < 1:
        parser.error("--points must be at least 1")
    interval = args.interval if args.interval is not None else 0.1 if args.emulator else 30.0
    try:
        program = partial(sweep, emulator=args.emulator, image=args.image, interval=interval)
        ok = anyio.run(program, args.points)
    except ConfigurationError as exc:
        print(f"error: {exc}\n(pass --emulator to run on the embedded emulator)", file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
