"""``ClientOptions``: every option of a client's transport, in one frozen record.

A client is built from its options once; ``with_options()`` gives a view with some of them
replaced (``max_retries``, ``timeout``) that shares the connection pool, the token, the
limits and the retry budget.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx

from .ratelimit import RateLimit, RateScopes
from .retry import DefaultRetryPolicy, RetryBudget, RetryPolicy

__all__ = ["ClientOptions", "as_rate_limit", "as_timeout"]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True)
class ClientOptions:
    """How a client sends requests; ``client.options`` shows a client's."""

    timeout: httpx.Timeout = field(default_factory=lambda: httpx.Timeout(30.0))
    """Connect, read, write and pool timeouts of each attempt."""
    max_retries: int = 3
    """Retries of one request after its first attempt, as the retry policy allows."""
    max_concurrency: int = 32
    """Requests in flight at once, across every resource of the client."""
    rate_limit: RateLimit | None = None
    """A client-wide token bucket for requests; None: no rate limit of our own."""
    rate_scopes: RateScopes | None = None
    """One token bucket per scope instead of ``rate_limit`` (the platform API's scopes)."""
    http2: bool = False
    """Speak HTTP/2 where the server does (needs the ``http2`` extra)."""
    retry_policy: RetryPolicy = field(default_factory=DefaultRetryPolicy)
    """Decides whether and when a failed attempt is retried."""
    retry_budget: RetryBudget = field(default_factory=RetryBudget)
    """The client-wide quota of retries, shared by every request and view."""
    sleep: Sleep = anyio.sleep
    """The client's own waits (retry backoff, rate-limit pauses, waiting for an image to be
    READY, settling a submission); polling at an ``interval`` the caller gave stays a real
    sleep. Tests pass a fake to run without waiting."""
    clock: Clock = anyio.current_time
    """The monotonic clock of token expiry, the rate limit and the image wait; tests pass a
    virtual one."""

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries!r}")
        if isinstance(self.max_concurrency, bool) or self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {self.max_concurrency!r}")
        if self.rate_limit is not None and self.rate_scopes is not None:
            raise ValueError("give rate_limit (one bucket) or rate_scopes (per scope), not both")


def as_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    """``timeout`` as an ``httpx.Timeout`` (seconds apply to every phase)."""
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def as_rate_limit(rate_limit: float | RateLimit | None) -> RateLimit | None:
    """``rate_limit`` as a ``RateLimit`` (a number is requests per second)."""
    if isinstance(rate_limit, bool):
        raise TypeError("rate_limit must be requests per second or a RateLimit, not a bool")
    return RateLimit(float(rate_limit)) if isinstance(rate_limit, int | float) else rate_limit
