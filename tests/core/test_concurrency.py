"""Concurrency slots against a real local HTTP server: the cap holds, cancellation leaks nothing."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
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
        self.served = 0
        self.rng = random.Random(3)

    async def handle(self, stream: anyio.abc.SocketStream) -> None:
        self.connections += 1
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


def pool_is_quiet(client: HTCClient) -> bool:
    pool = client._pipeline.http._transport._pool  # type: ignore[attr-defined]
    return all(conn.is_idle() or conn.is_closed() for conn in pool.connections)


@pytest.mark.parametrize("limit", [1, 8])
async def test_max_concurrency_caps_requests_in_flight(limit: int) -> None:
    async with tiny_server() as (server, url):
        server.delay = (0.02, 0.02)
        async with HTCClient(API_KEY, base_url=url, max_concurrency=limit) as client:
            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(client._pipeline.request, "GET", "thing")
            assert server.max_in_flight == limit
            assert len(client._pipeline.http._transport._pool.connections) <= limit + 2  # type: ignore[attr-defined]


async def test_random_cancellations_leak_no_slot_or_connection() -> None:
    rng = random.Random(11)
    async with tiny_server() as (server, url):
        async with HTCClient(API_KEY, base_url=url, max_concurrency=8) as client:
            completed = cancelled = 0

            async def call(delay: float) -> None:
                nonlocal completed, cancelled
                with anyio.move_on_after(delay) as scope:
                    await client._pipeline.request("GET", "thing")
                    completed += 1
                if scope.cancelled_caught:
                    cancelled += 1

            async with anyio.create_task_group() as tg:
                for _ in range(2000):
                    # Half are cancelled: while queued for a slot or while in flight.
                    tg.start_soon(call, rng.uniform(0, 0.05) if rng.random() < 0.5 else 60)
            assert cancelled >= 1000
            assert completed + cancelled == 2000
            assert client._pipeline.concurrency.borrowed_tokens == 0
            assert pool_is_quiet(client)
            # Every slot is usable again: a full set of concurrent requests goes through.
            server.max_in_flight = 0
            server.delay = (0.02, 0.02)
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    for _ in range(64):
                        tg.start_soon(client._pipeline.request, "GET", "thing")
            assert server.max_in_flight == 8
        assert server.connections <= 10
