"""Retrying registry work under the client's retry policy, budget and ``max_retries``.

The unit retried is a whole step: a HEAD, a manifest PUT, or a blob's upload from its first
byte in a new upload session (never the same session again: ECR answers 416 to that). Every
step is idempotent (blobs and manifests are content addressed), so the policy judges each as
the PUT it amounts to.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from ...._core.exceptions import APIConnectionError, APITimeoutError, RegistryError
from ...._core.options import ClientOptions
from ...._core.retry import parse_retry_after

__all__ = ["Failed", "RetryRules"]

logger = logging.getLogger("rescale_async")

T = TypeVar("T")


class Failed(Exception):
    """One attempt of a step failed: an error ``response``, or a transport ``error``.
    ``session_lost``: the upload session is gone (416, BLOB_UPLOAD_UNKNOWN), so the step is
    retried at once in a new one whatever the status.
    """

    def __init__(
        self,
        what: str,
        *,
        response: httpx.Response | None = None,
        error: httpx.TransportError | None = None,
        session_lost: bool = False,
    ) -> None:
        super().__init__(what)
        self.what = what
        self.response = response
        self.error = error
        self.session_lost = session_lost

    def final(self) -> Exception:
        """The error the caller sees once no retry is left."""
        if self.response is not None:
            return RegistryError.answered(self.response, self.what)
        assert self.error is not None
        request = self.error.request
        if isinstance(self.error, httpx.TimeoutException):
            failure: Exception = APITimeoutError(request)
        else:
            failure = APIConnectionError(
                request, reason=f"{type(self.error).__name__}: {self.error} ({self.what})"
            )
        failure.__cause__ = self.error
        return failure


class RetryRules:
    """The client's retry options, applied to registry steps."""

    def __init__(self, options: ClientOptions) -> None:
        self._options = options

    async def run(self, url: httpx.URL, attempt: Callable[[], Awaitable[T]]) -> T:
        """``await attempt()`` until it succeeds, retrying each ``Failed`` as allowed."""
        options = self._options
        retries = 0
        while True:
            try:
                result = await attempt()
            except Failed as failed:
                retries += 1
                delay = self._delay(url, failed, retries)
                if delay is None:
                    raise failed.final() from None
                cause = failed.response.status_code if failed.response else type(failed.error)
                logger.info(
                    "retrying %s in %.2fs (retry %d of %d) after %s",
                    failed.what,
                    delay,
                    retries,
                    options.max_retries,
                    getattr(cause, "__name__", cause),
                )
                await options.sleep(delay)
                continue
            options.retry_budget.deposit()
            return result

    def _delay(self, url: httpx.URL, failed: Failed, retries: int) -> float | None:
        options = self._options
        if retries > options.max_retries:
            return None
        if failed.session_lost:
            delay: float | None = 0.0
        else:
            response = failed.response
            delay = options.retry_policy.decide(
                httpx.Request("PUT", url),
                retries,
                response=response,
                error=failed.error,
                retry_after=None if response is None else parse_retry_after(response),
            ).delay
        if delay is None:
            return None
        timed_out = isinstance(failed.error, httpx.TimeoutException)
        return delay if options.retry_budget.withdraw(timeout=timed_out) else None
