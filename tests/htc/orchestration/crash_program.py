"""An orchestrating program for the crash test: submits a fixed plan of jobs with a ledger,
waits for them all, and prints what it got as JSON. The test kills it (SIGKILL) at random
points and runs it again on the same ledger.

``python crash_program.py BASE_URL PROJECT_ID TASK_ID LEDGER`` (API key in RESCALE_API_KEY).
"""

from __future__ import annotations

import json
import sys

import anyio

from rescale_async import HTCClient, JobBatch, JobFailure, JobSpec, TaskRef
from rescale_async.htc.orchestration import SpecLike

PLAN = [3, 5, 2, 7, 1]
"""Jobs per ``submit``, in order; then one ``submit_many`` sweep of SWEEP specs."""
SWEEP = 6
BROKEN = 3
"""Then a sweep of BROKEN jobs that cannot start (ErrorStartingContainer), resubmitted once
with a command that works."""
MISSING = "/nonexistent/rescale-async-crash-job"


def spec(submission: int, point: int = 0) -> JobSpec:
    """The job of submission ``submission`` (sweep point ``point``): says where it belongs."""
    env = {"SUBMISSION": str(submission), "POINT": str(point)}
    return JobSpec(image="python:3.11", commands=[sys.executable, "-c", "pass"], env=env)


def broken(point: int) -> JobSpec:
    """A job of the broken sweep: its program does not exist."""
    env = {"SUBMISSION": str(len(PLAN) + 1), "POINT": str(point)}
    return JobSpec(image="python:3.11", commands=[MISSING], env=env)


def working(failed: SpecLike, failure: JobFailure) -> SpecLike:
    """The broken job's spec with a command that works (``adjust`` of the resubmission)."""
    assert isinstance(failed, JobSpec) and failure.failure_code is not None
    return failed.model_copy(
        update={"commands": [sys.executable, "-c", "pass"], "env": {**failed.env, "ATTEMPT": "2"}}
    )


def expected() -> dict[tuple[str, str], int]:
    """How many jobs each (submission, point) must have in the end: exactly these (a broken
    job and the one that replaced it).
    """
    counts = {(str(i), "0"): n for i, n in enumerate(PLAN)}
    counts.update({(str(len(PLAN)), str(p)): 1 for p in range(SWEEP)})
    counts.update({(str(len(PLAN) + 1), str(p)): 2 for p in range(BROKEN)})
    return counts


async def main(base_url: str, project_id: str, task_id: str, ledger: str) -> None:
    async with HTCClient(base_url=base_url, max_retries=5, settle_delay=0.5) as client:
        task = TaskRef(project_id, task_id)
        batches: list[JobBatch] = []
        for index, count in enumerate(PLAN):
            batches.append(await client.jobs.submit(task, spec(index), count, ledger=ledger))
        sweep = [spec(len(PLAN), point) for point in range(SWEEP)]
        batches.append(await client.jobs.submit_many(task, sweep, ledger=ledger))
        rerun = await client.jobs.submit_many(task, map(broken, range(BROKEN)), ledger=ledger)
        await rerun.wait(interval=0.1, ledger=ledger)
        replaced = await rerun.resubmit_failed(working)
        batches.append(rerun)
        result = await client.jobs.wait(*batches, interval=0.1, ledger=ledger)
        report = {
            "batches": [
                [job_id for index in range(len(b)) for job_id in b.history(index)] for b in batches
            ],
            "replaced": {row.job_id: row.replaced for row in replaced},
            "succeeded": sorted(job.job_id for job in result.succeeded),
            "failed": sorted(f.job.job_id for f in result.failed),
            "total": result.total,
        }
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    base_url, project_id, task_id, ledger = sys.argv[1:5]
    anyio.run(main, base_url, project_id, task_id, ledger)
