"""Client-wide request admission: a FIFO token bucket for rate, a capacity limiter for concurrency.

Built on anyio only, so it behaves the same under asyncio and trio. Cancelling a waiter
consumes nothing; a 429 pauses the whole bucket for the server's ``Retry-After``. An API whose
limits differ by endpoint (the platform API's scopes) gets one bucket per scope
(``RateScopes``): a request takes a token from its own scope's bucket only, and a 429 pauses
only that bucket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import anyio

__all__ = ["RateLimit", "RateScopes", "ScopeOf", "TokenBucket"]

ScopeOf = Callable[[str, str], str]
"""Names the rate-limit scope of a request from its method and its path relative to the base
URL (``"jobs/abc/submit/"``)."""

_EPSILON = 1e-9


@dataclass(frozen=True)
class RateLimit:
    """At most ``per_second`` requests per second on average, with bursts up to ``burst``."""

    per_second: float
    burst: int = 1

    def __post_init__(self) -> None:
        if not self.per_second > 0:
            raise ValueError(f"rate_limit per_second must be > 0, got {self.per_second!r}")
        if self.burst < 1:
            raise ValueError(f"rate_limit burst must be >= 1, got {self.burst!r}")


@dataclass(frozen=True)
class RateScopes:
    """One token bucket per scope: ``limits`` maps a scope name to its pace (a scope without
    an entry is not paced), ``scope_of`` names the scope of each request.
    """

    limits: Mapping[str, RateLimit]
    scope_of: ScopeOf = field(compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "limits", MappingProxyType(dict(self.limits)))


class TokenBucket:
    """FIFO token bucket: over any window of t seconds it admits at most ``rate*t + burst``.

    Waiters are served strictly in arrival order (an anyio lock is FIFO); only the head waiter
    sleeps, so accuracy does not depend on how many are queued. ``clock`` and ``sleep`` are
    injectable for tests on a virtual clock.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = anyio.current_time,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(limit.burst)
        self._updated: float | None = None
        self._paused_until = float("-inf")
        self._lock = anyio.Lock()

    def _refill(self, now: float) -> None:
        if self._updated is None:
            self._updated = now
        elif now > self._updated:
            earned = (now - self._updated) * self.limit.per_second
            self._tokens = min(float(self.limit.burst), self._tokens + earned)
            self._updated = now

    async def acquire(self) -> None:
        """Wait for a token (FIFO) and take it."""
        async with self._lock:
            while True:
                now = self._clock()
                self._refill(now)
                if now < self._paused_until:
                    await self._sleep(self._paused_until - now)
                    continue
                if self._tokens >= 1.0 - _EPSILON:  # float sums of earned fractions fall short
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                await self._sleep((1.0 - self._tokens) / self.limit.per_second)

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (a 429's Retry-After), then restart empty."""
        now = self._clock()
        self._refill(now)
        self._paused_until = max(self._paused_until, now + seconds)
        self._tokens = min(self._tokens, 0.0)
        self._updated = self._paused_until
