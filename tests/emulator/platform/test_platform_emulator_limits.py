"""The scopes' rate limits and injected faults on the platform API."""

from __future__ import annotations

import anyio
import httpx
import pytest
from platform_emulator_support import (
    analysis,
    content,
    create,
    job_body,
    ok,
    platform,
    quick,
    submit,
    upload,
)

from rescale_async.emulator import DOCUMENTED_RATE_LIMITS, FaultRule, PlatformConfig, ScopeLimit

SLOW = ScopeLimit(per_second=0.01, burst=2)
"""Two requests, then 429 for a long while."""


def _throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    wait = int(response.headers["retry-after"])
    assert wait >= 1
    assert response.json() == {
        "detail": f"Request was throttled. Expected available in {wait} seconds."
    }


async def test_the_user_scope_throttles_everything_but_job_reads_and_submissions() -> None:
    async with platform(quick(rate_limits={"user": SLOW})) as (emu, http):
        job_id = await create(http, job_body(analysis("true")))  # user scope: 1
        assert (await http.get("coretypes/")).status_code == 200  # 2
        _throttled(await http.get("users/me/"))
        _throttled(await http.get("files/"))
        for _ in range(5):  # jobs-usage and job-submission are other scopes
            assert (await http.get(f"jobs/{job_id}/")).status_code == 200
        await submit(http, job_id)
        assert emu.counters.fault_total("throttled") == 2
        emu.platform.throttles.set("user", None)
        assert (await http.get("users/me/")).status_code == 200


async def test_the_job_submission_scope_counts_submissions_only() -> None:
    async with platform(quick(rate_limits={"job-submission": SLOW})) as (emu, http):
        jobs = [await create(http, job_body(analysis("true"))) for _ in range(3)]
        await submit(http, jobs[0])
        await submit(http, jobs[1])
        _throttled(await http.post(f"jobs/{jobs[2]}/submit/"))
        assert not emu.platform.jobs[jobs[2]].submitted  # a refused submission did nothing
        assert (await http.get("jobs/")).status_code == 200


async def test_the_jobs_usage_scope_counts_job_reads() -> None:
    async with platform(quick(rate_limits={"jobs-usage": SLOW})) as (emu, http):
        job_id = await create(http, job_body(analysis("true")))
        assert (await http.get(f"jobs/{job_id}/statuses/")).status_code == 200
        assert (await http.get("jobs/")).status_code == 200
        _throttled(await http.get(f"jobs/{job_id}/"))
        assert (await http.patch(f"jobs/{job_id}/", json={"name": "x"})).status_code == 200
        emu.platform.throttles.set("jobs-usage", ScopeLimit(1000.0, 10))
        assert (await http.get(f"jobs/{job_id}/")).status_code == 200


def test_documented_limits_and_unknown_scopes() -> None:
    assert DOCUMENTED_RATE_LIMITS["user"] == ScopeLimit(2.0, 150)
    assert DOCUMENTED_RATE_LIMITS["jobs-usage"].per_second == 25.0
    assert round(DOCUMENTED_RATE_LIMITS["job-submission"].per_second * 3600) == 1000
    with pytest.raises(ValueError, match="unknown scopes"):
        PlatformConfig(rate_limits={"jobs": ScopeLimit(1.0)})
    with pytest.raises(ValueError, match="per_second"):
        ScopeLimit(0.0)
    with pytest.raises(ValueError, match="bandwidth"):
        FaultRule(bandwidth=0)
    with pytest.raises(ValueError, match="drop_after"):
        FaultRule(drop_after=-1)


async def test_injected_faults_speak_the_platform_dialect() -> None:
    async with platform() as (emu, http):
        job_id = await create(http, job_body(analysis("true")))
        with emu.faults.inject(path="/jobs/{jobId}/statuses/", error_rate=1.0, error_status=504):
            gateway = await http.get(f"jobs/{job_id}/statuses/")
            assert gateway.status_code == 504
            assert "Gateway Time-out" in gateway.text
            assert (await http.get(f"jobs/{job_id}/")).status_code == 200
        with emu.faults.inject(path="/users/me/", error_rate=1.0, error_status=500):
            server_error = await http.get("users/me/")
            assert server_error.status_code == 500
            assert server_error.text == "<h1>Server Error (500)</h1>"
        with emu.faults.inject(path_regex="^/coretypes/", rate_limit=0.01, retry_after=7):
            assert (await http.get("coretypes/")).status_code == 200
            limited = await http.get("coretypes/")
            assert limited.status_code == 429
            assert limited.headers["retry-after"] == "7"
            assert limited.json() == {
                "detail": "Request was throttled. Expected available in 7 seconds."
            }
        assert emu.counters.faults[("error", "GET /jobs/{jobId}/statuses/")] == 1


async def test_a_lost_create_response_still_creates_the_job() -> None:
    async with platform() as (emu, http):
        body = job_body(analysis("true"))
        lost = emu.faults.inject(method="POST", path="/jobs/", lose_rate=1.0)
        with lost, pytest.raises(httpx.TransportError):
            await http.post("jobs/", json=body)
        assert emu.platform.jobs_created == 1
        [job] = emu.platform.jobs.values()
        dropped = emu.faults.inject(method="POST", path="/jobs/{jobId}/submit/", drop_rate=1.0)
        with dropped, pytest.raises(httpx.TransportError):
            await http.post(f"jobs/{job.job_id}/submit/")
        assert emu.platform.submissions == 0  # dropped before the server acted


async def test_a_download_can_be_cut_short_or_paced() -> None:
    data = bytes(200_000)
    async with platform() as (emu, http):
        file_id = (await upload(http, "zeros.bin", data))["id"]
        cut = emu.faults.inject(path="/files/{fileId}/contents/", drop_after=1000)
        with cut, pytest.raises(httpx.RemoteProtocolError):
            await content(http, file_id)
        assert emu.counters.faults[("cut_short", "GET /files/{fileId}/contents/")] == 1
        with emu.faults.inject(path="/files/{fileId}/contents/", bandwidth=1e9) as rule:
            paced = await content(http, file_id, Range="bytes=1-150000")
            assert paced.status_code == 206
            assert paced.content == data[1:150001]
            assert rule.applied == 1


async def test_faults_apply_to_both_apis() -> None:
    async with platform() as (emu, http), emu.http(token=emu.issue_token()) as htc:
        with emu.faults.inject(error_rate=1.0, error_status=503, times=2):
            assert (await htc.get("htc/projects")).status_code == 503
            assert (await http.get("users/me/")).status_code == 503
            assert (await http.get("users/me/")).status_code == 200


async def test_job_statuses_can_be_awaited_while_they_move() -> None:
    async with platform(quick(status_delay=0.05)) as (emu, http):
        job_id = await create(http, job_body(analysis("true")))
        await submit(http, job_id)
        with anyio.fail_after(20):
            job = await emu.platform.wait_for(job_id, "Queued")
            clusters = await ok(await http.get(f"jobs/{job_id}/cluster_statuses/"))
            assert clusters["results"][0]["status"] in ("Not Started", "Starting", "Started")
            await emu.platform.wait_for(job_id, cluster="Stopped")
        assert job.completed
