"""Every exception the SDK raises, in one place:

    RescaleError                      base of everything below
    ├── ConfigurationError            credentials or settings missing/unusable (before any request)
    ├── PaginationError               a `next` link the client refuses to follow
    ├── ResponseValidationError       a 2xx response whose body does not match its model
    ├── TokenVerificationError        a JWT whose signature or claims do not check out
    ├── ImageNotReadyError            a job's image stayed PENDING past submit's wait (or is absent)
    ├── SubmissionInDoubtError        a submission whose landing could not be settled (group named)
    ├── LedgerError                   a ledger file that cannot be used as asked
    ├── WaitTimeoutError              wait() ran out of time; also a TimeoutError
    ├── APIConnectionError            the request got no HTTP response (DNS, refused, reset, ...)
    │   └── APITimeoutError           ... because a timeout expired
    └── APIStatusError                the API answered with status >= 400
        ├── BadRequestError           400
        ├── AuthenticationError       401 (also: no usable token can be obtained)
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409
        ├── UnprocessableEntityError  422
        ├── RateLimitError            429 (`retry_after` in seconds, when the server said)
        └── InternalServerError       >= 500

Messages never contain credentials: they name the request by method and path only.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ImageNotReadyError",
    "InternalServerError",
    "LedgerError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RescaleError",
    "ResponseValidationError",
    "SubmissionInDoubtError",
    "TokenVerificationError",
    "UnprocessableEntityError",
    "WaitTimeoutError",
]


class RescaleError(Exception):
    """Base class of every error raised by rescale_async."""


class ConfigurationError(RescaleError):
    """Credentials or settings are missing or unusable; raised before any request is sent."""


class PaginationError(RescaleError):
    """A page's ``next`` link points somewhere the client will not follow."""


class TokenVerificationError(RescaleError):
    """A JWT failed verification against the service's published keys."""


class ImageNotReadyError(RescaleError):
    """Jobs were not submitted: their image is not READY in the project's registry."""


class SubmissionInDoubtError(RescaleError):
    """A job submission failed in a way that leaves open whether it landed, and asking the API
    (``GET .../jobs?group=``) did not settle it. Nothing is resent; ``group`` names the jobs.
    """

    def __init__(self, message: str, *, group: str) -> None:
        super().__init__(message)
        self.group = group


class LedgerError(RescaleError):
    """A ledger file that cannot be used: not a ledger, or a key reused for other jobs."""


class WaitTimeoutError(RescaleError, TimeoutError):
    """``wait()`` ran out of time before every job ended; ``result`` holds where they are."""

    def __init__(self, message: str, *, result: Any) -> None:
        super().__init__(message)
        self.result = result


class ResponseValidationError(RescaleError):
    """The API answered 2xx with a body that does not fit the expected model."""

    def __init__(self, response: httpx.Response, detail: str) -> None:
        super().__init__(
            f"{_describe(response.request)} -> {response.status_code}: unexpected body: {detail}"
        )
        self.response = response


def _describe(request: httpx.Request) -> str:
    return f"{request.method} {request.url.path}"


class APIConnectionError(RescaleError):
    """No HTTP response was received for ``request``."""

    def __init__(self, request: httpx.Request, *, reason: str = "connection failed") -> None:
        super().__init__(f"{_describe(request)}: {reason}")
        self.request = request


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""

    def __init__(self, request: httpx.Request) -> None:
        super().__init__(request, reason="request timed out")


class APIStatusError(RescaleError):
    """The API answered with an error status; ``body`` is the decoded error body, if any."""

    status_code: int

    def __init__(self, response: httpx.Response, *, body: Any = None) -> None:
        self.response = response
        self.request = response.request
        self.status_code = response.status_code
        self.body = body
        self.message = _message_from(body) or response.reason_phrase or "error"
        super().__init__(f"{_describe(response.request)} -> {self.status_code}: {self.message}")


class BadRequestError(APIStatusError):
    """400: the API rejected the request's content."""


class AuthenticationError(APIStatusError):
    """401: the credentials were refused, or no usable bearer token could be obtained."""

    @classmethod
    def before_sending(cls, request: httpx.Request, description: str) -> AuthenticationError:
        """The 401 the server would give, raised locally so the request is never sent."""
        body = {"error": "invalid_token", "errorDescription": description}
        return cls(httpx.Response(401, json=body, request=request), body=body)


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist (or is not visible to these credentials)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but semantically invalid."""


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds, if it gave one."""

    def __init__(
        self, response: httpx.Response, *, body: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(response, body=body)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """>= 500: the service (or a proxy in front of it) failed."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
}


def _message_from(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("errorDescription", "message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    if isinstance(body, str) and body.strip():
        title = re.search(r"<title>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
        text = title[1] if title else body  # an HTML error page from a proxy: its title
        return " ".join(text.split())[:500]
    return None


def decode_error_body(response: httpx.Response) -> Any:
    """The error body as JSON when it is JSON, else as text (None when empty)."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text


def status_error(response: httpx.Response, *, retry_after: float | None = None) -> APIStatusError:
    """The exception matching ``response``'s status (call after reading the body)."""
    body = decode_error_body(response)
    if response.status_code == 429:
        return RateLimitError(response, body=body, retry_after=retry_after)
    if response.status_code >= 500:
        return InternalServerError(response, body=body)
    return _STATUS_ERRORS.get(response.status_code, APIStatusError)(response, body=body)
