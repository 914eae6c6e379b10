"""``jobs submit|list|get|logs|events|cancel`` and ``watch`` against a served emulator."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from cli_support import Cli, gated, py, request, served_emulator

from rescale_async.cli import run
from rescale_async.emulator import ServedEmulator

LINES = "for i in range(5): print(f'line {i}', flush=True)"


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with served_emulator() as served:
        yield served


@pytest.fixture
def cli(
    served: ServedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    return Cli(served, capsys, monkeypatch)


async def test_submit_an_array_from_a_json_file_then_list_get_and_events(
    cli: Cli, tmp_path: Path
) -> None:
    task = await cli.task()
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(
        json.dumps([request("print('ok')", batch_size=2), request("raise SystemExit(3)")])
    )
    result = await cli("jobs", "submit", cli.project, task, str(jobs_file), "--group", "g1")
    assert result.code == 0, result.err
    submitted = re.fullmatch(
        r"submitted 3 jobs to task (\S+) in group g1: (\S+):0\.\.1, (\S+):0\n", result.out
    )
    assert submitted is not None, result.out
    assert submitted[1] == task
    assert result.err == f"watch them: rescale-async watch {cli.project} {task}\n"
    ok_ids = [f"{submitted[2]}:0", f"{submitted[2]}:1"]
    failing = f"{submitted[3]}:0"
    await cli.finish([*ok_ids, failing])

    table = await cli.ok("jobs", "list", cli.project, task)
    rows = {line.split()[0]: line.split() for line in table.splitlines()[2:]}
    assert rows.keys() == {*ok_ids, failing}
    assert rows[ok_ids[0]][1:3] == ["SUCCEEDED", "g1"]
    assert rows[failing][1] == "FAILED" and "3" in rows[failing]
    failed = await cli.json("jobs", "list", cli.project, task, "--status", "failed")
    assert [job["jobUUID"] for job in failed] == [failing]
    assert failed[0]["failureCode"] == "ErrorNonZeroContainerExitCode"
    assert len(await cli.json("jobs", "list", cli.project, task, "--group", "g1")) == 3
    assert await cli.json("jobs", "list", cli.project, task, "--group", "other") == []
    assert len(await cli.json("jobs", "list", cli.project, task, "--limit", "1")) == 1
    assert "no jobs match" in await cli.ok("jobs", "list", cli.project, task, "--group", "x")

    job = await cli.json("jobs", "get", cli.project, task, failing)
    assert job["jobUUID"] == failing and job["container"]["exitCode"] == 3
    details = await cli.ok("jobs", "get", cli.project, task, failing)
    assert re.search(r"^status\s+FAILED\s*$", details, re.MULTILINE)

    events = await cli.json("jobs", "events", cli.project, task, failing)
    assert events[0]["status"] == "SUBMITTED_TO_RESCALE" and events[-1]["status"] == "FAILED"
    table = await cli.ok("jobs", "events", cli.project, task, failing)
    last = table.splitlines()[-1].split()
    assert "FAILED" in last and last[-1] == "3"


async def test_submit_a_yaml_jobspec_with_count_and_group(cli: Cli, tmp_path: Path) -> None:
    task = await cli.task()
    spec = tmp_path / "spec.yaml"
    command = json.dumps(py("import os; print(os.environ['COLOR'])"))
    spec.write_text(f"image: python:3.11\ncommands: {command}\nenv:\n  COLOR: blue\nvcpus: 1\n")
    data = await cli.json(
        "jobs", "submit", cli.project, task, str(spec), "--count", "3", "--group", "sweep"
    )
    assert data["group"] == "sweep" and data["taskId"] == task
    assert len(data["jobIds"]) == 3 and len(set(data["jobIds"])) == 3
    await cli.finish(data["jobIds"])
    listed = await cli.json("jobs", "list", cli.project, task, "--group", "sweep")
    assert sorted(job["jobUUID"] for job in listed) == sorted(data["jobIds"])
    assert {job["status"] for job in listed} == {"SUCCEEDED"}
    assert await cli.ok("jobs", "logs", cli.project, task, data["jobIds"][0]) == "blue\n"


async def test_submit_from_stdin_json_spec_without_count(cli: Cli) -> None:
    task = await cli.task()
    spec = json.dumps({"image": "python:3.11", "commands": py("print('from stdin')")})
    data = await cli.json("jobs", "submit", cli.project, task, "-", stdin=spec)
    assert len(data["jobIds"]) == 1
    await cli.finish(data["jobIds"])
    assert await cli.ok("jobs", "logs", cli.project, task, data["jobIds"][0]) == "from stdin\n"


async def test_logs_whole_tail_timestamps_and_json_lines(cli: Cli) -> None:
    task = await cli.task()
    [job] = await cli.submit(task, request(LINES))
    await cli.finish([job])
    assert await cli.ok("jobs", "logs", cli.project, task, job) == "".join(
        f"line {i}\n" for i in range(5)
    )
    assert await cli.ok("jobs", "logs", cli.project, task, job, "--tail", "2") == (
        "line 3\nline 4\n"
    )
    assert await cli.ok("jobs", "logs", cli.project, task, job, "--tail", "0") == ""
    stamped = (await cli.ok("jobs", "logs", cli.project, task, job, "-t")).splitlines()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  line 0", stamped[0])
    as_json = await cli.ok("-o", "json", "jobs", "logs", cli.project, task, job, "--tail", "2")
    events = [json.loads(line) for line in as_json.splitlines()]
    assert [e["message"] for e in events] == ["line 3", "line 4"]
    assert all("timestamp" in e for e in events)
    # following a finished job prints its log and returns; with --tail, only the last lines
    assert await cli.ok("jobs", "logs", cli.project, task, job, "-f") == "".join(
        f"line {i}\n" for i in range(5)
    )
    followed = await cli.ok("jobs", "logs", cli.project, task, job, "-f", "--tail", "3")
    assert followed == "line 2\nline 3\nline 4\n"


async def test_logs_follow_a_running_job_until_it_ends(
    cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = await cli.task()
    gate = tmp_path / "gate"
    [job] = await cli.submit(task, request(gated(gate)))
    codes: list[int] = []
    argv = cli.argv(("jobs", "logs", cli.project, task, job, "-f", "--poll-interval", "0.02"))

    async def follow() -> None:
        codes.append(await run(argv))

    capsys.readouterr()
    seen = ""
    async with anyio.create_task_group() as tg:
        tg.start_soon(follow)
        with anyio.fail_after(20):
            while "first" not in seen:
                seen += capsys.readouterr().out
                await anyio.sleep(0.02)
            assert codes == []  # the job is running (it waits for the gate): still following
            status = (await cli.json("jobs", "get", cli.project, task, job))["status"]
            assert status not in ("SUCCEEDED", "FAILED")
            gate.touch()
    seen += capsys.readouterr().out
    assert codes == [0]
    assert seen == "first\nsecond\n"


async def test_cancel_a_group_then_a_task(cli: Cli, tmp_path: Path) -> None:
    task = await cli.task()
    gate = tmp_path / "never"
    [kept] = await cli.submit(task, request("print('quick')"), group="keep")
    await cli.finish([kept])
    [doomed] = await cli.submit(task, request(gated(gate)), group="doomed")
    [other] = await cli.submit(task, request(gated(gate)), group="other")
    done = await cli.ok("jobs", "cancel", cli.project, task, "--group", "doomed", "--no-wait")
    assert done == f"asked to cancel every unfinished job of group 'doomed' of task {task}\n"
    await cli.finish([doomed])
    assert (await cli.json("jobs", "get", cli.project, task, other))["status"] != "FAILED"
    # Without --no-wait the command returns once every job has ended (a deliberate change:
    # it used to return on the API's 200).
    data = await cli.json("jobs", "cancel", cli.project, task, "--interval", "0.05")
    assert data == {
        "projectId": cli.project,
        "taskId": task,
        "group": None,
        "cancelRequested": True,
        "confirmed": True,
        "ended": 3,
    }
    assert (await cli.json("jobs", "get", cli.project, task, other))["status"] == "FAILED"
    events = await cli.json("jobs", "events", cli.project, task, doomed)
    assert events[-1]["status"] == "FAILED" and events[-1]["userCancelledEvent"] is True
    table = await cli.ok("jobs", "events", cli.project, task, doomed)
    assert table.splitlines()[-1].split()[-1] == "yes"
    assert (await cli.json("jobs", "get", cli.project, task, kept))["status"] == "SUCCEEDED"


async def test_watch_waits_for_running_jobs_and_exits_0_when_all_succeeded(
    cli: Cli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = await cli.task("watch-a"), await cli.task("watch-b")
    gate = tmp_path / "gate"
    await cli.submit(first, request(gated(gate), batch_size=2))
    await cli.submit(second, request("print('fast')"))
    codes: list[int] = []
    argv = cli.argv(("watch", cli.project, first, second, "--interval", "0.02"))

    async def watch() -> None:
        codes.append(await run(argv))

    capsys.readouterr()
    seen = ""
    async with anyio.create_task_group() as tg:
        tg.start_soon(watch)
        with anyio.fail_after(20):
            while f"watch-b ({second}): 1/1 done" not in seen:
                seen += capsys.readouterr().out
                await anyio.sleep(0.02)
            assert codes == []  # watch-a's jobs wait for the gate
            gate.touch()
    seen += capsys.readouterr().out
    assert codes == [0]
    assert f"watch-a ({first}): 0/2 done" in seen  # one line per change, in a pipe
    assert f"watch-a ({first}): 2/2 done  succeeded 2" in seen
    assert seen.endswith("all 3 jobs finished: 3 succeeded, 0 failed\n")


async def test_watch_exits_5_when_some_failed_in_json_and_on_a_terminal(cli: Cli) -> None:
    task = await cli.task("watch-fail")
    await cli.submit(task, request("print('ok')", batch_size=2), request("raise SystemExit(1)"))
    result = await cli("-o", "json", "watch", cli.project, task, "--interval", "0.02")
    assert result.code == 5, result.err
    [counts] = json.loads(result.out)
    assert counts["taskName"] == "watch-fail" and counts["total"] == 3
    assert counts["failed"] == 1
    assert counts["jobStatuses"] == {"SUCCEEDED": 2, "FAILED": 1}

    live = await cli("watch", cli.project, task, "--interval", "0.02", terminal=True)
    assert live.code == 5
    assert "watch-fail" in live.out and "3/3" in live.out  # the rich progress display
    assert "succeeded 2, failed 1" in live.out
    assert "all 3 jobs finished: 2 succeeded, 1 failed" in live.out


async def test_watch_an_empty_task_returns_at_once(cli: Cli) -> None:
    task = await cli.task("empty")
    out = await cli.ok("watch", cli.project, task, task, "--interval", "5")
    assert out == f"empty ({task}): 0/0 done  no jobs\nall 0 jobs finished: 0 succeeded, 0 failed\n"
