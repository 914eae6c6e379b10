"""``HTCClient``: one connection pool, one token, one set of limits, every HTC resource."""

from __future__ import annotations

import copy
from types import TracebackType

import httpx

from ._core.config import resolve_settings
from ._core.pipeline import Pipeline
from ._core.ratelimit import RateLimit
from ._core.retry import RetryPolicy
from .orchestration._jobs import Jobs
from .resources.auth import Auth
from .resources.images import Images
from .resources.metrics import Metrics
from .resources.projects import Projects
from .resources.regions import Regions
from .resources.storage import Storage
from .resources.tasks import Tasks
from .resources.workspaces import Workspaces

__all__ = ["HTCClient"]


class HTCClient:
    """Async client for the Rescale HTC API.

    Credentials come from the arguments, else the environment (``RESCALE_API_KEY``,
    ``RESCALE_HTC_REFRESH_TOKEN``, ``RESCALE_HTC_BEARER_TOKEN``), else a profile of
    ``~/.config/rescale/apiconfig``. Use it as ``async with HTCClient() as client: ...``
    (or call ``await client.aclose()``). Every resource shares the client's connection pool,
    bearer token, ``max_concurrency`` slots, ``rate_limit`` bucket and retry budget.
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
    ) -> None:
        settings = resolve_settings(
            api_key=api_key,
            refresh_token=refresh_token,
            bearer_token=bearer_token,
            base_url=base_url,
            profile=profile,
        )
        if isinstance(rate_limit, int | float):
            rate_limit = RateLimit(float(rate_limit))
        self._pipeline = Pipeline(
            settings,
            timeout=timeout,
            max_retries=max_retries,
            max_concurrency=max_concurrency,
            rate_limit=rate_limit,
            transport=transport,
            http2=http2,
            retry_policy=retry_policy,
        )
        self._attach_resources()

    def _attach_resources(self) -> None:
        pipeline = self._pipeline
        self.auth = Auth(pipeline)
        self.projects = Projects(pipeline)
        self.tasks = Tasks(pipeline)
        self.jobs = Jobs(pipeline)
        self.images = Images(pipeline)
        self.storage = Storage(pipeline)
        self.regions = Regions(pipeline)
        self.workspaces = Workspaces(pipeline)
        self.metrics = Metrics(pipeline)

    @property
    def base_url(self) -> str:
        """The API root every path is relative to."""
        return self._pipeline.settings.base_url

    def with_options(
        self, *, max_retries: int | None = None, timeout: float | httpx.Timeout | None = None
    ) -> HTCClient:
        """This client with other per-call options; pool, token and limits stay shared.

        ``await client.with_options(max_retries=0).projects.get(pid)``
        """
        view = copy.copy(self)
        view._pipeline = self._pipeline.with_options(max_retries=max_retries, timeout=timeout)
        view._attach_resources()
        return view

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._pipeline.aclose()

    async def __aenter__(self) -> HTCClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        source = self._pipeline.settings.credentials.source
        return f"HTCClient(base_url={self.base_url!r}, credentials from {source})"
