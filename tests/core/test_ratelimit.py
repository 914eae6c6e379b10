"""The token bucket on a virtual clock: window bound, throughput, FIFO, pause, cancellation."""

from __future__ import annotations

import random

import anyio
import anyio.lowlevel
import pytest

from rescale_async import RateLimit
from rescale_async._core.ratelimit import TokenBucket


class VirtualClock:
    """Time moves only when the bucket's head waiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


def max_excess(times: list[float], rate: float) -> float:
    """max over i <= j of (j - i + 1) - rate * (t_j - t_i): must stay <= burst."""
    best = float("-inf")
    lowest = float("inf")
    for j, t in enumerate(times):
        lowest = min(lowest, j - rate * t)
        best = max(best, (j - rate * t) - lowest + 1)
    return best


@pytest.mark.parametrize(("rate", "burst"), [(50.0, 1), (20.0, 10), (7.5, 3), (1000.0, 100)])
async def test_window_bound_and_throughput(rate: float, burst: int) -> None:
    clock = VirtualClock()
    bucket = TokenBucket(RateLimit(rate, burst), clock=clock.time, sleep=clock.sleep)
    admitted: list[float] = []
    order: list[int] = []

    async def worker(index: int) -> None:
        await bucket.acquire()
        admitted.append(clock.now)
        order.append(index)

    n = 2000
    async with anyio.create_task_group() as tg:
        for index in range(n):
            tg.start_soon(worker, index)
            await anyio.lowlevel.checkpoint()  # arrival order = index
    assert len(admitted) == n
    assert max_excess(admitted, rate) <= burst + 1e-9
    sustained = (n - burst) / (admitted[-1] - admitted[0])
    assert sustained >= 0.97 * rate
    assert order == list(range(n))  # FIFO


async def test_pause_admits_nothing_until_it_ends() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(RateLimit(10, 5), clock=clock.time, sleep=clock.sleep)
    for _ in range(5):
        await bucket.acquire()
    assert clock.now == 0.0  # the burst
    bucket.pause(30)
    await bucket.acquire()
    assert clock.now >= 30.0
    # A later, shorter pause does not shorten the current one.
    bucket.pause(60)
    bucket.pause(1)
    await bucket.acquire()
    assert clock.now >= 90.0


async def test_cancelled_waiters_consume_nothing() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(RateLimit(10, 1), clock=clock.time, sleep=clock.sleep)
    rng = random.Random(7)
    admitted: list[float] = []
    scopes = [anyio.CancelScope() for _ in range(400)]

    async def worker(scope: anyio.CancelScope) -> None:
        with scope:
            await bucket.acquire()
            admitted.append(clock.now)

    async def canceller() -> None:
        for scope in rng.sample(scopes, 200):  # cancel waiters while they queue
            await anyio.lowlevel.checkpoint()
            scope.cancel()

    async with anyio.create_task_group() as tg:
        for scope in scopes:
            tg.start_soon(worker, scope)
        tg.start_soon(canceller)
    assert 200 <= len(admitted) < 400
    assert max_excess(admitted, 10) <= 1 + 1e-9
    # Only admitted callers paid: the time taken matches their count, not all 400.
    assert clock.now == pytest.approx((len(admitted) - 1) / 10)


def test_rate_limit_validation() -> None:
    with pytest.raises(ValueError, match="per_second must be > 0"):
        RateLimit(0)
    with pytest.raises(ValueError, match="burst must be >= 1"):
        RateLimit(5, burst=0)
