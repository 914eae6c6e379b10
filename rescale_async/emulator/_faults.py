"""Fault injection per endpoint, changeable at runtime, and request counters.

A ``FaultRule`` matches requests by method and path template (as the OpenAPI document writes
it, e.g. ``/htc/projects/{projectId}/tasks``) or by a regex over the concrete path (relative
to the API root). Matching rules apply in the order they were added: each adds its latency,
and the first one whose dice say so decides the outcome:

- ``rate_limit``: a server-side token bucket; over it -> 429 with ``Retry-After``;
- ``drop_rate``: the connection drops before the server does anything;
- ``error_rate``: an error status (500/502/503/504, proxy-style body for 502-504);
- ``lose_rate``: the server acts (a job really is created), then the response is lost.

``hold`` delays the response of every matching request after the server has acted (a slow
answer: the window in which a client can die between its request and the response).
``bandwidth`` caps the bytes per second of a matching response's body (each response is paced
on its own, so a client opening more connections gets more bandwidth, as over a real link);
``drop_after`` sends that many bytes of a matching response's body, then drops the connection.

Dropped and lost responses reach the client as an ``httpx.TransportError`` in both modes.
Rules and counters are thread-safe, so a test can change faults of a served emulator.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["Bucket", "Counters", "Decision", "FaultRule", "Faults"]

_ERROR_STATUSES = frozenset({500, 502, 503, 504})


class Bucket:
    """A server-side token bucket: ``rate`` requests per second, ``burst`` back to back.

    ``take()`` never waits: it admits a request (None) or says how long until it could.
    Thread-safe, so a test may change a served emulator's limits from its own thread.
    """

    def __init__(self, rate: float, burst: int = 1) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be > 0, got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._stamp: float | None = None
        self._lock = threading.Lock()

    def take(self, clock: float | None = None) -> float | None:
        """None when a request may pass (a token is taken), else seconds until one could."""
        now = time.monotonic() if clock is None else clock
        with self._lock:
            if self._stamp is not None:
                earned = (now - self._stamp) * self.rate
                self._tokens = min(float(self.burst), self._tokens + earned)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            return (1.0 - self._tokens) / self.rate


@dataclass(eq=False)
class FaultRule:
    """What goes wrong, and for which requests. All probabilities are in [0, 1]."""

    method: str | None = None
    """HTTP method to match (any when None)."""
    path: str | None = None
    """Path template to match exactly, relative to the API root (any when None)."""
    path_regex: str | None = None
    """Regex searched in the concrete request path, relative to the API root."""
    error_rate: float = 0.0
    error_status: int = 503
    latency: float = 0.0
    """Seconds added to every matching request."""
    jitter: float = 0.0
    """Up to this many more seconds, uniformly random."""
    rate_limit: float | None = None
    """Requests per second the matching requests may make together (then 429)."""
    burst: int = 1
    """Requests the rate limit lets through back to back."""
    retry_after: float | None = None
    """The ``Retry-After`` to send with 429 (default: until the bucket has a token, rounded
    up to whole seconds as the header's delta-seconds form requires)."""
    drop_rate: float = 0.0
    lose_rate: float = 0.0
    hold: float = 0.0
    """Seconds a matching request's response waits after the server has acted."""
    bandwidth: float | None = None
    """Bytes per second a matching response's body is paced to (per response, that is per
    connection while it sends); None: no cap."""
    drop_after: int | None = None
    """Send this many bytes of a matching response's body, then drop the connection (a
    transfer cut short); None: never."""
    times: int | None = None
    """Apply to at most this many requests (latency included), then go away."""
    name: str = ""

    _bucket: Bucket | None = field(default=None, init=False, repr=False)
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False)
    applied: int = field(default=0, init=False)
    """How many requests this rule has affected."""

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "lose_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        if self.error_status not in _ERROR_STATUSES:
            raise ValueError(
                f"error_status must be one of 500, 502, 503, 504, got {self.error_status}"
            )
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(f"rate_limit must be > 0, got {self.rate_limit}")
        if self.latency < 0 or self.jitter < 0 or self.hold < 0:
            raise ValueError("latency, jitter and hold must be >= 0")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst}")
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError(f"bandwidth must be > 0 bytes per second, got {self.bandwidth}")
        if self.drop_after is not None and self.drop_after < 0:
            raise ValueError(f"drop_after must be >= 0 bytes, got {self.drop_after}")
        if self.rate_limit is not None:
            self._bucket = Bucket(self.rate_limit, self.burst)
        if self.path_regex is not None:
            self._pattern = re.compile(self.path_regex)
        if self.method is not None:
            self.method = self.method.upper()

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.applied >= self.times

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.exhausted:
            return False
        if self.method is not None and self.method != method:
            return False
        if self.path is not None and self.path != template:
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def _take_token(self, clock: float) -> float | None:
        """None when a request may pass, else seconds until the bucket has a token."""
        assert self._bucket is not None
        return self._bucket.take(clock)


