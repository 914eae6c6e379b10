"""The request pipeline every resource shares: admission, auth, retries, error mapping.

One ``httpx.AsyncClient`` (one connection pool) per pipeline. Each attempt waits for a
concurrency slot and a token of its rate-limit scope's bucket, carries the API's
``Authorization`` (a bearer token renewed by the auth flow, or an API key as is), and on failure
asks the retry policy and the retry budget whether to try again. ``stream()`` does the same for
a response whose body is read as it arrives.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import Enum
from functools import cached_property
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import httpx

from .._version import __version__
from .auth import (
    APIKeyAuth,
    BearerAuth,
    BearerToken,
    CredentialAuth,
    TokenManager,
    parse_token_response,
)
from .config import Settings
from .exceptions import APIConnectionError, APITimeoutError, RescaleError, status_error
from .options import ClientOptions, as_timeout
from .pagination import AsyncPaginator, Page
from .ratelimit import RateLimit, ScopeOf, TokenBucket
from .retry import parse_retry_after

__all__ = ["DEFAULT_SCOPE", "AuthKind", "Pipeline", "segment"]

logger = logging.getLogger("rescale_async")

T = TypeVar("T")

USER_AGENT = f"rescale-async/{__version__}"

DEFAULT_SCOPE = "default"
"""The one rate-limit scope of a client paced by ``ClientOptions.rate_limit``."""


class AuthKind(Enum):
    """How a request authenticates."""

    BEARER = "bearer"  # Authorization: Bearer <JWT> (almost every HTC endpoint)
    CREDENTIAL = "credential"  # Authorization: Token <key> / Refresh <token>
    API_KEY = "api key"  # Authorization: Token <key>, Bearer for a JWT-shaped key (platform)
    NONE = "none"  # public endpoints such as the JWKS


def segment(value: object) -> str:
    """``value`` as one URL path segment (``/`` and other reserved characters escaped)."""
    text = str(value)
    if not text:
        raise ValueError("an id in a URL path cannot be empty")
    return quote(text, safe=":@")


class Pipeline:
    """Sends API requests with shared limits, auth and retries. Resources hold one of these.

    ``default_auth`` is how a request authenticates when it does not say: HTC's bearer token,
    or the platform API's key as is.
    """

    def __init__(
        self,
        settings: Settings,
        options: ClientOptions,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        default_auth: AuthKind = AuthKind.BEARER,
    ) -> None:
        self.settings = settings
        self.default_auth = default_auth
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
        self.buckets = self._make_buckets(options)
        self._scope_of: ScopeOf = (
            options.rate_scopes.scope_of if options.rate_scopes else _the_default_scope
        )
        self.tokens = TokenManager(settings.credentials, self._fetch_token, clock=options.clock)
        self._auth: dict[AuthKind, httpx.Auth | None] = {
            AuthKind.BEARER: BearerAuth(self.tokens),
            AuthKind.CREDENTIAL: CredentialAuth(settings.credentials),
            AuthKind.API_KEY: APIKeyAuth(settings.credentials),
            AuthKind.NONE: None,
        }

    @staticmethod
    def _make_buckets(options: ClientOptions) -> dict[str, TokenBucket]:
        """A token bucket per paced scope (one, ``default``, for a single ``rate_limit``)."""
        limits: dict[str, RateLimit] = {}
        if options.rate_scopes is not None:
            limits.update(options.rate_scopes.limits)
        elif options.rate_limit is not None:
            limits[DEFAULT_SCOPE] = options.rate_limit
        return {
            scope: TokenBucket(limit, clock=options.clock, sleep=options.sleep)
            for scope, limit in limits.items()
        }

    def scope_of(self, request: httpx.Request) -> str:
        """The rate-limit scope ``request`` counts against."""
        path = request.url.path
        root = self.base_url.path
        relative = path[len(root) :] if path.startswith(root) else path.lstrip("/")
        return self._scope_of(request.method, relative)

    def bucket_for(self, request: httpx.Request) -> TokenBucket | None:
        """The token bucket pacing ``request`` (None: its scope is not paced)."""
        return self.buckets.get(self.scope_of(request))

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
        content: httpx.AsyncByteStream | None = None,
        auth: AuthKind | None = None,
        admit: bool = True,
    ) -> httpx.Response:
        """Send one API call (retrying as the policy allows); raise on any status >= 400.

        ``json`` is a JSON body, ``data`` a form body, ``content`` a streamed body (iterated
        again if a retry resends it; give its Content-Length in ``headers``); ``headers`` add
        to the defaults. ``auth`` None is the pipeline's ``default_auth``. ``admit=False``
        skips the concurrency and rate limits (the token request uses it, so requests holding
        every slot while waiting for a token cannot deadlock).
        """
        request = self._build_request(
            method, url, params=params, json=json, data=data, headers=headers, content=content
        )
        kind = auth or self.default_auth
        attempt = 0
        while True:
            outcome = await self._admission(request, kind, admit)
            if isinstance(outcome, httpx.Response):
                self.options.retry_budget.deposit()
                return outcome
            attempt += 1
            await self._before_retry(request, outcome, attempt)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: AuthKind | None = None,
        follow_redirects: bool = False,
    ) -> AsyncIterator[httpx.Response]:
        """Send one call whose response body is read as it arrives: the response (status below
        400) is yielded with its body unread, and closed on exit.

        Retried as ``request`` is until the response's head arrives; a failure while reading
        the body is the caller's to handle. The concurrency slot is held until the exit.
        ``follow_redirects`` follows redirects, sending ``Authorization`` only to this origin.
        """
        request = self._build_request(
            method, url, params=params, json=None, data=None, headers=headers
        )
        kind = auth or self.default_auth
        attempt = 0
        while True:
            async with self.concurrency:
                await self._take_token(request)
                outcome = await self._send(request, kind, stream=True, redirects=follow_redirects)
                if isinstance(outcome, httpx.Response):
                    self.options.retry_budget.deposit()
                    try:
                        yield outcome
                    finally:
                        await outcome.aclose()
                    return
            attempt += 1
            await self._before_retry(request, outcome, attempt)

    async def _before_retry(self, request: httpx.Request, failed: _Failed, attempt: int) -> None:
        """Wait before retry number ``attempt``, or raise ``failed``'s error when there is none."""
        delay = self._retry_delay(request, failed, attempt)
        if delay is None:
            raise self._failure(request, failed)
        await self._wait(request, failed, delay, attempt)

    def _build_request(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        data: dict[str, str] | None,
        headers: dict[str, str] | None,
        content: httpx.AsyncByteStream | None = None,
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
            content=content,
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
            await self._take_token(request)
            return await self._send(request, auth)

    async def _take_token(self, request: httpx.Request) -> None:
        """Wait for a token of ``request``'s scope (nothing to wait for when it is not paced)."""
        bucket = self.bucket_for(request)
        if bucket is not None:
            await bucket.acquire()

    async def _send(
        self,
        request: httpx.Request,
        auth: AuthKind,
        *,
        stream: bool = False,
        redirects: bool = False,
    ) -> httpx.Response | _Failed:
        """Send ``request`` once: its response when the status is below 400, else what failed.
        With ``stream`` a successful response's body is left unread.
        """
        try:
            response = await self.http.send(
                request, auth=self._auth[auth], stream=stream, follow_redirects=redirects
            )
            if stream and response.status_code >= 400:
                try:
                    await response.aread()  # an error body, small: read for the error message
                finally:
                    await response.aclose()
        except httpx.TransportError as exc:
            return _Failed(error=exc)
        if response.status_code >= 400:
            return _Failed(response=_unbound(response))
        return response if stream else _unbound(response)

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
        self._pause_on_429(request, failed, delay)  # even when this request will not retry
        if delay is None or attempt > self.options.max_retries:
            return None
        return delay if self.options.retry_budget.withdraw(timeout=failed.timed_out) else None

    def _pause_on_429(self, request: httpx.Request, failed: _Failed, delay: float | None) -> None:
        """After a 429, hold the bucket of the request's scope for ``delay`` so every request of
        that scope waits (other scopes go on).
        """
        bucket = self.bucket_for(request)
        if (
            failed.response is not None
            and failed.response.status_code == 429
            and bucket is not None
            and delay is not None  # not when Retry-After is beyond the cap
        ):
            bucket.pause(delay)

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
        page_type: type[Page[Any]] = Page,
        page_size_param: str = "pageSize",
    ) -> AsyncPaginator[T]:
        """A paginator over ``path`` whose pages (``page_type``: ``{items, next}`` by default)
        hold ``item_type`` items.
        """

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
            page_type=page_type,
            page_size_param=page_size_param,
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


def _the_default_scope(method: str, path: str) -> str:
    """Every request in the one scope (a client with a single ``rate_limit``)."""
    return DEFAULT_SCOPE


def _unbound(response: httpx.Response) -> httpx.Response:
    """``response`` without the reference cycle httpx leaves between a response and its
    stream (``BoundAsyncStream(stream, response=response)``), which keeps every response, body
    included, alive until the cyclic collector runs: pages of 10,000 log lines would pile up.
    The body has been read and the stream closed, so a plain byte stream of it does.
    """
    for each in (*response.history, response):
        each.stream = httpx.ByteStream(each.content)
    return response
