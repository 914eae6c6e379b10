"""Quickstart: create a task, run a small batch, wait for it, read the logs.

Runs against the embedded emulator by default; pass ``--real`` to use the credentials from
your environment or ~/.config/rescale/apiconfig instead (it then runs real cloud jobs).
"""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack

import anyio

from rescale_async import HTCClient, JobSpec
from rescale_async.emulator import Emulator


async def main(real: bool = False) -> None:
    async with AsyncExitStack() as stack:
        if real:
            client = await stack.enter_async_context(HTCClient())
        else:
            emulator = await stack.enter_async_context(Emulator(refresh_interval=0.1))
            client = await stack.enter_async_context(emulator.client())

        project = (await client.projects.list(limit=1)).items[0]
        task = await client.tasks.create(project, name="quickstart")
        spec = JobSpec(
            image="python:3.11",
            commands=[
                "python3",
                "-c",
                "import os; print('hello from', os.environ['RESCALE_JOB_ID'])",
            ],
        )
        batch = await client.jobs.submit(task, spec, count=3)
        # The service refreshes job statuses about every 30 s; the emulator here every 0.1 s.
        result = await batch.wait(interval=30 if real else 0.1)
        print("statuses:", {str(status): n for status, n in result.counts.items()})
        async for job in client.jobs.list(task):
            lines = [event.message async for event in client.jobs.logs(job)]
            print(job.job_id, job.status, lines)
        await client.tasks.delete(task)


if __name__ == "__main__":
    anyio.run(main, "--real" in sys.argv)
