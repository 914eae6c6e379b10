"""Jobs really run: processes, environment, statuses, events, limits, timeouts, cancellation."""

from __future__ import annotations

import json
import time

import anyio
import jwt
from emulator_support import Api, api, env_from_logs, instant, job, process_gone, py, until

PRINT_ENV = (
    "import json, os, pathlib; pathlib.Path('out.txt').write_text('written by ' + "
    "os.environ['RESCALE_JOB_ID']); print('ENV ' + json.dumps(dict(os.environ)))"
)

WAIT_FOR_GO = (
    "import os, pathlib, time\n"
    "gate = pathlib.Path(os.environ['TASK_SHARED_FOLDER']) / 'go'\n"
    "while not gate.exists(): time.sleep(0.01)\n"
    "print('released')"
)


async def release(a: Api, task_id: str) -> None:
    shared = a.emu.jobs_root / "projects" / a.emu.project_id / "tasks" / task_id / "shared"
    await anyio.Path(shared).mkdir(parents=True, exist_ok=True)
    await anyio.Path(shared / "go").write_text("go")


async def test_a_job_runs_in_its_directory_with_the_htc_environment() -> None:
    async with api() as a:
        task = await a.task()
        request = job(
            py(PRINT_ENV),
            envs=[{"name": "FOO", "value": "bar"}],
            claims=[{"name": "color", "value": "blue"}],
        )
        [job_id] = await a.submit(task, request)
        await a.finish()

        record = a.emu.state.jobs[job_id]
        assert record.live.status == "SUCCEEDED"
        workdir = a.emu.jobs_root / "jobs" / job_id.replace(":", "_")
        assert (workdir / "out.txt").read_text() == f"written by {job_id}"

        env = env_from_logs(await a.logs(task, job_id))
        assert env["RESCALE_JOB_ID"] == job_id
        assert env["RESCALE_HTC_PROJECT_ID"] == a.emu.project_id
        assert env["RESCALE_HTC_TASK_ID"] == task
        assert env["RESCALE_HTC_REGION"] == "AWS_US_EAST_2"
        assert env["FOO"] == "bar"
        assert env["HOME"] == str(workdir)
        assert "AWS_SECRET_ACCESS_KEY" not in env
        # The bearer token is signed by the published key and carries the job's claims.
        key = jwt.PyJWKSet.from_dict(a.emu.jwks()).keys[0]
        claims = jwt.decode(env["RESCALE_HTC_BEARER_TOKEN"], key.key, algorithms=["RS256"])
        assert claims["userDefined_color"] == "blue"
        assert claims["jobId"] == job_id
        # The refresh token gets fresh bearer tokens with the same claims.
        response = await a.http.get(
            "auth/token", headers={"Authorization": f"Refresh {env['RESCALE_HTC_REFRESH_TOKEN']}"}
        )
        assert response.status_code == 200
        renewed = jwt.decode(response.json()["tokenValue"], key.key, algorithms=["RS256"])
        assert renewed["userDefined_color"] == "blue"


async def test_statuses_and_events_of_a_successful_job() -> None:
    async with api() as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py("print('one'); print('two')")))
        await a.finish()
        body = await a.job(task, job_id)
        assert body["status"] == "SUCCEEDED"
        assert body["container"] == {"exitCode": 0, "reason": "Container Exited"}
        assert "failureCode" not in body
        assert body["startedAt"] is not None
        started, completed = (instant(body[key]) for key in ("startedAt", "completedAt"))
        assert completed >= started
        events = await a.ok("GET", f"{a.task_path(task)}/jobs/{job_id}/events")
        assert [e["status"] for e in events["items"]] == [
            "SUBMITTED_TO_RESCALE",
            "SUBMITTED_TO_PROVIDER",
            "RUNNABLE",
            "STARTING",
            "RUNNING",
            "SUCCEEDED",
        ]
        assert all(e["jobId"] == job_id for e in events["items"])
        assert await a.logs(task, job_id) == ["one", "two"]


