"""``platform jobs submit|wait|get|list|files|download|stop|delete`` against a served emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from platform_cli_support import (
    POLL,
    PlatformCli,
    cli,  # noqa: F401 - fixtures
    error_line,
    python_job,
    served,  # noqa: F401 - fixtures
)

WRITES = """\
import pathlib
pathlib.Path("deep/er").mkdir(parents=True)
pathlib.Path("deep/er/result.csv").write_text("a,b\\n1,2\\n")
print("wrote it", flush=True)
"""

RUNS_UNTIL_STOPPED = "import time\nprint('running', flush=True)\ntime.sleep(60)\n"


async def test_submit_wait_get_list_files_download_and_delete(
    cli: PlatformCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    submitted = await cli.json("jobs", "submit", str(python_job(tmp_path, WRITES, name="sub")))
    job_id = submitted["jobId"]
    assert submitted["name"] == "sub" and len(submitted["inputs"]) == 1

    waited = await cli("jobs", "wait", job_id, *POLL)
    assert waited.code == 0, waited.err
    assert waited.out == f"job {job_id}: Completed (Completed successfully)\n"
    assert waited.err.splitlines()[-1] == f"job {job_id}: Completed (Completed successfully)"

    details = (await cli.ok("jobs", "get", job_id)).out
    assert re.search(r"^status\s+Completed \(Completed successfully\)\s*$", details, re.M)
    assert re.search(r"^hardware\s+emerald, 1 cores per slot, walltime 1 h\s*$", details, re.M)
    assert re.search(r"^inputs\s+main\.py\s*$", details, re.M)
    job = await cli.json("jobs", "get", job_id)
    assert job["id"] == job_id and job["outcome"]["succeeded"] is True
    assert job["outcome"]["statuses"][0]["status"] == "Pending"

    listed = await cli.json("jobs", "list", "--status", "completed")
    assert job_id in {item["id"] for item in listed}
    assert job_id not in {
        item["id"] for item in await cli.json("jobs", "list", "--state", "not_completed")
    }
    table = (await cli.ok("jobs", "list", "--limit", "1")).out.splitlines()
    assert table[0].split()[:3] == ["JOB", "ID", "NAME"] and table[2].split()[0] == job_id

    files = await cli.json("jobs", "files", job_id)
    assert sorted(f["relativePath"] for f in files) == ["deep/er/result.csv", "process_output.log"]
    only = (await cli.ok("jobs", "files", job_id, "--search", "result")).out.splitlines()
    assert len(only) == 3 and "deep/er/result.csv" in only[2]

    fetched = await cli.json("jobs", "download", job_id, str(tmp_path / "got"), "--search", "csv")
    [csv] = fetched["files"]
    assert csv["path"] == str(tmp_path / "got" / "deep" / "er" / "result.csv")
    assert (tmp_path / "got" / "deep" / "er" / "result.csv").read_text() == "a,b\n1,2\n"
    assert csv["verified"] is True and csv["hashFunction"] == "sha512"
    monkeypatch.chdir(tmp_path)
    everything = await cli.ok("-q", "jobs", "download", job_id)
    assert everything.out.endswith(f"downloaded 2 files (17 bytes) to {job_id}\n")
    assert (tmp_path / job_id / "process_output.log").read_text() == "wrote it\n"

    deleted = await cli.ok("jobs", "delete", job_id, "--wait-for-cluster", *POLL)
    assert deleted.out == f"deleted job {job_id}\n"
    gone = await cli("jobs", "get", job_id)
    assert gone.code == 4
    assert error_line(gone).endswith(
        "check the ids with 'platform jobs list', 'platform jobs files JOB' or 'platform files ls'"
    )


async def test_a_running_job_times_out_is_refused_deletion_then_stopped(
    cli: PlatformCli, tmp_path: Path
) -> None:
    definition = python_job(tmp_path, RUNS_UNTIL_STOPPED, name="long")
    job_id = (await cli.json("jobs", "submit", str(definition)))["jobId"]
    running = await cli.json("jobs", "wait", job_id, "--until", "executing", *POLL)
    assert running["status"] == "Executing" and running["completed"] is False

    late = await cli("jobs", "wait", job_id, "--timeout", "0.1", *POLL, "-q")
    assert late.code == 1
    assert f"job {job_id} did not reach 'Completed' within 0.1 s" in error_line(late)

    refused = await cli("jobs", "delete", job_id)
    assert refused.code == 1
    assert error_line(refused).endswith("stop the job first if it runs, and add --wait-for-cluster")

    stopped = await cli.ok("jobs", "stop", job_id)
    assert stopped.out == f"asked job {job_id} to stop (gracefully: SIGTERM, its files kept)\n"
    ended = await cli("jobs", "wait", job_id, *POLL, "--quiet")
    assert ended.code == 5  # a stopped job did not succeed
    assert ended.out == f"job {job_id}: Completed (Job stopped by user request)\n"
    assert ended.err == f"job {job_id} failed: Job stopped by user request\n"
    assert await cli.json("jobs", "delete", job_id, "--wait-for-cluster", *POLL) == {
        "jobId": job_id,
        "deleted": True,
    }


async def test_usage_errors_of_job_commands(cli: PlatformCli) -> None:
    bad_status = await cli("jobs", "list", "--status", "running")
    assert bad_status.code == 2
    assert "unknown job status 'running'; one of Pending, Queued" in bad_status.err
    missing = await cli("jobs", "wait")
    assert missing.code == 2 and "the following arguments are required: job" in missing.err
