"""HTCClient: construction, lifecycle, shared pool and limits, first resources end to end."""

from __future__ import annotations

import gc
import json
import weakref

import httpx
import pytest
from support import API_KEY, BASE_URL, TokenEndpoint, client, make_jwt, mock_api, no_sleep_client

from rescale_async import (
    HTCClient,
    NotFoundError,
    Project,
    RateLimit,
    RateLimitError,
    ResponseValidationError,
)
from rescale_async._core.config import DEFAULT_BASE_URL

PROJECT = {"projectId": "p-1", "projectName": "demo", "projectDescription": "d", "workspaceId": "w"}


async def test_defaults_and_repr() -> None:
    async with HTCClient(API_KEY) as c:
        assert c.base_url == DEFAULT_BASE_URL
        assert repr(c) == f"HTCClient(base_url='{DEFAULT_BASE_URL}', credentials from arguments)"
        assert c._pipeline.http.timeout.read == 30.0
        assert c._pipeline.concurrency.total_tokens == 32
        assert c._pipeline.bucket is None


async def test_context_manager_closes_the_pool() -> None:
    c = client()
    async with c as entered:
        assert entered is c
    assert c._pipeline.http.is_closed
    other = client()
    await other.aclose()
    assert other._pipeline.http.is_closed


async def test_every_resource_and_option_view_share_one_pool_and_limits() -> None:
    async with client(rate_limit=5) as c:
        view = c.with_options(max_retries=0, timeout=3)
        for resource in (
            c.auth,
            c.projects,
            c.tasks,
            c.jobs,
            c.images,
            c.storage,
            c.regions,
            c.workspaces,
            c.metrics,
            view.projects,
        ):
            assert resource._pipeline.http is c._pipeline.http
            assert resource._pipeline.concurrency is c._pipeline.concurrency
            assert resource._pipeline.bucket is c._pipeline.bucket
            assert resource._pipeline.tokens is c._pipeline.tokens
            assert resource._pipeline.retry_budget is c._pipeline.retry_budget
        assert view._pipeline.max_retries == 0 and c._pipeline.max_retries == 3
        assert view._pipeline.timeout.read == 3
        assert c._pipeline.bucket is not None
        assert c._pipeline.bucket.limit == RateLimit(5.0)


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
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/thing").mock(return_value=httpx.Response(429, headers={"Retry-After": "9"}))
        async with no_sleep_client(rate_limit=RateLimit(100, burst=10), max_retries=0) as c:
            bucket = c._pipeline.bucket
            assert bucket is not None
            with pytest.raises(RateLimitError):
                await c._pipeline.request("GET", "thing")
            assert bucket._paused_until - bucket._clock() == pytest.approx(9, abs=0.5)


async def test_429_beyond_the_cap_raises_without_pausing_the_bucket() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/thing").mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
        async with no_sleep_client(rate_limit=RateLimit(100, burst=10)) as c:
            with pytest.raises(RateLimitError) as info:
                await c._pipeline.request("GET", "thing")
            assert info.value.retry_after == 3600
            assert c._pipeline.bucket is not None
            assert c._pipeline.bucket._paused_until < c._pipeline.bucket._clock()


async def test_a_response_is_freed_without_waiting_for_the_cyclic_collector() -> None:
    """httpx ties each response and its stream in a cycle; the pipeline unties it, so a page
    of 10,000 log lines is freed as soon as it is parsed, not when the collector runs."""
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/htc/projects/p-1").mock(return_value=httpx.Response(200, json={"a": 1}))
        async with client() as c:
            gc.disable()
            try:
                response = await c._pipeline.request("GET", "htc/projects/p-1")
                assert response.json() == {"a": 1}
                freed = weakref.ref(response)
                del response
                assert freed() is None
            finally:
                gc.enable()
