"""``client.jobs.submit`` / ``submit_many``: splitting, image readiness, exactly-once POSTs."""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
import httpx
import pytest
from orchestration_support import TRUE, emulated, py
from support import BASE_URL, TokenEndpoint, client, mock_api, no_sleep_client

from rescale_async import (
    ImageNotReadyError,
    InternalServerError,
    JobSpec,
    JobStatus,
    JobSubmitRequest,
    SubmissionInDoubtError,
    TaskRef,
)
from rescale_async.htc.orchestration import _submit

BATCH = "/jobs/batch"
PID, TID = "proj-1", "task-1"
TASK = TaskRef(PID, TID)
JOBS = f"/htc/projects/{PID}/tasks/{TID}/jobs"


async def test_a_count_above_1000_becomes_requests_of_at_most_1000_in_one_post() -> None:
    async with emulated(max_workers=1) as s:
        batch = await s.client.jobs.submit(s.task, TRUE, count=2500)
        assert len(batch) == len(set(batch.job_ids)) == 2500
        assert s.requests("POST", BATCH) == 1
        jobs = s.group(batch.group)
        assert {job.job_id for job in jobs} == set(batch.job_ids)
        assert sorted(Counter(job.parent_id for job in jobs).values()) == [500, 1000, 1000]
        assert batch.task == TaskRef(s.task.project_id, s.task.task_id)
        assert [job.job_id for job in batch.jobs] == batch.job_ids


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        ({"count": 0}, ValueError, "count must be a whole number >= 1, got 0"),
        ({"count": -3}, ValueError, "count must be"),
        ({"count": 1.5}, ValueError, "count must be"),
        ({"count": True}, ValueError, "count must be"),
        ({"spec": {"image": "x"}}, TypeError, "spec is a dict; expected a JobSpec"),
        ({"group": ""}, ValueError, "group must be a non-empty name"),
        ({"group": "  "}, ValueError, "group must be a non-empty name"),
        ({"task": "task-1"}, TypeError, "expected a Task, TaskRef or SubmittedJob"),
        ({"image_timeout": -1}, ValueError, "image_timeout must be >= 0"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    call: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {"task": TASK, "spec": TRUE, **call}
    with mock_api() as router:
        async with client() as c:
            with pytest.raises(error, match=message):
                await c.jobs.submit(**arguments)
    assert router.calls.call_count == 0


async def test_submit_many_refuses_bad_specs_before_any_request() -> None:
    with mock_api() as router:
        async with client() as c:
            with pytest.raises(ValueError, match="at least one spec"):
                await c.jobs.submit_many(TASK, [])
            with pytest.raises(TypeError, match=r"specs\[1\] is a str"):
                await c.jobs.submit_many(TASK, [TRUE, "true"])  # type: ignore[list-item]
            twice = TRUE.to_request(2)
            with pytest.raises(ValueError, match=r"specs\[0\] asks for batch_size 2"):
                await c.jobs.submit_many(TASK, [twice])
    assert router.calls.call_count == 0


async def test_a_pending_image_is_waited_for_then_used() -> None:
    async with emulated() as s:
        image = s.emu.add_image("team/solver:1", pending_for=0.4)
        batch = await s.client.jobs.submit(s.task, TRUE.model_copy(update={"image": image}))
        assert len(s.group(batch.group)) == 1
        assert s.requests("GET", "/images/{imageName}") >= 2


async def test_an_image_still_pending_after_the_wait_sends_nothing() -> None:
    async with emulated() as s:
        image = s.emu.add_image("team/solver:2", pending_for=60)
        spec = TRUE.model_copy(update={"image": image})
        with pytest.raises(ImageNotReadyError, match=r"'team/solver:2' is still PENDING after"):
            await s.client.jobs.submit(s.task, spec, image_timeout=0.3)
        assert s.requests("POST", BATCH) == 0
        assert not s.emu.state.jobs


async def test_an_absent_image_is_named_and_nothing_is_sent() -> None:
    async with emulated() as s:
        spec = TRUE.model_copy(update={"image": "team/missing:1"})
        with pytest.raises(ImageNotReadyError, match="'team/missing:1' does not exist"):
            await s.client.jobs.submit(s.task, spec)
        assert s.requests("POST", BATCH) == 0


async def test_a_ready_image_is_checked_once_per_client() -> None:
    async with emulated() as s:
        for _ in range(3):
            await s.client.jobs.submit(s.task, TRUE)
        assert s.requests("GET", "/images/{imageName}") == 1
        assert s.requests("POST", BATCH) == 3


async def test_an_option_view_shares_the_ready_images_and_keeps_the_settle_delay() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # waits as usual, recording each
        slept.append(seconds)
        await anyio.sleep(seconds)

    async with emulated(client={"settle_delay": 0.25, "sleep": sleep}) as s:
        view = s.client.with_options(max_retries=0)
        assert view.settle_delay == s.client.settle_delay == 0.25
        assert view.options.max_retries == 0 and s.client.options.max_retries == 3
        await s.client.jobs.submit(s.task, TRUE)
        assert s.requests("GET", "/images/{imageName}") == 1
        # Through the view: the image is known READY already; a lost answer is settled after
        # the client's settle_delay, and nothing is sent twice.
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        batch = await view.jobs.submit(s.task, TRUE, count=2)
        assert s.requests("GET", "/images/{imageName}") == 1
        assert s.requests("POST", BATCH) == 2
        assert s.emu.counters.fault_total("lost") == 1
        assert slept and 0 < slept[0] <= 0.25
        assert {job.job_id for job in s.group(batch.group)} == set(batch.job_ids)
        assert len(s.emu.state.jobs) == 3


async def test_a_lost_response_is_settled_by_the_group_without_a_duplicate() -> None:
    async with emulated(max_workers=1) as s:
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        batch = await s.client.jobs.submit(s.task, TRUE, count=1500)
        assert s.requests("POST", BATCH) == 1
        assert s.emu.counters.fault_total("lost") == 1
        assert {job.job_id for job in s.group(batch.group)} == set(batch.job_ids)
        assert len(s.emu.state.jobs) == 1500


@pytest.mark.parametrize("fault", [{"error_rate": 1.0}, {"drop_rate": 1.0}])
async def test_a_post_that_did_not_land_is_sent_again_once(fault: dict[str, Any]) -> None:
    async with emulated() as s:
        await s.client.jobs.submit(s.task, TRUE)  # the token and the image check
        s.emu.counters.reset()
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", times=1, **fault)
        async with s.emu.client(max_retries=0, settle_delay=0) as fragile:
            batch = await fragile.jobs.submit(s.task, TRUE, count=3)
        assert s.requests("POST", BATCH) == 2
        assert {job.job_id for job in s.group(batch.group)} == set(batch.job_ids)
        assert len(s.emu.state.jobs) == 4


async def test_a_refused_post_is_sent_again_without_asking_whether_it_landed() -> None:
    submitted = [{"parentJobId": "p1", "batchSize": 1, "htcJobDefinition": {"imageName": "i"}}]
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(url__regex=r"/images/").mock(
            return_value=httpx.Response(200, json={"status": "READY"})
        )
        post = router.post(f"{JOBS}/batch").mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "3"}),
                httpx.Response(200, json=submitted),
            ]
        )
        listing = router.get(JOBS)
        slept: list[float] = []
        async with no_sleep_client(slept, max_retries=0) as c:
            batch = await c.jobs.submit(TASK, TRUE)
    assert post.call_count == 2
    assert listing.call_count == 0
    assert slept == [3.0]
    assert batch.job_ids == ["p1:0"]


