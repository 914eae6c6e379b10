"""The fault layer in front of each API, the router joining the APIs, and the in-process
transport that reaches them.

To drop a connection the layer starts a response with a ``Content-Length`` it never fulfils
(or cuts a response's body short) and raises ``ConnectionDropped``: uvicorn then closes the
socket (the client sees ``httpx.RemoteProtocolError``), and ``InProcessTransport`` turns it
into that same error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._faults import Counters, Faults

__all__ = [
    "PACING_CHUNK",
    "ApiRoots",
    "ConnectionDropped",
    "ErrorBody",
    "FaultLayer",
    "InProcessTransport",
    "QuietDrops",
    "htc_error_body",
]

_PROXY_PAGES = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}

PACING_CHUNK = 64 * 1024
"""Bytes of a response body sent at a time under a bandwidth cap."""

ErrorBody = Callable[[int, "str | None"], tuple[bytes, bytes]]
"""An API's own body for an injected 429 or 500: (status, Retry-After) -> (body, content type)."""


def htc_error_body(status: int, retry_after: str | None) -> tuple[bytes, bytes]:
    """The HTC service's JSON error body."""
    if status == 429:
        error = {"error": "too_many_requests", "errorDescription": "Rate limit exceeded"}
    else:
        error = {"error": "internal_server_error", "errorDescription": "Internal Server Error"}
    return json.dumps(error).encode(), b"application/json"


class ConnectionDropped(Exception):
    """Raised by the fault layer to make the server close the connection mid-response."""


class QuietDrops(logging.Filter):
    """Keeps uvicorn from logging deliberate drops as application errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


class FaultLayer:
    """ASGI middleware: counts requests and responses, and injects the configured faults."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: Faults,
        counters: Counters,
        root_path: str,
        resolve: Callable[[str, str], str],
        error_body: ErrorBody = htc_error_body,
    ) -> None:
        self.app = app
        self.faults = faults
        self.counters = counters
        self.root_path = root_path
        self.resolve = resolve
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope["path"]
        relative = path[len(self.root_path) :] if path.startswith(self.root_path) else path
        template = self.resolve(method, relative)
        endpoint = f"{method} {template}"
        counters = self.counters
        counters.count_request(endpoint)
        decision = self.faults.decide(method, template, relative)
        if decision.delay > 0:
            counters.count_fault("delayed", endpoint)
            await anyio.sleep(decision.delay)
        outcome = decision.outcome
        if outcome is not None:
            counters.count_fault(outcome, endpoint)
        if outcome == "dropped":
            await _abort(send, endpoint)
        if outcome in ("rate_limited", "error"):
            assert decision.status is not None
            await _error_response(send, decision.status, decision.retry_after, self.error_body)
            counters.count_response(endpoint, decision.status)
            return
        if outcome == "lost":

            async def discard(message: Message) -> None:
                pass

            await self.app(scope, receive, discard)
            await _abort(send, endpoint)

        status = 0
        held: list[Message] = []
        body_out = _BodyOut(send, decision.bandwidth, decision.drop_after, endpoint)

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            if decision.hold > 0:
                held.append(message)
            else:
                await body_out.send(message)

        try:
            await self.app(scope, receive, counting_send)
            if held:
                counters.count_fault("held", endpoint)
                await anyio.sleep(decision.hold)
                for message in held:
                    await body_out.send(message)
        except ConnectionDropped:
            if body_out.dropped:
                counters.count_fault("cut_short", endpoint)
            raise
        counters.count_response(endpoint, status)


class _BodyOut:
    """Sends a response's messages, pacing its body to ``bandwidth`` bytes per second and
    dropping the connection after ``drop_after`` body bytes.
    """

    def __init__(
        self, send: Send, bandwidth: float | None, drop_after: int | None, endpoint: str
    ) -> None:
        self._send = send
        self._bandwidth = bandwidth
        self._drop_after = drop_after
        self._endpoint = endpoint
        self._sent = 0
        self._started: float | None = None
        self.dropped = False

    async def send(self, message: Message) -> None:
        if message["type"] != "http.response.body" or (
            self._bandwidth is None and self._drop_after is None
        ):
            await self._send(message)
            return
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        step = PACING_CHUNK if self._bandwidth is not None else max(len(body), 1)
        for offset in range(0, len(body), step):
            await self._piece(body[offset : offset + step])
        await self._send({"type": "http.response.body", "body": b"", "more_body": more})

    async def _piece(self, piece: bytes) -> None:
        """Send one piece of the body, when its time has come (or cut the body short)."""
        if self._drop_after is not None and self._sent + len(piece) > self._drop_after:
            piece = piece[: self._drop_after - self._sent]
            if piece:
                await self._send({"type": "http.response.body", "body": piece, "more_body": True})
            self.dropped = True
            raise ConnectionDropped(f"fault injection: body cut short ({self._endpoint})")
        if self._bandwidth is not None:
            now = anyio.current_time()
            if self._started is None:
                self._started = now
            due = self._started + self._sent / self._bandwidth
            if due > now:
                await anyio.sleep(due - now)
        self._sent += len(piece)
        await self._send({"type": "http.response.body", "body": piece, "more_body": True})


class ApiRoots:
    """One ASGI app for several APIs: a request goes to the API whose root its path starts
    with, any other to ``default`` (which answers its own 404).
    """

    def __init__(self, apps: Mapping[str, ASGIApp], default: ASGIApp) -> None:
        self.apps = dict(apps)
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        for root, app in self.apps.items():
            if path == root or path.startswith(root + "/"):
                await app(scope, receive, send)
                return
        await self.default(scope, receive, send)


async def _abort(send: Send, endpoint: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"65536")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"items": [', "more_body": True})
    raise ConnectionDropped(f"fault injection: connection dropped ({endpoint})")


async def _error_response(
    send: Send, status: int, retry_after: str | None, error_body: ErrorBody
) -> None:
    headers: list[tuple[bytes, bytes]] = []
    if status in _PROXY_PAGES:
        # What a load balancer in front of the service sends: an HTML page.
        title = f"{status} {_PROXY_PAGES[status]}"
        body = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
        ).encode()
        headers.append((b"content-type", b"text/html"))
    else:
        body, content_type = error_body(status, retry_after)
        headers.append((b"content-type", content_type))
    if retry_after is not None:
        headers.append((b"retry-after", retry_after.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class InProcessTransport(httpx.AsyncBaseTransport):
    """An httpx transport calling the emulator's ASGI app directly (no sockets).

    A dropped connection surfaces as ``httpx.RemoteProtocolError``, as over a real socket.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 49152))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._asgi.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body "
                "(received 11 bytes, expected 65536)",
                request=request,
            ) from None

    async def aclose(self) -> None:
        await self._asgi.aclose()
