"""The retry matrix, Retry-After handling, backoff, per-call options and the retry budget."""

from __future__ import annotations

import email.utils
import random
import time

import httpx
import pytest
from support import TokenEndpoint, mock_api, no_sleep_client

from rescale_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    DefaultRetryPolicy,
    InternalServerError,
    RateLimitError,
    RetryBudget,
    RetryDecision,
)
from rescale_async._core.retry import parse_retry_after

IDEMPOTENT = ["GET", "HEAD", "PUT", "DELETE"]
NON_IDEMPOTENT = ["POST", "PATCH"]
RETRYABLE = [408, 429, 500, 502, 503, 504]
# 401 is not here: the auth flow answers it with one refresh and replay (see test_auth.py).
FINAL = [400, 403, 404, 409, 422, 501]


def expected_retry(method: str, status: int) -> bool:
    if status == 429:
        return True
    return method in IDEMPOTENT and status in RETRYABLE


@pytest.mark.parametrize("method", IDEMPOTENT + NON_IDEMPOTENT)
@pytest.mark.parametrize("status", RETRYABLE + FINAL)
async def test_status_matrix(method: str, status: int) -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.route(method=method, path="/thing").mock(
            side_effect=[httpx.Response(status), httpx.Response(200, json={})]
        )
        delays: list[float] = []
        async with no_sleep_client(delays) as client:
            call = client.request(method, "thing", json={} if method != "GET" else None)
            if expected_retry(method, status):
                response = await call
                assert response.status_code == 200
                assert route.call_count == 2
                assert len(delays) == 1
            else:
                with pytest.raises(APIStatusError) as info:
                    await call
                assert info.value.status_code == status
                assert route.call_count == 1
                assert delays == []


CONNECT_ERRORS = [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow connect")]
SENT_ERRORS = [
    httpx.ReadTimeout("slow"),
    httpx.RemoteProtocolError("dropped"),
    httpx.ReadError("reset"),
]


@pytest.mark.parametrize("method", IDEMPOTENT + NON_IDEMPOTENT)
@pytest.mark.parametrize("error", CONNECT_ERRORS + SENT_ERRORS, ids=lambda e: type(e).__name__)
async def test_transport_error_matrix(method: str, error: Exception) -> None:
    never_sent = any(error is e for e in CONNECT_ERRORS)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.route(method=method, path="/thing").mock(
            side_effect=[error, httpx.Response(200, json={})]
        )
        async with no_sleep_client() as client:
            call = client.request(method, "thing")
            if method in IDEMPOTENT or never_sent:
                assert (await call).status_code == 200
                assert route.call_count == 2
            else:
                expected = (
                    APITimeoutError
                    if isinstance(error, httpx.TimeoutException)
                    else APIConnectionError
                )
                with pytest.raises(expected):
                    await call
                assert route.call_count == 1


async def test_retry_after_seconds_is_the_delay() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/thing").mock(
            side_effect=[
                httpx.Response(503, headers={"Retry-After": "7"}),
                httpx.Response(429, headers={"Retry-After": "2.5"}),
                httpx.Response(200, json={}),
            ]
        )
        delays: list[float] = []
        async with no_sleep_client(delays) as client:
            await client.request("GET", "thing")
    assert delays == [7.0, 2.5]


async def test_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/thing").mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200)]
        )
        delays: list[float] = []
        async with no_sleep_client(delays) as client:
            await client.request("GET", "thing")
    assert 28 <= delays[0] <= 30


async def test_retry_after_beyond_cap_raises_with_retry_after() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.get("/thing").mock(
            return_value=httpx.Response(
                429, headers={"Retry-After": "3600"}, json={"message": "slow down"}
            )
        )
        delays: list[float] = []
        async with no_sleep_client(delays) as client:
            with pytest.raises(RateLimitError) as info:
                await client.request("GET", "thing")
    assert info.value.retry_after == 3600
    assert "slow down" in str(info.value)
    assert route.call_count == 1 and delays == []


def test_parse_retry_after_variants() -> None:
    def parse(value: str) -> float | None:
        return parse_retry_after(httpx.Response(429, headers={"Retry-After": value}), now=1000.0)

    assert parse("12") == 12.0
    assert parse("-3") == 0.0
    assert parse("garbage") is None
    assert parse(email.utils.formatdate(1010.0, usegmt=True)) == pytest.approx(10.0)
    assert parse(email.utils.formatdate(900.0, usegmt=True)) == 0.0
    assert parse_retry_after(httpx.Response(429)) is None


def test_backoff_is_capped_full_jitter() -> None:
    policy = DefaultRetryPolicy(backoff_base=0.5, backoff_cap=4.0, rng=random.Random(1))
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (10, 4.0)]:
        samples = [policy.backoff(attempt) for _ in range(500)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.9  # the whole range is used (full jitter)
        assert min(samples) < ceiling * 0.1


async def test_max_retries_per_client_and_per_call() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.get("/thing").mock(return_value=httpx.Response(503))
        async with no_sleep_client(max_retries=2) as client:
            with pytest.raises(InternalServerError):
                await client.request("GET", "thing")
            assert route.call_count == 3
            route.reset()
            with pytest.raises(InternalServerError):
                await client.with_options(max_retries=0).request("GET", "thing")
            assert route.call_count == 1
            route.reset()
            with pytest.raises(InternalServerError):
                await client.with_options(max_retries=5).request("GET", "thing")
            assert route.call_count == 6
    with pytest.raises(ValueError, match="max_retries must be >= 0"):
        client.with_options(max_retries=-1)


async def test_retry_budget_stops_retry_storms() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.get("/thing").mock(return_value=httpx.Response(500))
        budget = RetryBudget(capacity=20, retry_cost=5)
        async with no_sleep_client(max_retries=3, retry_budget=budget) as client:
            for _ in range(10):
                with pytest.raises(InternalServerError):
                    await client.request("GET", "thing")
    # 20 / 5 = 4 retries in all, then every call is tried exactly once.
    assert route.call_count == 10 + 4


def test_retry_budget_refills_on_success() -> None:
    budget = RetryBudget(capacity=12, retry_cost=5, timeout_cost=10, success_refund=1)
    assert budget.withdraw(timeout=True)
    assert not budget.withdraw()  # 2 left, a retry costs 5
    for _ in range(20):
        budget.deposit()
    assert budget.available == 12


async def test_pluggable_retry_policy() -> None:
    class NeverRetry:
        calls = 0

        def decide(self, request: httpx.Request, attempt: int, **_: object) -> RetryDecision:
            NeverRetry.calls += 1
            return RetryDecision(None)

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.get("/thing").mock(return_value=httpx.Response(503))
        async with no_sleep_client(retry_policy=NeverRetry()) as client:
            with pytest.raises(InternalServerError):
                await client.request("GET", "thing")
    assert route.call_count == 1 and NeverRetry.calls == 1
