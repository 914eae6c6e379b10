"""Every exception the SDK raises, in one place:

    RescaleError                        base of everything below
    ├── ConfigurationError              credentials or settings missing/unusable, before any request
    ├── PaginationError                 a `next` link the client refuses to follow
    ├── ResponseValidationError         a 2xx response whose body does not match its model
    ├── TokenVerificationError          a JWT whose signature or claims do not check out
    ├── ImageNotReadyError              a job's image is absent, or still PENDING after the wait
    ├── SubmissionInDoubtError          a submission whose landing could not be settled (`group`)
    ├── LedgerError                     a ledger file that cannot be used as asked
    ├── WaitTimeoutError                wait() ran out of time; also a TimeoutError
    │   └── CancelNotConfirmedError     ... after a cancel: `pending` names the jobs not ended
    ├── NoMatchError                    a lookup by name found nothing; also a LookupError
    ├── DownloadError                   a download that cannot be trusted; nothing left at dest
    │   └── ChecksumMismatchError       ... because the bytes do not hash to the published digest
    ├── ImageSourceError                an image to push that cannot be used; also a ValueError
    │   └── BlobDigestError             ... because a blob does not match its manifest's digest
    ├── RegistryError                   the image registry refused or failed a request (`codes`)
    ├── StorageError                    a storage request or transfer failed (S3 `code`, `key`)
    │   ├── StorageNotFoundError        ... because no object has the key (or is under the prefix)
    │   ├── StorageIntegrityError       ... because the bytes differ from the store's; none left
    │   └── UnsupportedStorageError     ... storage the SDK cannot use; also a ConfigurationError
    ├── ClusterError                    a quasi-persistent cluster or its SSH connection failed
    │   ├── ClusterNotReadyError        the cluster was not up in time (`job_id`); a TimeoutError
    │   ├── HostKeyError                a node's host key is not trusted (`host`, `port`, ...)
    │   ├── ClusterAuthenticationError  a node refused the private key
    │   ├── CommandError                a command run with check=True exited non-zero (`result`)
    │   ├── CommandTimeoutError         a command outlived its `timeout`; also a TimeoutError
    │   └── TransferError               a copy that does not match its source; nothing left at dest
    ├── BridgeClosedError               a call to a cluster's SSH after it closed; a RuntimeError
    ├── BridgeCancelledError            an SSH call whose asyncio loop shut down; a RuntimeError
    ├── APIConnectionError              the request got no HTTP response (DNS, refused, reset, ...)
    │   └── APITimeoutError             ... because a timeout expired
    └── APIStatusError                  the API answered with status >= 400
        ├── BadRequestError             400
        ├── AuthenticationError         401 (also: no usable token can be obtained)
        ├── PermissionDeniedError       403
        ├── NotFoundError               404
        ├── ConflictError               409
        ├── UnprocessableEntityError    422
        ├── RateLimitError              429 (`retry_after` in seconds, when the server said)
        └── InternalServerError         >= 500

Messages never contain credentials: they name the request by method and path only. A Django
REST Framework body (the platform API) is told field by field, each with its path:
``jobanalyses[0].hardware.coresPerSlot: Ensure this value is one of [2, 4].``

Errors that carry an object of a higher layer (``WaitTimeoutError.result``, a ``WaitResult``;
``CommandError.result``, a ``Result``) type it as ``Any`` here, so ``_core`` imports nothing
above it. The two bridge errors come from ``_core.asyncio_bridge``, which runs asyncssh under
trio: a cluster (or node) used after its block ended, or whose loop shut down under a call,
shows them to the user, so they are RescaleErrors, and still RuntimeErrors as they were.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BlobDigestError",
    "BridgeCancelledError",
    "BridgeClosedError",
    "CancelNotConfirmedError",
    "ChecksumMismatchError",
    "ClusterAuthenticationError",
    "ClusterError",
    "ClusterNotReadyError",
    "CommandError",
    "CommandTimeoutError",
    "ConfigurationError",
    "ConflictError",
    "DownloadError",
    "HostKeyError",
    "ImageNotReadyError",
    "ImageSourceError",
    "InternalServerError",
    "LedgerError",
    "NoMatchError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RegistryError",
    "RescaleError",
    "ResponseValidationError",
    "StorageError",
    "StorageIntegrityError",
    "StorageNotFoundError",
    "SubmissionInDoubtError",
    "TokenVerificationError",
    "TransferError",
    "UnprocessableEntityError",
    "UnsupportedStorageError",
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


class CancelNotConfirmedError(WaitTimeoutError):
    """Cancelling was asked, but some jobs had not ended by the timeout: ``pending`` names
    them (``JobRef``s), ``result`` holds where every job stood (a ``WaitResult``).
    """

    def __init__(self, message: str, *, result: Any, pending: Sequence[Any]) -> None:
        super().__init__(message, result=result)
        self.pending = list(pending)


class NoMatchError(RescaleError, LookupError):
    """A lookup by name (an analysis version, a coretype...) found nothing; the message says
    what there is to choose from.
    """


class DownloadError(RescaleError):
    """A download did not produce the file: the server's bytes were not what it described, or
    an output's path would land outside the directory asked for. Nothing is left at the
    destination.
    """


class ChecksumMismatchError(DownloadError):
    """The downloaded bytes do not hash to the file's published digest; ``expected`` and
    ``actual`` are the full lowercase hex digests.
    """

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class ImageSourceError(RescaleError, ValueError):
    """The image to push cannot be used: missing, not an OCI layout nor a ``docker save``
    archive, a manifest or blob it names is absent or malformed. Raised before any request
    when it can be seen from the files alone.
    """


class BlobDigestError(ImageSourceError):
    """A blob's bytes do not match the digest (or size) its manifest gives: the source is
    corrupt or changed while it was pushed. Found while streaming, so the registry never
    stores it.
    """

    def __init__(self, message: str, *, digest: str) -> None:
        super().__init__(message)
        self.digest = digest


class RegistryError(RescaleError):
    """The registry refused or failed a request (after any retries and a token refresh), or
    pointed somewhere the SDK will not go. ``status_code`` is the HTTP status (None when there
    was no response to blame), ``codes`` the OCI error codes of the body
    (``MANIFEST_BLOB_UNKNOWN``, ``DENIED``...). Messages name a request by method, host and
    path only: never a credential, never an upload session's query.
    """

    def __init__(self, message: str, *, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = None if response is None else response.status_code
        self.codes = (
            ()
            if response is None
            else tuple(str(error.get("code", "")) for error in _oci_errors(response))
        )

    @classmethod
    def answered(cls, response: httpx.Response, what: str) -> RegistryError:
        """The error for ``response``, an unexpected answer while doing ``what``."""
        detail = "; ".join(
            " ".join(str(part) for part in (error.get("code"), error.get("message")) if part)
            for error in _oci_errors(response)
        )
        request = response.request
        return cls(
            f"registry {request.url.host}: {request.method} {request.url.path} -> "
            f"{response.status_code} ({what}): {detail or response.reason_phrase or 'error'}",
            response=response,
        )


def _oci_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``errors`` list of an OCI error body (empty when the body is something else)."""
    body = decode_error_body(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    return (
        [error for error in errors if isinstance(error, dict)] if isinstance(errors, list) else []
    )


class StorageError(RescaleError):
    """A storage request failed (after the engine's retries and one credential renewal), or a
    transfer could not be done as asked. ``code`` is the S3 error code (``AccessDenied``,
    ``NoSuchKey``...), ``status_code`` the HTTP status, ``key`` the object's key within the
    task's or project's area, when known. Messages never hold a credential.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status_code = status_code
        self.key = key


class StorageNotFoundError(StorageError):
    """No object has the key, or none is under the prefix."""


class StorageIntegrityError(StorageError):
    """What arrived differs from what the store holds (size, MD5 or multipart ETag), or a
    local file changed while it was uploaded. Nothing is left at the destination.
    """


class UnsupportedStorageError(StorageError, ConfigurationError):
    """The storage token names storage the SDK cannot use: credentials of a kind it does not
    know (only S3 credentials, ``AWS_*``, are understood), an endpoint that is neither https
    nor http to a loopback host, or no bucket.
    """


class ClusterError(RescaleError):
    """Something about a quasi-persistent cluster or its SSH connection went wrong. None of
    these errors holds a private key (only its path).
    """


class ClusterNotReadyError(ClusterError, TimeoutError):
    """The cluster did not run, or its head node did not answer on SSH, in time; ``job_id``
    names the job (stopped on the way out of ``clusters.start``).
    """

    def __init__(self, message: str, *, job_id: str) -> None:
        super().__init__(message)
        self.job_id = job_id


class HostKeyError(ClusterError):
    """A node's host key is not trusted (unknown, or not the one pinned); ``host``, ``port``
    and the offered key's ``fingerprint`` say which.
    """

    def __init__(self, message: str, *, host: str, port: int, fingerprint: str | None) -> None:
        super().__init__(message)
        self.host = host
        self.port = port
        self.fingerprint = fingerprint


class ClusterAuthenticationError(ClusterError):
    """A node refused the private key (its public key is not the one in the user profile)."""


class CommandError(ClusterError):
    """A command run with ``check=True`` exited with a non-zero status; ``result`` (a
    ``rescale_async.Result``) holds its status and output; the message ends with the tail of
    its stderr.
    """

    def __init__(self, message: str, *, result: Any) -> None:
        super().__init__(message)
        self.result = result


class CommandTimeoutError(ClusterError, TimeoutError):
    """A command did not end within its ``timeout`` (its channel was closed)."""


class TransferError(ClusterError):
    """A copied file is not what its source is (size or SHA-256), or a path cannot be copied;
    nothing is left at the destination of a download that failed verification.
    """


class BridgeClosedError(RescaleError, RuntimeError):
    """A call through an asyncio bridge that has been closed: a cluster or node used after
    its ``async with`` block ended.
    """


class BridgeCancelledError(RescaleError, RuntimeError):
    """The asyncio task behind a bridged call was cancelled on the asyncio side (its loop
    closing under the call).
    """


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


_MAX_FIELD_MESSAGES = 10

_NON_FIELD_KEYS = frozenset({"non_field_errors", "detail"})
"""Keys of a DRF error body whose messages belong to no field (told without a path)."""


def _message_from(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("errorDescription", "message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    if isinstance(body, dict | list):
        return _field_messages(body)
    if isinstance(body, str) and body.strip():
        title = re.search(r"<title>(.*?)</title>", body, re.IGNORECASE | re.DOTALL)
        text = title[1] if title else body  # an HTML error page from a proxy: its title
        return " ".join(text.split())[:500]
    return None


def _field_messages(body: dict[str, Any] | list[Any]) -> str | None:
    """A DRF validation body (``{"name": ["This field is required."]}``, nested for lists and
    objects) as ``path: message`` entries joined by ``; ``; None when it holds no message.
    """
    entries = [
        f"{path}: {message}" if path else message for path, message in _walk_messages(body, "")
    ]
    if not entries:
        return None
    more = len(entries) - _MAX_FIELD_MESSAGES
    shown = "; ".join(entries[:_MAX_FIELD_MESSAGES])
    return f"{shown}; and {more} more" if more > 0 else shown


def _walk_messages(value: Any, path: str) -> list[tuple[str, str]]:
    """``(field path, message)`` for every message string in ``value``, in body order."""
    if isinstance(value, str):
        return [(path, value)] if value.strip() else []
    if isinstance(value, dict):
        found: list[tuple[str, str]] = []
        for key, inner in value.items():
            below = path if not path and key in _NON_FIELD_KEYS else _join(path, str(key))
            found.extend(_walk_messages(inner, below))
        return found
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):  # the messages of one field
            text = " ".join(item.strip() for item in value if item.strip())
            return [(path, text)] if text else []
        found = []
        for index, item in enumerate(value):  # one entry per list item ({} when it was fine)
            found.extend(_walk_messages(item, f"{path}[{index}]"))
        return found
    return []


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


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
