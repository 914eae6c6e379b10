"""SQLite persistence: state, logs, keys and tokens survive a restart; interrupted jobs settle."""

from __future__ import annotations

from pathlib import Path

import anyio
from emulator_support import Api, api, job, py, until

GATED = (
    "import os, pathlib, time\n"
    "print('attempt', os.environ['AWS_BATCH_JOB_ATTEMPT'], flush=True)\n"
    "gate = pathlib.Path(os.environ['TASK_SHARED_FOLDER']) / 'go'\n"
    "while not gate.exists(): time.sleep(0.01)"
)


async def running_count(a: Api, count: int) -> None:
    with anyio.fail_after(10):
        await until(lambda: a.emu.runner.processes == count)


async def logged(a: Api, *job_ids: str) -> None:
    with anyio.fail_after(10):
        await until(lambda: all(a.emu.state.logs.get(job_id) for job_id in job_ids))


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "emulator.db"
    async with api(db_path=db) as a:
        key, project, token = a.emu.api_key, a.emu.project_id, a.emu.issue_token()
        task = await a.task("kept")
        [done] = await a.submit(task, job(py("print('finished before')")))
        await a.finish()
        await a.ok(
            "POST", f"{a.project}/limits", json={"vCPUs": 2, "modifierRole": "PROJECT_ADMIN"}
        )
        [lost] = await a.submit(task, job(py(GATED)), group="lost")
        retried = await a.submit(task, {**job(py(GATED)), "retryStrategy": {"maxRetries": 2}})
        [held] = await a.submit(task, job(py("print('ran after restart')")), group="held")
        await running_count(a, 2)
        await logged(a, lost, *retried)
        assert a.emu.state.jobs[held].live.status == "SUBMITTED_TO_RESCALE"
        await a.ok(
            "PUT", f"{a.project}/task-retention-policy", json={"archiveAfter": 5, "deleteAfter": 6}
        )
    assert db.exists()
    assert (tmp_path / "emulator-jobs").is_dir()  # job directories are kept with the database

    async with api(db_path=db) as a:
        assert a.emu.api_key == key
        assert a.emu.project_id == project
        # Tokens issued before the restart are still good: the signing key was kept.
        response = await a.http.get(a.project, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert (await a.ok("GET", a.task_path(task)))["taskName"] == "kept"
        assert (await a.ok("GET", f"{a.project}/task-retention-policy"))["deleteAfter"] == 6
        assert [lim["vCPUs"] for lim in await a.ok("GET", f"{a.project}/limits")] == [2]

        assert (await a.job(task, done))["status"] == "SUCCEEDED"
        assert await a.logs(task, done) == ["finished before"]
        body = await a.job(task, lost)
        assert body["status"] == "FAILED"
        assert body["failureCode"] == "ErrorInstanceTermination"
        assert "restarted" in body["statusReason"]

        await running_count(a, 1)  # the retried job runs again
        shared = a.emu.jobs_root / "projects" / project / "tasks" / task / "shared"
        await anyio.Path(shared / "go").write_text("go")
        await a.finish()
        assert (await a.job(task, retried[0]))["status"] == "SUCCEEDED"
        assert await a.logs(task, retried[0]) == ["attempt 1", "attempt 2"]
        assert (await a.job(task, held))["status"] == "SUCCEEDED"
        assert await a.logs(task, held) == ["ran after restart"]
        events = await a.ok("GET", f"{a.task_path(task)}/jobs/{lost}/events")
        assert [e["status"] for e in events["items"]][-2:] == ["RUNNING", "FAILED"]
        # New ids keep counting after the stored ones.
        new_task = await a.task("after")
        listing = await a.ok("GET", f"{a.project}/tasks")
        assert [t["taskId"] for t in listing["items"]] == [task, new_task]
