"""Crash run: an orchestrating process killed with SIGKILL at random points, then restarted on
its ledger, loses no job and duplicates none (checked against the emulator's own state).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import crash_program
import pytest

from rescale_async.emulator import ServedEmulator, background_server

PROGRAM = Path(crash_program.__file__)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def _create_task(served: ServedEmulator, name: str) -> str:
    async def create() -> str:
        async with served.client() as client:
            return (await client.tasks.create(served.project_id, name=name)).task_id

    assert served.portal is not None
    return served.portal.call(create)


def _start(served: ServedEmulator, task_id: str, ledger: Path) -> subprocess.Popen[str]:
    environment = {**os.environ, "RESCALE_API_KEY": served.api_key}
    arguments = [served.base_url, served.project_id, task_id, str(ledger)]
    return subprocess.Popen(
        [sys.executable, str(PROGRAM), *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill(process: subprocess.Popen[str]) -> bool:
    """SIGKILL the program; True if it was still running (a real crash)."""
    alive = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    return alive


def _task_jobs(served: ServedEmulator, task_id: str) -> list[Any]:
    return [job for job in served.emulator.state.jobs.values() if job.task_id == task_id]


def _check(served: ServedEmulator, task_id: str, report: dict[str, Any]) -> None:
    jobs = _task_jobs(served, task_id)
    found = Counter(
        (
            {e.name: e.value for e in job.definition.envs or []}["SUBMISSION"],
            {e.name: e.value for e in job.definition.envs or []}["POINT"],
        )
        for job in jobs
    )
    assert found == crash_program.expected()  # nothing lost, nothing twice
    reported = [job_id for batch in report["batches"] for job_id in batch]
    assert sorted(reported) == sorted(job.job_id for job in jobs)
    replaced: dict[str, str] = report["replaced"]
    assert len(replaced) == crash_program.BROKEN
    by_id = {job.job_id: job for job in jobs}
    for new, old in replaced.items():  # each broken job replaced once, by a job of its point
        assert by_id[old].live.failure_code == "ErrorStartingContainer"
        assert _point(by_id[new]) == _point(by_id[old])
    latest = sorted(set(reported) - set(replaced.values()))
    assert report["total"] == len(latest) == len(jobs) - crash_program.BROKEN
    assert sorted(report["succeeded"]) == latest


def _point(job: Any) -> tuple[str, str]:
    env = {e.name: e.value for e in job.definition.envs or []}
    return env["SUBMISSION"], env["POINT"]


def _kill_during_the_resubmission(served: ServedEmulator, task_id: str, ledger: Path) -> None:
    """Kill the program between the resubmission's POST and its answer (held back)."""
    emulator = served.emulator
    process = _start(served, task_id, ledger)
    deadline = time.monotonic() + 60
    broken = str(len(crash_program.PLAN) + 1)
    while not any(_point(job)[0] == broken for job in _task_jobs(served, task_id)):
        assert time.monotonic() < deadline, "the broken sweep never arrived"
        time.sleep(0.005)
    # Every POST before the resubmission's has been answered: the next one is held.
    rule = emulator.faults.add(method="POST", path_regex=r"/jobs/batch$", hold=5.0, times=1)
    expected = len(_task_jobs(served, task_id)) + crash_program.BROKEN
    while len(_task_jobs(served, task_id)) < expected:
        assert time.monotonic() < deadline, "the resubmission never arrived"
        time.sleep(0.005)
    assert rule.applied == 1
    assert _kill(process)


def test_killed_and_restarted_on_its_ledger_no_job_is_lost_or_duplicated(tmp_path: Path) -> None:
    rng = random.Random(20261201)
    crashes = 0
    duration = 0.0
    with background_server(refresh_interval=0.05, max_workers=4, seed=5, kill_grace=0.5) as served:
        emulator = served.emulator
        emulator.faults.add(latency=0.03, jitter=0.03)  # a little network, so kills land mid-way
        for trial in range(6):
            task_id = _create_task(served, f"crash-{trial}")
            ledger = tmp_path / f"trial-{trial}.db"
            if trial == 0:
                # Killed between a POST and its response: the service has created the jobs,
                # the answer is held back, and the process dies waiting for it.
                rule = emulator.faults.add(
                    method="POST", path_regex=r"/jobs/batch$", hold=5.0, times=1
                )
                process = _start(served, task_id, ledger)
                deadline = time.monotonic() + 60
                while not _task_jobs(served, task_id):
                    assert time.monotonic() < deadline, "the first submission never arrived"
                    time.sleep(0.01)
                assert rule.applied == 1
                assert _kill(process)
                crashes += 1
                assert len(_task_jobs(served, task_id)) == crash_program.PLAN[0]
            elif trial == 1:
                _kill_during_the_resubmission(served, task_id, ledger)
                crashes += 1
            else:
                for _ in range(rng.choice([1, 2])):
                    process = _start(served, task_id, ledger)
                    time.sleep(rng.uniform(0.2, 0.9) * duration)
                    crashes += _kill(process)
            started = time.monotonic()
            process = _start(served, task_id, ledger)
            out, err = process.communicate(timeout=120)
            if trial == 0:
                duration = time.monotonic() - started  # a whole run, to aim the kills
            assert process.returncode == 0, err[-3000:]
            _check(served, task_id, json.loads(out.strip().splitlines()[-1]))
    assert crashes >= 5