async def test_a_nonzero_exit_fails_with_its_exit_code_and_stderr_in_the_log() -> None:
    async with api() as a:
        task = await a.task()
        code = "import sys; print('to stderr', file=sys.stderr); sys.exit(3)"
        [job_id] = await a.submit(task, job(py(code)))
        await a.finish()
        body = await a.job(task, job_id)
        assert body["status"] == "FAILED"
        assert body["failureCode"] == "ErrorNonZeroContainerExitCode"
        assert body["container"]["exitCode"] == 3
        assert await a.logs(task, job_id) == ["to stderr"]


async def test_a_command_that_cannot_start_fails_with_error_starting_container() -> None:
    async with api() as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(["/nonexistent/program"]))
        await a.finish()
        body = await a.job(task, job_id)
        assert body["status"] == "FAILED"
        assert body["failureCode"] == "ErrorStartingContainer"


async def test_exceeding_exec_timeout_kills_the_job() -> None:
    # 60 s (the smallest timeout the API accepts) scaled to 0.3 s.
    async with api(exec_timeout_scale=0.005) as a:
        task = await a.task()
        started = time.monotonic()
        code = "import time; print('sleeping', flush=True); time.sleep(30)"
        [job_id] = await a.submit(task, job(py(code), timeout=60))
        await a.finish()
        assert time.monotonic() - started < 10
        body = await a.job(task, job_id)
        assert body["status"] == "FAILED"
        assert body["failureCode"] == "ErrorTimeout"
        assert body["statusReason"] == "Job attempt duration exceeded timeout"
        assert await a.logs(task, job_id) == ["sleeping"]
        assert a.emu.runner.processes == 0


async def test_a_failed_attempt_is_retried_per_retry_strategy() -> None:
    code = (
        "import pathlib, sys\n"
        "marker = pathlib.Path('attempted')\n"
        "if marker.exists(): print('second attempt'); sys.exit(0)\n"
        "marker.write_text('1'); print('first attempt'); sys.exit(1)"
    )
    async with api() as a:
        task = await a.task()
        request = {**job(py(code)), "retryStrategy": {"maxRetries": 1}}
        [job_id] = await a.submit(task, request)
        await a.finish()
        body = await a.job(task, job_id)
        assert body["status"] == "SUCCEEDED"
        events = await a.ok("GET", f"{a.task_path(task)}/jobs/{job_id}/events")
        statuses = [e["status"] for e in events["items"]]
        assert statuses.count("RUNNING") == 2
        assert statuses[-1] == "SUCCEEDED"
        assert await a.logs(task, job_id) == ["first attempt", "second attempt"]


async def test_cancel_stops_running_jobs_and_fails_waiting_ones() -> None:
    async with api() as a:
        task = await a.task()
        await a.ok(
            "POST", f"{a.project}/limits", json={"vCPUs": 2, "modifierRole": "PROJECT_ADMIN"}
        )
        sleeper = py("import time; print('started', flush=True); time.sleep(60)")
        running = await a.submit(task, job(sleeper, maxVCpus=2), group="big")
        [waiting] = await a.submit(task, job(sleeper, maxVCpus=1), group="small")
        with anyio.fail_after(10):
            await until(lambda: a.emu.runner.processes == 1)
        assert a.emu.state.jobs[waiting].live.status == "SUBMITTED_TO_RESCALE"

        started = time.monotonic()
        response = await a.http.post(f"{a.task_path(task)}/jobs/cancel")
        assert response.status_code == 200
        await a.finish()
        assert time.monotonic() - started < 5
        assert a.emu.runner.processes == 0
        for job_id in [*running, waiting]:
            body = await a.job(task, job_id)
            assert body["status"] == "FAILED"
            assert body["statusReason"] == "Job cancelled by user request"
            assert "failureCode" not in body
            events = await a.ok("GET", f"{a.task_path(task)}/jobs/{job_id}/events")
            assert events["items"][-1]["userCancelledEvent"] is True
        assert (await a.job(task, running[0]))["container"]["exitCode"] == 128 + 15  # SIGTERM


