"""The code under test: a piece of "your" application that runs its work on Rescale HTC.

``square_all`` squares each number in a job of its own and reads the results back from the
jobs' logs. ``test_squares.py`` beside it shows how to test such code with the emulator.
"""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from rescale_async import HTCClient, JobRef, JobSpec

SQUARE = """
import os, sys
n = int(os.environ["N"])
if n < 0:
    sys.exit(f"refusing to square {n}")
print(n * n)
"""


class SquaringFailed(Exception):
    """Some jobs failed; ``numbers`` are their inputs."""

    def __init__(self, numbers: list[int]) -> None:
        super().__init__(f"could not square {numbers}")
        self.numbers = numbers


async def square_all(
    client: HTCClient,
    project_id: str,
    numbers: Sequence[int],
    *,
    python: str = "python3",
    image: str = "python:3.11",
    interval: float = 30.0,
) -> dict[int, int]:
    """Square every number on Rescale, in a new task of the project; ``{n: n * n}``."""
    task = await client.tasks.create(project_id, name="squares")
    specs = [
        JobSpec(image=image, commands=[python, "-c", SQUARE], env={"N": str(n)}) for n in numbers
    ]
    batch = await client.jobs.submit_many(task, specs)
    result = await batch.wait(interval=interval)
    if not result.ok:
        failed = {failure.job.job_id for failure in result.failed}
        pairs = zip(numbers, batch.job_ids, strict=True)  # job_ids[i] runs specs[i]
        raise SquaringFailed([n for n, job_id in pairs if job_id in failed])

    squares: dict[int, int] = {}

    async def read(n: int, job: JobRef) -> None:
        (line,) = await client.jobs.tail(job, 1)
        squares[n] = int(line.message or "")

    async with anyio.create_task_group() as task_group:
        for n, job in zip(numbers, batch.jobs, strict=True):
            task_group.start_soon(read, n, job)
    return squares
