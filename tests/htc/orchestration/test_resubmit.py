"""``batch.resubmit_failed``: only the failed subset, once, through the same ledger; what
replaced what, and per spec index the latest attempt in ``wait()``.
"""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx
import pytest
from orchestration_support import TRUE, emulated, py
from support import TokenEndpoint, client, mock_api

from rescale_async import FailureCode, JobFailure, JobSpec, JobStatus, Ledger, TaskRef
from rescale_async.htc.orchestration import SpecLike

BATCH = "/jobs/batch"
EXIT_3 = py("raise SystemExit(3)")
MEMORY_HUNGRY = py(
    "import os, sys; sys.exit(0 if int(os.environ['MEM']) >= 8000 else 3)",
    env={"MEM": "4000"},
    memory_mib=4000,
)


def _program(path: Path) -> JobSpec:
    """A job running ``path``: ErrorStartingContainer until the file exists."""
    return JobSpec(image="python:3.11", commands=[str(path)])


def _install(path: Path) -> None:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)


async def test_only_infrastructure_failures_are_resubmitted_by_default(tmp_path: Path) -> None:
    program = tmp_path / "program"
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit_many(s.task, [TRUE, _program(program), EXIT_3])
        first = await batch.wait(interval=0.01)
        codes = {f.job.job_id: f.failure_code for f in first.failed}
        assert codes == {
            batch.job_ids[1]: FailureCode.ErrorStartingContainer,
            batch.job_ids[2]: FailureCode.ErrorNonZeroContainerExitCode,
        }
        original = list(batch.job_ids)
        _install(program)
        posts = s.requests("POST", BATCH)
        replaced = await batch.resubmit_failed()
        assert s.requests("POST", BATCH) == posts + 1
        assert [(r.replaced, r.spec_index, r.attempt) for r in replaced] == [(original[1], 1, 2)]
        assert batch.job_ids[0] == original[0] and batch.job_ids[2] == original[2]
        assert batch.job_ids[1] == replaced[0].job_id != original[1]
        assert batch.replaced == {replaced[0].job_id: original[1]}
        assert batch.history(1) == [original[1], replaced[0].job_id]
        result = await batch.wait(interval=0.01)
        assert [(a.index, a.attempts, a.status) for a in result.attempts] == [
            (0, 1, JobStatus.SUCCEEDED),
            (1, 2, JobStatus.SUCCEEDED),
            (2, 1, JobStatus.FAILED),
        ]
        assert result.attempts[1].replaced == (original[1],)
        rows = result.to_rows()
        assert rows[1]["attempts"] == 2 and rows[1]["job_id"] == replaced[0].job_id
        assert rows[2]["failure_code"] == "ErrorNonZeroContainerExitCode"
        assert set(rows[0]) == set(rows[2])  # one shape: a DataFrame takes them as they are
        # Nothing left to resubmit under the default codes: no request is sent.
        assert await batch.resubmit_failed() == []
        assert s.requests("POST", BATCH) == posts + 1
        assert len(s.emu.state.jobs) == 4


async def test_adjust_changes_or_skips_specs_and_the_change_is_kept() -> None:
    seen: list[JobFailure] = []

    def more_memory(spec: SpecLike, failure: JobFailure) -> SpecLike | None:
        seen.append(failure)
        assert isinstance(spec, JobSpec)
        if spec.tags.get("skip"):
            return None
        memory = 2 * (spec.memory_mib or 4000)
        return spec.model_copy(update={"memory_mib": memory, "env": {"MEM": str(memory)}})

    skipped = py("raise SystemExit(3)", tags={"skip": "yes"})
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit_many(s.task, [MEMORY_HUNGRY, skipped, MEMORY_HUNGRY])
        await batch.wait(interval=0.01)
        code = FailureCode.ErrorNonZeroContainerExitCode
        replaced = await batch.resubmit_failed(more_memory, codes=[code])
        assert sorted(f.job.job_id for f in seen) == sorted(batch.history(i)[0] for i in range(3))
        assert all(f.failure_code == code and f.status == JobStatus.FAILED for f in seen)
        assert [r.spec_index for r in replaced] == [0, 2]
        for row in replaced:
            assert s.emu.state.jobs[row.job_id].definition.max_memory == 8000
        specs = batch.specs
        assert specs is not None and specs[0].memory_mib == 8000  # type: ignore[union-attr]
        result = await batch.wait(interval=0.01)
        assert [a.attempts for a in result.attempts] == [2, 1, 2]
        assert [a.status for a in result.attempts] == [
            JobStatus.SUCCEEDED,
            JobStatus.FAILED,
            JobStatus.SUCCEEDED,
        ]
        # Any failure code (codes=None): the skipped one is asked about again, and skipped.
        assert await batch.resubmit_failed(more_memory, codes=None) == []
        assert len(s.emu.state.jobs) == 5


