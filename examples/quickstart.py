"""Quickstart: create a task, run a small batch, wait, read a log.

Runs against the embedded emulator by default; pass ``--real`` to use the credentials from
your environment or ~/.config/rescale/apiconfig instead (it then runs real cloud jobs).
"""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack

import anyio

from rescale_async import HTCClient, JobDefinition, JobSubmitRequest
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
        await client.jobs.submit_batch(
            task,
            JobSubmitRequest(
                htc_job_definition=JobDefinition(
                    image_name="python:3.11",
                    commands=[
                        "python3",
                        "-c",
                        "print('hello from', __import__('os').environ['RESCALE_JOB_ID'])",
                    ],
                ),
                batch_size=3,
            ),
        )
        while True:  # the orchestration layer will make this one `await batch.wait()`
            summary = await client.tasks.summary(task)
            if summary.job_statuses and all(
                status.is_terminal or count == 0 for status, count in summary.job_statuses.items()
            ):
                break
            await anyio.sleep(0.2)
        print("statuses:", {str(s): n for s, n in summary.job_statuses.items() if n})
        async for job in client.jobs.list(task):
            lines = [event.message async for event in client.jobs.logs(job)]
            print(job.job_id, job.status, lines)
        await client.tasks.delete(task)


if __name__ == "__main__":
    anyio.run(main, "--real" in sys.argv)
