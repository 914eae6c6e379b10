"""The platform API's settings: how fast jobs move, how walltime is scaled, the scopes' limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["DOCUMENTED_RATE_LIMITS", "SCOPES", "PlatformConfig", "ScopeLimit"]

SCOPES = ("job-submission", "jobs-usage", "user")
"""The rate-limit scopes: ``POST jobs/{id}/submit/``; other ``GET jobs/...``; everything else."""


@dataclass(frozen=True)
class ScopeLimit:
    """A scope's server-side token bucket: ``per_second`` on average, ``burst`` back to back."""

    per_second: float
    burst: int = 1

    def __post_init__(self) -> None:
        if not self.per_second > 0:
            raise ValueError(f"per_second must be > 0, got {self.per_second!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst!r}")


DOCUMENTED_RATE_LIMITS: Mapping[str, ScopeLimit] = MappingProxyType(
    {
        "job-submission": ScopeLimit(1000 / 3600, 50),
        "jobs-usage": ScopeLimit(25.0, 300),
        "user": ScopeLimit(2.0, 150),
    }
)
"""Rescale's documented limits (1000/h, 90000/h, 7200/h) with the bursts Rescale's own client
allows itself, as buckets: ``PlatformConfig(rate_limits=DOCUMENTED_RATE_LIMITS)``."""


@dataclass(frozen=True, kw_only=True)
class PlatformConfig:
    """How the platform API (``/api/v2``) of an ``Emulator`` behaves (``EmulatorConfig.platform``).

    Emulator(platform=PlatformConfig(status_delay=0.01, walltime_hour=1.0))
    """

    status_delay: float = 0.5
    """Seconds between one status of a submitted job (or of its cluster) and the next, e.g.
    Pending -> Queued -> Started...; tests use ~0.01."""
    cluster_stop_delay: float | None = None
    """Seconds between the cluster's statuses once the job is Completed (Stop Requested,
    Stopping, Stopped); None: ``status_delay``. A job cannot be deleted meanwhile."""
    walltime_hour: float = 3600.0
    """Seconds one hour of a job's ``walltime`` lasts: 1.0 stops a 2-hour job after 2 s."""
    rate_limits: Mapping[str, ScopeLimit] = field(default_factory=dict)
    """The scopes' buckets (keys from ``SCOPES``); a scope without one is not limited. Over a
    bucket: 429 with ``Retry-After`` and DRF's throttle detail. Changeable at runtime with
    ``emu.platform.throttles.set(scope, limit)``."""
    ignore_range: bool = False
    """Answer every ``files/{id}/contents/`` with the whole file (200), ignoring ``Range``, as a
    server or proxy that does not honour ranges would."""
    page_size: int = 10
    """Items per page when a listing is asked without ``page_size``."""
    max_page_size: int = 1000
    """Largest ``page_size`` honoured; larger ones are clamped to it (as DRF does)."""
    projects: tuple[str, ...] = ("Emulator Project",)
    """Names of the projects the user has (``users/me/projects/``)."""
    ssh_public_key: str | None = None
    """The OpenSSH public key line registered in the user profile (``users/me/``'s
    ``publicKey``): an executing job's SSH server accepts its private key. Changeable at
    runtime as ``emu.platform.public_key``."""

    def __post_init__(self) -> None:
        if self.status_delay < 0:
            raise ValueError(f"status_delay must be >= 0, got {self.status_delay}")
        if self.cluster_stop_delay is not None and self.cluster_stop_delay < 0:
            raise ValueError(f"cluster_stop_delay must be >= 0, got {self.cluster_stop_delay}")
        if self.walltime_hour <= 0:
            raise ValueError(f"walltime_hour must be > 0, got {self.walltime_hour}")
        unknown = sorted(set(self.rate_limits) - set(SCOPES))
        if unknown:
            raise ValueError(
                f"rate_limits has unknown scopes {unknown}; the scopes are {', '.join(SCOPES)}"
            )
        if not 1 <= self.page_size <= self.max_page_size:
            raise ValueError(
                f"page_size must be between 1 and max_page_size ({self.max_page_size}), "
                f"got {self.page_size}"
            )
        object.__setattr__(self, "rate_limits", MappingProxyType(dict(self.rate_limits)))
