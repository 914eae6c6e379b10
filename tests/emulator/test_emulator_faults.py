"""Fault injection (errors, latency, rate limits, drops, lost responses) and counters."""

from __future__ import annotations

import random
import time

import anyio
import httpx
import pytest
from emulator_support import api, job, py, running

from rescale_async import APIConnectionError, RateLimitError, TaskRef
from rescale_async.emulator import FaultRule, Faults

PROJECT = "GET /htc/projects/{projectId}"
BATCH = "POST /htc/projects/{projectId}/tasks/{taskId}/jobs/batch"


async def test_error_statuses_look_like_the_service_and_its_proxy() -> None:
    async with api() as a:
        a.emu.faults.add(method="GET", path="/htc/projects/{projectId}", error_rate=1.0, times=1)
        response = await a.http.get(a.project)
        assert response.status_code == 503
        assert response.headers["content-type"] == "text/html"
        assert "503 Service Temporarily Unavailable" in response.text
        assert (await a.http.get(a.project)).status_code == 200  # times=1 used up

        with a.emu.faults.inject(path="/htc/projects", error_rate=1.0, error_status=500):
            response = await a.http.get("htc/projects")
            assert response.status_code == 500
            assert set(response.json()) == {"error", "errorDescription"}
        assert (await a.http.get("htc/projects")).status_code == 200
        assert not a.emu.faults.rules

        counters = a.emu.counters
        assert counters.requests[PROJECT] == 2
        assert counters.responses[(PROJECT, 503)] == 1
        assert counters.responses[(PROJECT, 200)] == 1
        assert counters.faults[("error", PROJECT)] == 1
        assert counters.statuses[500] == 1
        assert counters.fault_total("error") == 2


async def test_the_sdk_retries_through_injected_errors() -> None:
    async with running() as emu:
        emu.faults.add(path="/htc/projects/{projectId}", error_rate=1.0, error_status=502, times=2)
        async with emu.client(max_retries=3, sleep=_no_sleep) as client:
            project = await client.projects.get(emu.project_id)
        assert project.project_id == emu.project_id
        assert emu.counters.responses[(PROJECT, 502)] == 2
        assert emu.counters.responses[(PROJECT, 200)] == 1


async def _no_sleep(seconds: float) -> None:
    await anyio.lowlevel.checkpoint()


async def test_latency_and_jitter_delay_matching_requests() -> None:
    async with api() as a:
        a.emu.faults.add(path_regex=r"^/htc/projects$", latency=0.15, jitter=0.05)
        started = time.monotonic()
        assert (await a.http.get("htc/projects")).status_code == 200
        assert 0.15 <= time.monotonic() - started < 2
        started = time.monotonic()
        await a.http.get(a.project)  # not matched by the regex
        assert time.monotonic() - started < 0.15
        assert a.emu.counters.faults[("delayed", "GET /htc/projects")] == 1


async def test_server_side_rate_limit_answers_429_with_retry_after() -> None:
    async with api() as a:
        rule = a.emu.faults.add(path="/htc/projects", rate_limit=0.5, burst=2)
        statuses = [(await a.http.get("htc/projects")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = await a.http.get("htc/projects")
        assert limited.headers["retry-after"] == "2"  # whole seconds until a token
        assert set(limited.json()) == {"error", "errorDescription"}
        assert rule.applied == 2
        a.emu.faults.remove(rule)

        # A fractional Retry-After keeps tests fast; the SDK waits it out and retries.
        fast = FaultRule(path="/htc/projects/{projectId}", rate_limit=10, retry_after=0.15)
        with a.emu.faults.inject(fast):
            async with a.emu.client(max_retries=5) as client:
                for _ in range(4):
                    await client.projects.get(a.emu.project_id)
        assert a.emu.counters.responses[(PROJECT, 429)] >= 1
        async with a.emu.client(max_retries=0) as client:
            a.emu.faults.add(path="/htc/projects/{projectId}", rate_limit=0.001, burst=1)
            await client.projects.get(a.emu.project_id)
            with pytest.raises(RateLimitError):
                await client.projects.get(a.emu.project_id)


async def test_a_dropped_connection_is_a_transport_error_and_the_server_did_nothing() -> None:
    async with api() as a:
        a.emu.faults.add(method="POST", path="/htc/projects/{projectId}/tasks", drop_rate=1.0)
        with pytest.raises(httpx.TransportError) as caught:
            await a.http.post(f"{a.project}/tasks", json={"taskName": "x", "taskDescription": ""})
        assert isinstance(caught.value, httpx.RemoteProtocolError)
        assert not a.emu.state.tasks
        assert a.emu.counters.faults[("dropped", "POST /htc/projects/{projectId}/tasks")] == 1


async def test_a_lost_response_is_a_transport_error_but_the_jobs_were_created() -> None:
    async with api() as a:
        task = await a.task()
        a.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        with pytest.raises(httpx.TransportError):
            await a.http.post(
                f"{a.task_path(task)}/jobs/batch", json=[job(py("print('ran')"), batch_size=2)]
            )
        assert len(a.emu.state.jobs) == 2
        await a.finish()
        assert all(j.live.status == "SUCCEEDED" for j in a.emu.state.jobs.values())
        assert a.emu.counters.faults[("lost", BATCH)] == 1
        assert a.emu.counters.responses[(BATCH, 200)] == 0

        # The SDK does not retry a submission that may have reached the service.
        a.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        async with a.emu.client(max_retries=3) as client:
            with pytest.raises(APIConnectionError):
                await client.jobs.submit_batch(TaskRef(a.emu.project_id, task), job(py("pass")))
        assert len(a.emu.state.jobs) == 3
        assert a.emu.counters.requests[BATCH] == 2


async def test_a_held_response_comes_late_but_the_server_acted_at_once() -> None:
    async with api() as a:
        task = await a.task()
        a.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", hold=0.3, times=1)
        response: list[httpx.Response] = []

        async def submit() -> None:
            response.append(
                await a.http.post(f"{a.task_path(task)}/jobs/batch", json=[job(py("pass"))])
            )

        async with anyio.create_task_group() as group:
            group.start_soon(submit)
            with anyio.fail_after(5):
                while not a.emu.state.jobs:  # noqa: ASYNC110 - the emulator's own state
                    await anyio.sleep(0.01)
            assert not response  # acted, not answered yet
        assert response[0].status_code == 200
        assert a.emu.counters.faults[("held", BATCH)] == 1


def test_fault_rules_check_their_settings() -> None:
    for bad in (
        {"error_rate": 1.5},
        {"error_status": 404},
        {"rate_limit": 0},
        {"latency": -1},
        {"hold": -1},
        {"burst": 0},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            FaultRule(**bad)


def test_rules_are_listed_removed_and_cleared() -> None:
    faults = Faults(random.Random(1))
    kept = faults.add(FaultRule(method="get", latency=0.1, name="slow"))
    assert kept.method == "GET"
    faults.add(error_rate=1.0)
    with pytest.raises(TypeError):
        faults.add(kept, latency=1.0)
    assert [r.name for r in faults.rules] == ["slow", ""]
    decision = faults.decide("GET", "/htc/projects", "/htc/projects")
    assert decision.delay == pytest.approx(0.1)
    assert decision.outcome == "error"
    assert decision.status == 503
    faults.remove(kept)
    faults.remove(kept)  # removing twice is harmless
    faults.token_lifetime = 5
    faults.clear()
    assert faults.rules == []
    assert faults.token_lifetime is None
