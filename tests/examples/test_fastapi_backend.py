"""examples/fastapi_backend.py: one client in the lifespan, a validated sweep endpoint, SSE of
status changes and log lines, and a client leaving a stream stops its watch.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message, Scope

from rescale_async import JobRef, JobStatus
from rescale_async.emulator import Emulator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))  # not a package

from fastapi_backend import Sweeps, create_app

POINT = """
import os, sys
i = int(os.environ["SWEEP_INDEX"])
print(f"{os.environ['WORD']} {i}", flush=True)
if i == 2:
    sys.exit(3)
print(f"square {i * i}", flush=True)
"""


@dataclass
class Api:
    app: FastAPI
    http: httpx.AsyncClient
    sweeps: Sweeps

    @property
    def emulator(self) -> Emulator:
        assert self.sweeps.emulator is not None
        return self.sweeps.emulator


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    app = create_app(emulator=True, poll_interval=0.05)
    # httpx's ASGITransport does not run the lifespan: run it around the client.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sweeps") as http:
            yield Api(app, http, app.state.sweeps)


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event, data) of each server-sent event."""
    events = []
    for block in text.split("\n\n"):
        if block:
            fields = dict(line.split(": ", 1) for line in block.split("\n"))
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def sweep(count: int, code: str = POINT, **fields: Any) -> dict[str, Any]:
    return {"command": [sys.executable, "-c", code], "count": count, **fields}


async def test_the_lifespan_owns_one_client_and_closes_it() -> None:
    app = create_app(emulator=True)
    async with app.router.lifespan_context(app):
        sweeps: Sweeps = app.state.sweeps
        assert sweeps.emulator is not None
        task = await sweeps.client.tasks.get(sweeps.task)
        assert task.task_name == "fastapi-sweeps"
    with pytest.raises(RuntimeError, match="client has been closed"):
        await sweeps.client.tasks.get(sweeps.task)  # closed at shutdown


