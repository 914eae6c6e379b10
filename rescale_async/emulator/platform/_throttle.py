"""The rate-limit scopes of the platform API as server-side token buckets, one per scope."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from .._faults import Bucket
from ._config import SCOPES, ScopeLimit

__all__ = ["Throttles"]


class Throttles:
    """One bucket per limited scope; ``set`` changes a scope's limit at runtime (thread-safe)."""

    def __init__(self, limits: Mapping[str, ScopeLimit]) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, Bucket] = {}
        self._limits: dict[str, ScopeLimit] = {}
        for scope, limit in limits.items():
            self.set(scope, limit)

    @property
    def limits(self) -> dict[str, ScopeLimit]:
        """The limited scopes and their limits."""
        with self._lock:
            return dict(self._limits)

    def set(self, scope: str, limit: ScopeLimit | None) -> None:
        """Limit ``scope`` (a fresh, full bucket), or lift its limit with None."""
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}; the scopes are {', '.join(SCOPES)}")
        with self._lock:
            if limit is None:
                self._buckets.pop(scope, None)
                self._limits.pop(scope, None)
            else:
                self._buckets[scope] = Bucket(limit.per_second, limit.burst)
                self._limits[scope] = limit

    def clear(self) -> None:
        """Lift every scope's limit."""
        with self._lock:
            self._buckets.clear()
            self._limits.clear()

    def check(self, scope: str) -> float | None:
        """None when a request of ``scope`` may pass (taking a token), else seconds to wait."""
        with self._lock:
            bucket = self._buckets.get(scope)
        return None if bucket is None else bucket.take()
