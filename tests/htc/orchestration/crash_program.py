"""An orchestrating program for the crash test: submits a fixed plan of jobs with a ledger,
waits for them all, and prints what it got as JSON. The test kills it (SIGKILL) at random
points and runs it again on the same ledger.

``python crash_program.py BASE_URL PROJECT_ID TASK_ID LEDGER`` (API key in RESCALE_API_KEY).
"""

from __future__ import annotations

import json
import sys

import anyio

from rescale_async import HTCClient, JobBatch, JobSpec, TaskRef

PLAN = [3, 5, 2, 7, 1]
"""Jobs per ``submit``, in order; then one ``submit_many`` sweep of SWEEP specs."""
SWEEP = 6


def spec(submission: int, point: int = 0) -> JobSpec:
    """The job of submission ``submission`` (sweep point ``point``): says where it belongs."""
    env = {"SUBMISSION": str(submission), "POINT": str(point)}
    return JobSpec(image="python:3.11", commands=[sys.executable, "-c", "pass"], env=env)


def expected() -> dict[tuple[str, str], int]:
    """How many jobs each (submission, point) must have in the end: exactly these."""
    counts = {(str(i), "0"): n for i, n in enumerate(PLAN)}
    counts.update({(str(len(PLAN)), str(p)): 1 for p in range(SWEEP)})
    return counts


async def main(base_url: str, project_id: str, task_id: str, ledger: str) -> None:
    async with HTCClient(base_url=base_url, max_retries=5, settle_delay=0.5) as client:
        task = TaskRef(project_id, task_id)
        batches: list[JobBatch] = []
        for index, count in enumerate(PLAN):
            batches.append(await client.jobs.submit(task, spec(index), count, ledger=ledger))
        sweep = [spec(len(PLAN), point) for point in range(SWEEP)]
        batches.append(await client.jobs.submit_many(task, sweep, ledger=ledger))
        result = await client.jobs.wait(*batches, interval=0.1, ledger=ledger)
        report = {
            "batches": [batch.job_ids for batch in batches],
            "succeeded": sorted(job.job_id for job in result.succeeded),
            "failed": sorted(f.job.job_id for f in result.failed),
            "total": result.total,
        }
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    base_url, project_id, task_id, ledger = sys.argv[1:5]
    anyio.run(main, base_url, project_id, task_id, ledger)
