"""``jobs cancel`` that waits with a progress line, and ``tasks report`` (table and JSON),
against a served emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Cli, gated, request, served_emulator

from rescale_async.emulator import ServedEmulator


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with served_emulator() as served:
        yield served


@pytest.fixture
def cli(
    served: ServedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    return Cli(served, capsys, monkeypatch)


async def test_cancel_waits_until_every_job_has_ended_with_a_progress_line(
    cli: Cli, tmp_path: Path
) -> None:
    task = await cli.task()
    gate = tmp_path / "never"
    doomed = await cli.submit(task, request(gated(gate), batch_size=2), group="doomed")
    [other] = await cli.submit(task, request(gated(gate)), group="other")
    result = await cli(
        "jobs", "cancel", cli.project, task, "--group", "doomed", "--interval", "0.05"
    )
    assert result.code == 0, result.err
    assert result.out == f"cancelled group 'doomed' of task {task}: all 2 jobs have ended\n"
    progress = result.err.splitlines()
    assert progress and all(line.startswith("cancelling group 'doomed'") for line in progress)
    assert progress[-1].endswith("2 of 2 jobs ended")
    for job_id in doomed:
        assert (await cli.json("jobs", "get", cli.project, task, job_id))["status"] == "FAILED"
    assert (await cli.json("jobs", "get", cli.project, task, other))["status"] != "FAILED"
    whole = await cli("jobs", "cancel", cli.project, task, "--interval", "0.05")
    assert whole.out == f"cancelled task {task}: all 3 jobs have ended\n"
    assert whole.err.splitlines()[-1].endswith("3 of 3 jobs ended")


async def test_report_as_a_table_and_as_json(cli: Cli) -> None:
    task = await cli.task()
    await cli.submit(task, request("print('ok')", batch_size=2), request("raise SystemExit(3)"))
    await cli.finish()
    data = await cli.json("tasks", "report", cli.project, task)
    assert data["total"] == 3
    assert data["byStatus"] == {"SUCCEEDED": 2, "FAILED": 1}
    assert data["byFailureCode"] == {"ErrorNonZeroContainerExitCode": 1}
    assert data["durations"]["count"] == 3 and data["vcpuHours"] > 0
    [failed] = data["failed"]
    assert failed["failureCode"] == "ErrorNonZeroContainerExitCode"
    table = await cli.ok("tasks", "report", cli.project, task)
    lines = table.splitlines()
    assert any(line.split()[:2] == ["SUCCEEDED", "2"] for line in lines)
    assert any(line.split()[:2] == ["TOTAL", "3"] for line in lines)
    assert any(line.startswith("durations of 3 ended jobs: min ") for line in lines)
    assert any(
        failed["jobId"] in line and "ErrorNonZeroContainerExitCode" in line for line in lines
    )
    empty = await cli.json("tasks", "report", cli.project, task, "--group", "none-such")
    assert json.dumps(empty["byStatus"]) == "{}" and empty["total"] == 0
