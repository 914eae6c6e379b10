"""``HTCClient``: one connection pool, one token, one set of limits, every HTC resource."""

from __future__ import annotations

import anyio
import httpx

from .._core.client import BaseClient
from .._core.config import resolve_settings
from .._core.options import ClientOptions, Clock, Sleep, as_rate_limit, as_timeout
from .._core.ratelimit import RateLimit
from .._core.retry import DefaultRetryPolicy, RetryBudget, RetryPolicy
from .dataplane import Images, RegistryHTTP, Storage, StorageService
from .orchestration import Jobs, ReadyImages
from .resources.auth import Auth
from .resources.images import Images as ImagesResource
from .resources.jobs import Jobs as JobsResource
from .resources.metrics import Metrics
from .resources.projects import Projects
from .resources.regions import Regions
from .resources.storage import Storage as StorageResource
from .resources.tasks import Tasks
from .resources.workspaces import Workspaces

__all__ = ["HTCClient"]


class HTCClient(BaseClient):
    """Async client for the Rescale HTC API.

    Credentials come from the arguments, else the environment (``RESCALE_API_KEY``,
    ``RESCALE_HTC_REFRESH_TOKEN``, ``RESCALE_HTC_BEARER_TOKEN``), else a profile of
    ``~/.config/rescale/apiconfig``. Use it as ``async with HTCClient() as client: ...``
    (or call ``await client.aclose()``). Every resource shares the client's connection pool,
    bearer token, ``max_concurrency`` slots, ``rate_limit`` bucket and retry budget.
    ``settle_delay`` is the seconds a submission that failed ambiguously (a lost response, a
    5xx) is given to reach the service before the API is asked whether it landed. ``sleep``
    and ``clock`` replace every wait and the monotonic clock, for tests.
    """

    auth: Auth
    projects: Projects
    tasks: Tasks
    jobs: Jobs
    images: Images
    storage: Storage
    regions: Regions
    workspaces: Workspaces
    metrics: Metrics

    def __init__(
        self,
        api_key: str | None = None,
        *,
        refresh_token: str | None = None,
        bearer_token: str | None = None,
        base_url: str | None = None,
        profile: str | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        max_concurrency: int = 32,
        rate_limit: float | RateLimit | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http2: bool = False,
        retry_policy: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        settle_delay: float = 10.0,
        sleep: Sleep = anyio.sleep,
        clock: Clock = anyio.current_time,
    ) -> None:
        if not settle_delay >= 0:
            raise ValueError(f"settle_delay must be >= 0 seconds, got {settle_delay!r}")
        settings = resolve_settings(
            api_key=api_key,
            refresh_token=refresh_token,
            bearer_token=bearer_token,
            base_url=base_url,
            profile=profile,
        )
        options = ClientOptions(
            timeout=as_timeout(timeout),
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            rate_limit=as_rate_limit(rate_limit),
            http2=http2,
            retry_policy=retry_policy or DefaultRetryPolicy(),
            retry_budget=retry_budget or RetryBudget(),
            sleep=sleep,
            clock=clock,
        )
        self._settle_delay = float(settle_delay)
        self._ready_images = ReadyImages()
        self._registry_http = RegistryHTTP(options)  # one registry pool for every view
        self._storage_service = StorageService(  # storage credentials, engine: every view's
            max_retries=max_retries, timeout=options.timeout.read or 60.0
        )
        super().__init__(settings, options, transport=transport)

    @property
    def settle_delay(self) -> float:
        """Seconds given an ambiguously failed submission before asking whether it landed."""
        return self._settle_delay

    async def aclose(self) -> None:
        """Close the connection pools: the API's (every view shares it) and the registry's;
        stop the storage engine's thread (trio).
        """
        try:
            await self._registry_http.aclose()
            await self._storage_service.aclose()
        finally:
            await super().aclose()

    def _attach_resources(self) -> None:
        pipeline = self._pipeline
        self.auth = Auth(pipeline)
        self.projects = Projects(pipeline)
        self.tasks = Tasks(pipeline)
        images = ImagesResource(pipeline)
        self.images = Images(
            images,
            projects=self.projects,
            registry_http=self._registry_http,
            options=pipeline.options,
            ready=self._ready_images,
        )
        self.storage = Storage(StorageResource(pipeline), self._storage_service)
        self.regions = Regions(pipeline)
        self.workspaces = Workspaces(pipeline)
        self.metrics = Metrics(pipeline)
        self.jobs = Jobs(
            JobsResource(pipeline),
            tasks=self.tasks,
            images=images,
            ready_images=self._ready_images,
            settle_delay=self._settle_delay,
            sleep=pipeline.options.sleep,
            clock=pipeline.options.clock,
        )
