"""Concurrency slots against a real local HTTP server: the cap holds, cancellation leaks nothing."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import httpx
import pytest
from support import API_KEY, make_jwt

from rescale_async import HTCClient


class TinyServer:
    """A minimal HTTP/1.1 keep-alive server on 127.0.0.1 that answers after a random delay."""

    def __init__(self) -> None:
        self.delay = (0.0, 0.004)
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self.max_connections = 0
        self.served = 0
        self.rng = random.Random(3)

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
        self.max_connections = max(self.max_connections, self.connections)
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = await stream.receive()
                    buffer += chunk
                head, buffer = buffer.split(b"\r\n\r\n", 1)
                path = head.split(b" ", 2)[1]
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    if path.endswith(b"/auth/token"):
                        body = json.dumps(
                            {"tokenValue": make_jwt(3600), "expiresIn": 3600}
                        ).encode()
                    else:
                        await anyio.sleep(self.rng.uniform(*self.delay))
                        body = b"{}"
                finally:
                    self.in_flight -= 1
                self.served += 1
                await stream.send(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            self.connections -= 1
            await stream.aclose()


@asynccontextmanager
async def tiny_server() -> AsyncIterator[tuple[TinyServer, str]]:
    server = TinyServer()
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, server.handle)
        try:
            yield server, f"http://127.0.0.1:{port}/api/v1"
        finally:
            tg.cancel_scope.cancel()


class ResponseCountingTransport(httpx.AsyncHTTPTransport):
    """An ordinary transport, with the pool limits the client gives its own for
    ``max_concurrency`` (``limit + 2`` connections), that counts the responses not yet closed:
    a connection is back in the pool once its response is closed.
    """

    def __init__(self, max_concurrency: int) -> None:
        super().__init__(
            limits=httpx.Limits(
                max_connections=max_concurrency + 2, max_keepalive_connections=max_concurrency
            )
        )
        self.open_responses = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.open_responses += 1
        try:
            response = await super().handle_async_request(request)
        except BaseException:
            self.open_responses -= 1
            raise
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_CountedStream(response.stream, self),
            extensions=response.extensions,
        )


class _CountedStream(httpx.AsyncByteStream):
    def __init__(
        self, stream: httpx.SyncByteStream | httpx.AsyncByteStream, owner: ResponseCountingTransport
    ) -> None:
        assert isinstance(stream, httpx.AsyncByteStream)
        self._stream = stream
        self._owner: ResponseCountingTransport | None = owner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._owner is not None:
            self._owner.open_responses -= 1
            self._owner = None
        await self._stream.aclose()


@pytest.mark.parametrize("limit", [1, 8])
async def test_max_concurrency_caps_requests_in_flight(limit: int) -> None:
    async with tiny_server() as (server, url):
        server.delay = (0.05, 0.05)
        async with HTCClient(API_KEY, base_url=url, max_concurrency=limit) as client:
            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(client.request, "GET", "thing")
            assert server.max_in_flight == limit
            # The pool opened no more than ``limit`` connections, plus two for token requests.
            assert server.max_connections <= limit + 2


async def test_random_cancellations_leak_no_slot_or_connection() -> None:
    rng = random.Random(11)
    async with tiny_server() as (server, url):
        transport = ResponseCountingTransport(max_concurrency=8)
        async with HTCClient(
            API_KEY, base_url=url, max_concurrency=8, transport=transport
        ) as client:
            completed = cancelled = 0

            async def call(delay: float) -> None:
                nonlocal completed, cancelled
                with anyio.move_on_after(delay) as scope:
                    await client.request("GET", "thing")
                    completed += 1
                if scope.cancelled_caught:
                    cancelled += 1

            async with anyio.create_task_group() as tg:
                for _ in range(2000):
                    # Half are cancelled: while queued for a slot or while in flight.
                    tg.start_soon(call, rng.uniform(0, 0.05) if rng.random() < 0.5 else 60)
            assert cancelled >= 1000
            assert completed + cancelled == 2000
            # Every connection is back in the pool: no response was left open.
            assert transport.open_responses == 0
            assert server.in_flight == 0
            # Every slot is usable again: a full set of concurrent requests goes through, as
            # many at once as max_concurrency allows.
            server.max_in_flight = 0
            server.delay = (0.02, 0.02)
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    for _ in range(64):
                        tg.start_soon(client.request, "GET", "thing")
            assert server.max_in_flight == 8
        assert server.connections <= 10
