"""The Rescale platform API v2: jobs (a software tile on a cluster of a chosen coretype), files,
coretypes, analyses and prices, on the shared core.

``async with PlatformClient() as client: job = await client.jobs.create(definition)``
"""

from __future__ import annotations

from ._limits import DEFAULT_RATE_LIMITS, JOB_SUBMISSION, JOBS_USAGE, USER, platform_scope
from ._settings import REGION_HOSTS, region_base_url
from .client import PlatformClient

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "JOBS_USAGE",
    "JOB_SUBMISSION",
    "REGION_HOSTS",
    "USER",
    "PlatformClient",
    "platform_scope",
    "region_base_url",
]
