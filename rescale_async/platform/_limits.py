"""The platform API's rate-limit scopes, and how this SDK paces each by default.

Rescale documents hourly budgets per scope: job-submission 1000/h (``POST jobs/{id}/submit/``),
jobs-usage 90000/h, i.e. 25/s (every ``GET jobs/...``), user 7200/h, i.e. 2/s (everything
else, files included). Hitting one blocks for a long time, so each scope is paced below its
limit by default as Rescale's own Go client does: 85% of the rate, with bursts of 50
(job-submission), 300 (jobs-usage) and 150 (user). Even a full burst then stays within the
hourly budget (0.85 x 7200 + 150 < 7200).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from .._core.ratelimit import RateLimit, RateScopes

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "JOBS_USAGE",
    "JOB_SUBMISSION",
    "USER",
    "platform_rate_scopes",
    "platform_scope",
]

JOB_SUBMISSION = "job-submission"
JOBS_USAGE = "jobs-usage"
USER = "user"

PACE = 0.85
"""The share of each documented limit paced for by default."""

DEFAULT_RATE_LIMITS: Mapping[str, RateLimit] = MappingProxyType(
    {
        JOB_SUBMISSION: RateLimit(PACE * 1000 / 3600, burst=50),
        JOBS_USAGE: RateLimit(PACE * 25, burst=300),
        USER: RateLimit(PACE * 2, burst=150),
    }
)
"""The default pace per scope (requests per second, burst)."""

_SUBMIT = re.compile(r"jobs/[^/]+/submit/?")


def platform_scope(method: str, path: str) -> str:
    """The scope of a request: ``path`` is relative to the base URL (``jobs/abc/submit/``)."""
    if method == "POST" and _SUBMIT.fullmatch(path):
        return JOB_SUBMISSION
    if method == "GET" and (path == "jobs" or path.startswith("jobs/")):
        return JOBS_USAGE
    return USER


def platform_rate_scopes(rate_limits: Mapping[str, RateLimit | None] | None) -> RateScopes | None:
    """The scopes to pace: the defaults, with ``rate_limits`` replacing some (None for a scope
    leaves it unpaced); ``rate_limits=None`` paces nothing.
    """
    if rate_limits is None:
        return None
    unknown = sorted(set(rate_limits) - set(DEFAULT_RATE_LIMITS))
    if unknown:
        known = ", ".join(sorted(DEFAULT_RATE_LIMITS))
        raise ValueError(
            f"unknown rate-limit scope(s) {', '.join(unknown)}; the scopes are: {known}"
        )
    merged = {**DEFAULT_RATE_LIMITS, **rate_limits}
    paced = {scope: limit for scope, limit in merged.items() if limit is not None}
    return RateScopes(paced, scope_of=platform_scope)
