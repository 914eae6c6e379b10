"""HTCClient: construction, lifecycle, shared pool and limits, first resources end to end."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Awaitable, Callable
from functools import partial

import anyio
import httpx
import pytest
from support import API_KEY, BASE_URL, TokenEndpoint, VirtualClock, client, make_jwt, mock_api

from rescale_async import (
    ClientOptions,
    DefaultRetryPolicy,
    HTCClient,
    InternalServerError,
    JobRef,
    NotFoundError,
    Project,
    RateLimit,
    RateLimitError,
    ResponseValidationError,
    RetryBudget,
    TaskRef,
)
from rescale_async._core.config import DEFAULT_BASE_URL

PROJECT = {"projectId": "p-1", "projectName": "demo", "projectDescription": "d", "workspaceId": "w"}


async def test_defaults_and_repr() -> None:
    async with HTCClient(API_KEY) as c:
        assert c.base_url == DEFAULT_BASE_URL
        assert repr(c) == f"HTCClient(base_url='{DEFAULT_BASE_URL}', credentials from arguments)"
        assert c.options.timeout == httpx.Timeout(30.0)
        assert c.options.max_retries == 3
        assert c.options.max_concurrency == 32
        assert c.options.rate_limit is None
        assert c.options.http2 is False
        assert isinstance(c.options.retry_policy, DefaultRetryPolicy)
        assert isinstance(c.options.retry_budget, RetryBudget)
        assert c.settle_delay == 10.0


async def test_options_reflect_the_constructor_arguments() -> None:
    budget = RetryBudget(capacity=7)
    policy = DefaultRetryPolicy(backoff_base=0.1)
    clock = VirtualClock()
    async with client(
        rate_limit=5,
        timeout=3,
        max_retries=1,
        max_concurrency=4,
        retry_budget=budget,
        retry_policy=policy,
        clock=clock.time,
        sleep=clock.sleep,
        settle_delay=2.5,
    ) as c:
        assert isinstance(c.options, ClientOptions)
        assert c.options.rate_limit == RateLimit(5.0)
        assert c.options.timeout == httpx.Timeout(3)
        assert (c.options.max_retries, c.options.max_concurrency) == (1, 4)
        assert c.options.retry_budget is budget
        assert c.options.retry_policy is policy
        assert c.options.clock == clock.time and c.options.sleep == clock.sleep
        assert c.settle_delay == 2.5
        assert c.base_url == BASE_URL
    limited = client(rate_limit=RateLimit(2.0, burst=4), timeout=httpx.Timeout(1, read=9))
    assert limited.options.rate_limit == RateLimit(2.0, burst=4)
    assert limited.options.timeout == httpx.Timeout(1, read=9)
    await limited.aclose()


async def test_a_negative_settle_delay_is_refused() -> None:
    with pytest.raises(ValueError, match=r"settle_delay must be >= 0 seconds, got -1"):
        HTCClient(API_KEY, settle_delay=-1)
    with pytest.raises(ValueError, match="settle_delay must be >= 0 seconds"):
        HTCClient(API_KEY, settle_delay=float("nan"))


async def test_context_manager_closes_the_pool() -> None:
    c = client()
    assert not c.is_closed
    async with c as entered:
        assert entered is c
    assert c.is_closed
    other = client()
    await other.aclose()
    assert other.is_closed


class CountingAPI:
    """A mock API that issues tokens and answers every other call ``status`` after a short
    real wait, counting token requests, calls, calls in flight at once, and the read timeout
    each path was last sent with.
    """

    def __init__(self) -> None:
        self.status = 404
        self.token_requests = 0
        self.calls = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.read_timeouts: dict[str, float] = {}

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/token"):
            self.token_requests += 1
            return httpx.Response(200, json={"tokenValue": make_jwt(), "expiresIn": 21600})
        self.calls += 1
        self.read_timeouts[request.url.path] = request.extensions["timeout"]["read"]
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await anyio.sleep(0.02)
        finally:
            self.in_flight -= 1
        return httpx.Response(self.status, json={"error": "x", "errorDescription": "refused"})


Call = Callable[[], Awaitable[object]]


def one_call_per_resource(c: HTCClient, view: HTCClient, project_id: str) -> list[Call]:
    """A GET through each of the client's resources, and one through ``view``'s projects."""
    return [
        c.auth.whoami,
        partial(c.projects.get, "p-1"),
        partial(c.tasks.get, TaskRef("p-1", "t-1")),
        partial(c.jobs.get, JobRef("p-1", "t-1", "j-1")),
        partial(c.images.status, "p-1", "team/solver:1"),
        c.storage.options,
        c.regions.list,
        partial(c.workspaces.limits, "w-1"),
        c.metrics.get,
        partial(view.projects.get, project_id),
    ]


async def test_every_resource_and_option_view_share_one_pool_and_limits() -> None:
    api = CountingAPI()
    clock = VirtualClock()
    budget = RetryBudget(capacity=20, retry_cost=5)
    async with client(
        rate_limit=5,
        max_concurrency=2,
        retry_budget=budget,
        clock=clock.time,
        sleep=clock.sleep,
        transport=httpx.MockTransport(api),
    ) as c:
        view = c.with_options(max_retries=0, timeout=3)
        assert view.options.max_retries == 0 and c.options.max_retries == 3
        assert view.options.timeout.read == 3 and c.options.timeout.read == 30
        assert c.options.rate_limit == RateLimit(5.0)
        assert view.options.rate_limit == c.options.rate_limit
        assert view.options.retry_budget is c.options.retry_budget is budget
        calls = one_call_per_resource(c, view, "p-2")

        async def refused(call: Call) -> None:
            with pytest.raises(NotFoundError):
                await call()

        # All at once: one token for all, two in flight at most (max_concurrency), and ten
        # admissions through one bucket of 5/s with a burst of 1: nine waits of 0.2 s.
        async with anyio.create_task_group() as tg:
            for call in calls:
                tg.start_soon(refused, call)
        assert api.calls == len(calls)
        assert api.token_requests == 1
        assert api.most_in_flight == 2
        assert clock.slept == pytest.approx([0.2] * (len(calls) - 1))
        # The view's calls carry its timeout; the client's their own.
        assert api.read_timeouts["/api/v1/htc/projects/p-2"] == 3
        assert api.read_timeouts["/api/v1/htc/projects/p-1"] == 30

        # One retry budget: 20 / 5 = 4 retries in all, whichever resource or view asks.
        api.status, api.calls = 503, 0
        retrying = c.with_options(timeout=5)
        for call in one_call_per_resource(c, retrying, "p-3"):
            with pytest.raises(InternalServerError):
                await call()
        assert api.calls == 10 + 4
        assert budget.available == 0

    # One pool: closing the client closes it for every view and resource.
    assert c.is_closed and view.is_closed and retrying.is_closed
    for call in one_call_per_resource(c, view, "p-2"):
        with pytest.raises(RuntimeError, match="client has been closed"):
            await call()
    assert api.token_requests == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_retries": -1}, "max_retries must be >= 0"),
        ({"max_concurrency": 0}, "max_concurrency must be >= 1"),
    ],
)
def test_invalid_options(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client(**kwargs)


async def test_custom_transport_is_used() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path.endswith("/auth/token"):
            return httpx.Response(200, json={"tokenValue": make_jwt(), "expiresIn": 21600})
        return httpx.Response(200, json=PROJECT)

    async with client(transport=httpx.MockTransport(handler)) as c:
        project = await c.projects.get("p-1")
    assert project.project_name == "demo"
    assert seen == ["/api/v1/auth/token", "/api/v1/htc/projects/p-1"]


async def test_whoami_and_projects_end_to_end() -> None:
    payload = {"sub": "user-1", "workspaceId": "w"}
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/auth/token/whoami").mock(
            side_effect=[
                httpx.Response(200, json=json.dumps(payload)),
                httpx.Response(200, json=payload),
            ]
        )
        listing = router.get("/htc/projects").mock(
            side_effect=[
                httpx.Response(
                    200, json={"items": [PROJECT], "next": f"{BASE_URL}/htc/projects?pageIndex=2"}
                ),
                httpx.Response(
                    200, json={"items": [{**PROJECT, "projectId": "p-2", "newField": 1}]}
                ),
            ]
        )
        router.get("/htc/projects/p-1").mock(return_value=httpx.Response(200, json=PROJECT))
        router.get("/htc/projects/nope").mock(
            return_value=httpx.Response(
                404, json={"error": "not_found", "errorDescription": "no project nope"}
            )
        )
        router.get("/htc/projects/bad").mock(
            return_value=httpx.Response(200, json={"projectName": 3})
        )
        async with client() as c:
            assert await c.auth.whoami() == payload  # the spec's string form
            assert await c.auth.whoami() == payload  # and a plain object
            projects = [p async for p in c.projects.list(only_mine=True, page_size=50)]
            assert [p.project_id for p in projects] == ["p-1", "p-2"]
            assert all(isinstance(p, Project) for p in projects)
            assert projects[1].model_extra == {"newField": 1}
            assert listing.calls[0].request.url.params["onlyMyProjects"] == "true"
            assert listing.calls[0].request.url.params["pageSize"] == "50"
            assert (await c.projects.get(projects[0])).project_id == "p-1"
            with pytest.raises(NotFoundError, match="no project nope"):
                await c.projects.get("nope")
            with pytest.raises(ResponseValidationError, match="projectId: Field required"):
                await c.projects.get("bad")


async def test_429_pauses_the_shared_bucket() -> None:
    clock = VirtualClock()
    admitted: list[float] = []

    def project(request: httpx.Request) -> httpx.Response:
        admitted.append(clock.now)
        return httpx.Response(200, json=PROJECT)

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/thing").mock(return_value=httpx.Response(429, headers={"Retry-After": "9"}))
        router.get("/htc/projects/p-1").mock(side_effect=project)
        async with client(
            rate_limit=RateLimit(100, burst=10),
            max_retries=0,
            clock=clock.time,
            sleep=clock.sleep,
        ) as c:
            with pytest.raises(RateLimitError):
                await c.request("GET", "thing")
            assert clock.now == 0
            # The next request, through any resource, is admitted only once the pause is over.
            await c.projects.get("p-1")
            await c.with_options(max_retries=1).projects.get("p-1")
    assert admitted[0] == pytest.approx(9, abs=0.5)
    assert admitted[1] - admitted[0] < 0.5


async def test_429_beyond_the_cap_raises_without_pausing_the_bucket() -> None:
    clock = VirtualClock()
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/thing").mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
        router.get("/other").mock(return_value=httpx.Response(200, json={}))
        async with client(
            rate_limit=RateLimit(100, burst=10), clock=clock.time, sleep=clock.sleep
        ) as c:
            with pytest.raises(RateLimitError) as info:
                await c.request("GET", "thing")
            assert info.value.retry_after == 3600
            # The bucket is not paused: the next request goes out at once.
            assert (await c.request("GET", "other")).status_code == 200
    assert clock.slept == []


async def test_a_response_is_freed_without_waiting_for_the_cyclic_collector() -> None:
    """httpx ties each response and its stream in a cycle; the pipeline unties it, so a page
    of 10,000 log lines is freed as soon as it is parsed, not when the collector runs.
    """
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/htc/projects/p-1").mock(return_value=httpx.Response(200, json={"a": 1}))
        async with client() as c:
            gc.disable()
            try:
                response = await c.request("GET", "htc/projects/p-1")
                assert response.json() == {"a": 1}
                freed = weakref.ref(response)
                del response
                assert freed() is None
            finally:
                gc.enable()
