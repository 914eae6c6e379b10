"""``PlatformClient``: one connection pool, one API key, the scopes' rate limits, every resource
of the Rescale platform API v2.
"""

from __future__ import annotations

from collections.abc import Mapping

import anyio
import httpx

from .._core.client import BaseClient
from .._core.options import ClientOptions, Clock, Sleep, as_timeout
from .._core.pagination import NumberedPage
from .._core.pipeline import AuthKind
from .._core.ratelimit import RateLimit
from .._core.retry import DefaultRetryPolicy, RetryBudget, RetryPolicy
from ._limits import DEFAULT_RATE_LIMITS, platform_rate_scopes
from ._settings import resolve_platform_settings
from .orchestration import Files, Jobs
from .orchestration._clusters import Clusters
from .resources import (
    Analyses,
    CoreTypeCatalogue,
    CoreTypes,
    Prices,
    Projects,
    Users,
)
from .resources import Files as FilesResource
from .resources import Jobs as JobsResource

__all__ = ["PlatformClient"]


class PlatformClient(BaseClient):
    """Async client for the Rescale platform API v2 (``https://<host>/api/v2/``).

    The key comes from ``api_key``, else ``RESCALE_API_KEY``, else the ``apikey`` of a profile
    of ``~/.config/rescale/apiconfig``; the base URL from ``base_url`` or ``region`` (``"us"``,
    ``"eu"``, ``"kr"``, ``"jp"``, ``"itar"``, ``"itar-gov"``), else ``RESCALE_API_URL``, else the
    profile's ``apibaseurl``, else ``https://platform.rescale.com/api/v2``. The key is sent as
    ``Authorization: Token <key>`` (``Bearer`` for a JWT-shaped key), never exchanged.

    Requests are paced per rate-limit scope (``rate_limits``: job-submission, jobs-usage,
    user; the defaults in ``DEFAULT_RATE_LIMITS``; a mapping replaces some, None paces
    nothing), shared by every resource and ``with_options`` view; a 429 pauses only its
    scope. Use it as ``async with PlatformClient() as client: ...``. ``sleep`` and ``clock``
    replace every wait and the monotonic clock, for tests.
    """

    _page_type = NumberedPage
    _page_size_param = "page_size"

    users: Users
    projects: Projects
    coretypes: CoreTypes
    analyses: Analyses
    prices: Prices
    jobs: Jobs
    files: Files
    clusters: Clusters

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        max_concurrency: int = 32,
        rate_limits: Mapping[str, RateLimit | None] | None = DEFAULT_RATE_LIMITS,
        transport: httpx.AsyncBaseTransport | None = None,
        http2: bool = False,
        retry_policy: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        sleep: Sleep = anyio.sleep,
        clock: Clock = anyio.current_time,
    ) -> None:
        settings = resolve_platform_settings(
            api_key=api_key, base_url=base_url, region=region, profile=profile
        )
        options = ClientOptions(
            timeout=as_timeout(timeout),
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            rate_scopes=platform_rate_scopes(rate_limits),
            http2=http2,
            retry_policy=retry_policy or DefaultRetryPolicy(),
            retry_budget=retry_budget or RetryBudget(),
            sleep=sleep,
            clock=clock,
        )
        self._coretype_catalogue = CoreTypeCatalogue()
        super().__init__(settings, options, transport=transport, default_auth=AuthKind.API_KEY)

    def _attach_resources(self) -> None:
        pipeline = self._pipeline
        self.users = Users(pipeline)
        self.projects = Projects(pipeline)
        self.coretypes = CoreTypes(pipeline)
        self.analyses = Analyses(pipeline)
        self.prices = Prices(pipeline)
        jobs = JobsResource(pipeline, self._coretype_catalogue)
        files = FilesResource(pipeline)
        # the orchestration facades: each resource's calls, plus waits, runs and transfers
        self.jobs = Jobs(jobs, files=files, sleep=pipeline.options.sleep)
        self.files = Files(files, jobs=jobs, sleep=pipeline.options.sleep)
        self.clusters = Clusters(self.jobs)  # quasi-persistent clusters over SSH
