"""The request pipeline every resource shares: admission, auth, retries, error mapping.

One ``httpx.AsyncClient`` (one connection pool) per pipeline. Each attempt waits for a
concurrency slot and a rate-limit token, carries a bearer token (renewed by the auth flow),
and on failure asks the retry policy and the retry budget whether to try again.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from enum import Enum
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx

from .._version import __version__
from .auth import BearerAuth, BearerToken, CredentialAuth, TokenManager, parse_token_response
from .config import Settings
from .exceptions import APIConnectionError, APITimeoutError, RescaleError, status_error
from .options import ClientOptions, as_timeout
from .pagination import AsyncPaginator
from .ratelimit import TokenBucket
from .retry import parse_retry_after

__all__ = ["AuthKind", "Pipeline", "segment"]

logger = logging.getLogger("rescale_async")

T = TypeVar("T")

USER_AGENT = f"rescale-async/{__version__}"


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
        options: ClientOptions,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.base_url = httpx.URL(settings.base_url + "/")
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=options.timeout,
            transport=transport,
            http2=options.http2,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            # A little headroom above max_concurrency for token requests, which skip admission.
            limits=httpx.Limits(
                max_connections=options.max_concurrency + 2,
                max_keepalive_connections=options.max_concurrency,
            ),
        )
        self.concurrency = anyio.CapacityLimiter(options.max_concurrency)
        self.bucket = (
            None
            if options.rate_limit is None
            else TokenBucket(options.rate_limit, clock=options.clock, sleep=options.sleep)
        )
        self.tokens = TokenManager(settings.credentials, self._fetch_token, clock=options.clock)
        self._auth: dict[AuthKind, httpx.Auth | None] = {
            AuthKind.BEARER: BearerAuth(self.tokens),
            AuthKind.CREDENTIAL: CredentialAuth(settings.credentials),
            AuthKind.NONE: None,
        }

    def with_options(
        self, *, max_retries: int | None = None, timeout: float | httpx.Timeout | None = None
    ) -> Pipeline:
        """A view sharing pool, limits, tokens and budget, with other per-call options."""
        changes: dict[str, Any] = {}
        if max_retries is not None:
            changes["max_retries"] = max_retries
        if timeout is not None:
            changes["timeout"] = as_timeout(timeout)
        view = copy.copy(self)
        view.options = dataclasses.replace(self.options, **changes)
        return view

    @property
    def is_closed(self) -> bool:
        """Whether the connection pool has been closed."""
        return self.http.is_closed

    async def bearer_token(self) -> BearerToken:
        """The bearer token in use now, renewed first if it is about to expire."""
        held = await self.tokens.current(self.http.build_request("GET", "auth/token"))
        return held.token

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _fetch_token(self) -> tuple[str, float]:
        """A new JWT and its lifetime, from ``GET /auth/token`` sent outside admission."""
        response = await self.request("GET", "auth/token", auth=AuthKind.CREDENTIAL, admit=False)
        return parse_token_response(response, self.settings.base_url)

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
        request = self._build_request(
            method, url, params=params, json=json, data=data, headers=headers
        )
        attempt = 0
        while True:
            outcome = await self._admission(request, auth, admit)
            if isinstance(outcome, httpx.Response):
                self.options.retry_budget.deposit()
                return outcome
            attempt += 1
            delay = self._retry_delay(request, outcome, attempt)
            if delay is None:
                raise self._failure(request, outcome)
            await self._wait(request, outcome, delay, attempt)

    def _build_request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        data: dict[str, str] | None,
        headers: dict[str, str] | None,
    ) -> httpx.Request:
        """The request every attempt sends: params that are None left out, this view's timeout."""
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        return self.http.build_request(
            method,
            url,
            params=params,
            json=json,
            data=data,
            headers=headers,
            timeout=self.options.timeout,
        )

    async def _admission(
        self, request: httpx.Request, auth: AuthKind, admit: bool
    ) -> httpx.Response | _Failed:
        """One attempt: a concurrency slot and a rate-limit token (if ``admit``), then send."""
        if not admit:
            return await self._send(request, auth)
        async with self.concurrency:
            if self.bucket is not None:
                await self.bucket.acquire()
            return await self._send(request, auth)

    async def _send(self, request: httpx.Request, auth: AuthKind) -> httpx.Response | _Failed:
        """Send ``request`` once: its response when the status is below 400, else what failed."""
        try:
            response = _unbound(await self.http.send(request, auth=self._auth[auth]))
        except httpx.TransportError as exc:
            return _Failed(error=exc)
        return response if response.status_code < 400 else _Failed(response=response)

    def _retry_delay(self, request: httpx.Request, failed: _Failed, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt``, or None when the policy, the
        ``max_retries`` count or the retry budget refuses it.
        """
        delay = self.options.retry_policy.decide(
            request,
            attempt,
            response=failed.response,
            error=failed.error,
            retry_after=failed.retry_after,
        ).delay
        self._pause_on_429(failed, delay)  # even when this request itself will not retry
        if delay is None or attempt > self.options.max_retries:
            return None
        return delay if self.options.retry_budget.withdraw(timeout=failed.timed_out) else None

    def _pause_on_429(self, failed: _Failed, delay: float | None) -> None:
        """After a 429, hold the shared rate-limit bucket for ``delay`` so every request waits."""
        if (
            failed.response is not None
            and failed.response.status_code == 429
            and self.bucket is not None
            and delay is not None  # not when Retry-After is beyond the cap
        ):
            self.bucket.pause(delay)

    async def _wait(
        self, request: httpx.Request, failed: _Failed, delay: float, attempt: int
    ) -> None:
        """Log the retry to come, then sleep ``delay`` seconds before it."""
        logger.info(
            "retrying %s %s in %.2fs (retry %d of %d) after %s",
            request.method,
            request.url.path,
            delay,
            attempt,
            self.options.max_retries,
            failed.cause,
        )
        await self.options.sleep(delay)

    @staticmethod
    def _failure(request: httpx.Request, failed: _Failed) -> RescaleError:
        """The error a request that will not be retried raises, chained to the transport error."""
        failure: RescaleError
        if failed.response is not None:
            failure = status_error(failed.response, retry_after=failed.retry_after)
        elif failed.timed_out:
            failure = APITimeoutError(request)
        else:
            error = failed.error
            failure = APIConnectionError(request, reason=f"{type(error).__name__}: {error}")
        failure.__cause__ = failed.error
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


@dataclasses.dataclass(frozen=True)
class _Failed:
    """A failed attempt: its response (status >= 400), or the transport error that stopped it."""

    response: httpx.Response | None = None
    error: httpx.TransportError | None = None

    @cached_property
    def retry_after(self) -> float | None:
        """The response's ``Retry-After`` in seconds, read once (an HTTP date depends on now)."""
        return None if self.response is None else parse_retry_after(self.response)

    @property
    def timed_out(self) -> bool:
        """Whether the attempt ran out of time (a retry then costs the budget more)."""
        return isinstance(self.error, httpx.TimeoutException)

    @property
    def cause(self) -> int | str:
        """The status code, else the transport error's type name (for the retry log)."""
        return self.response.status_code if self.response is not None else type(self.error).__name__


def _unbound(response: httpx.Response) -> httpx.Response:
    """``response`` without the reference cycle httpx leaves between a response and its
    stream (``BoundAsyncStream(stream, response=response)``), which keeps every response, body
    included, alive until the cyclic collector runs: pages of 10,000 log lines would pile up.
    The body has been read and the stream closed, so a plain byte stream of it does.
    """
    for each in (*response.history, response):
        each.stream = httpx.ByteStream(each.content)
    return response