async def test_cancel_with_group_only_cancels_that_group() -> None:
    async with api() as a:
        task = await a.task()
        ids_a = await a.submit(task, job(py(WAIT_FOR_GO)), group="a")
        ids_b = await a.submit(task, job(py(WAIT_FOR_GO)), group="b")
        with anyio.fail_after(10):
            await until(lambda: a.emu.runner.processes == 2)
        await a.ok("POST", f"{a.task_path(task)}/jobs/cancel", params={"group": "a"})
        with anyio.fail_after(10):
            await a.emu.wait_for_jobs(ids_a)
        assert a.emu.state.jobs[ids_b[0]].live.status == "RUNNING"
        await release(a, task)
        await a.finish()
        assert (await a.job(task, ids_a[0]))["status"] == "FAILED"
        assert (await a.job(task, ids_b[0]))["status"] == "SUCCEEDED"


async def test_project_vcpu_limit_holds_extra_jobs_in_submitted_to_rescale() -> None:
    async with api() as a:
        task = await a.task()
        limit = await a.ok(
            "POST", f"{a.project}/limits", json={"vCPUs": 2, "modifierRole": "PROJECT_ADMIN"}
        )
        ids = await a.submit(task, job(py(WAIT_FOR_GO), batch_size=3, maxVCpus=1))
        with anyio.fail_after(10):
            await until(lambda: a.emu.runner.processes == 2)
        await anyio.sleep(0.1)
        statuses = sorted(a.emu.state.jobs[i].live.status for i in ids)
        assert statuses == ["RUNNING", "RUNNING", "SUBMITTED_TO_RESCALE"]
        assert a.emu.runner.usage(a.emu.project_id) == 2
        # Raising the limit admits the held job at once.
        await a.ok("PATCH", f"{a.project}/limits/{limit['id']}", json={"vCPUs": 3})
        with anyio.fail_after(10):
            await until(lambda: a.emu.runner.processes == 3)
        await release(a, task)
        await a.finish()
        assert all(a.emu.state.jobs[i].live.status == "SUCCEEDED" for i in ids)
        assert a.emu.runner.usage(a.emu.project_id) == 0


async def test_the_worker_pool_bounds_concurrent_processes() -> None:
    async with api(max_workers=2) as a:
        task = await a.task()
        ids = await a.submit(task, job(py("import time; time.sleep(0.2)"), batch_size=6))
        with anyio.fail_after(10):
            await until(lambda: a.emu.runner.processes == 2)
        waiting = [i for i in ids if a.emu.state.jobs[i].live.status == "RUNNABLE"]
        assert len(waiting) == 4  # admitted, waiting for a worker
        await a.finish()
        assert a.emu.runner.max_processes == 2
        assert a.emu.runner.started == 6
        summary = await a.ok("GET", f"{a.task_path(task)}/summary-statistics")
        assert summary["jobStatuses"]["SUCCEEDED"] == 6


async def test_pending_and_unknown_images_are_refused() -> None:
    async with api() as a:
        task = await a.task()
        a.emu.add_image("team/app:v1", pending_for=0.3)
        images = f"{a.project}/container-registry/images"
        assert (await a.ok("GET", f"{images}/team/app:v1")) == {"status": "PENDING"}
        response = await a.http.post(
            f"{a.task_path(task)}/jobs/batch", json=[job(py("pass"), image="team/app:v1")]
        )
        assert response.status_code == 400
        body = response.json()
        assert body["errorType"] == "IMAGE_UNAVAILABLE"
        assert set(body) == {"errorType", "errorDescription", "message"}

        unknown = await a.http.get(f"{images}/nope:latest")
        assert unknown.status_code == 404
        response = await a.http.post(
            f"{a.task_path(task)}/jobs/batch", json=[job(py("pass"), image="nope:latest")]
        )
        assert response.status_code == 400

        await anyio.sleep(0.35)
        registry = (await a.ok("GET", images))["containerRegistry"]
        # READY now, also when named with the registry prefix.
        assert (await a.ok("GET", f"{images}/team/app:v1")) == {"status": "READY"}
        await a.submit(task, job(py("pass"), image=f"{registry}team/app:v1"))
        await a.finish()