async def test_a_group_that_fits_neither_answer_is_in_doubt_and_nothing_is_resent() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(url__regex=r"/images/").mock(
            return_value=httpx.Response(200, json={"status": "READY"})
        )
        post = router.post(f"{JOBS}/batch").mock(side_effect=httpx.ReadError("reset"))
        one = {"jobUUID": "p1:0", "status": "RUNNING"}
        router.get(JOBS).mock(return_value=httpx.Response(200, json={"items": [one]}))
        slept: list[float] = []
        async with no_sleep_client(slept) as c:
            with pytest.raises(SubmissionInDoubtError, match="holds 1 jobs, expected 0") as caught:
                await c.jobs.submit(TASK, TRUE, count=2)
    assert caught.value.group == post.calls[0].request.url.params["group"]
    assert post.call_count == 1
    assert len(slept) >= 7  # the listing was given time to catch up


async def test_a_service_that_keeps_failing_before_acting_is_given_up_on() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(url__regex=r"/images/").mock(
            return_value=httpx.Response(200, json={"status": "READY"})
        )
        post = router.post(f"{JOBS}/batch").mock(return_value=httpx.Response(503))
        router.get(JOBS).mock(return_value=httpx.Response(200, json={"items": []}))
        async with no_sleep_client() as c:
            with pytest.raises(InternalServerError):
                await c.jobs.submit(TASK, TRUE)
    assert post.call_count == _submit._POST_ATTEMPTS
    assert all(call.request.url.params["group"] for call in post.calls)
    assert len({call.request.url.params["group"] for call in post.calls}) == 1


