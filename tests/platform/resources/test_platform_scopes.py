"""The rate-limit scopes on a virtual clock: each scope paced by its own bucket, shared by every
resource and view of a client, a 429 pausing only its own scope.
"""

from __future__ import annotations

import httpx
import pytest
from platform_support import JOB, api, job_json
from support import VirtualClock

from rescale_async import RateLimit, RateLimitError
from rescale_async.platform import DEFAULT_RATE_LIMITS, platform_scope

SMALL = {
    "user": RateLimit(1.0, burst=2),
    "jobs-usage": RateLimit(10.0, burst=1),
    "job-submission": RateLimit(0.01, burst=1),
}


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("POST", f"jobs/{JOB}/submit/", "job-submission"),
        ("GET", "jobs/", "jobs-usage"),
        ("GET", f"jobs/{JOB}/statuses/", "jobs-usage"),
        ("POST", "jobs/", "user"),
        ("PATCH", f"jobs/{JOB}/", "user"),
        ("POST", f"jobs/{JOB}/stop/", "user"),
        ("GET", "files/x/contents/", "user"),
        ("POST", "files/contents/", "user"),
        ("GET", "coretypes/", "user"),
    ],
)
def test_each_endpoint_has_its_scope(method: str, path: str, scope: str) -> None:
    assert platform_scope(method, path) == scope


def test_the_defaults_pace_below_the_documented_limits() -> None:
    user, reads = DEFAULT_RATE_LIMITS["user"], DEFAULT_RATE_LIMITS["jobs-usage"]
    assert user.per_second == pytest.approx(1.7) and user.burst == 150
    assert reads.per_second == pytest.approx(21.25) and reads.burst == 300
    submission = DEFAULT_RATE_LIMITS["job-submission"]
    assert submission.per_second * 3600 == pytest.approx(850) and submission.burst == 50
    for limit, hourly in ((user, 7200), (reads, 90000), (submission, 1000)):
        assert limit.per_second * 3600 + limit.burst < hourly  # a full burst stays in budget


async def test_each_scope_is_paced_by_its_own_bucket() -> None:
    clock = VirtualClock()
    async with api(rate_limits=SMALL, sleep=clock.sleep, clock=clock.time) as (router, c):
        router.get("/users/me/").respond(json={})
        router.get(f"/jobs/{JOB}/").respond(json=job_json())
        router.post(f"/jobs/{JOB}/submit/").respond(200)
        for _ in range(3):
            await c.users.me()
        assert clock.slept == [pytest.approx(1.0)]  # the third user call waited for a token
        await c.jobs.get(JOB)  # jobs-usage still has its token
        await c.jobs.submit(JOB)  # so has job-submission
        assert len(clock.slept) == 1
        await c.with_options(max_retries=0).jobs.submit(JOB)  # a view shares the buckets
        assert clock.slept[1:] == [pytest.approx(100.0)]
        await c.users.me()  # the user bucket refilled meanwhile
        assert len(clock.slept) == 2


async def test_the_default_submission_burst_then_pace() -> None:
    clock = VirtualClock()
    async with api(rate_limits=DEFAULT_RATE_LIMITS, sleep=clock.sleep, clock=clock.time) as (
        router,
        c,
    ):
        router.post(f"/jobs/{JOB}/submit/").respond(200)
        router.get(f"/jobs/{JOB}/").respond(json=job_json())
        for _ in range(50):
            await c.jobs.submit(JOB)
        assert clock.slept == []
        await c.jobs.submit(JOB)
        assert clock.slept == [pytest.approx(3600 / 850)]
        for _ in range(300):
            await c.jobs.get(JOB)
        assert len(clock.slept) == 1  # job reads have a budget of their own


async def test_a_429_pauses_only_its_own_scope() -> None:
    clock = VirtualClock()
    async with api(rate_limits=SMALL, sleep=clock.sleep, clock=clock.time, max_retries=0) as (
        router,
        c,
    ):
        router.post(f"/jobs/{JOB}/submit/").mock(
            side_effect=[
                httpx.Response(
                    429, headers={"Retry-After": "30"}, json={"detail": "Request was throttled."}
                ),
                httpx.Response(200),
            ]
        )
        router.get("/users/me/").respond(json={})
        router.get(f"/jobs/{JOB}/").respond(json=job_json())
        with pytest.raises(RateLimitError) as err:
            await c.jobs.submit(JOB)
        assert err.value.retry_after == 30
        await c.users.me()
        await c.jobs.get(JOB)
        assert clock.slept == []  # the other scopes go on
        await c.jobs.submit(JOB)
        # the submission scope waited out the 429, then for a token: a pause drains the bucket
        assert clock.slept == [pytest.approx(30.0), pytest.approx(100.0)]


async def test_a_429_is_retried_after_retry_after() -> None:
    clock = VirtualClock()
    async with api(sleep=clock.sleep, clock=clock.time) as (router, c):
        route = router.post(f"/jobs/{JOB}/submit/").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
        )
        await c.jobs.submit(JOB)
    assert route.call_count == 2 and clock.slept == [7.0]


async def test_unknown_scopes_are_refused() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown rate-limit scope\(s\) files; the scopes are: job-submission, jobs-usage, user",
    ):
        async with api(rate_limits={"files": RateLimit(1.0)}):
            pass


async def test_a_scope_set_to_none_is_not_paced() -> None:
    clock = VirtualClock()
    limits = {"user": None, "job-submission": RateLimit(0.001)}
    async with api(rate_limits=limits, sleep=clock.sleep, clock=clock.time) as (router, c):
        router.get("/users/me/").respond(json={})
        for _ in range(500):
            await c.users.me()
        assert clock.slept == []
        assert set(c.options.rate_scopes.limits) == {"job-submission", "jobs-usage"}  # type: ignore[union-attr]
