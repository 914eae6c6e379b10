"""The storage gate: a WSGI layer in front of moto's S3 that checks the emulator's credentials.

moto accepts any key and never lets a session token expire. The gate, in moto's own process,
reads each request's session token (``_tokens``) and answers as S3 does when it is unusable:
400 ``ExpiredToken`` (expired, or issued before a revocation), 400 ``InvalidToken`` (forged or
malformed), 403 ``InvalidAccessKeyId`` (none, or another key's), 403 ``AccessDenied`` (a key
or listing prefix outside the token's bucket and prefix). Signatures are not verified (moto
does not either). Requests it lets through reach moto unchanged.

For tests it also keeps a log of the S3 requests it saw, injects faults (an error status, or
an object served with one byte flipped), and can revoke every token after N more requests. A
small JSON control API under ``/_rescale/`` (every call but ``health`` needs the shared secret
in ``X-Rescale-Gate-Secret``) drives all of that and creates buckets.
"""

from __future__ import annotations

import hmac
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from ._tokens import InvalidSessionToken, read_session_token

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["CONTROL_ROOT", "SECRET_HEADER", "Fault", "StorageGate"]

CONTROL_ROOT = "/_rescale/"
SECRET_HEADER = "X-Rescale-Gate-Secret"  # noqa: S105 - a header's name, not a secret
_CREDENTIAL = re.compile(r"Credential=([^/\s,]+)/")
_NAMESPACE = re.compile(r"^\{[^}]*\}")
_LISTING_PARAMETERS = frozenset(
    {
        "list-type",
        "prefix",
        "continuation-token",
        "max-keys",
        "delimiter",
        "start-after",
        "encoding-type",
        "fetch-owner",
    }
)
"""Query parameters of a ListObjects(V2) call: a bucket GET with others is another API."""


@dataclass
class Fault:
    """A fault for S3 requests that match every given field: ``method``, ``key`` (a
    substring of the object key), ``range_start`` (a GET whose ``Range`` starts at that
    byte). It answers ``status`` with error ``code``; or with ``corrupt`` lets moto answer
    and flips the body's first byte (headers, ETag included, unchanged); or with ``truncate``
    lets moto answer but drops the connection after that many bytes of the body. ``times``:
    how many requests it hits (None: every one).
    """

    method: str | None = None
    key: str | None = None
    range_start: int | None = None
    status: int = 500
    code: str = "InternalError"
    corrupt: bool = False
    truncate: int | None = None
    times: int | None = None

    @property
    def answers(self) -> bool:
        """Whether the fault answers instead of moto (an error status)."""
        return not self.corrupt and self.truncate is None

    def matches(self, request: _S3Request) -> bool:
        if self.method is not None and request.method != self.method.upper():
            return False
        if self.key is not None and (request.key is None or self.key not in request.key):
            return False
        return self.range_start is None or request.range_start == self.range_start


@dataclass(frozen=True)
class _S3Request:
    method: str
    bucket: str | None
    key: str | None
    query: dict[str, str]
    range: str | None

    @classmethod
    def of(cls, environ: WSGIEnvironment) -> _S3Request:
        raw_path = str(environ.get("PATH_INFO", "/"))
        path = raw_path.encode("latin-1").decode("utf-8", errors="replace").lstrip("/")
        bucket, _, key = path.partition("/")
        query = {
            name: values[-1]
            for name, values in parse_qs(
                str(environ.get("QUERY_STRING", "")), keep_blank_values=True
            ).items()
        }
        return cls(
            method=str(environ.get("REQUEST_METHOD", "GET")).upper(),
            bucket=bucket or None,
            key=key or None,
            query=query,
            range=environ.get("HTTP_RANGE"),
        )

    @property
    def range_start(self) -> int | None:
        if not self.range or not self.range.startswith("bytes="):
            return None
        start = self.range[len("bytes=") :].partition("-")[0]
        return int(start) if start.isdigit() else None

    def entry(self, status: int) -> dict[str, Any]:
        """This request as the log keeps it."""
        return {
            "method": self.method,
            "bucket": self.bucket,
            "key": self.key,
            "query": sorted(self.query),
            "range": self.range,
            "status": status,
        }


