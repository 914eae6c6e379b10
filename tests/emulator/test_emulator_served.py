"""Served mode: uvicorn on 127.0.0.1, real sockets, ``python -m rescale_async.emulator``."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import anyio.abc
import httpx
import pytest
from emulator_support import FAST, job, process_gone, py, until

from rescale_async import TaskRef
from rescale_async.emulator import ServedEmulator, _server, background_server, serve, serving

IN_JOB_SDK = """
import anyio, os
from rescale_async import HTCClient, TaskRef

async def main():
    async with HTCClient() as client:  # credentials and base URL from the job's environment
        ref = TaskRef(os.environ["RESCALE_HTC_PROJECT_ID"], os.environ["RESCALE_HTC_TASK_ID"])
        task = await client.tasks.get(ref)
        token = await client.auth.bearer_token()
        print("TASK", task.task_name, token.user_claims["color"], flush=True)

anyio.run(main)
"""


async def bearer(http: httpx.AsyncClient, served: ServedEmulator) -> dict[str, str]:
    response = await http.get(
        f"{served.base_url}/auth/token", headers={"Authorization": f"Token {served.api_key}"}
    )
    return {"Authorization": f"Bearer {response.json()['tokenValue']}"}


async def wait_done(http: httpx.AsyncClient, task_url: str, headers: dict[str, str]) -> None:
    with anyio.fail_after(20):
        while True:
            summary = (await http.get(f"{task_url}/summary-statistics", headers=headers)).json()
            statuses = summary["jobStatuses"]
            if sum(statuses.values()) and statuses["SUCCEEDED"] + statuses["FAILED"] == sum(
                statuses.values()
            ):
                return
            await anyio.sleep(0.05)


async def test_served_over_http_with_a_job_calling_back_through_the_sdk() -> None:
    async with serving(**FAST) as served, httpx.AsyncClient() as http:
        assert served.base_url.startswith("http://127.0.0.1:")
        assert served.port > 0
        headers = await bearer(http, served)
        project_url = f"{served.base_url}/htc/projects/{served.project_id}"
        task = (
            await http.post(
                f"{project_url}/tasks",
                json={"taskName": "served", "taskDescription": ""},
                headers=headers,
            )
        ).json()
        task_url = f"{project_url}/tasks/{task['taskId']}"
        request = job(py(IN_JOB_SDK), claims=[{"name": "color", "value": "green"}])
        submitted = await http.post(f"{task_url}/jobs/batch", json=[request], headers=headers)
        assert submitted.status_code == 200
        job_id = f"{submitted.json()[0]['parentJobId']}:0"
        await wait_done(http, task_url, headers)
        logs = (
            await http.get(
                f"{task_url}/jobs/{job_id}/logs", params={"sort": "asc"}, headers=headers
            )
        ).json()
        messages = [item["message"] for item in logs["items"]]
        assert messages == ["TASK served green"], messages
        # The SDK against the served emulator, over the network.
        async with served.client() as client:
            jobs = await client.jobs.list(TaskRef(served.project_id, task["taskId"])).to_list()
            assert [j.job_id for j in jobs] == [job_id]
            assert jobs[0].status == "SUCCEEDED"


async def test_dropped_and_lost_responses_are_transport_errors_over_sockets() -> None:
    async with serving(**FAST) as served, httpx.AsyncClient() as http:
        headers = await bearer(http, served)
        emulator = served.emulator
        tasks_url = f"{served.base_url}/htc/projects/{served.project_id}/tasks"
        emulator.faults.add(
            method="POST", path="/htc/projects/{projectId}/tasks", drop_rate=1.0, times=1
        )
        with pytest.raises(httpx.TransportError):
            await http.post(
                tasks_url, json={"taskName": "a", "taskDescription": ""}, headers=headers
            )
        assert not emulator.state.tasks
        emulator.faults.add(
            method="POST", path="/htc/projects/{projectId}/tasks", lose_rate=1.0, times=1
        )
        with pytest.raises(httpx.TransportError):
            await http.post(
                tasks_url, json={"taskName": "b", "taskDescription": ""}, headers=headers
            )
        assert [t.name for t in emulator.state.tasks.values()] == ["b"]  # created all the same
        listed = (await http.get(tasks_url, headers=headers)).json()
        assert [t["taskName"] for t in listed["items"]] == ["b"]
        endpoint = "POST /htc/projects/{projectId}/tasks"
        assert emulator.counters.faults[("dropped", endpoint)] == 1
        assert emulator.counters.faults[("lost", endpoint)] == 1
        # next links are absolute, on the served address
        for name in ("c", "d"):
            await http.post(
                tasks_url, json={"taskName": name, "taskDescription": ""}, headers=headers
            )
        page = (await http.get(tasks_url, params={"pageSize": 1}, headers=headers)).json()
        assert page["next"].startswith(f"{served.base_url}/htc/projects/")


async def read_line(stream: anyio.abc.ByteReceiveStream, buffer: list[bytes]) -> str:
    while b"\n" not in b"".join(buffer):
        buffer.append(await stream.receive())
    data = b"".join(buffer)
    line, rest = data.split(b"\n", 1)
    buffer[:] = [rest]
    return line.decode()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_python_m_emulator_serves_and_stops_cleanly(stop: signal.Signals) -> None:
    command = [
        sys.executable,
        "-m",
        "rescale_async.emulator",
        "--port",
        "0",
        "--refresh-interval",
        "0.05",
        "--api-key",
        "cli-key",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    async with await anyio.open_process(command, env=env, stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        buffer: list[bytes] = []
        printed: dict[str, str] = {}
        with anyio.fail_after(20):
            while "RESCALE_API_KEY" not in printed:
                line = await read_line(process.stdout, buffer)
                if "=" in line and line.startswith("RESCALE_"):
                    name, value = line.split("=", 1)
                    printed[name] = value
        base_url, key = printed["RESCALE_HTC_API_URL"], printed["RESCALE_API_KEY"]
        assert key == "cli-key"
        assert base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient() as http:
            token = (
                await http.get(f"{base_url}/auth/token", headers={"Authorization": f"Token {key}"})
            ).json()["tokenValue"]
            headers = {"Authorization": f"Bearer {token}"}
            projects = (await http.get(f"{base_url}/htc/projects", headers=headers)).json()
            project = projects["items"][0]["projectId"]
            task = (
                await http.post(
                    f"{base_url}/htc/projects/{project}/tasks",
                    json={"taskName": "cli", "taskDescription": ""},
                    headers=headers,
                )
            ).json()["taskId"]
            code = "import os, time; print('PID', os.getpid(), flush=True); time.sleep(60)"
            task_url = f"{base_url}/htc/projects/{project}/tasks/{task}"
            body = (
                await http.post(f"{task_url}/jobs/batch", json=[job(py(code))], headers=headers)
            ).json()
            job_url = f"{task_url}/jobs/{body[0]['parentJobId']}:0"
            pid = 0
            with anyio.fail_after(20):
                while not pid:
                    await anyio.sleep(0.05)
                    logs = (await http.get(f"{job_url}/logs", headers=headers)).json()
                    pid = next(
                        (
                            int(i["message"].split()[1])
                            for i in logs["items"]
                            if "PID" in i["message"]
                        ),
                        0,
                    )
        process.send_signal(stop)
        with anyio.fail_after(20):
            code_ = await process.wait()
            rest = b"".join(buffer) + b"".join([chunk async for chunk in process.stdout])
        assert code_ == 0, rest
        assert b"Emulator stopped." in rest
        assert b"Traceback" not in rest
    with anyio.fail_after(5):
        await until(lambda: process_gone(pid))


RESCALEHTC_FLOW = """
import json, os, sys, time
import rescalehtc
from rescalehtc import htcjobs, htcprojects, htctasks
from rescalehtc.internals import constants