async def test_a_lost_answer_is_matched_to_its_requests_by_definition() -> None:
    """Recovered from a listing, each request's jobs are found by their definition."""
    specs = [py("pass", env={"X": str(n % 3)}) for n in range(7)]
    async with emulated() as s:
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        batch = await s.client.jobs.submit_many(s.task, specs)
        assert s.emu.counters.fault_total("lost") == 1
        for spec, job_id in zip(specs, batch.job_ids, strict=True):
            envs = s.emu.state.jobs[job_id].definition.envs or []
            assert {e.name: e.value for e in envs} == spec.env


async def test_submit_many_groups_identical_specs_and_keeps_their_order() -> None:
    specs = [py("pass", env={"X": x}) for x in ("1", "2", "1", "3", "2", "1")]
    async with emulated() as s:
        batch = await s.client.jobs.submit_many(s.task, specs)
        assert s.requests("POST", BATCH) == 1
        assert len(batch) == 6
        sizes = Counter(s.emu.state.jobs[job_id].parent_id for job_id in batch.job_ids)
        assert sorted(sizes.values()) == [1, 2, 3]
        for spec, job_id in zip(specs, batch.job_ids, strict=True):
            envs = s.emu.state.jobs[job_id].definition.envs or []
            assert {e.name: e.value for e in envs} == spec.env
        plain = JobSubmitRequest.model_validate(
            {"htc_job_definition": {"image_name": "python:3.11", "commands": ["true"]}}
        )
        mixed = await s.client.jobs.submit_many(s.task, [plain, TRUE, plain])
        assert len({s.emu.state.jobs[j].parent_id for j in mixed.job_ids}) == 1  # one definition


async def test_a_large_sweep_goes_out_as_concurrent_posts_each_to_its_own_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_submit, "MAX_REQUESTS_PER_POST", 2)
    specs = [py("pass", env={"X": str(n)}) for n in range(5)]
    async with emulated() as s:
        batch = await s.client.jobs.submit_many(s.task, specs)
        assert s.requests("POST", BATCH) == 3
        assert len(set(batch.groups)) == 3
        assert sorted(s.groups()[g] for g in batch.groups) == [1, 2, 2]
        for spec, job_id in zip(specs, batch.job_ids, strict=True):
            envs = s.emu.state.jobs[job_id].definition.envs or []
            assert {e.name: e.value for e in envs} == spec.env

        named = await s.client.jobs.submit_many(s.task, specs, group="sweep")
        assert named.groups == ("sweep",)
        assert s.requests("POST", BATCH) == 6  # three bodies, one after another
        assert s.groups()["sweep"] == 5


async def test_a_named_group_is_used_and_what_it_held_before_is_counted() -> None:
    async with emulated() as s:
        first = await s.client.jobs.submit(s.task, TRUE, group="mine")
        s.emu.faults.add(method="POST", path_regex=r"/jobs/batch$", lose_rate=1.0, times=1)
        second = await s.client.jobs.submit(s.task, TRUE, count=2, group="mine")
        assert first.group == second.group == "mine"
        assert s.groups() == {"mine": 3}
        assert set(second.job_ids) | set(first.job_ids) == set(s.emu.state.jobs)


async def test_cancel_a_batch_then_the_whole_task() -> None:
    sleeper = py("import time; time.sleep(30)")
    async with emulated(max_workers=4) as s:
        first = await s.client.jobs.submit(s.task, sleeper, count=2)
        second = await s.client.jobs.submit(s.task, sleeper, count=2)
        await first.cancel(interval=0.01)
        with anyio.fail_after(10):
            ended = await s.emu.wait_for_jobs(first.job_ids)
        assert {job.live.status for job in ended} == {str(JobStatus.FAILED)}
        assert not any(s.emu.state.jobs[j].cancel_requested for j in second.job_ids)
        await s.client.jobs.cancel(s.task)
        with anyio.fail_after(10):
            ended = await s.emu.wait_for_jobs(second.job_ids)
        assert {job.live.status for job in ended} == {str(JobStatus.FAILED)}


