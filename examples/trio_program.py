"""The SDK under trio: one nursery waits for a batch while it streams a job's log live.

Submits a batch of jobs that each print a few steps, then, in one trio nursery, follows the
log of the first job line by line as it is written (``client.jobs.follow_logs(job)``)
and waits for the whole batch (``batch.wait()``). The program ends when both are done; a
Ctrl-C cancels both (and, on the emulator, stops the jobs).

Offline, on the embedded emulator (each job is a local process)::

    python examples/trio_program.py --emulator

Without ``--emulator`` it runs on Rescale with your credentials (``RESCALE_API_KEY``, or a
profile of ~/.config/rescale/apiconfig): real, billed jobs; ``--image`` must name an image
of your first project with ``python3`` on its path.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import AsyncExitStack

import trio

from rescale_async import ConfigurationError, HTCClient, JobSpec
from rescale_async.emulator import Emulator

# What each job runs: a program of its own (in its container; on the emulator, a process).
STEPS = """
import os, time
for step in range(1, 6):
    print(f"job {os.environ['AWS_BATCH_JOB_ARRAY_INDEX']}: step {step}/5", flush=True)
    time.sleep(0.2)
"""


async def main(*, emulator: bool, image: str, jobs: int, interval: float) -> bool:
    async with AsyncExitStack() as stack:
        if emulator:
            emu = await stack.enter_async_context(Emulator(refresh_interval=0.05))
            client = await stack.enter_async_context(emu.client())
        else:
            client = await stack.enter_async_context(HTCClient())
        python = sys.executable if emulator else "python3"  # the emulator runs jobs right here

        project = (await client.projects.list(limit=1)).items[0]
        task = await client.tasks.create(project, name="trio-program")
        spec = JobSpec(image=image, commands=[python, "-c", STEPS], timeout=600)
        batch = await client.jobs.submit(task, spec, count=jobs)
        print(f"submitted {len(batch)} jobs; following {batch.job_ids[0]}")

        async def follow_first_log() -> None:
            async for line in client.jobs.follow_logs(batch.jobs[0], poll_interval=interval):
                print(f"  log | {(line.message or '').rstrip()}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow_first_log)
            result = await batch.wait(interval=interval)  # the nursery's body is a task too
        # Here both are done: the nursery waited for the log to end.
        counts = ", ".join(f"{status} {n}" for status, n in sorted(result.counts.items()))
        print(f"batch done: {counts}")
        return result.ok


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The SDK under trio: a batch and a live log.")
    parser.add_argument("--emulator", action="store_true", help="run on the embedded emulator")
    parser.add_argument("--jobs", type=int, default=4, help="jobs in the batch")
    parser.add_argument("--image", default="python:3.11", help="the jobs' container image")
    parser.add_argument(
        "--interval", type=float, help="seconds between polls (emulator 0.1, else 30)"
    )
    args = parser.parse_args(argv)
    interval = args.interval if args.interval is not None else 0.1 if args.emulator else 30.0
    try:
        ok = trio.run(
            lambda: main(
                emulator=args.emulator, image=args.image, jobs=args.jobs, interval=interval
            )
        )
    except ConfigurationError as exc:
        print(f"error: {exc}\n(pass --emulator to run on the embedded emulator)", file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(cli())
