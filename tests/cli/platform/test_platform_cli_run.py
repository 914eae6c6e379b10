"""``platform run FILE``: the whole story of a job from its YAML definition, its failures, its
ledger, its progress, and the definition errors that point at the field to fix.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from platform_cli_support import (
    POLL,
    PYTHON,
    PlatformCli,
    cli,  # noqa: F401 - fixtures
    error_line,
    job_file,
    python_job,
    served,  # noqa: F401 - fixtures
)

WRITES_RESULTS = """\
import pathlib
print("reading", open("data.txt").read().strip(), flush=True)
pathlib.Path("results").mkdir()
pathlib.Path("results/answer.txt").write_text("42\\n")
"""

FAILS = """\
print("computing", flush=True)
raise SystemExit("solver diverged")
"""


async def test_run_uploads_submits_waits_and_downloads_verified_outputs(
    cli: PlatformCli, tmp_path: Path
) -> None:
    (tmp_path / "data.txt").write_text("forty-two\n")
    definition = python_job(tmp_path, WRITES_RESULTS, outputs="out")
    text = definition.read_text().replace("inputs: [main.py]", "inputs: [main.py, data.txt]")
    definition.write_text(text)

    result = await cli("run", str(definition), *POLL, terminal=False)
    assert result.code == 0, result.err
    summary = re.fullmatch(
        r"job (\w+) \(cli job\): Completed \(Completed successfully\)\n(.*)", result.out, re.S
    )
    assert summary is not None, result.out
    job_id = summary[1]
    out = tmp_path / "out"
    assert (out / "results" / "answer.txt").read_text() == "42\n"
    assert (out / "process_output.log").read_text() == "reading forty-two\n"
    assert f"  {out / 'results' / 'answer.txt'}  3 bytes  sha512 verified" in result.out
    assert result.out.endswith(f"downloaded 2 files (21 bytes) to {out}\n")
    # not a terminal: a line per milestone on stderr, never on stdout
    progress = result.err.splitlines()
    assert progress[0] == "job 'cli job': uploading inputs, submitting"
    assert progress[1] == f"submitted job {job_id} (cli job)"
    assert progress[-1] == f"job {job_id}: Completed (Completed successfully)"

    job = await cli.json("jobs", "get", job_id)
    [analysis] = job["jobanalyses"]
    assert sorted(item["name"] for item in analysis["inputFiles"]) == ["data.txt", "main.py"]
    assert analysis["hardware"]["coreType"] == "emerald"


async def test_run_as_json_and_outputs_option(cli: PlatformCli, tmp_path: Path) -> None:
    definition = python_job(tmp_path, "print('hi')", outputs="ignored")
    target = tmp_path / "chosen"
    result = await cli.json("run", str(definition), *POLL, "--outputs", str(target))
    assert result["succeeded"] is True and result["completed"] is True
    assert result["status"] == "Completed"
    assert result["statusReason"] == "Completed successfully"
    assert [s["status"] for s in result["statuses"]][-1] == "Completed"
    assert result["outputDir"] == str(target)
    assert len(result["inputs"]) == 1
    [log] = result["files"]
    assert log["name"] == "process_output.log" and log["verified"] is True
    assert log["path"] == str(target / "process_output.log")
    assert (target / "process_output.log").read_text() == "hi\n"
    assert not (tmp_path / "ignored").exists()


async def test_a_failed_job_exits_5_with_its_reason_and_log(
    cli: PlatformCli, tmp_path: Path
) -> None:
    definition = python_job(tmp_path, FAILS, name="diverging")
    result = await cli("run", str(definition), *POLL, "--outputs", str(tmp_path / "o"), "-q")
    assert result.code == 5
    job_id = result.out.split()[1]
    assert result.out.startswith(f"job {job_id} (diverging): Completed (Command exited with code")
    assert result.err.splitlines() == [
        f"the last lines of process_output.log of job {job_id}:",
        "  computing",
        "  solver diverged",
        f"rescale-async: error: job {job_id} failed: Command exited with code 1",
    ]
    # its outputs are downloaded all the same: the log says why
    assert (tmp_path / "o" / "process_output.log").read_text() == "computing\nsolver diverged\n"

    failed = await cli("--json", "-q", "run", str(definition), *POLL, "--no-download")
    assert failed.code == 5
    assert failed.json()["succeeded"] is False
    assert failed.json()["failureReason"] == "Command exited with code 1"
    assert failed.json()["files"] == [] and failed.json()["outputDir"] is None


async def test_a_run_again_with_its_ledger_creates_no_second_job(
    cli: PlatformCli, tmp_path: Path
) -> None:
    definition = python_job(tmp_path, "print('once')")
    ledger = str(tmp_path / "ledger.db")
    first = await cli.json("run", str(definition), *POLL, "--ledger", ledger, "--no-download")
    state = cli.served.emulator.platform
    created, uploaded = state.jobs_created, len(state.files)
    again = await cli.json("run", str(definition), *POLL, "--ledger", ledger, "--no-download")
    assert again["jobId"] == first["jobId"] and again["inputs"] == first["inputs"]
    assert (state.jobs_created, len(state.files)) == (created, uploaded)


async def test_progress_bars_on_a_terminal_and_none_when_quiet(
    cli: PlatformCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the outputs go to ./<job id>
    monkeypatch.setenv("COLUMNS", "150")  # the width of the "terminal"
    definition = python_job(tmp_path, "print('bars')")
    shown = await cli("run", str(definition), *POLL, terminal=True)
    assert shown.code == 0, shown.err
    assert "\x1b[" in shown.err  # drawn with terminal control codes
    assert "outputs of job" in shown.err and "Completed successfully" in shown.err
    quiet = await cli("run", str(definition), *POLL, "--quiet", "--no-download", terminal=True)
    assert quiet.code == 0 and quiet.err == ""


BASE = """\
name: bad job
analysis: {code: user_included, version: '0'}
command: echo hi
coretype: emerald
cores: 1
walltime: 1
inputs: [job.yaml]
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("cores: 1", "corse: 1"), "job.yaml, line 5: corse: unknown field; did you mean 'cores'?"),
        (("cores: 1", "cores: many"), "job.yaml, line 5: cores: Input should be a valid integer"),
        (("cores: 1", "cores: 0"), "job.yaml, line 5: cores: Input should be greater than or"),
        (("command: echo hi\n", ""), "job.yaml: command: required, but missing"),
        (("version: '0'}", "versio: '0'}"), "line 2: analysis.versio: unknown field; did you"),
        (("echo hi", "'# nothing'"), "job.yaml, line 3: command: no analysis has a command"),
        (("[job.yaml]", "[job.yaml, nope.txt]"), "job.yaml, line 7: inputs[1]: cannot read the"),
        (("[job.yaml]", "[.]"), "job.yaml, line 7: inputs[0]: the input"),
        (("name: bad job", "name: [a"), "job.yaml is not valid YAML: "),
        # checked with the service, before anything is uploaded
        (("cores: 1", "cores: 3"), "line 5: cores: coretype 'emerald' does not offer 3 cores"),
        (("coretype: emerald", "coretype: emrald"), "line 4: coretype: no coretype 'emrald'; "),
        (
            ("{code: user_included, version: '0'}", "{code: openfoam, version: v9}"),
            "job.yaml, line 2: analysis: analysis 'openfoam' has no version 'v9'; its versions",
        ),
        (
            ("{code: user_included, version: '0'}", "{code: openfoam}"),
            "job.yaml, line 2: analysis.version: give a version of 'openfoam'",
        ),
    ],
)
async def test_a_bad_definition_points_at_its_field_and_sends_nothing(
    cli: PlatformCli, tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    assert change[0] in BASE
    definition = job_file(tmp_path, BASE.replace(*change))
    state = cli.served.emulator.platform
    created, uploaded = state.jobs_created, len(state.files)
    for command in ("run", "jobs submit"):
        result = await cli(*command.split(), str(definition))
        assert result.code == 2
        assert expected in error_line(result)
    assert (state.jobs_created, len(state.files)) == (created, uploaded)


async def test_a_file_that_is_not_a_definition(cli: PlatformCli, tmp_path: Path) -> None:
    listed = job_file(tmp_path, "- name: a\n- name: b\n")
    result = await cli("run", str(listed))
    assert result.code == 2
    assert error_line(result).startswith(f"{listed} holds a list: expected a job definition")
    missing = await cli("run", str(tmp_path / "absent.yaml"))
    assert missing.code == 2
    assert (
        error_line(missing) == f"cannot read {tmp_path / 'absent.yaml'}: No such file or directory"
    )
    fine = python_job(tmp_path, "print(1)").read_text()
    assert f"command: {PYTHON} main.py" in fine