def test_specs_and_the_api_limits() -> None:
    assert _submit.split_count(2500) == [1000, 1000, 500]
    assert _submit.split_count(1000) == [1000]
    assert _submit.split_count(1) == [1]
    assert _submit.new_group() != _submit.new_group()
    assert JobSpec(image="a:1").to_request(3).batch_size == 3
    assert BASE_URL.startswith("https://")


async def test_get_many_fetches_jobs_by_id_in_few_requests_and_in_order() -> None:
    async with emulated(max_workers=1) as s:
        batch = await s.client.jobs.submit(s.task, TRUE, count=1500)
        s.emu.counters.reset()
        wanted = [*reversed(batch.job_ids), "absent:0", batch.job_ids[0]]
        jobs = await s.client.jobs.get_many(s.task, wanted)
        assert [job.job_id for job in jobs] == batch.job_ids[::-1]  # absent left out, no repeats
        listings = s.requests("GET", "/jobs")
        assert 1500 // 150 <= listings <= 1500 // 100  # ids packed into URLs of ~6,000 chars
        assert all(job.image_name is None for job in jobs)  # SIMPLE view
        [full] = await s.client.jobs.get_many(s.task, batch.job_ids[:1], view="FULL")
        assert full.image_name == "python:3.11"
    with mock_api() as router:
        async with client() as c:
            with pytest.raises(TypeError, match="job ids must be non-empty strings"):
                await c.jobs.get_many(TASK, ["a:0", ""])
            with pytest.raises(TypeError, match="expected a Task"):
                await c.jobs.get_many("t", ["a:0"])  # type: ignore[arg-type]
    assert router.calls.call_count == 0


async def test_transient_errors_while_checking_the_image_or_settling_are_ridden_out() -> None:
    submitted = [{"parentJobId": "p1", "batchSize": 1, "htcJobDefinition": {"imageName": "i"}}]
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        image = router.get(url__regex=r"/images/").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json={"status": "READY"})]
        )
        router.post(f"{JOBS}/batch").mock(side_effect=httpx.ReadError("reset"))
        # A FULL listing shows the definition the job was made from.
        job = {"jobUUID": "p1:0", "status": "RUNNING", "imageName": "python:3.11"}
        landed = {"items": [{**job, "commands": ["true"]}]}
        listing = router.get(JOBS).mock(
            side_effect=[httpx.Response(502), httpx.Response(200, json=landed)]
        )
        async with no_sleep_client(max_retries=0) as c:
            batch = await c.jobs.submit(TASK, TRUE)
    assert image.call_count == 2
    assert listing.call_count == 2
    assert batch.job_ids == ["p1:0"]
    assert submitted[0]["parentJobId"] == "p1"


async def test_settle_delay_is_checked() -> None:
    async with client(settle_delay=0.5) as c:
        assert c.settle_delay == 0.5
        assert c.with_options(max_retries=0).settle_delay == 0.5
    async with client() as c:
        assert c.settle_delay == 10.0
    with pytest.raises(ValueError, match="settle_delay must be >= 0 seconds, got -1"):
        client(settle_delay=-1)


async def test_concurrent_submissions_share_one_image_check() -> None:
    async with emulated() as s:
        image = s.emu.add_image("team/shared:1", pending_for=0.3)
        spec = TRUE.model_copy(update={"image": image})
        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(s.client.jobs.submit, s.task, spec)
        checks = s.requests("GET", "/images/{imageName}")
        assert 2 <= checks <= 3  # one check at a time, for all five
        assert s.requests("POST", BATCH) == 5

        pending = s.emu.add_image("team/never:1", pending_for=60)
        late = TRUE.model_copy(update={"image": pending})
        refusals: list[str] = []

        async def refused() -> None:
            with pytest.raises(ImageNotReadyError) as caught:
                await s.client.jobs.submit(s.task, late, image_timeout=0.2)
            refusals.append(str(caught.value))

        started = anyio.current_time()
        async with anyio.create_task_group() as group:
            for _ in range(4):
                group.start_soon(refused)
        assert anyio.current_time() - started < 2  # not one wait after another
        assert len(refusals) == 4 and len(set(refusals)) == 1
