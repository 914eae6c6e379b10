"""A cancel that confirms: ``batch.cancel`` and ``client.jobs.cancel_and_wait`` return once
every job has ended, and name the jobs that have not by the timeout.
"""

from __future__ import annotations

import anyio
import pytest
from orchestration_support import TRUE, emulated, py

from rescale_async import CancelNotConfirmedError, JobStatus, WaitTimeoutError

SLEEPER = py("import time; time.sleep(60)")


STUBBORN = py(
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(60)"
)
"""A job that ignores SIGTERM (so a cancel takes its kill grace), and says when it does."""


async def test_a_batch_cancel_returns_once_every_job_has_ended() -> None:
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, SLEEPER, count=3)
        other = await s.client.jobs.submit(s.task, SLEEPER)
        result = await batch.cancel(timeout=30, interval=0.01)
        assert result.finished and result.total == 3
        assert {f.status for f in result.failed} == {JobStatus.FAILED}
        assert all(f.failure_code is None for f in result.failed)  # cancelled
        assert all(s.emu.state.jobs[job_id].is_terminal for job_id in batch.job_ids)
        assert not s.emu.state.jobs[other.job_ids[0]].is_terminal
        await s.client.jobs.cancel_and_wait(s.task, timeout=30, interval=0.01)


async def test_a_cancel_not_confirmed_by_the_timeout_names_the_jobs() -> None:
    async with emulated(max_workers=4, kill_grace=30.0) as s:
        batch = await s.client.jobs.submit(s.task, STUBBORN, count=2)
        with anyio.fail_after(30):
            for job in batch.jobs:  # both run, SIGTERM ignored
                async for line in s.client.jobs.follow_logs(job, poll_interval=0.02):
                    if (line.message or "").strip() == "ready":
                        break
        with pytest.raises(CancelNotConfirmedError, match="2 jobs have not ended") as caught:
            await batch.cancel(timeout=0.3, interval=0.01)
        assert isinstance(caught.value, WaitTimeoutError)
        assert sorted(job.job_id for job in caught.value.pending) == sorted(batch.job_ids)
        for job_id in batch.job_ids:
            assert job_id in str(caught.value)
        assert not caught.value.result.finished


async def test_cancel_and_wait_covers_a_group_or_the_whole_task() -> None:
    async with emulated(max_workers=4) as s:
        done = await s.client.jobs.submit(s.task, TRUE, group="quick")
        await done.wait(interval=0.01)
        doomed = await s.client.jobs.submit(s.task, SLEEPER, count=2, group="doomed")
        kept = await s.client.jobs.submit(s.task, SLEEPER, group="kept")
        result = await s.client.jobs.cancel_and_wait(
            s.task, group="doomed", timeout=30, interval=0.01
        )
        assert sorted(f.job.job_id for f in result.failed) == sorted(doomed.job_ids)
        assert not s.emu.state.jobs[kept.job_ids[0]].is_terminal
        result = await s.client.jobs.cancel_and_wait(s.task, timeout=30, interval=0.01)
        assert result.total == 4 and result.finished
        assert [job.job_id for job in result.succeeded] == done.job_ids
        with pytest.raises(ValueError, match="timeout must be >= 0"):
            await s.client.jobs.cancel_and_wait(s.task, timeout=-1)