async def test_a_rerun_after_a_crash_finds_the_resubmission_in_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    program = tmp_path / "program"
    specs = [TRUE, _program(program), _program(program)]
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit_many(s.task, specs, ledger=path)
        await batch.wait(interval=0.01)
        _install(program)
        # The resubmission's answer is lost: settled through its group, nothing sent twice.
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        replaced = await batch.resubmit_failed()
        assert s.emu.counters.fault_total("lost") == 1
        assert len(s.emu.state.jobs) == 5
        await batch.wait(interval=0.01)
        # The program runs again (a new process: a new Ledger on the same file).
        again = Ledger(path)
        rerun = await s.client.jobs.submit_many(s.task, specs, ledger=again)
        assert rerun.job_ids == batch.history(0)[:1] + [batch.history(i)[0] for i in (1, 2)]
        posts = s.requests("POST", BATCH)
        assert await rerun.resubmit_failed() == replaced
        assert s.requests("POST", BATCH) == posts
        assert rerun.job_ids == batch.job_ids
        assert len(s.emu.state.jobs) == 5
        recorded = await again.replacements(row.job_id for row in replaced)
        assert sorted(recorded.values()) == sorted(replaced)
        again.close()


async def test_a_batch_read_back_by_group_says_it_cannot_resubmit() -> None:
    async with emulated() as s:
        batch = await s.client.jobs.submit(s.task, EXIT_3, group="nightly")
        await batch.wait(interval=0.01)
        found = await s.client.jobs.batch(s.task, "nightly")
        requests = sum(s.emu.counters.requests.values())
        with pytest.raises(ValueError, match="holds no specs"):
            await found.resubmit_failed()
        with pytest.raises(TypeError, match="failure code names"):
            await batch.resubmit_failed(codes=[3])  # type: ignore[list-item]
        with pytest.raises(TypeError, match="collection of failure codes"):
            await batch.resubmit_failed(codes="ErrorTimeout")
        assert sum(s.emu.counters.requests.values()) == requests  # nothing sent


async def test_submit_keeps_one_spec_per_job_and_adjust_must_return_a_spec() -> None:
    async with emulated(max_workers=4) as s:
        batch = await s.client.jobs.submit(s.task, EXIT_3, count=3)
        assert batch.specs == [EXIT_3] * 3
        await batch.wait(interval=0.01)
        with pytest.raises(TypeError, match="must return a JobSpec"):
            await batch.resubmit_failed(lambda spec, failure: "x", codes=None)  # type: ignore[arg-type, return-value]
        replaced = await batch.resubmit_failed(lambda spec, failure: TRUE, codes=None)
        assert [r.spec_index for r in replaced] == [0, 1, 2]
        with anyio.fail_after(30):
            result = await batch.wait(interval=0.01)
        assert result.ok and [a.attempts for a in result.attempts] == [2, 2, 2]


# ---------------------------------------------------------------------- against respx

PID, TID = "proj-1", "task-1"
TASK_PATH = f"/htc/projects/{PID}/tasks/{TID}"


def _listed(job_id: str, status: str, code: str | None) -> dict[str, object]:
    found: dict[str, object] = {"jobUUID": job_id, "projectId": PID, "taskId": TID}
    return {**found, "status": status, **({"failureCode": code} if code else {})}


async def test_not_enough_memory_is_resubmitted_with_more_memory_over_respx() -> None:
    hungry = JobSpec(image="python:3.11", commands=["run"], memory_mib=4000)
    answers = iter(["old", "new"])

    def submitted(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        parent = next(answers)
        answer = [{**item, "parentJobId": parent, "group": "g"} for item in body]
        return httpx.Response(200, json=answer)

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(f"/htc/projects/{PID}/container-registry/images/python:3.11").respond(
            json={"status": "READY"}
        )
        post = router.post(f"{TASK_PATH}/jobs/batch").mock(side_effect=submitted)
        jobs = router.get(f"{TASK_PATH}/jobs").respond(
            json={
                "items": [
                    _listed("old:0", "FAILED", "ErrorNotEnoughMemory"),
                    _listed("old:1", "FAILED", "ErrorTimeout"),
                    _listed("old:2", "SUCCEEDED", None),
                ]
            }
        )
        async with client() as c:
            batch = await c.jobs.submit(TaskRef(PID, TID), hungry, count=3)
            assert batch.job_ids == ["old:0", "old:1", "old:2"]

            def doubled(spec: SpecLike, failure: JobFailure) -> SpecLike | None:
                assert isinstance(spec, JobSpec)
                return spec.model_copy(update={"memory_mib": 2 * (spec.memory_mib or 0)})

            memory = [FailureCode.ErrorNotEnoughMemory]
            replaced = await batch.resubmit_failed(doubled, codes=memory)
    assert [(r.job_id, r.replaced, r.spec_index, r.attempt) for r in replaced] == [
        ("new:0", "old:0", 0, 2)
    ]
    assert post.call_count == 2
    [resent] = json.loads(post.calls.last.request.content)
    assert resent["htcJobDefinition"]["maxMemory"] == 8000 and resent["batchSize"] == 1
    assert ("viewType", "SIMPLE") in jobs.calls.last.request.url.params.multi_items()
    assert batch.job_ids == ["new:0", "old:1", "old:2"]
