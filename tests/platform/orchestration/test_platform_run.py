"""``jobs.run`` on the emulator: the tutorial's story end to end, and exactly once across lost
answers and crashes (a ledger file, a fault, a new client resuming).
"""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import anyio
import pytest
from emulated_platform import emulated, platform_client, tutorial_inputs, tutorial_job
from transfer_support import facades

from rescale_async import APIConnectionError, SubmissionInDoubtError
from rescale_async.platform.orchestration import RunLedger
from rescale_async.platform.types import JobStatus


async def test_the_tutorial_story_end_to_end(tmp_path: Path) -> None:
    inputs = tutorial_inputs(tmp_path)
    async with emulated() as p:
        with anyio.fail_after(60):
            # 1. forgot the inputs: the command fails, the job completes with a failure
            failed = await p.jobs.run(tutorial_job(), outputs=tmp_path / "first", interval=0.01)
            assert failed.outcome.status is JobStatus.COMPLETED and not failed.succeeded
            assert failed.outcome.reason == "Command exited with code 2"  # python: no such script
            lines = await p.jobs.process_output(failed.job)
            assert any("No such file or directory" in line for line in lines)
            assert [path.name for path in failed.paths] == ["process_output.log"]
            await p.jobs.delete(failed.job, wait_for_cluster=True, interval=0.01)
            assert failed.job.id not in p.emu.platform.jobs

            # 2. fixed: the inputs uploaded and attached, the outputs downloaded and verified
            seen: list[JobStatus | None] = []
            fixed = await p.jobs.run(
                tutorial_job(),
                inputs,
                tmp_path / "second",
                interval=0.01,
                progress=lambda outcome: seen.append(outcome.status),
            )
        assert fixed.succeeded and fixed.outcome.reason == "Completed successfully"
        assert seen[0] is JobStatus.PENDING and seen[-1] is JobStatus.COMPLETED
        assert len(fixed.inputs) == 2
        attached = p.emu.platform.jobs[fixed.job.id].definition["jobanalyses"][0]["inputFiles"]
        assert [f["id"] for f in attached] == list(fixed.inputs)
        out = tmp_path / "second"
        assert sorted(str(path.relative_to(out)) for path in fixed.paths) == [
            "pi_estimate.res",
            "process_output.log",
            "results/pi_estimate.bin",
        ]
        for downloaded in fixed.files:
            assert downloaded.verified and downloaded.path.is_file()
            record = p.emu.platform.files[downloaded.file.id]
            assert hashlib.sha512(downloaded.path.read_bytes()).hexdigest() == record.sha512
        assert (out / "pi_estimate.res").read_text().startswith("3.14")
        log = (out / "process_output.log").read_text()
        assert "pi is about 3.14" in log
        assert p.emu.platform.jobs_created == 2 and p.emu.platform.submissions == 2
        assert p.requests("POST", "/files/contents/") == 2  # the two inputs, once each


async def test_a_lost_create_answer_is_settled_without_a_second_job(tmp_path: Path) -> None:
    async with emulated() as p:
        p.emu.faults.add(method="POST", path="/jobs/", lose_rate=1.0, times=1)
        gateway = p.emu.faults.add(
            method="GET", path="/jobs/{jobId}/statuses/", error_rate=1.0, error_status=504, times=8
        )  # more 504s in a row than the client retries: the wait polls on
        with anyio.fail_after(60):
            run = await p.jobs.run(tutorial_job(command="true"), interval=0.01)
        assert run.succeeded and gateway.applied == 8
        assert p.emu.platform.jobs_created == 1 and p.emu.platform.submissions == 1
        assert "[rescale_async run " in (p.emu.platform.jobs[run.job.id].definition["description"])


