"""The request pipeline every resource shares: admission, auth, retries, error mapping.

One ``httpx.AsyncClient`` (one connection pool) per pipeline. Each attempt waits for a
concurrency slot and a rate-limit token, carries a bearer token (renewed by the auth flow),
and on failure asks the retry policy and the retry budget whether to try again.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx

from .auth import BearerAuth, CredentialAuth, TokenManager
from .config import Settings
from .exceptions import APIConnectionError, APITimeoutError, RescaleError, status_error
from .pagination import AsyncPaginator
from .ratelimit import RateLimit, TokenBucket
from .retry import DefaultRetryPolicy, RetryBudget, RetryPolicy, parse_retry_after

__all__ = ["AuthKind", "Pipeline", "segment"]

logger = logging.getLogger("rescale_async")

T = TypeVar("T")

USER_AGENT = "rescale-async/0.1"


class AuthKind(Enum):
    """How a request authenticates."""

    BEARER = "bearer"  # Authorization: Bearer <JWT> (almost every endpoint)
    CREDENTIAL = "credential"  # Authorization: Token <key> / Refresh <token>
    NONE = "none"  # public endpoints such as the JWKS


def segment(value: object) -> str:
    """``value`` as one URL path segment (``/`` and other reserved characters escaped)."""
    text = str(value)
    if not text:
        raise ValueError("an id in a URL path cannot be empty")
    return quote(text, safe=":@")


class Pipeline:
    """Sends API requests with shared limits, auth and retries. Resources hold one of these."""

    def __init__(
        self,
        settings: Settings,
        *,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        max_concurrency: int = 32,
        rate_limit: RateLimit | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http2: bool = False,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self.settings = settings
        self.base_url = httpx.URL(settings.base_url + "/")
        self.max_retries = max_retries
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=self.timeout,
            transport=transport,
            http2=http2,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            # A little headroom above max_concurrency for token requests, which skip admission.
            limits=httpx.Limits(
                max_connections=max_concurrency + 2, max_keepalive_connections=max_concurrency
            ),
        )
        self.concurrency = anyio.CapacityLimiter(max_concurrency)
        self.bucket = TokenBucket(rate_limit) if rate_limit is not None else None
        self.retry_policy: RetryPolicy = retry_policy or DefaultRetryPolicy()
        self.retry_budget = RetryBudget()
        self.tokens = TokenManager(settings.credentials, self._fetch_token)
        self._auth: dict[AuthKind, httpx.Auth | None] = {
            AuthKind.BEARER: BearerAuth(self.tokens),
            AuthKind.CREDENTIAL: CredentialAuth(settings.credentials),
            AuthKind.NONE: None,
        }
        self.sleep: Callable[[float], Awaitable[None]] = anyio.sleep

    def with_options(
        self, *, max_retries: int | None = None, timeout: float | httpx.Timeout | None = None
    ) -> Pipeline:
        """A view sharing pool, limits, tokens and budget, with other per-call options."""
        view = copy.copy(self)
        if max_retries is not None:
            if max_retries < 0:
                raise ValueError(f"max_retries must be >= 0, got {max_retries}")
            view.max_retries = max_retries
        if timeout is not None:
            view.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        return view

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _fetch_token(self) -> tuple[str, float]:
        response = await self.request("GET", "auth/token", auth=AuthKind.CREDENTIAL, admit=False)
        try:
            body = response.json()
            return str(body["tokenValue"]), float(body["expiresIn"])
        except (ValueError, KeyError, TypeError):
            raise RescaleError(
                "GET /auth/token answered without tokenValue/expiresIn; is the base URL "
                f"{self.settings.base_url} an HTC API?"
            ) from None

    @asynccontextmanager
    async def _admission(self, admit: bool) -> AsyncIterator[None]:
        if not admit:
            yield
            return
        async with self.concurrency:
            if self.bucket is not None:
                await self.bucket.acquire()
            yield

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: AuthKind = AuthKind.BEARER,
        admit: bool = True,
    ) -> httpx.Response:
        """Send one API call (retrying as the policy allows); raise on any status >= 400.

        ``json`` is a JSON body, ``data`` a form body; ``headers`` add to the defaults.
        ``admit=False`` skips the concurrency and rate limits (the token request uses it, so
        requests holding every slot while waiting for a token cannot deadlock).
        """
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        request = self.http.build_request(
            method, url, params=params, json=json, data=data, headers=headers, timeout=self.timeout
        )
        attempt = 0
        while True:
            response: httpx.Response | None = None
            error: Exception | None = None
            async with self._admission(admit):
                try:
                    response = _unbound(await self.http.send(request, auth=self._auth[auth]))
                except httpx.TransportError as exc:
                    error = exc
            if response is not None and response.status_code < 400:
                self.retry_budget.deposit()
                return response
            retry_after = parse_retry_after(response) if response is not None else None
            attempt += 1
            decision = self.retry_policy.decide(
                request, attempt, response=response, error=error, retry_after=retry_after
            )
            if (
                response is not None
                and response.status_code == 429
                and self.bucket is not None
                and decision.delay is not None  # not when Retry-After is beyond the cap
            ):
                self.bucket.pause(decision.delay)
            timed_out = isinstance(error, httpx.TimeoutException)
            if (
                decision.delay is None
                or attempt > self.max_retries
                or not self.retry_budget.withdraw(timeout=timed_out)
            ):
                raise self._failure(request, response, error, retry_after)
            logger.info(
                "retrying %s %s in %.2fs (retry %d of %d) after %s",
                request.method,
                request.url.path,
                decision.delay,
                attempt,
                self.max_retries,
                response.status_code if response is not None else type(error).__name__,
            )
            await self.sleep(decision.delay)

    @staticmethod
    def _failure(
        request: httpx.Request,
        response: httpx.Response | None,
        error: Exception | None,
        retry_after: float | None,
    ) -> RescaleError:
        failure: RescaleError
        if response is not None:
            failure = status_error(response, retry_after=retry_after)
        elif isinstance(error, httpx.TimeoutException):
            failure = APITimeoutError(request)
        else:
            failure = APIConnectionError(request, reason=f"{type(error).__name__}: {error}")
        failure.__cause__ = error
        return failure

    def paginate(
        self,
        path: str,
        item_type: type[T],
        *,
        params: dict[str, Any] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[T]:
        """A paginator over ``path`` whose pages hold ``item_type`` items."""

        async def fetch(url: str, query: dict[str, Any] | None) -> httpx.Response:
            return await self.request("GET", url, params=query)

        return AsyncPaginator(
            fetch,
            path,
            item_type,
            base_url=self.base_url,
            params=params,
            page_size=page_size,
            limit=limit,
        )


def _unbound(response: httpx.Response) -> httpx.Response:
    """``response`` without the reference cycle httpx leaves between a response and its
    stream (``BoundAsyncStream(stream, response=response)``), which keeps every response, body
    included, alive until the cyclic collector runs: pages of 10,000 log lines would pile up.
    The body has been read and the stream closed, so a plain byte stream of it does."""
    for each in (*response.history, response):
        each.stream = httpx.ByteStream(each.content)
    return response