async def test_the_api_shows_a_snapshot_refreshed_every_interval() -> None:
    async with api(refresh_interval=3600) as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py("print('done')")))
        with anyio.fail_after(10):
            await a.emu.wait_for_jobs(visible=False)
        assert a.emu.state.jobs[job_id].live.status == "SUCCEEDED"
        # The service refreshes statuses every 30 s; until then the API shows the old view.
        assert (await a.job(task, job_id))["status"] == "SUBMITTED_TO_RESCALE"
        summary = await a.ok("GET", f"{a.task_path(task)}/summary-statistics")
        assert summary["jobStatuses"]["SUBMITTED_TO_RESCALE"] == 1
        events = await a.ok("GET", f"{a.task_path(task)}/jobs/{job_id}/events")
        assert len(events["items"]) == 1
        assert a.emu.refresh() == 1
        assert (await a.job(task, job_id))["status"] == "SUCCEEDED"

    async with api(refresh_interval=0.05) as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py("pass")))
        await a.finish()  # published by the periodic refresh alone
        assert (await a.job(task, job_id))["status"] == "SUCCEEDED"


async def test_leaving_the_emulator_kills_every_job_process() -> None:
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('PIDS', child.pid, flush=True)\n"
        "time.sleep(60)"
    )
    async with api() as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py(code)))

        def lines() -> list[str]:
            return [line.message for line in a.emu.state.logs.get(job_id, [])]

        with anyio.fail_after(10):
            await until(lambda: any(line.startswith("PIDS") for line in lines()))
        child = int(next(line for line in lines() if line.startswith("PIDS")).split()[1])
        assert a.emu.runner.processes == 1
    with anyio.fail_after(5):
        await until(lambda: process_gone(child))


async def test_deleting_a_task_cancels_its_jobs_and_archiving_needs_them_finished() -> None:
    async with api() as a:
        task = await a.task()
        [job_id] = await a.submit(task, job(py(WAIT_FOR_GO)))
        with anyio.fail_after(10):
            await until(lambda: a.emu.runner.processes == 1)
        response = await a.http.patch(a.task_path(task), json={"lifecycleStatus": "ARCHIVED"})
        assert response.status_code == 400
        deleted = await a.ok("DELETE", a.task_path(task))
        assert deleted["lifecycleStatus"] == "DELETED"
        assert "archivedAt" not in deleted  # the DELETE schema does not allow null
        await a.finish()
        assert (await a.job(task, job_id))["status"] == "FAILED"
        response = await a.http.post(f"{a.task_path(task)}/jobs/batch", json=[job(py("pass"))])
        assert response.status_code == 400
        assert json.loads(response.text)["errorType"] == "INVALID_TASK_STATE"


async def test_working_dir_stays_inside_the_job_directory() -> None:
    async with api() as a:
        task = await a.task()
        code = "import os; print(os.getcwd())"
        inside = await a.submit(task, job(py(code), workingDir="/work/sub"))
        outside = await a.submit(task, job(py(code), workingDir="../../.."))
        await a.finish()
        for job_id, expected in ((inside[0], "work/sub"), (outside[0], "")):
            job_dir = a.emu.jobs_root / "jobs" / job_id.replace(":", "_")
            assert await a.logs(task, job_id) == [str((job_dir / expected).resolve())]