constants._RESCALE_API_BASE_URL = os.environ["EMULATOR_BASE_URL"]  # the only change
htcs = rescalehtc.HtcSession(api_key=os.environ["EMULATOR_API_KEY"])
project = htcprojects.get_project_with_name(htcs, "emulator-project")
task = htctasks.create_task_with_name(htcs, project, task_name="rescalehtc-flow")
batch = htcjobs.create_job_batch(
    htcs,
    task,
    batch_size=2,
    priority="ON_DEMAND_PRIORITY",
    image_name="hello-world:latest",
    exec_timeout_seconds=180,
    commands=[sys.executable, "-c", "import os; print('hello from', os.environ['RESCALE_JOB_ID'])"],
    claims=[{"name": "who", "value": "rescalehtc"}],
)
time.sleep(0.5)
while (summary := batch.get_task_summary(htcs))["still_running"]:
    time.sleep(1)
jobs = batch.to_jobs()
logs = [list(j.get_logs(htcs)) for j in jobs]
updated = jobs[0].get_update(htcs)
deleted = htctasks.delete_tasks_with_name(htcs, project, "rescalehtc-flow")
print(json.dumps({
    "summary": summary,
    "job_ids": [j.json["jobUUID"] for j in jobs],
    "logs": logs,
    "status": updated["status"],
    "deleted": [d["lifecycleStatus"] for d in deleted],
    "claims": htcs.get_bearer_token().payload.get("sub"),
}))
"""


def test_the_rescalehtc_library_runs_its_documented_flow(tmp_path: Path) -> None:
    with background_server(**FAST) as served:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "EMULATOR_BASE_URL": served.base_url,
            "EMULATOR_API_KEY": served.api_key,
        }
        result = subprocess.run(
            [sys.executable, "-c", RESCALEHTC_FLOW],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        assert outcome["summary"]["jobStatuses"]["SUCCEEDED"] == 2
        assert outcome["summary"]["still_running"] is False
        assert outcome["logs"] == [[f"hello from {job_id}"] for job_id in outcome["job_ids"]]
        assert outcome["status"] == "SUCCEEDED"
        assert outcome["deleted"] == ["DELETED"]
        assert outcome["claims"] == "emuUsr"
        tasks = served.emulator.state.tasks.values()
        assert [t.lifecycle for t in tasks] == ["DELETED"]


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_serve_in_a_trio_loop_says_to_use_serving() -> None:
    with pytest.raises(RuntimeError, match="serving"):
        await serve(port=0)


def test_the_listening_socket_is_tcp_so_answers_are_not_held_back_by_nagle() -> None:
    """asyncio sets TCP_NODELAY on accepted connections only for IPPROTO_TCP sockets; without
    it a reused keep-alive connection waits for the client's delayed ACK (~40 ms a request).
    """
    sock = _server._bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
