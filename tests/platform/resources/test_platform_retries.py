"""Which failures each method rides out: job create and submit are never resent after a 5xx or
a timeout (a duplicate job or submission), only when the request provably never left or on a
429; GETs ride out 5xx and timeouts, such as the sporadic 504 of ``statuses/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from platform_support import JOB, api, definition, job_json, page, status

from rescale_async import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    PlatformClient,
    RescaleError,
)

Call = Callable[[PlatformClient], Awaitable[Any]]


def submit(c: PlatformClient) -> Awaitable[None]:
    return c.jobs.submit(JOB)


def create(c: PlatformClient) -> Awaitable[Any]:
    return c.jobs.create(definition(), check_coretypes=False)


def update(c: PlatformClient) -> Awaitable[Any]:
    return c.jobs.update(JOB, {"name": "n"})


NOT_RESENT = [
    ("POST", f"/jobs/{JOB}/submit/", submit),
    ("POST", "/jobs/", create),
    ("PATCH", f"/jobs/{JOB}/", update),
]

ANSWERS: dict[str, Any] = {
    "POST": httpx.Response(201, json=job_json()),
    "PATCH": httpx.Response(200, json=job_json()),
}


@pytest.mark.parametrize(("method", "path", "call"), NOT_RESENT)
@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.Response(500), InternalServerError),
        (httpx.Response(502), InternalServerError),
        (httpx.Response(504), InternalServerError),
        (httpx.ReadTimeout("read timed out"), APITimeoutError),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            APIConnectionError,
        ),
    ],
)
async def test_never_resent_once_it_may_have_reached_the_server(
    method: str, path: str, call: Call, failure: Any, error: type[RescaleError]
) -> None:
    async with api() as (router, c):
        route = router.route(method=method, path=path).mock(side_effect=[failure, ANSWERS[method]])
        with pytest.raises(error):
            await call(c)
    assert route.call_count == 1


@pytest.mark.parametrize(("method", "path", "call"), NOT_RESENT)
@pytest.mark.parametrize(
    "refusal",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.Response(429, headers={"Retry-After": "1"}),
    ],
)
async def test_resent_when_it_never_left_or_was_throttled(
    method: str, path: str, call: Call, refusal: Any
) -> None:
    async with api() as (router, c):
        route = router.route(method=method, path=path).mock(side_effect=[refusal, ANSWERS[method]])
        await call(c)
    assert route.call_count == 2


async def test_a_sporadic_504_on_statuses_is_ridden_out() -> None:
    async with api() as (router, c):
        route = router.get(f"/jobs/{JOB}/statuses/").mock(
            side_effect=[
                httpx.Response(504, text="<html><title>504 Gateway Time-out</title></html>"),
                httpx.Response(504),
                httpx.Response(200, json=page([status("Pending", "2024-01-01T00:00:00Z")])),
            ]
        )
        history = await c.jobs.statuses(JOB)
    assert route.call_count == 3 and len(history) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(502),
        httpx.Response(503),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
    ],
)
async def test_gets_and_deletes_ride_out_5xx_and_timeouts(failure: Any) -> None:
    async with api() as (router, c):
        get = router.get(f"/jobs/{JOB}/").mock(
            side_effect=[failure, httpx.Response(200, json=job_json())]
        )
        delete = router.delete(f"/jobs/{JOB}/").mock(side_effect=[failure, httpx.Response(204)])
        await c.jobs.get(JOB)
        await c.jobs.delete(JOB)
    assert get.call_count == 2 and delete.call_count == 2


async def test_a_persistent_504_gives_up_after_max_retries() -> None:
    async with api(max_retries=2) as (router, c):
        route = router.get(f"/jobs/{JOB}/statuses/").respond(504)
        with pytest.raises(InternalServerError, match="504"):
            await c.jobs.statuses(JOB)
    assert route.call_count == 3
