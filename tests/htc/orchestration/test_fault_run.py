"""Fault run: 2,000 jobs in 20 tasks through 5xx, dropped connections, lost responses, 429
bursts and short-lived tokens; every job is accounted for exactly once.
"""

from __future__ import annotations

from collections import Counter

import anyio
from orchestration_support import TRUE, emulated

from rescale_async import JobBatch, JobStatus

TASKS = 20
JOBS_PER_TASK = 100


async def test_two_thousand_jobs_through_faults_each_accounted_for_once() -> None:
    async with emulated(max_workers=8, client={"max_retries": 5, "settle_delay": 0.2}) as s:
        emu, client = s.emu, s.client
        tasks = [s.task] + [
            await client.tasks.create(emu.project_id, name=f"fault-{n}") for n in range(1, TASKS)
        ]
        emu.faults.token_lifetime = 60
        emu.revoke_tokens()  # the client's token is refused: it must get a new one mid-run
        emu.faults.add(drop_rate=0.05, name="dropped connections")
        emu.faults.add(error_rate=0.2, error_status=502, name="5xx")
        # Two submissions surely among the 1% whose answer is lost after the jobs were made.
        emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=2)
        emu.faults.add(lose_rate=0.01, name="responses lost after the server acted")
        emu.faults.add(rate_limit=40, burst=10, retry_after=0.2, name="429 bursts")

        batches: list[JobBatch | None] = [None] * TASKS

        async def submit(index: int) -> None:
            batches[index] = await client.jobs.submit(tasks[index], TRUE, JOBS_PER_TASK)

        with anyio.fail_after(240):
            async with anyio.create_task_group() as group:
                for index in range(TASKS):
                    group.start_soon(submit, index)
            submitted = [batch for batch in batches if batch is not None]
            result = await client.jobs.wait(*submitted, interval=0.2)

        # Every job the emulator holds was submitted once, ran, and was reported once.
        jobs = emu.state.jobs
        assert len(jobs) == TASKS * JOBS_PER_TASK
        assert Counter(job.task_id for job in jobs.values()) == {
            t.task_id: JOBS_PER_TASK for t in tasks
        }
        assert sorted(job_id for batch in submitted for job_id in batch.job_ids) == sorted(jobs)
        assert result.total == len(jobs)
        assert sorted(j.job_id for j in result.succeeded) == sorted(jobs)
        assert result.counts == {JobStatus.SUCCEEDED: len(jobs)}
        assert all(job.visible.status == "SUCCEEDED" for job in jobs.values())

        # The faults really happened.
        for kind in ("dropped", "error", "lost", "rate_limited"):
            assert emu.counters.fault_total(kind) > 0, kind
        assert emu.counters.requests["GET /auth/token"] >= 2
