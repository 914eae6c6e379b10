"""When to retry a request, and how long to wait first.

Order of decisions: the method's idempotency, then the outcome (status or exception), then the
client-wide retry budget; the delay honours ``Retry-After`` first, otherwise it is capped
exponential backoff with full jitter. The policy is pluggable: pass any object with a
``decide`` method to ``HTCClient(retry_policy=...)``.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field
from typing import Protocol

import httpx

__all__ = [
    "DefaultRetryPolicy",
    "RetryBudget",
    "RetryDecision",
    "RetryPolicy",
    "parse_retry_after",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(response: httpx.Response, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def never_reached_server(exc: Exception) -> bool:
    """True when ``exc`` proves the request was never sent (safe to retry even a POST)."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryDecision:
    """Retry after ``delay`` seconds, or don't (``delay`` is None)."""

    delay: float | None


GIVE_UP = RetryDecision(None)


class RetryPolicy(Protocol):
    """Decides whether attempt number ``attempt`` (1 = the first retry) should happen."""

    def decide(
        self,
        request: httpx.Request,
        attempt: int,
        *,
        response: httpx.Response | None = None,
        error: Exception | None = None,
        retry_after: float | None = None,
    ) -> RetryDecision: ...


@dataclass
class DefaultRetryPolicy:
    """Retries idempotent requests on transient failures; POST/PATCH only when provably safe.

    - GET, HEAD, PUT, DELETE: connection errors, timeouts, 408, 429, 500, 502, 503, 504.
    - POST, PATCH: only when the request never reached the server (connect error) or on 429
      (the server refused it before acting). Retrying a submit after a 5xx could create
      duplicate jobs, so it is never done.
    - ``Retry-After`` is a floor for the delay; above ``max_retry_after`` the policy gives up
      so the caller sees a RateLimitError carrying ``retry_after``.
    """

    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    max_retry_after: float = 120.0
    rng: random.Random = field(default_factory=random.Random)

    def decide(
        self,
        request: httpx.Request,
        attempt: int,
        *,
        response: httpx.Response | None = None,
        error: Exception | None = None,
        retry_after: float | None = None,
    ) -> RetryDecision:
        idempotent = request.method in IDEMPOTENT_METHODS
        if response is not None:
            status = response.status_code
            retryable = status == 429 or (idempotent and status in RETRYABLE_STATUSES)
        else:
            retryable = error is not None and (idempotent or never_reached_server(error))
        if not retryable:
            return GIVE_UP
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return GIVE_UP
            return RetryDecision(retry_after)
        return RetryDecision(self.backoff(attempt))

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempt - 1))
        return self.rng.uniform(0, ceiling)


class RetryBudget:
    """A client-wide quota of retries, so an outage does not multiply the load (as botocore).

    Each retry withdraws ``retry_cost`` (``timeout_cost`` after a timeout); each success
    deposits ``success_refund`` back, up to ``capacity``. An empty budget means: do not retry.
    """

    def __init__(
        self,
        capacity: int = 500,
        *,
        retry_cost: int = 5,
        timeout_cost: int = 10,
        success_refund: int = 1,
    ) -> None:
        self.capacity = capacity
        self.available = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund

    def withdraw(self, *, timeout: bool = False) -> bool:
        """Take the cost of one retry; False (nothing taken) when the budget cannot pay it."""
        cost = self.timeout_cost if timeout else self.retry_cost
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def deposit(self) -> None:
        """Record a success."""
        self.available = min(self.capacity, self.available + self.success_refund)
