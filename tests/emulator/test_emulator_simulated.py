"""Simulated jobs (``run_mode="simulated"``): the statuses of real ones, no process at all."""

from __future__ import annotations

import re
from collections import Counter

import anyio
import pytest
from emulator_support import api, job, until

from rescale_async.emulator import EmulatorConfig
from rescale_async.emulator.__main__ import config_from, parse_args

SIMULATED = {"run_mode": "simulated", "simulated_duration": (0.0, 0.01)}

LIFECYCLE = [
    "SUBMITTED_TO_RESCALE",
    "SUBMITTED_TO_PROVIDER",
    "RUNNABLE",
    "STARTING",
    "RUNNING",
]


async def test_a_simulated_job_goes_through_every_status_without_a_process() -> None:
    async with api(**SIMULATED) as a:
        task = await a.task()
        # The command would fail if it ran: a simulated job runs nothing.
        [job_id] = await a.submit(task, job(["/nonexistent/program"]))
        await a.finish()
        body = await a.job(task, job_id)
        assert body["status"] == "SUCCEEDED"
        assert body["container"] == {"exitCode": 0, "reason": "Container Exited"}
        assert body["startedAt"] is not None
        events = await a.ok("GET", f"{a.task_path(task)}/jobs/{job_id}/events")
        assert [e["status"] for e in events["items"]] == [*LIFECYCLE, "SUCCEEDED"]
        [line] = await a.logs(task, job_id)
        assert line.startswith("simulated attempt 1: ")
        assert a.emu.runner.started == 0
        assert not (a.emu.jobs_root / "jobs").exists()


async def test_simulated_failures_follow_the_failure_rate_and_are_retried() -> None:
    async with api(**SIMULATED, simulated_failure_rate=1.0) as a:
        task = await a.task()
        [job_id] = await a.submit(task, {**job(), "retryStrategy": {"maxRetries": 2}})
        await a.finish()
        body = await a.job(task, job_id)
        assert body["status"] == "FAILED"
        assert body["failureCode"] == "ErrorNonZeroContainerExitCode"
        assert body["container"]["exitCode"] == 1
        assert a.emu.state.jobs[job_id].attempts == 3
        assert len(await a.logs(task, job_id)) == 3


async def test_a_seeded_failure_rate_fails_about_that_share_and_the_same_jobs_again() -> None:
    outcomes: list[list[str]] = []
    for _ in range(2):
        async with api(**SIMULATED, simulated_failure_rate=0.3, seed=11, max_workers=1) as a:
            task = await a.task()
            ids = await a.submit(task, job(batch_size=200))
            await a.finish()
            outcomes.append([a.emu.state.jobs[job_id].live.status for job_id in ids])
    assert outcomes[0] == outcomes[1]  # one worker: the draws come in submission order
    failed = Counter(outcomes[0])["FAILED"]
    assert 30 <= failed <= 90  # 60 expected; the seed makes it one fixed draw


async def test_simulated_durations_keep_jobs_running_and_workers_bound_them() -> None:
    async with api(run_mode="simulated", simulated_duration=(30.0, 30.0), max_workers=3) as a:
        task = await a.task()
        ids = await a.submit(task, job(batch_size=5))
        state = a.emu.state
        with anyio.fail_after(10):
            await until(lambda: Counter(state.jobs[i].live.status for i in ids)["RUNNING"] == 3)
        await anyio.sleep(0.1)
        statuses = Counter(state.jobs[i].live.status for i in ids)
        assert statuses == {"RUNNING": 3, "RUNNABLE": 2}


async def test_a_simulated_attempt_longer_than_its_timeout_fails_with_error_timeout() -> None:
    overrides = {"simulated_duration": (30.0, 30.0), "exec_timeout_scale": 0.001}
    async with api(run_mode="simulated", **overrides) as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(timeout=60))  # 60 s scaled: 0.06 s
        await a.finish()
        body = await a.job(task, job_id)
        assert body["status"] == "FAILED"
        assert body["failureCode"] == "ErrorTimeout"


async def test_cancelling_a_running_simulated_job_fails_it_as_cancelled() -> None:
    async with api(run_mode="simulated", simulated_duration=(30.0, 30.0)) as a:
        task = await a.task()
        [job_id] = await a.submit(task, job())
        record = a.emu.state.jobs[job_id]
        with anyio.fail_after(10):
            await until(lambda: record.live.status == "RUNNING")
        await a.ok("POST", f"{a.task_path(task)}/jobs/cancel")
        await a.finish()
        body = await a.job(task, job_id)
        assert body["status"] == "FAILED"
        assert body["statusReason"] == "Job cancelled by user request"
        assert "failureCode" not in body


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"run_mode": "threads"}, "run_mode must be one of process, simulated"),
        ({"simulated_duration": (2.0, 1.0)}, "simulated_duration must be (min, max)"),
        ({"simulated_duration": (-1.0, 1.0)}, "simulated_duration must be (min, max)"),
        ({"simulated_failure_rate": 1.5}, "simulated_failure_rate must be in [0, 1]"),
    ],
)
def test_bad_simulation_settings_are_refused_with_what_is_wrong(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        EmulatorConfig(**overrides)  # type: ignore[arg-type]


def test_the_command_line_turns_simulation_on() -> None:
    args = parse_args(
        [
            "--run-mode",
            "simulated",
            "--simulated-duration",
            "1.5:4",
            "--simulated-failure-rate",
            "0.05",
        ]
    )
    config = config_from(args)
    assert config.run_mode == "simulated"
    assert config.simulated_duration == (1.5, 4.0)
    assert config.simulated_failure_rate == 0.05
    assert config_from(parse_args(["--simulated-duration", "2"])).simulated_duration == (2.0, 2.0)
    assert config_from(parse_args([])).run_mode == "process"


@pytest.mark.parametrize("text", ["abc", "3:1", "-1"])
def test_the_command_line_refuses_a_bad_duration(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--simulated-duration", text])
    assert "--simulated-duration" in capsys.readouterr().err