async def test_a_crash_between_create_and_submit_resumes_without_a_second_job(
    tmp_path: Path,
) -> None:
    ledger_path = tmp_path / "runs.db"
    inputs = tutorial_inputs(tmp_path)
    async with emulated() as p:
        # the create acts, its answer is lost, and the job cannot be looked for: the program
        # stops (here, with an error) knowing only that a create may have landed
        p.emu.faults.add(method="POST", path="/jobs/", lose_rate=1.0, times=1)
        listing = p.emu.faults.add(method="GET", path="/jobs/", error_rate=1.0, error_status=503)
        with (
            anyio.fail_after(60),
            pytest.raises(SubmissionInDoubtError, match="cannot tell whether"),
        ):
            await p.jobs.run(tutorial_job(), inputs, tmp_path / "out", ledger=ledger_path)
        assert p.emu.platform.jobs_created == 1 and p.emu.platform.submissions == 0
        uploads = len(p.emu.platform.files)
        p.emu.faults.remove(listing)

        # a new program (a new client, a new ledger object on the same file) resumes
        async with platform_client(p.emu) as again:
            resumed_jobs, _ = facades(again)
            with anyio.fail_after(60):
                run = await resumed_jobs.run(
                    tutorial_job(),
                    inputs,
                    tmp_path / "out",
                    ledger=RunLedger(ledger_path),
                    interval=0.01,
                )
        assert run.succeeded
        assert p.emu.platform.jobs_created == 1  # found by its marker, not created again
        assert p.emu.platform.submissions == 1 and p.emu.platform.duplicate_submissions == 0
        assert len(p.emu.platform.files) - uploads == 3  # only the outputs: no input re-uploaded
        assert stat.S_IMODE(ledger_path.stat().st_mode) == 0o600


async def test_a_crash_after_create_submits_the_recorded_job(tmp_path: Path) -> None:
    ledger_path = tmp_path / "runs.db"
    async with emulated() as p:
        # every submit is dropped before the service sees it: the run gives up after a few
        drop = p.emu.faults.add(method="POST", path="/jobs/{jobId}/submit/", drop_rate=1.0)
        with anyio.fail_after(60), pytest.raises(APIConnectionError):
            await p.jobs.run(tutorial_job(command="true"), ledger=ledger_path, interval=0.01)
        assert p.emu.platform.jobs_created == 1 and p.emu.platform.submissions == 0
        p.emu.faults.remove(drop)

        async with platform_client(p.emu) as again:
            jobs, _ = facades(again)
            with anyio.fail_after(60):
                run = await jobs.run(
                    tutorial_job(command="true"), ledger=RunLedger(ledger_path), interval=0.01
                )
                # the same program run once more: everything is in the ledger, nothing is sent
                p.emu.counters.reset()
                rerun = await jobs.run(
                    tutorial_job(command="true"), ledger=RunLedger(ledger_path), interval=0.01
                )
        assert run.succeeded and rerun.job.id == run.job.id
        assert p.emu.platform.jobs_created == 1
        assert p.emu.platform.submissions == 1 and p.emu.platform.duplicate_submissions == 0
        posts = {k: n for k, n in p.emu.counters.requests.items() if k.startswith("POST")}
        assert posts == {}


async def test_run_many_shares_its_inputs_and_keeps_each_job_s_outputs_apart(
    tmp_path: Path,
) -> None:
    terms = tutorial_inputs(tmp_path)[1]
    ledger_path = tmp_path / "many.db"
    definitions = [
        tutorial_job(command=f"cat range.inp > copy.txt; echo {n} > n.txt", name=f"job {n}")
        for n in range(3)
    ]
    seen: set[str] = set()
    async with emulated() as p:
        with anyio.fail_after(60):
            runs = await p.jobs.run_many(
                definitions,
                [terms],
                tmp_path / "out",
                ledger=ledger_path,
                max_starting=2,
                interval=0.01,
                progress=lambda job_id, outcome: seen.add(job_id),
            )
            uploads = [f for f in p.emu.platform.files.values() if f.name == "range.inp"]
            assert len(uploads) == 1  # one upload for every job
            p.emu.counters.reset()
            again = await p.jobs.run_many(
                definitions, [terms], tmp_path / "out", ledger=RunLedger(ledger_path), interval=0.01
            )
        with pytest.raises(ValueError, match="max_starting must be >= 1"):
            await p.jobs.run_many(definitions, max_starting=0)
        with pytest.raises(ValueError, match="at least one job definition"):
            await p.jobs.run_many([])
    assert all(run.succeeded for run in runs) and len({run.job.id for run in runs}) == 3
    assert seen == {run.job.id for run in runs}
    for n, run in enumerate(runs):
        assert run.job.name == f"job {n}" and run.inputs == (uploads[0].file_id,)
        assert run.output_dir == tmp_path / "out" / run.job.id
        assert (run.output_dir / "n.txt").read_text() == f"{n}\n"
        assert (run.output_dir / "copy.txt").read_text() == "1000\n"
    assert [run.job.id for run in again] == [run.job.id for run in runs]
    assert not [
        k
        for k in p.emu.counters.requests
        if k.startswith(("POST", "GET /files/{fileId}/contents/"))
    ]
    assert p.emu.platform.jobs_created == 3 and p.emu.platform.submissions == 3