async def test_a_sweep_streams_each_jobs_status_changes_once_then_its_log(api: Api) -> None:
    response = await api.http.post("/sweeps", json=sweep(4, env={"WORD": "point"}))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["task_id"] == api.sweeps.task.task_id
    job_ids = created["job_ids"]
    assert len(set(job_ids)) == 4

    with anyio.fail_after(60):
        response = await api.http.get(f"/sweeps/{created['group']}/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert [name for name, _ in events[:-1]] == ["status"] * (len(events) - 1)
    assert events[-1] == ("end", {"counts": {"SUCCEEDED": 3, "FAILED": 1}, "ok": False})

    seen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _, data in events[:-1]:
        seen[data["job_id"]].append(data)
    assert sorted(seen) == sorted(job_ids)
    for index, job_id in enumerate(job_ids):
        changes = seen[job_id]
        statuses = [change["new_status"] for change in changes]
        assert changes[0]["old_status"] is None
        assert [c["old_status"] for c in changes[1:]] == statuses[:-1]  # one chain, no repeats
        assert len(set(statuses)) == len(statuses)
        assert JobStatus(statuses[-1]).is_terminal
        # What the stream showed is what the API recorded, in order (it may skip a status
        # that came and went between two polls).
        history = [
            str(event.status)
            async for event in api.sweeps.client.jobs.events(JobRef(*api.sweeps.task, job_id))
        ]
        assert all(status in history for status in statuses)
        assert sorted(statuses, key=history.index) == statuses
        if index == 2:
            assert statuses[-1] == "FAILED"
            assert changes[-1]["failure_code"] == "ErrorNonZeroContainerExitCode"
        else:
            assert statuses[-1] == "SUCCEEDED"
            assert changes[-1]["failure_code"] is None

    for index in (1, 2, 3):
        response = await api.http.get(f"/jobs/{job_ids[index]}/logs")
        assert response.status_code == 200
        lines = parse_sse(response.text)
        assert lines[-1] == ("end", {})
        messages = [data["message"].rstrip("\n") for name, data in lines[:-1] if name == "log"]
        expected = [f"point {index}"] + ([] if index == 2 else [f"square {index * index}"])
        assert messages == expected
        assert all(data["timestamp"] for _, data in lines[:-1])


async def test_the_log_stream_follows_a_job_while_it_runs(api: Api) -> None:
    code = (
        "import time\nfor n in range(4):\n    print(f'line {n}', flush=True)\n    time.sleep(0.2)"
    )
    created = (await api.http.post("/sweeps", json=sweep(1, code))).json()
    with anyio.fail_after(30):
        response = await api.http.get(f"/jobs/{created['job_ids'][0]}/logs")
    messages = [data["message"].rstrip("\n") for name, data in parse_sse(response.text)[:-1]]
    assert messages == ["line 0", "line 1", "line 2", "line 3"]


@pytest.mark.parametrize(
    ("body", "where", "says"),
    [
        ({"count": 3}, ["body", "command"], "Field required"),
        ({"command": [], "count": 3}, ["body", "command"], "at least 1 item"),
        ({"command": ["true"], "count": 0}, ["body", "count"], "greater than or equal to 1"),
        ({"command": ["true"], "count": 1001}, ["body", "count"], "less than or equal to 1000"),
        ({"command": ["true"], "count": "many"}, ["body", "count"], "valid integer"),
        ({"command": ["true"], "count": 1, "colour": "red"}, ["body", "colour"], "Extra inputs"),
        ({"command": ["true"], "count": 1, "parameter": "1X"}, ["body", "parameter"], "pattern"),
        (
            {"command": ["true"], "count": 1, "image": "not an image"},
            ["body"],
            "image: 'not an image' is not an image reference",
        ),
        ({"command": ["true"], "count": 1, "timeout": 5}, ["body"], "timeout: "),
    ],
)
async def test_bad_sweeps_get_a_422_naming_the_problem_and_submit_nothing(
    api: Api, body: dict[str, Any], where: list[str], says: str
) -> None:
    response = await api.http.post("/sweeps", json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == where
    assert says in error["msg"]
    assert not api.emulator.state.jobs


async def test_an_image_the_project_lacks_is_a_422_too(api: Api) -> None:
    response = await api.http.post("/sweeps", json=sweep(2, image="acme/missing:1"))
    assert response.status_code == 422
    assert "image 'acme/missing:1' does not exist" in response.json()["detail"]
    assert not api.emulator.state.jobs


async def test_unknown_sweeps_and_jobs_are_404(api: Api) -> None:
    response = await api.http.get("/sweeps/no-such-group/events")
    assert response.status_code == 404
    assert response.json() == {"detail": "no sweep with group 'no-such-group'"}
    response = await api.http.get("/jobs/no-such-job:0/logs")
    assert response.status_code == 404


def summary_polls(emulator: Emulator) -> int:
    return sum(
        n
        for endpoint, n in emulator.counters.requests.items()
        if endpoint.endswith("/summary-statistics")
    )


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])  # servers differ; Starlette too
async def test_a_client_leaving_the_event_stream_stops_the_watch(
    api: Api, spec_version: str
) -> None:
    """httpx's ASGITransport hands out a response only once it is complete, so this test
    speaks ASGI to the app itself: it reads the first event, then disconnects.
    """
    created = (await api.http.post("/sweeps", json=sweep(2, "import time; time.sleep(60)"))).json()
    path = f"/sweeps/{created['group']}/events"
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"sweeps")],
        "server": ("sweeps", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
    }
    received: list[bytes] = []
    first_event = anyio.Event()
    leave = anyio.Event()
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            received.append(message["body"])
            first_event.set()

    with anyio.fail_after(20):
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(api.app, scope, receive, send)
            await first_event.wait()
            leave.set()
        # The app has returned: the response, and the watch inside it, ended.
    assert parse_sse(received[0].decode())[0][0] == "status"
    polls = summary_polls(api.emulator)
    await anyio.sleep(0.5)  # ten poll intervals
    assert summary_polls(api.emulator) == polls
    jobs = await api.sweeps.client.jobs.get_many(api.sweeps.task, created["job_ids"])
    assert [job.is_terminal for job in jobs] == [False, False]  # the batch had not ended