@dataclass(frozen=True)
class Decision:
    """What the fault layer does with one request."""

    delay: float = 0.0
    hold: float = 0.0
    bandwidth: float | None = None
    """Bytes per second the response body is paced to (the lowest cap of the rules)."""
    drop_after: int | None = None
    """Body bytes sent before the connection drops (the lowest of the rules)."""
    outcome: str | None = None
    """None (serve it), "rate_limited", "dropped", "error" or "lost"."""
    status: int | None = None
    retry_after: str | None = None


class Counters:
    """Requests per endpoint (``"METHOD /template"``), responses per status, faults per kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.responses: Counter[tuple[str, int]] = Counter()
        """(endpoint, status) -> responses the client received."""
        self.faults: Counter[tuple[str, str]] = Counter()
        """(kind, endpoint) -> injected faults; kinds: delayed, rate_limited, dropped, error,
        lost, held."""

    def count_request(self, endpoint: str) -> None:
        with self._lock:
            self.requests[endpoint] += 1

    def count_response(self, endpoint: str, status: int) -> None:
        with self._lock:
            self.statuses[status] += 1
            self.responses[(endpoint, status)] += 1

    def count_fault(self, kind: str, endpoint: str) -> None:
        with self._lock:
            self.faults[(kind, endpoint)] += 1

    def fault_total(self, kind: str) -> int:
        """Injected faults of ``kind`` on every endpoint."""
        with self._lock:
            return sum(n for (k, _), n in self.faults.items() if k == kind)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.statuses.clear()
            self.responses.clear()
            self.faults.clear()


class Faults:
    """The active fault rules. Add, remove and clear them at any time."""

    def __init__(self, rng: random.Random) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = rng
        self.token_lifetime: float | None = None
        """Overrides the configured bearer token lifetime (seconds) while not None."""

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def add(self, rule: FaultRule | None = None, /, **fields: object) -> FaultRule:
        """Activate ``rule`` (or ``FaultRule(**fields)``) and return it."""
        if rule is None:
            rule = FaultRule(**fields)  # type: ignore[arg-type]
        elif fields:
            raise TypeError("pass a FaultRule or keyword fields, not both")
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        """Remove every rule and the token lifetime override."""
        with self._lock:
            self._rules.clear()
            self.token_lifetime = None

    @contextmanager
    def inject(self, rule: FaultRule | None = None, /, **fields: object) -> Iterator[FaultRule]:
        """``with emu.faults.inject(error_rate=1.0, path=...):`` the rule, only in the block."""
        added = self.add(rule, **fields)
        try:
            yield added
        finally:
            self.remove(added)

    def decide(self, method: str, template: str, path: str) -> Decision:
        """Roll the dice of every rule matching this request."""
        delay = hold = 0.0
        bandwidth: float | None = None
        drop_after: int | None = None
        with self._lock:
            for rule in list(self._rules):
                if not rule.matches(method, template, path):
                    continue
                affected = False
                if rule.latency or rule.jitter:
                    delay += rule.latency + self._rng.uniform(0.0, rule.jitter)
                    affected = True
                if rule.hold:
                    hold += rule.hold
                    affected = True
                if rule.bandwidth is not None:
                    bandwidth = _lowest(bandwidth, rule.bandwidth)
                    affected = True
                if rule.drop_after is not None:
                    drop_after = _lowest(drop_after, rule.drop_after)
                    affected = True
                outcome = self._outcome(rule)
                if affected or outcome is not None:
                    rule.applied += 1
                if rule.exhausted:
                    self._rules.remove(rule)
                if outcome is not None:
                    return Decision(delay, hold, bandwidth, drop_after, *outcome)
        return Decision(delay, hold, bandwidth, drop_after)

    def _outcome(self, rule: FaultRule) -> tuple[str, int | None, str | None] | None:
        if rule._bucket is not None:
            wait = rule._take_token(time.monotonic())
            if wait is not None:
                after = rule.retry_after
                header = f"{after:g}" if after is not None else str(max(1, math.ceil(wait)))
                return "rate_limited", 429, header
        rng = self._rng
        if rule.drop_rate and rng.random() < rule.drop_rate:
            return "dropped", None, None
        if rule.error_rate and rng.random() < rule.error_rate:
            return "error", rule.error_status, None
        if rule.lose_rate and rng.random() < rule.lose_rate:
            return "lost", None, None
        return None


N = TypeVar("N", int, float)


def _lowest(current: N | None, candidate: N) -> N:
    return candidate if current is None else min(current, candidate)