class StorageGate:
    """WSGI middleware: the credential check, faults and request log in front of ``app``."""

    def __init__(
        self, app: WSGIApplication, secret: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._app = app
        self._secret = secret
        self._clock = clock
        self._lock = threading.Lock()
        self._revoked_before = 0.0
        self._expire_after: int | None = None
        self._faults: list[Fault] = []
        self._log: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ S3 requests

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith(CONTROL_ROOT):
            return self._control(environ, start_response)
        request = _S3Request.of(environ)
        refusal = self._refusal(request, environ)
        if refusal is not None:
            return self._error(request, start_response, *refusal)
        fault = self._take_fault(request)
        if fault is not None and fault.answers:
            return self._error(request, start_response, fault.status, fault.code, "Injected fault")

        def recording(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            self._record(request.entry(int(status.split(" ", 1)[0])))
            return start_response(status, headers, exc_info)

        body = self._app(environ, recording)
        if fault is None:
            return body
        return _flip_first_byte(body) if fault.corrupt else _cut(body, fault.truncate or 0)

    def _refusal(
        self, request: _S3Request, environ: WSGIEnvironment
    ) -> tuple[int, str, str] | None:
        """Why S3 would refuse the request's credentials, or None when they are good."""
        with self._lock:
            now = self._clock()
            if self._expire_after is not None:
                if self._expire_after <= 0:
                    self._revoked_before, self._expire_after = now, None
                else:
                    self._expire_after -= 1
            revoked_before = self._revoked_before
        token = environ.get("HTTP_X_AMZ_SECURITY_TOKEN") or request.query.get(
            "X-Amz-Security-Token"
        )
        unknown_key = (
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
        if not token:
            return unknown_key
        try:
            grant = read_session_token(self._secret, str(token))
        except InvalidSessionToken:
            return 400, "InvalidToken", "The provided token is malformed or otherwise invalid."
        if _access_key_of(environ, request.query) != grant.access_key_id:
            return unknown_key
        if grant.expired(now, revoked_before):
            return 400, "ExpiredToken", "The provided token has expired."
        if _presigned_url_expired(request.query, now):
            return 403, "AccessDenied", "Request has expired"
        if not self._in_scope(request, environ, grant.covers):
            return 403, "AccessDenied", "Access Denied"
        return None

    @staticmethod
    def _in_scope(
        request: _S3Request, environ: WSGIEnvironment, covers: Callable[[str, str], bool]
    ) -> bool:
        """Whether every key the request touches is one the token grants."""
        bucket = request.bucket
        if bucket is None:
            return False
        if request.key is not None:
            return covers(bucket, request.key)
        if request.method == "GET" and set(request.query) <= _LISTING_PARAMETERS:
            return covers(bucket, request.query.get("prefix", ""))
        if request.method == "POST" and "delete" in request.query:
            keys = _deleted_keys(environ)
            return keys is not None and all(covers(bucket, key) for key in keys)
        return False

    def _take_fault(self, request: _S3Request) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(request):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)

    def _error(
        self,
        request: _S3Request,
        start_response: StartResponse,
        status: int,
        code: str,
        message: str,
    ) -> Iterable[bytes]:
        self._record(request.entry(status))
        request_id = uuid.uuid4().hex[:16].upper()
        body = (
            b""
            if request.method == "HEAD"
            else (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<RequestId>{request_id}</RequestId></Error>"
            ).encode()
        )
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [
                ("Content-Type", "application/xml"),
                ("Content-Length", str(len(body))),
                ("x-amz-request-id", request_id),
            ],
        )
        return [body]

    # ------------------------------------------------------------------ control API

    def _control(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        name = str(environ.get("PATH_INFO", ""))[len(CONTROL_ROOT) :]
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if name == "health":
            return _json(start_response, 200, {"ok": True})
        given = str(environ.get("HTTP_" + SECRET_HEADER.upper().replace("-", "_"), ""))
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return _json(start_response, 403, {"error": f"{SECRET_HEADER} is missing or wrong"})
        try:
            body = _read_json(environ)
            answer = self._command(method, name, body, environ)
        except (ValueError, TypeError, KeyError) as exc:
            return _json(start_response, 400, {"error": f"{type(exc).__name__}: {exc}"})
        if answer is None:
            return _json(start_response, 404, {"error": f"no control call {method} {name}"})
        return _json(start_response, 200, answer)

    def _command(
        self, method: str, name: str, body: dict[str, Any], environ: WSGIEnvironment
    ) -> dict[str, Any] | None:
        with self._lock:
            if (method, name) == ("GET", "requests"):
                return {"requests": list(self._log)}
            if (method, name) == ("DELETE", "requests"):
                self._log.clear()
                return {}
            if (method, name) == ("POST", "faults"):
                known = {f.name for f in fields(Fault)}
                added = [
                    Fault(**{k: v for k, v in f.items() if k in known}) for f in body["faults"]
                ]
                self._faults.extend(added)
                return {"faults": [asdict(f) for f in self._faults]}
            if (method, name) == ("DELETE", "faults"):
                self._faults.clear()
                return {}
            if (method, name) == ("POST", "expire"):
                after = int(body.get("after_requests", 0))
                if after <= 0:
                    self._revoked_before, self._expire_after = self._clock(), None
                else:
                    self._expire_after = after
                return {}
        if (method, name) == ("POST", "buckets"):
            for bucket in body["buckets"]:
                self._create_bucket(str(bucket["name"]), str(bucket["region"]), environ)
            return {}
        return None

    def _create_bucket(self, name: str, region: str, environ: WSGIEnvironment) -> None:
        """Create bucket ``name`` in moto (an existing one of ours is fine)."""
        from werkzeug.test import EnvironBuilder, run_wsgi_app  # noqa: PLC0415 - moto's server

        data = (
            b""
            if region == "us-east-1"
            else (
                "<CreateBucketConfiguration><LocationConstraint>"
                f"{region}</LocationConstraint></CreateBucketConfiguration>"
            ).encode()
        )
        request = EnvironBuilder(
            path=f"/{name}",
            method="PUT",
            data=data,
            headers=[
                ("Host", str(environ.get("HTTP_HOST", "127.0.0.1"))),
                (
                    "Authorization",
                    "AWS4-HMAC-SHA256 Credential=EMULATOR/20240101/"
                    f"{region}/s3/aws4_request, SignedHeaders=host, Signature=0",
                ),
            ],
        ).get_environ()
        app_iter, status, _ = run_wsgi_app(self._app, request)
        answer = b"".join(app_iter)
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
        code = int(status.split(" ", 1)[0])
        if code >= 300 and b"BucketAlreadyOwnedByYou" not in answer:
            raise ValueError(f"creating bucket {name} failed: {status} {answer[:300]!r}")


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _access_key_of(environ: WSGIEnvironment, query: dict[str, str]) -> str | None:
    """The access key id a request is signed with (header or presigned query)."""
    match = _CREDENTIAL.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    if match:
        return match.group(1)
    credential = query.get("X-Amz-Credential")
    return credential.split("/", 1)[0] if credential else None


def _presigned_url_expired(query: dict[str, str], now: float) -> bool:
    """Whether a presigned URL's ``X-Amz-Date`` + ``X-Amz-Expires`` lies before ``now``."""
    signed, lifetime = query.get("X-Amz-Date"), query.get("X-Amz-Expires")
    if not signed or not lifetime:
        return False
    try:
        start = datetime.strptime(signed, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        return now > start.timestamp() + int(lifetime)
    except ValueError:
        return True


def _deleted_keys(environ: WSGIEnvironment) -> list[str] | None:
    """The keys of a DeleteObjects body (put back for moto to read), None when unreadable."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(data)
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - from a client of our own test server
    except ElementTree.ParseError:
        return None
    return [
        (element.text or "") for element in root.iter() if _NAMESPACE.sub("", element.tag) == "Key"
    ]


def _read_json(environ: WSGIEnvironment) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return {}
    value = json.loads(environ["wsgi.input"].read(length))
    if not isinstance(value, dict):
        raise TypeError("the body must be a JSON object")
    return value


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        f"{status} {_REASONS.get(status, 'OK')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


class DroppedConnection(Exception):
    """Raised inside the server to drop a response midway (a ``truncate`` fault)."""


def _cut(body: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """``body``'s first ``limit`` bytes, then a dropped connection."""
    sent = 0
    try:
        for chunk in body:
            if sent + len(chunk) >= limit:
                yield chunk[: limit - sent]
                raise DroppedConnection(f"dropped after {limit} bytes")
            sent += len(chunk)
            yield chunk
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _flip_first_byte(body: Iterable[bytes]) -> Iterator[bytes]:
    """``body`` with its first byte inverted (a corruption the ETag does not reflect)."""
    flipped = False
    try:
        for chunk in body:
            if not flipped and chunk:
                flipped = True
                yield bytes([chunk[0] ^ 0xFF]) + chunk[1:]
            else:
                yield chunk
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
